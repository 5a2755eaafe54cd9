#include "tests/alert/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace gridwatch::test_support {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

int Listen(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen failed on port " + std::to_string(port));
  }
  return fd;
}

int PortOf(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace

HttpReceiver::HttpReceiver(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  listen_fd_ = Listen(0);
  port_ = PortOf(listen_fd_);
  stop_ = false;
  thread_ = std::thread([this, fd = listen_fd_] { Serve(fd); });
}

HttpReceiver::~HttpReceiver() { Stop(); }

void HttpReceiver::Start() {
  if (thread_.joinable()) return;
  listen_fd_ = Listen(port_);
  stop_ = false;
  thread_ = std::thread([this, fd = listen_fd_] { Serve(fd); });
}

void HttpReceiver::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  // Wake the blocking accept() with a connection of our own, then close the port.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  thread_.join();
  ::close(fd);
  ::close(listen_fd_);
  listen_fd_ = -1;
}

std::string HttpReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpReceiver::SetResponse(int status, std::string body) {
  std::lock_guard lock(mu_);
  status_ = status;
  body_ = std::move(body);
}

std::vector<RecordedRequest> HttpReceiver::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool HttpReceiver::WaitForRequests(size_t count, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return requests_.size() >= count; });
}

size_t HttpReceiver::RequestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

template <typename Stream>
void HttpReceiver::Exchange(Stream& stream) {
  boost::system::error_code ec;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::read(stream, buffer, req, ec);
  if (ec) return;
  RecordedRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  for (const auto& f : req) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers[name] = std::string(f.value());
  }
  r.body = req.body();
  http::response<http::string_body> res;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(r));
    res.result(static_cast<unsigned>(status_));
    res.body() = body_;
  }
  cv_.notify_all();
  res.version(11);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::connection, "close");
  res.prepare_payload();
  http::write(stream, res, ec);
}

void HttpReceiver::Serve(int listen_fd) {
  asio::io_context ioc;
  const bool https = !cert_file_.empty();
  std::optional<asio::ssl::context> tls;  // only when serving TLS (no OpenSSL init otherwise)
  if (https) {
    tls.emplace(asio::ssl::context::tls_server);
    tls->use_certificate_chain_file(cert_file_);
    tls->use_private_key_file(key_file_, asio::ssl::context::pem);
  }
  for (;;) {
    const int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (stop_) {
      if (conn >= 0) ::close(conn);
      return;
    }
    if (conn < 0) continue;
    asio::ip::tcp::socket sock(ioc);
    boost::system::error_code ec;
    sock.assign(asio::ip::tcp::v4(), conn, ec);
    if (ec) {
      ::close(conn);
      continue;
    }
    if (https) {
      asio::ssl::stream<asio::ip::tcp::socket&> stream(sock, *tls);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) {
        Exchange(stream);
        stream.shutdown(ec);
      }
    } else {
      Exchange(sock);
    }
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
}

}  // namespace gridwatch::test_support
