#include "alert/alert_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "alert/alert_json.h"
#include "common/time_util.h"

namespace gridwatch {
namespace {

using nlohmann::json;

ApiResponse Json(int status, const json& j) {
  ApiResponse r;
  r.status = status;
  r.body = j.dump();
  return r;
}

ApiResponse Error(int status, std::string_view reason) {
  return Json(status, json{{"error", std::string(reason)}});
}

// The one answer for anything outside the token's scope, existing or not.
ApiResponse Forbidden() { return Error(403, "forbidden"); }

std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    parts.push_back(path.substr(pos, next - pos));
    pos = next;
  }
  return parts;
}

json AlertObject(const Alert& a) { return json::parse(AlertJson(a, {}, true)); }

json AbsenceObject(const Absence& a) {
  return json{{"id", a.id},
              {"scope", a.scope},
              {"scope_id", a.scope_id},
              {"from", FormatRfc3339Utc(a.from_s)},
              {"to", FormatRfc3339Utc(a.to_s)},
              {"reason", a.reason},
              {"created_by", a.created_by}};
}

std::optional<int64_t> TimeField(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  const json& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) return ParseTimestamp(v.get<std::string>());
  return std::nullopt;
}

}  // namespace

void ApiRequest::SetTarget(std::string_view target) {
  const size_t q = target.find('?');
  path = std::string(target.substr(0, q));
  query.clear();
  if (q == std::string_view::npos) return;
  std::string_view qs = target.substr(q + 1);
  while (!qs.empty()) {
    const size_t amp = qs.find('&');
    std::string_view kv = qs.substr(0, amp);
    const size_t eq = kv.find('=');
    if (!kv.empty())
      query[UrlDecode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : UrlDecode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    qs = qs.substr(amp + 1);
  }
}

std::string ApiRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < k.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(k[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return v;
  }
  return {};
}

AlertApi::AlertApi(AlertManager* manager, std::vector<ApiToken> tokens, const Clock* clock,
                   UsageProvider* usage)
    : manager_(manager), clock_(clock), usage_(usage) {
  SetTokens(std::move(tokens));
}

void AlertApi::SetTokens(std::vector<ApiToken> tokens) {
  auto map = std::make_shared<std::unordered_map<std::string, ApiToken>>();
  for (ApiToken& t : tokens) {
    std::string key = t.token;
    map->emplace(std::move(key), std::move(t));
  }
  std::lock_guard lock(tokens_mu_);
  tokens_ = std::move(map);
}

std::optional<ApiToken> AlertApi::Authenticate(const ApiRequest& req) const {
  const std::string auth = req.Header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !auth.starts_with(kBearer)) return std::nullopt;
  std::shared_ptr<const std::unordered_map<std::string, ApiToken>> tokens;
  {
    std::lock_guard lock(tokens_mu_);
    tokens = tokens_;
  }
  auto it = tokens->find(auth.substr(kBearer.size()));
  if (it == tokens->end()) return std::nullopt;
  return it->second;
}

bool AlertApi::AlertInScope(const ApiToken& t, const Alert& a) const {
  if (t.scope == "admin") return true;
  if (t.scope == "street") return a.street == t.scope_id;
  if (t.scope == "community") return a.community == t.scope_id;
  if (t.scope == "grid") return a.grid == t.scope_id;
  return false;
}

bool AlertApi::HouseholdInScope(const ApiToken& t, const Household& hh) const {
  if (t.scope == "admin") return true;
  if (t.scope == "street") return hh.street == t.scope_id;
  if (t.scope == "community") return hh.community == t.scope_id;
  if (t.scope == "grid") return hh.grid == t.scope_id;
  return false;
}

bool AlertApi::AbsenceInScope(const ApiToken& t, const Absence& a) const {
  if (t.scope == "admin") return true;
  const std::shared_ptr<const Registry> reg_holder = manager_->registry();
  const Registry& reg = *reg_holder;
  if (a.scope == "household") {
    const auto h = reg.FindHousehold(a.scope_id);
    return h && HouseholdInScope(t, reg.at(*h));
  }
  // A silence is in scope if every household it covers is (and it covers some).
  bool any = false;
  for (const Household& hh : reg.households()) {
    const std::string& v =
        a.scope == "grid" ? hh.grid : (a.scope == "community" ? hh.community : hh.street);
    if (v != a.scope_id) continue;
    if (!HouseholdInScope(t, hh)) return false;
    any = true;
  }
  return any;
}

ApiResponse AlertApi::Handle(const ApiRequest& req) const {
  try {
    const auto parts = SplitPath(req.path);
    if (parts.size() < 3 || parts[0] != "api" || parts[1] != "v1")
      return Error(404, "no such endpoint");
    // A notification's one-tap link: signed, no bearer token (a phone's browser opens it).
    if (parts.size() == 5 && parts[2] == "alerts" && parts[4] == "ack" &&
        req.query.contains("sig") && req.Header("Authorization").empty())
      return AckLink(parts[3], req);
    const std::optional<ApiToken> token = Authenticate(req);
    if (!token) {
      ApiResponse r = Error(401, "missing or unknown bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    const std::string_view res = parts[2];
    if (res == "alerts") {
      if (parts.size() == 3) {
        if (req.method != "GET") return Error(405, "method not allowed");
        return ListAlerts(*token, req);
      }
      const auto id = ParseId(parts[3]);
      if (!id) return Error(400, "alert id must be a positive integer");
      if (parts.size() == 4) {
        if (req.method != "GET") return Error(405, "method not allowed");
        return GetAlert(*token, *id);
      }
      if (parts.size() == 5 && (parts[4] == "ack" || parts[4] == "resolve")) {
        if (req.method != "POST") return Error(405, "method not allowed");
        return parts[4] == "ack" ? Ack(*token, *id, req) : ResolveAlert(*token, *id, req);
      }
      return Error(404, "no such endpoint");
    }
    if (res == "absences") {
      if (parts.size() == 3) {
        if (req.method == "GET") return ListAbsences(*token);
        if (req.method == "POST") return AddAbsence(*token, req);
        return Error(405, "method not allowed");
      }
      if (parts.size() == 4) {
        if (req.method != "DELETE") return Error(405, "method not allowed");
        const auto id = ParseId(parts[3]);
        if (!id) return Error(400, "absence id must be a positive integer");
        return DeleteAbsence(*token, *id);
      }
      return Error(404, "no such endpoint");
    }
    if (res == "households" && parts.size() == 5 && parts[4] == "usage") {
      if (req.method != "GET") return Error(405, "method not allowed");
      return Usage(*token, std::string(parts[3]), req);
    }
    return Error(404, "no such endpoint");
  } catch (const std::exception& e) {
    return Error(500, "internal error");
  }
}

ApiResponse AlertApi::AckLink(std::string_view id_text, const ApiRequest& req) const {
  auto page = [](int status, const std::string& zh, const std::string& en) {
    ApiResponse r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body =
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta "
        "name=\"viewport\" content=\"width=device-width\"><title>gridwatch</title></head><body>"
        "<p>" +
        zh + "</p><p lang=\"en\">" + en + "</p></body></html>";
    return r;
  };
  if (req.method != "GET" && req.method != "POST") return Error(405, "method not allowed");
  const auto id = ParseId(id_text);
  const auto c = req.query.find("c");
  const auto who = id && c != req.query.end()
                       ? manager_->VerifyAckLink(*id, c->second, req.query.at("sig"))
                       : std::nullopt;
  if (!who) return page(403, "链接无效。", "This link is not valid.");
  const std::string n = "#" + std::to_string(*id);
  if (req.method == "GET") {
    // Chat apps fetch links to preview them: a GET only shows the button that POSTs.
    return page(200,
                "确认您已收到告警 " + n +
                    "，将先致电、再上门查看：</p><form method=\"post\"><button type=\"submit\" "
                    "style=\"font-size:1.5em\">确认 / Acknowledge</button></form><p>",
                "Confirm that you have alert " + n + " and will call first, then visit.");
  }
  auto r = manager_->Acknowledge(*id, *who + " (link)");
  if (r)
    return page(200, "已确认告警 " + n + "。请先致电，再上门查看。",
                "Alert " + n + " acknowledged. Call first, then visit.");
  if (r.error().status == 409)
    return page(200, "告警 " + n + " 已被确认或已关闭。",
                "Alert " + n + " was already acknowledged or closed.");
  if (r.error().status == 404) return page(404, "没有这个告警。", "No such alert.");
  return page(500, "暂时无法确认，请稍后再试。", "Could not acknowledge now; try again.");
}

ApiResponse AlertApi::ListAlerts(const ApiToken& t, const ApiRequest& req) const {
  AlertFilter f;
  auto q = [&](const char* k) {
    auto it = req.query.find(k);
    return it == req.query.end() ? std::string() : it->second;
  };
  const std::string state = q("state");
  if (state == "active") {
    f.active_only = true;
  } else if (!state.empty()) {
    f.state = ParseAlertState(state);
    if (!f.state)
      return Error(400, "state must be open, notified, acknowledged, resolved or active");
  }
  f.street = q("street");
  f.community = q("community");
  f.grid = q("grid");
  if (const std::string l = q("limit"); !l.empty()) {
    const auto n = ParseId(l);
    if (!n || *n > 5000) return Error(400, "limit must be 1..5000");
    f.limit = static_cast<int>(*n);
  }
  // Narrow to the token's scope; a filter naming another area simply finds nothing.
  std::string* scoped = t.scope == "street"      ? &f.street
                        : t.scope == "community" ? &f.community
                        : t.scope == "grid"      ? &f.grid
                                                 : nullptr;
  json arr = json::array();
  if (scoped) {
    if (!scoped->empty() && *scoped != t.scope_id)
      return Json(200, {{"alerts", arr}, {"count", 0}});
    *scoped = t.scope_id;
  }
  for (const Alert& a : manager_->ListAlerts(f))
    if (AlertInScope(t, a)) arr.push_back(AlertObject(a));
  const size_t n = arr.size();
  return Json(200, {{"alerts", std::move(arr)}, {"count", n}});
}

ApiResponse AlertApi::GetAlert(const ApiToken& t, int64_t id) const {
  const auto a = manager_->GetAlert(id);
  if (!a) return t.scope == "admin" ? Error(404, "no such alert") : Forbidden();
  if (!AlertInScope(t, *a)) return Forbidden();
  json j = AlertObject(*a);
  json tr = json::array();
  for (const Transition& x : manager_->Transitions(id))
    tr.push_back({{"from", std::string(AlertStateName(x.from))},
                  {"to", std::string(AlertStateName(x.to))},
                  {"who", x.who},
                  {"at", FormatRfc3339Utc(x.at_ms / 1000)},
                  {"detail", x.detail}});
  j["transitions"] = std::move(tr);
  return Json(200, j);
}

ApiResponse AlertApi::Ack(const ApiToken& t, int64_t id, const ApiRequest& req) const {
  const auto a = manager_->GetAlert(id);
  if (!a) return t.scope == "admin" ? Error(404, "no such alert") : Forbidden();
  if (!AlertInScope(t, *a)) return Forbidden();
  std::string who = t.Label();
  if (!req.body.empty()) {
    const json b = json::parse(req.body, nullptr, false);
    if (b.is_discarded() || !b.is_object()) return Error(400, "body must be a JSON object");
    if (b.contains("by")) {
      if (!b["by"].is_string() || b["by"].get<std::string>().size() > 100)
        return Error(422, "by must be a string of at most 100 bytes");
      who += " " + b["by"].get<std::string>();
    }
  }
  auto r = manager_->Acknowledge(id, who);
  if (!r) return Error(r.error().status, r.error().reason);
  return Json(200, AlertObject(*r));
}

ApiResponse AlertApi::ResolveAlert(const ApiToken& t, int64_t id, const ApiRequest& req) const {
  const auto a = manager_->GetAlert(id);
  if (!a) return t.scope == "admin" ? Error(404, "no such alert") : Forbidden();
  if (!AlertInScope(t, *a)) return Forbidden();
  const json b = json::parse(req.body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) return Error(400, "body must be a JSON object");
  if (!b.contains("outcome") || !b["outcome"].is_string())
    return Error(422,
                 "outcome is required: resident_fine, away, assisted, hospital, deceased, "
                 "false_reading or other");
  const auto outcome = ParseHumanOutcome(b["outcome"].get<std::string>());
  if (!outcome)
    return Error(422,
                 "outcome must be resident_fine, away, assisted, hospital, deceased, "
                 "false_reading or other");
  std::string note;
  if (b.contains("note")) {
    if (!b["note"].is_string()) return Error(422, "note must be a string");
    note = b["note"].get<std::string>();
    if (note.size() > 2000) return Error(422, "note is longer than 2000 bytes");
  }
  if (*outcome == Outcome::kOther && note.empty()) return Error(422, "outcome other needs a note");
  int64_t until = 0;
  if (b.contains("until")) {
    const auto u = TimeField(b, "until");
    if (!u) return Error(422, "until must be RFC 3339 or epoch seconds");
    until = *u;
  }
  auto r = manager_->Resolve(id, *outcome, note, t.Label(), until);
  if (!r) return Error(r.error().status, r.error().reason);
  return Json(200, AlertObject(*r));
}

ApiResponse AlertApi::ListAbsences(const ApiToken& t) const {
  json arr = json::array();
  for (const Absence& a : manager_->ListAbsences())
    if (AbsenceInScope(t, a)) arr.push_back(AbsenceObject(a));
  const size_t n = arr.size();
  return Json(200, {{"absences", std::move(arr)}, {"count", n}});
}

ApiResponse AlertApi::AddAbsence(const ApiToken& t, const ApiRequest& req) const {
  const json b = json::parse(req.body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) return Error(400, "body must be a JSON object");
  Absence a;
  if (b.contains("household")) {
    if (!b["household"].is_string()) return Error(422, "household must be a string");
    a.scope = "household";
    a.scope_id = b["household"].get<std::string>();
  } else if (b.contains("scope") && b.contains("scope_id") && b["scope"].is_string() &&
             b["scope_id"].is_string()) {
    a.scope = b["scope"].get<std::string>();
    a.scope_id = b["scope_id"].get<std::string>();
    if (a.scope != "household" && a.scope != "grid" && a.scope != "community" &&
        a.scope != "street")
      return Error(422, "scope must be household, grid, community or street");
  } else {
    return Error(422, "give household, or scope and scope_id");
  }
  const auto from = TimeField(b, "from");
  const auto to = TimeField(b, "to");
  if (!from || !to) return Error(422, "from and to are required (RFC 3339 or epoch seconds)");
  if (*to <= *from) return Error(422, "to must be after from");
  a.from_s = *from;
  a.to_s = *to;
  if (b.contains("reason")) {
    if (!b["reason"].is_string()) return Error(422, "reason must be a string");
    a.reason = b["reason"].get<std::string>();
    if (a.reason.size() > 500) return Error(422, "reason is longer than 500 bytes");
  }
  a.created_by = t.Label();
  // Out of scope and unknown look the same to a scoped token.
  if (!AbsenceInScope(t, a))
    return t.scope == "admin" ? Error(422, "unknown " + a.scope) : Forbidden();
  auto r = manager_->AddAbsence(a);
  if (!r) return Error(r.error().status, r.error().reason);
  return Json(201, AbsenceObject(*r));
}

ApiResponse AlertApi::DeleteAbsence(const ApiToken& t, int64_t id) const {
  const auto a = manager_->GetAbsence(id);
  if (!a) return t.scope == "admin" ? Error(404, "no such absence") : Forbidden();
  if (!AbsenceInScope(t, *a)) return Forbidden();
  auto r = manager_->RemoveAbsence(id);
  if (!r) return Error(r.error().status, r.error().reason);
  return Json(200, {{"deleted", id}});
}

ApiResponse AlertApi::Usage(const ApiToken& t, const std::string& household,
                            const ApiRequest& req) const {
  const std::shared_ptr<const Registry> reg_holder = manager_->registry();
  const Registry& reg = *reg_holder;
  const auto h = reg.FindHousehold(household);
  if (!h) return t.scope == "admin" ? Error(404, "no such household") : Forbidden();
  if (!HouseholdInScope(t, reg.at(*h))) return Forbidden();
  int64_t hours = 48;
  if (auto it = req.query.find("hours"); it != req.query.end()) {
    const auto n = ParseId(it->second);
    if (!n || *n > 24 * 14) return Error(400, "hours must be 1..336");
    hours = *n;
  }
  if (!usage_) return Error(501, "usage is not available in this service");
  const int64_t now_s = clock_->NowS();
  const auto points = usage_->Usage(*h, now_s - hours * 3600, now_s);
  if (!points) return Error(404, "no usage known for this household");
  json arr = json::array();
  auto num = [](double v) { return v < 0 ? json(nullptr) : json(v); };
  for (const UsagePoint& p : *points)
    arr.push_back({{"ts", FormatRfc3339Utc(p.ts_s)},
                   {"kwh", num(p.kwh)},
                   {"expected", num(p.expected_kwh)},
                   {"low", num(p.low_kwh)},
                   {"high", num(p.high_kwh)}});
  return Json(200, {{"household", household}, {"hours", hours}, {"points", std::move(arr)}});
}

}  // namespace gridwatch
