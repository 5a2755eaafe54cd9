// HttpServer: the service's one HTTP port — /metrics, /healthz, /readyz and the REST API — as a
// small Boost.Beast server (kept out of this header). Each connection is served on its own
// thread with keep-alive and a read timeout; requests go to one handler function.
//
// Thread-safe: Start/Stop from the owner; the handler runs on connection threads concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gridwatch {

struct HttpServerRequest {
  std::string method;
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpServer {
 public:
  using Handler = std::function<HttpServerResponse(const HttpServerRequest&)>;

  explicit HttpServer(Handler handler);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `bind:port` (port 0 = a free port) and starts accepting. Returns the bound port.
  // Throws std::runtime_error naming the address if it cannot bind.
  int Start(const std::string& bind, int port);
  // Stops accepting, closes connections, joins threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch
