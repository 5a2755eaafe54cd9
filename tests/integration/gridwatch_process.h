// GridwatchProcess: the real `gridwatch` binary as a child process for end-to-end tests, with its
// stdout/stderr in files, the HTTP port it printed, plain HTTP GETs against it, and SIGTERM /
// SIGKILL. HttpGet is a minimal HTTP/1.0 client over a loopback socket; WaitMetric and WaitReady
// poll /metrics and /readyz.
//
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace gridwatch::test_support {

struct HttpResult {
  int status = 0;  // 0 = could not connect
  std::string body;
};

// Sends `raw` on one loopback connection and returns all the server sent until it closed the
// connection (or 5 s of silence); empty if it could not connect.
std::string HttpExchange(int port, const std::string& raw);

HttpResult HttpGet(int port, const std::string& path);
// The same with extra request header lines, each ending in "\r\n" (e.g. an Authorization).
HttpResult HttpGet(int port, const std::string& path, const std::string& headers);

// Sum of the samples of `metric` (optionally only lines containing `label_filter`) in a scrape;
// -1 if absent.
double MetricValue(const std::string& scrape, const std::string& metric,
                   const std::string& label_filter = "");

// Polls /metrics until `metric` (optionally only lines containing `filter`) sums to at least
// `at_least`, or the timeout; returns whether it got there.
bool WaitMetric(int port, const std::string& metric, double at_least,
                std::chrono::milliseconds timeout, const std::string& filter = "");
// Polls /readyz until it answers 200, or the timeout.
bool WaitReady(int port, std::chrono::milliseconds timeout);

class GridwatchProcess {
 public:
  GridwatchProcess(std::vector<std::string> args, std::string log_dir);
  ~GridwatchProcess();  // SIGKILLs if still running

  // Waits (bounded) for "listening on http://HOST:PORT" on stdout; returns the port or -1.
  int WaitForPort(int timeout_ms = 15000);
  // SIGTERM and wait; returns the exit code (-1 on timeout, 128+signal if killed by one).
  int Terminate(int timeout_ms = 20000);
  void Kill();
  // Sends `sig` (e.g. SIGHUP) if still running.
  void Signal(int sig);
  // Waits for the process to exit by itself; the exit code as Terminate, -1 on timeout.
  int WaitExit(int timeout_ms) { return Wait(timeout_ms); }
  bool running() const { return pid_ > 0; }
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  int Wait(int timeout_ms);
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

}  // namespace gridwatch::test_support
