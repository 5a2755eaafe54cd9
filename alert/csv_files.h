// The alert stage's CSV inputs: contacts.csv (scope,scope_id,name,channel,target,secret,lang),
// tokens.csv (token,scope,scope_id) and absences.csv (household,from,to,reason). Each loader
// validates every row and throws ConfigError naming the file and line (start-up only).
// Headers are required and checked; quoted fields (RFC 4180) are accepted; blank lines and lines
// starting with '#' are skipped.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "alert/alert.h"
#include "config/registry.h"

namespace gridwatch {

// An API bearer token and what it may see: scope street|community|grid (scope_id names it) or
// admin (scope_id ignored, sees everything).
struct ApiToken {
  std::string token;
  std::string scope;
  std::string scope_id;
  // "street:S1" — recorded as who acted; never the token itself.
  std::string Label() const { return scope + ":" + scope_id; }
};

// Contacts: scope must be grid|community|street, scope_id/name/target non-empty, channel one of
// webhook|wecom|dingtalk|sms|ntfy|mqtt, URL targets (all but sms phone numbers and mqtt topics)
// start with http:// or https://, lang empty (= zh-CN), zh-CN or en; dingtalk needs a secret.
std::vector<Contact> LoadContactsCsv(const std::string& path);
std::vector<Contact> ParseContactsCsv(std::string_view text, const std::string& source);

// Tokens: non-empty token (>= 16 characters), unique, scope street|community|grid|admin,
// scope_id non-empty unless admin.
std::vector<ApiToken> LoadTokensCsv(const std::string& path);
std::vector<ApiToken> ParseTokensCsv(std::string_view text, const std::string& source);

// Absences: household must exist in `registry`, from/to RFC 3339 or epoch seconds, to > from.
// Returns household-scoped absences (created_by "absences.csv"); register them with
// AlertManager::AddAbsence — the same path the REST API takes.
std::vector<Absence> LoadAbsencesCsv(const std::string& path, const Registry& registry);
std::vector<Absence> ParseAbsencesCsv(std::string_view text, const std::string& source,
                                      const Registry& registry);

// One CSV record split into fields (RFC 4180 quotes); exposed for tests.
std::vector<std::string> SplitCsvLine(std::string_view line);

}  // namespace gridwatch
