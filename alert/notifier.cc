#include "alert/notifier.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

namespace gridwatch {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using nlohmann::json;

struct ParsedUrl {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;  // path + query
};

bool ParseUrl(std::string_view url, ParsedUrl* out) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
    out->port = "80";
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
    out->https = true;
    out->port = "443";
  } else {
    return false;
  }
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out->target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out->target.front() == '?') out->target = "/" + out->target;
  if (authority.empty()) return false;
  if (authority.front() == '[') {  // [ipv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    out->host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      out->port = std::string(authority.substr(close + 2));
  } else {
    const size_t colon = authority.rfind(':');
    out->host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out->port = std::string(authority.substr(colon + 1));
  }
  return !out->host.empty() && !out->port.empty();
}

class BeastHttpClient final : public HttpClient {
 public:
  explicit BeastHttpClient(HttpClientOptions options)
      : options_(std::move(options)), tls_(asio::ssl::context::tls_client) {
    tls_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (options_.ca_file.empty())
      tls_.set_default_verify_paths(ec);
    else
      tls_.load_verify_file(options_.ca_file, ec);
    if (ec) tls_error_ = "cannot load CA certificates: " + ec.message();
    tls_.set_verify_mode(options_.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }

  HttpResponse Send(const HttpRequest& req, int timeout_ms) override {
    HttpResponse out;
    ParsedUrl u;
    if (!ParseUrl(req.url, &u)) {
      out.error = "bad url";
      return out;
    }
    if (u.https && !tls_error_.empty()) {
      out.error = tls_error_;
      return out;
    }
    try {
      asio::io_context ioc;
      asio::ip::tcp::resolver resolver(ioc);
      const auto deadline = std::chrono::milliseconds(timeout_ms);
      const auto results = resolver.resolve(u.host, u.port);
      http::request<http::string_body> r = MakeRequest(req, u);
      http::response<http::string_body> res;
      beast::flat_buffer buffer;
      beast::error_code ec;
      if (u.https) {
        beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
          out.error = "cannot set TLS server name";
          return out;
        }
        if (options_.verify_peer)
          stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
        beast::get_lowest_layer(stream).expires_after(deadline);
        beast::get_lowest_layer(stream).connect(results);
        stream.handshake(asio::ssl::stream_base::client);
        http::write(stream, r);
        http::read(stream, buffer, res);
        stream.shutdown(ec);  // peers often skip close_notify; not an error for us
      } else {
        beast::tcp_stream stream(ioc);
        stream.expires_after(deadline);
        stream.connect(results);
        http::write(stream, r);
        http::read(stream, buffer, res);
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      }
      out.status = res.result_int();
      out.body = std::move(res.body());
    } catch (const std::exception& e) {
      out.status = 0;
      out.error = e.what();
    }
    return out;
  }

 private:
  static http::request<http::string_body> MakeRequest(const HttpRequest& req, const ParsedUrl& u) {
    http::request<http::string_body> r;
    r.method(req.method == "GET" ? http::verb::get
                                 : (req.method == "PUT" ? http::verb::put : http::verb::post));
    r.target(u.target);
    r.version(11);
    const bool default_port = u.port == (u.https ? "443" : "80");
    r.set(http::field::host, default_port ? u.host : u.host + ":" + u.port);
    r.set(http::field::user_agent, "gridwatch");
    r.set(http::field::connection, "close");
    for (const auto& [k, v] : req.headers) r.set(k, v);
    if (r.method() != http::verb::get || !req.body.empty()) {
      r.body() = req.body;
      r.prepare_payload();
    }
    return r;
  }

  HttpClientOptions options_;
  asio::ssl::context tls_;
  std::string tls_error_;
};

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

std::string NtfyPriority(std::string_view severity) {
  if (severity == "critical") return "5";
  if (severity == "high") return "4";
  if (severity == "medium") return "3";
  return "2";
}

}  // namespace

std::unique_ptr<HttpClient> NewBeastHttpClient(HttpClientOptions options) {
  return std::make_unique<BeastHttpClient>(std::move(options));
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string DingTalkSign(int64_t timestamp_ms, std::string_view secret) {
  const std::string data = std::to_string(timestamp_ms) + "\n" + std::string(secret);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return UrlEncode(Base64(mac, len));
}

ChannelMessage BuildChannelMessage(const Delivery& d, const Contact& contact, const SmsOptions& sms,
                                   int64_t now_ms) {
  ChannelMessage m;
  const json payload = json::parse(d.payload, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    m.error = "delivery payload is not JSON";
    return m;
  }
  const std::string text = payload.value("text", std::string());
  const std::string title = payload.value("title", std::string("gridwatch"));
  const json alert = payload.value("alert", json::object());
  HttpRequest& r = m.http;
  r.method = "POST";
  switch (contact.channel) {
    case Channel::kWebhook: {
      json body = alert;
      body["event"] = payload.value("event", std::string());
      body["message"] = text;
      body["ack_url"] = payload.value("ack_url", std::string());
      r.url = contact.target;
      r.body = body.dump();
      r.headers = {{"Content-Type", "application/json"},
                   {"Idempotency-Key", d.idempotency_key},
                   {"X-Gridwatch-Signature", "sha256=" + HmacSha256Hex(contact.secret, r.body)}};
      break;
    }
    case Channel::kWeCom:
    case Channel::kDingTalk: {
      json body = {{"msgtype", "text"}, {"text", {{"content", text}}}};
      r.url = contact.target;
      if (contact.channel == Channel::kDingTalk && !contact.secret.empty()) {
        r.url += contact.target.find('?') == std::string::npos ? '?' : '&';
        r.url +=
            "timestamp=" + std::to_string(now_ms) + "&sign=" + DingTalkSign(now_ms, contact.secret);
      }
      r.body = body.dump();
      r.headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", d.idempotency_key}};
      break;
    }
    case Channel::kSms: {
      const bool target_is_url =
          contact.target.starts_with("http://") || contact.target.starts_with("https://");
      const std::string tmpl = target_is_url ? contact.target : sms.url_template;
      if (tmpl.empty()) {
        m.error = "sms: no gateway URL template configured";
        return m;
      }
      r.method = sms.method == "POST" ? "POST" : "GET";
      r.url = ReplaceAll(ReplaceAll(tmpl, "{to}", UrlEncode(target_is_url ? "" : contact.target)),
                         "{text}", UrlEncode(text));
      if (r.method == "POST") {
        r.body = text;
        r.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
      }
      r.headers.emplace_back("Idempotency-Key", d.idempotency_key);
      break;
    }
    case Channel::kNtfy: {
      r.url = contact.target;
      r.body = text;
      r.headers = {{"Title", title},
                   {"Priority", NtfyPriority(alert.value("severity", std::string("medium")))},
                   {"Tags", "warning,house"},
                   {"Idempotency-Key", d.idempotency_key}};
      if (payload.contains("ack_url")) r.headers.emplace_back("Click", payload["ack_url"]);
      break;
    }
    case Channel::kMqtt: {
      m.is_mqtt = true;
      json body = alert;
      body["event"] = payload.value("event", std::string());
      body["message"] = text;
      body["idempotency_key"] = d.idempotency_key;
      m.mqtt_topic = contact.target;
      m.mqtt_payload = body.dump();
      break;
    }
  }
  return m;
}

}  // namespace gridwatch
