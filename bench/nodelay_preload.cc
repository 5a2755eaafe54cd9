// An LD_PRELOAD shim for experiments: sets TCP_NODELAY on every TCP socket the process connects
// (Paho C, which gridwatch uses, does not; Nagle's algorithm then holds a small write - an alert
// PUBLISH after a PUBACK - until the broker's delayed ACK, up to 40 ms). broker_bench.sh
// --nodelay runs gridwatch with it to show what setting TCP_NODELAY in the service would gain.
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

extern "C" int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  using Connect = int (*)(int, const struct sockaddr*, socklen_t);
  static const Connect real = reinterpret_cast<Connect>(dlsym(RTLD_NEXT, "connect"));
  const int saved = errno;
  if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // not TCP: ignored
  }
  errno = saved;
  return real(fd, addr, len);
}
