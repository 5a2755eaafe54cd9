#include "alert/csv_files.h"

#include <fstream>
#include <set>
#include <sstream>

#include "common/time_util.h"
#include "config/config_error.h"

namespace gridwatch {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

// Calls fn(lineno, fields) for every data row after checking the header.
template <typename Fn>
void ForEachRow(std::string_view text, const std::string& source,
                const std::vector<std::string>& header, Fn fn) {
  int lineno = 0;
  bool saw_header = false;
  size_t pos = 0;
  if (text.starts_with("\xEF\xBB\xBF")) pos = 3;  // UTF-8 BOM
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty() || line.front() == '#') {
      if (nl == text.size()) break;
      continue;
    }
    auto fields = SplitCsvLine(line);
    for (auto& f : fields) f = Trim(f);
    if (!saw_header) {
      saw_header = true;
      if (fields != header) {
        std::string want;
        for (const auto& h : header) want += (want.empty() ? "" : ",") + h;
        throw ConfigError(source, lineno, "header must be '" + want + "'");
      }
      continue;
    }
    if (fields.size() != header.size())
      throw ConfigError(source, lineno,
                        "expected " + std::to_string(header.size()) + " columns, got " +
                            std::to_string(fields.size()));
    fn(lineno, fields);
    if (nl == text.size()) break;
  }
  if (!saw_header) throw ConfigError(source, 0, "empty file (no header)");
}

bool IsUrl(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

}  // namespace

std::vector<std::string> SplitCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return out;
}

std::vector<Contact> ParseContactsCsv(std::string_view text, const std::string& source) {
  std::vector<Contact> out;
  ForEachRow(text, source, {"scope", "scope_id", "name", "channel", "target", "secret", "lang"},
             [&](int line, const std::vector<std::string>& f) {
               Contact c;
               c.scope = f[0];
               if (c.scope != "grid" && c.scope != "community" && c.scope != "street")
                 throw ConfigError(source, line,
                                   "scope must be grid, community or street (got '" + f[0] + "')");
               c.scope_id = f[1];
               if (c.scope_id.empty()) throw ConfigError(source, line, "empty scope_id");
               c.name = f[2];
               if (c.name.empty()) throw ConfigError(source, line, "empty name");
               auto ch = ParseChannel(f[3]);
               if (!ch)
                 throw ConfigError(source, line,
                                   "channel must be webhook, wecom, dingtalk, sms, ntfy or mqtt "
                                   "(got '" +
                                       f[3] + "')");
               c.channel = *ch;
               c.target = f[4];
               if (c.target.empty()) throw ConfigError(source, line, "empty target");
               const bool url_channel = c.channel != Channel::kSms && c.channel != Channel::kMqtt;
               if (url_channel && !IsUrl(c.target))
                 throw ConfigError(source, line,
                                   std::string(ChannelName(c.channel)) +
                                       " target must be an http:// or https:// URL");
               if (c.channel == Channel::kMqtt && c.target.find_first_of("+#") != std::string::npos)
                 throw ConfigError(source, line, "mqtt target must be a topic without wildcards");
               c.secret = f[5];
               if (c.channel == Channel::kDingTalk && c.secret.empty())
                 throw ConfigError(source, line, "dingtalk needs the robot's secret (SEC...)");
               c.lang = f[6].empty() ? "zh-CN" : f[6];
               if (c.lang != "zh-CN" && c.lang != "en")
                 throw ConfigError(source, line, "lang must be zh-CN or en (got '" + f[6] + "')");
               out.push_back(std::move(c));
             });
  return out;
}

std::vector<Contact> LoadContactsCsv(const std::string& path) {
  return ParseContactsCsv(ReadFile(path), path);
}

std::vector<ApiToken> ParseTokensCsv(std::string_view text, const std::string& source) {
  std::vector<ApiToken> out;
  std::set<std::string> seen;
  ForEachRow(text, source, {"token", "scope", "scope_id"},
             [&](int line, const std::vector<std::string>& f) {
               ApiToken t{f[0], f[1], f[2]};
               if (t.token.size() < 16)
                 throw ConfigError(source, line, "token must be at least 16 characters");
               if (!seen.insert(t.token).second) throw ConfigError(source, line, "duplicate token");
               if (t.scope != "street" && t.scope != "community" && t.scope != "grid" &&
                   t.scope != "admin")
                 throw ConfigError(
                     source, line,
                     "scope must be street, community, grid or admin (got '" + t.scope + "')");
               if (t.scope != "admin" && t.scope_id.empty())
                 throw ConfigError(source, line, "empty scope_id");
               out.push_back(std::move(t));
             });
  return out;
}

std::vector<ApiToken> LoadTokensCsv(const std::string& path) {
  return ParseTokensCsv(ReadFile(path), path);
}

std::vector<Absence> ParseAbsencesCsv(std::string_view text, const std::string& source,
                                      const Registry& registry) {
  std::vector<Absence> out;
  ForEachRow(text, source, {"household", "from", "to", "reason"},
             [&](int line, const std::vector<std::string>& f) {
               if (!registry.FindHousehold(f[0]))
                 throw ConfigError(source, line, "unknown household '" + f[0] + "'");
               const auto from = ParseTimestamp(f[1]);
               if (!from) throw ConfigError(source, line, "bad from '" + f[1] + "'");
               const auto to = ParseTimestamp(f[2]);
               if (!to) throw ConfigError(source, line, "bad to '" + f[2] + "'");
               if (*to <= *from) throw ConfigError(source, line, "to must be after from");
               Absence a;
               a.scope = "household";
               a.scope_id = f[0];
               a.from_s = *from;
               a.to_s = *to;
               a.reason = f[3];
               a.created_by = "absences.csv";
               out.push_back(std::move(a));
             });
  return out;
}

std::vector<Absence> LoadAbsencesCsv(const std::string& path, const Registry& registry) {
  return ParseAbsencesCsv(ReadFile(path), path, registry);
}

}  // namespace gridwatch
