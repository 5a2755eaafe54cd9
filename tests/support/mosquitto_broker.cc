#include "tests/support/mosquitto_broker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace gridwatch::test_support {
namespace {

using Steady = std::chrono::steady_clock;

bool PortAcceptsConnections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int PickFreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() to a free port failed");
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

MosquittoBroker::MosquittoBroker(MosquittoBrokerOptions options)
    : options_(std::move(options)), dir_("gridwatch-mosquitto") {
  port_ = PickFreeLoopbackPort();
  WriteConfig();
  if (options_.start) Start();
}

MosquittoBroker::~MosquittoBroker() {
  if (pid_ > 0) Kill();
}

std::string MosquittoBroker::url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

std::string MosquittoBroker::config_path() const { return dir_.File("mosquitto.conf"); }

std::string MosquittoBroker::ReadLog() const { return dir_.Read("mosquitto.log"); }

void MosquittoBroker::WriteConfig() {
  std::string conf;
  conf += "listener " + std::to_string(port_) + " 127.0.0.1\n";
  conf += "allow_anonymous true\n";
  // As root, mosquitto would drop to user "mosquitto", which cannot write our 0700 temp dir.
  if (::geteuid() == 0) conf += "user root\n";
  conf += "log_dest stderr\n";
  conf += "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n";
  conf += "max_queued_messages 0\n";  // unlimited queue for offline persistent sessions
  if (options_.persistence) {
    conf += "persistence true\n";
    conf += "persistence_location " + dir_.path().string() + "/\n";
    conf += "persistence_file mosquitto.db\n";
  } else {
    conf += "persistence false\n";
  }
  conf += options_.extra_config;
  if (!conf.empty() && conf.back() != '\n') conf += '\n';
  dir_.Write("mosquitto.conf", conf);
}

void MosquittoBroker::Start() {
  if (pid_ > 0) return;
  const std::string conf = config_path();
  const std::string log = dir_.File("mosquitto.log");
  // Everything the child needs is prepared before fork (only async-signal-safe calls after).
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open broker log " + log);
  std::vector<char*> argv = {const_cast<char*>(options_.binary.c_str()), const_cast<char*>("-c"),
                             const_cast<char*>(conf.c_str()), nullptr};
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  const auto deadline = Steady::now() + std::chrono::milliseconds(options_.timeout_ms);
  while (true) {
    if (PortAcceptsConnections(port_)) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("mosquitto exited during start-up on port " + std::to_string(port_) +
                               ":\n" + ReadLog());
    }
    if (Steady::now() > deadline) {
      Kill();
      throw std::runtime_error("mosquitto did not accept connections on port " +
                               std::to_string(port_) + ":\n" + ReadLog());
    }
    // Polling a real condition (the listening socket) with a bound; no event to wait on.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool MosquittoBroker::WaitForExit(int timeout_ms) {
  // pidfd lets us wait on the exit with poll(); fall back to polling waitpid.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  const auto deadline = Steady::now() + std::chrono::milliseconds(timeout_ms);
  bool exited = false;
  while (!exited) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      exited = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left.count() <= 0) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  if (exited) pid_ = -1;
  return exited;
}

void MosquittoBroker::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!WaitForExit(options_.timeout_ms)) Kill();
}

void MosquittoBroker::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace gridwatch::test_support
