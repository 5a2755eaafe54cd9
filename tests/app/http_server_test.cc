// HttpServer on a real loopback socket: requests reach the handler with method, target, headers
// and body; the handler's status, content type, headers and body come back; keep-alive serves
// several requests on one connection; a handler that throws gives 500; a taken port throws.
#include "app/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>

#include "tests/integration/gridwatch_process.h"

namespace gridwatch {
namespace {

std::string Exchange(int port, const std::string& raw) {
  return test_support::HttpExchange(port, raw);
}

HttpServerResponse Echo(const HttpServerRequest& req) {
  HttpServerResponse r;
  if (req.target == "/boom") throw std::runtime_error("boom");
  if (req.target.rfind("/missing", 0) == 0) {
    r.status = 404;
    r.body = "nothing here";
    return r;
  }
  r.content_type = "application/json";
  std::string auth;
  for (const auto& [k, v] : req.headers)
    if (k == "Authorization") auth = v;
  r.body = req.method + " " + req.target + " [" + auth + "] " + req.body;
  r.headers.emplace_back("X-Test", "yes");
  return r;
}

TEST(HttpServerTest, RoutesRequestsToTheHandlerAndBack) {
  HttpServer server(Echo);
  const int port = server.Start("127.0.0.1", 0);
  ASSERT_GT(port, 0);
  const auto get = test_support::HttpGet(port, "/api/v1/alerts?state=open");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "GET /api/v1/alerts?state=open [] ");
  const auto missing = test_support::HttpGet(port, "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "nothing here");
}

TEST(HttpServerTest, PostBodyHeadersAndResponseHeaders) {
  HttpServer server(Echo);
  const int port = server.Start("127.0.0.1", 0);
  const std::string body = R"({"outcome":"resident_fine"})";
  const std::string resp =
      Exchange(port,
               "POST /api/v1/alerts/7/resolve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
               "t0k\r\nConnection: close\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos) << resp;
  EXPECT_NE(resp.find("X-Test: yes"), std::string::npos) << resp;
  EXPECT_NE(resp.find("POST /api/v1/alerts/7/resolve [Bearer t0k] " + body), std::string::npos)
      << resp;
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> calls{0};
  HttpServer server([&](const HttpServerRequest& req) {
    ++calls;
    return Echo(req);
  });
  const int port = server.Start("127.0.0.1", 0);
  const std::string resp = Exchange(port,
                                    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_NE(resp.find("GET /a"), std::string::npos) << resp;
  EXPECT_NE(resp.find("GET /b"), std::string::npos) << resp;
}

TEST(HttpServerTest, HandlerExceptionIsA500) {
  HttpServer server(Echo);
  const int port = server.Start("127.0.0.1", 0);
  const auto r = test_support::HttpGet(port, "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("boom"), std::string::npos) << "internals leaked: " << r.body;
}

TEST(HttpServerTest, TakenPortThrowsAndStopIsIdempotent) {
  HttpServer first(Echo);
  const int port = first.Start("127.0.0.1", 0);
  HttpServer second(Echo);
  EXPECT_THROW(second.Start("127.0.0.1", port), std::runtime_error);
  first.Stop();
  first.Stop();
  EXPECT_EQ(test_support::HttpGet(port, "/a").status, 0) << "still serving after Stop";
}

}  // namespace
}  // namespace gridwatch
