// Notifiers: how one outbox delivery becomes a message on a channel. Each channel is a pure
// encoder (BuildChannelRequest) from the delivery's payload and the contact to an HTTP request
// (webhook, WeCom robot, DingTalk robot, SMS gateway, ntfy) or an MQTT publish (mqtt); the
// HttpClient sends it. The generic webhook is signed: `X-Gridwatch-Signature: sha256=<hex
// HMAC-SHA256(body, contact secret)>` and carries `Idempotency-Key`.
//
// Encoders are pure and thread-safe. An HttpClient is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alert/alert.h"

namespace gridwatch {

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // http://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;     // 0 = no response (connect/timeout/protocol error; see error)
  std::string error;  // empty on a response
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends `req` and waits for the response, at most `timeout_ms` in total. Never throws.
  virtual HttpResponse Send(const HttpRequest& req, int timeout_ms) = 0;
};

struct HttpClientOptions {
  // https:// peers are verified against this CA bundle (PEM); empty = the system's CA paths.
  std::string ca_file;
  bool verify_peer = true;  // false only for tests and trusted networks
};

// A synchronous Boost.Beast HTTP/1.1 client: http://, and https:// (TLS 1.2+, SNI, peer and
// host name verified). One connection per request ("Connection: close").
std::unique_ptr<HttpClient> NewBeastHttpClient(HttpClientOptions options = {});

// Lower-case hex of HMAC-SHA256(data, key).
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// DingTalk robot signature: urlencode(base64(HMAC-SHA256(key=secret,
// data=timestamp_ms + "\n" + secret))).
std::string DingTalkSign(int64_t timestamp_ms, std::string_view secret);
std::string UrlEncode(std::string_view s);

// SMS gateway settings: targets that are not URLs are phone numbers sent through this template
// ({to} and {text} are replaced, URL-encoded), e.g. Kannel's
// "http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&to={to}&text={text}".
// A target that is itself a URL is used as the template.
struct SmsOptions {
  std::string url_template;
  std::string method = "GET";  // GET, or POST (the text then also goes in the body)
};

// What to send for one delivery: either an HTTP request or an MQTT publish.
struct ChannelMessage {
  bool is_mqtt = false;
  HttpRequest http;
  std::string mqtt_topic;
  std::string mqtt_payload;
  std::string error;  // non-empty: the delivery cannot be encoded (permanent failure)
};

// Encodes `d` (payload {"event","title","text","ack_url","alert"}) for `contact` at `now_ms`
// (DingTalk signs with it).
ChannelMessage BuildChannelMessage(const Delivery& d, const Contact& contact, const SmsOptions& sms,
                                   int64_t now_ms);

}  // namespace gridwatch
