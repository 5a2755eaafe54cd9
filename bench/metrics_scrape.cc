#include "bench/metrics_scrape.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <sstream>

namespace gridwatch {

double ScrapeCounter(const std::string& url, const std::string& metric) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  using tcp = boost::asio::ip::tcp;
  // http://host:port/path
  const std::string rest = url.rfind("http://", 0) == 0 ? url.substr(7) : url;
  const size_t slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  const std::string target = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  const size_t colon = hostport.find(':');
  const std::string host = hostport.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    std::istringstream in(res.body());
    std::string line;
    double total = -1;
    while (std::getline(in, line)) {
      if (line.rfind(metric, 0) != 0) continue;
      const char c = line.size() > metric.size() ? line[metric.size()] : '\0';
      if (c != ' ' && c != '{') continue;
      const size_t sp = line.rfind(' ');
      total = (total < 0 ? 0 : total) + std::strtod(line.c_str() + sp + 1, nullptr);
    }
    return total;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace gridwatch
