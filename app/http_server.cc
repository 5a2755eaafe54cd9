#include "app/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace gridwatch {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  Handler handler;
  asio::io_context ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  struct Conn {
    std::shared_ptr<tcp::socket> socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Conn> conns;

  void Reap(bool all) {
    std::list<Conn> finished;
    {
      std::lock_guard lock(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if (all || it->done.load()) {
          if (all) {
            boost::system::error_code ec;
            it->socket->shutdown(tcp::socket::shutdown_both, ec);
            it->socket->close(ec);
          }
          auto next = std::next(it);
          finished.splice(finished.end(), conns, it);
          it = next;
        } else {
          ++it;
        }
      }
    }
    for (auto& c : finished)
      if (c.thread.joinable()) c.thread.join();
  }

  void Serve(std::shared_ptr<tcp::socket> socket, std::atomic<bool>* done) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    // A read timeout: a client that sends nothing for 10 s is dropped.
    timeval tv{10, 0};
    setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!stopping.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      http::read(*socket, buffer, parser, ec);
      if (ec) break;
      auto& req = parser.get();
      HttpServerRequest r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req)
        r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      r.body = req.body();
      HttpServerResponse out;
      try {
        out = handler(r);
      } catch (const std::exception& e) {
        out.status = 500;
        out.content_type = "application/json";
        out.body = R"({"error":"internal error"})";
      }
      http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
      res.set(http::field::server, "gridwatch");
      res.set(http::field::content_type, out.content_type);
      for (const auto& [k, v] : out.headers) res.set(k, v);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      http::write(*socket, res, ec);
      if (ec || !res.keep_alive()) break;
    }
    socket->shutdown(tcp::socket::shutdown_both, ec);
    done->store(true);
  }
};

HttpServer::HttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::Start(const std::string& bind, int port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(bind, ec);
  if (ec) throw std::runtime_error("http: bad bind address '" + bind + "'");
  auto acc = std::make_unique<tcp::acceptor>(impl_->ioc);
  const tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("http: cannot listen on " + bind + ":" + std::to_string(port) + ": " +
                             ec.message());
  const int bound = acc->local_endpoint().port();
  impl_->acceptor = std::move(acc);
  impl_->accept_thread = std::thread([this] {
    Impl& im = *impl_;
    while (!im.stopping.load()) {
      auto socket = std::make_shared<tcp::socket>(im.ioc);
      boost::system::error_code aec;
      im.acceptor->accept(*socket, aec);
      if (aec) {
        if (im.stopping.load()) break;
        continue;
      }
      im.Reap(false);
      std::lock_guard lock(im.mu);
      im.conns.emplace_back();
      Impl::Conn& c = im.conns.back();
      c.socket = socket;
      c.thread = std::thread([&im, socket, done = &c.done] { im.Serve(socket, done); });
    }
  });
  return bound;
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  boost::system::error_code ec;
  if (impl_->acceptor) {
    // Unblock accept(): shutdown the listening socket.
    ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
    impl_->acceptor->close(ec);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  impl_->Reap(true);
}

}  // namespace gridwatch
