// HttpReceiver: a real HTTP/1.1 server on a loopback port for the alert tests. It records every
// request (method, target, headers, body) and answers with a configurable status and body.
// Stop() closes the port (clients get "connection refused"); Start() opens the same port again.
//
// Thread-safe: requests are served on the receiver's own thread; every method may be called
// from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gridwatch::test_support {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpReceiver {
 public:
  // Binds 127.0.0.1 on a free port and starts serving; with a certificate chain and key (PEM)
  // it serves HTTPS. Throws std::runtime_error on failure.
  explicit HttpReceiver(std::string cert_file = "", std::string key_file = "");
  ~HttpReceiver();
  HttpReceiver(const HttpReceiver&) = delete;
  HttpReceiver& operator=(const HttpReceiver&) = delete;

  void Start();  // no-op if running
  void Stop();   // no-op if stopped; returns once the port is closed

  int port() const { return port_; }
  std::string url(const std::string& path) const;
  void SetResponse(int status, std::string body = "{}");
  std::vector<RecordedRequest> Requests() const;
  size_t RequestCount() const;
  // Blocks until at least `count` requests were recorded or `timeout_ms` passed (real I/O from
  // another thread; a condition variable, not a sleep). Returns whether the count was reached.
  bool WaitForRequests(size_t count, int timeout_ms) const;

 private:
  void Serve(int listen_fd);
  template <typename Stream>
  void Exchange(Stream& stream);

  std::string cert_file_, key_file_;

  int port_ = 0;
  int listen_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<RecordedRequest> requests_;
  int status_ = 200;
  std::string body_ = "{}";
};

}  // namespace gridwatch::test_support
