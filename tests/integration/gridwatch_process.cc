#include "tests/integration/gridwatch_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace gridwatch::test_support {

namespace {
std::string ReadFile(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string HttpExchange(int port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, raw.data(), raw.size(), 0) < 0) {
    ::close(fd);
    return "";
  }
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return resp;
}

HttpResult HttpGet(int port, const std::string& path) { return HttpGet(port, path, ""); }

HttpResult HttpGet(int port, const std::string& path, const std::string& headers) {
  HttpResult r;
  const std::string resp =
      HttpExchange(port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + headers + "\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12) return r;
  r.status = std::atoi(resp.c_str() + 9);
  const size_t body = resp.find("\r\n\r\n");
  if (body != std::string::npos) r.body = resp.substr(body + 4);
  return r;
}

double MetricValue(const std::string& scrape, const std::string& metric,
                   const std::string& label_filter) {
  std::istringstream in(scrape);
  std::string line;
  double total = -1;
  while (std::getline(in, line)) {
    if (line.rfind(metric, 0) != 0) continue;
    const char c = line.size() > metric.size() ? line[metric.size()] : '\0';
    if (c != ' ' && c != '{') continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    total = (total < 0 ? 0 : total) + std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return total;
}

bool WaitMetric(int port, const std::string& metric, double at_least,
                std::chrono::milliseconds timeout, const std::string& filter) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (MetricValue(HttpGet(port, "/metrics").body, metric, filter) >= at_least) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool WaitReady(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpGet(port, "/readyz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

GridwatchProcess::GridwatchProcess(std::vector<std::string> args, std::string log_dir)
    : out_path_(log_dir + "/gridwatch.out"), err_path_(log_dir + "/gridwatch.err") {
  pid_ = ::fork();
  if (pid_ == 0) {
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    std::string bin = GRIDWATCH_BINARY;
    argv.push_back(bin.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
}

GridwatchProcess::~GridwatchProcess() { Kill(); }

int GridwatchProcess::WaitForPort(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::regex re("listening on http://[0-9.]+:([0-9]+)");
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string out = Stdout();
    if (std::regex_search(out, m, re)) return std::stoi(m[1]);
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int GridwatchProcess::Wait(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int GridwatchProcess::Terminate(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return Wait(timeout_ms);
}

void GridwatchProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Wait(5000);
  pid_ = -1;
}

void GridwatchProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string GridwatchProcess::Stdout() const { return ReadFile(out_path_); }
std::string GridwatchProcess::Stderr() const { return ReadFile(err_path_); }

}  // namespace gridwatch::test_support
