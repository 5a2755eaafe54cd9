// AlertApi: the REST API of the alert stage as a pure request -> response handler; the app's HTTP
// server parses the request, calls Handle() and writes the response. JSON in and out;
// `Authorization: Bearer <token>` with tokens from tokens.csv scoped to a street, community or
// grid (or admin). A token sees nothing outside its scope: an alert, absence or household
// outside it gets the same 403 body whether or not it exists.
//
//   GET    /api/v1/alerts?state=open|notified|acknowledged|resolved|active&street=&community=
//          &grid=&limit=
//   GET    /api/v1/alerts/{id}                 (with its transitions)
//   POST   /api/v1/alerts/{id}/ack             body optional {"by": "name"}
//   GET|POST /api/v1/alerts/{id}/ack?c=..&sig=..  the one-tap link of a notification: no token,
//          HMAC-signed per alert and contact (AlertManager::AckLink); GET answers a page with
//          one button that POSTs (link previews never acknowledge), POST acknowledges
//   POST   /api/v1/alerts/{id}/resolve         {"outcome": ..., "note": ..., "until": ...}
//          (until, with away or hospital: back by then; registers the household's absence)
//   GET    /api/v1/absences
//   POST   /api/v1/absences                    {"household"| "scope"+"scope_id", "from", "to",
//                                               "reason"}
//   DELETE /api/v1/absences/{id}
//   GET    /api/v1/households/{id}/usage?hours=48   (501 without a UsageProvider)
// Errors: 400 bad JSON/parameter, 401 no or unknown token, 403 out of scope, 404 unknown path or
// (admin) id, 405 method, 409 state conflict, 422 invalid value, 501 not available; body
// {"error": reason}.
//
// Thread-safe (the AlertManager is; the token table is immutable).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alert/alert_manager.h"
#include "alert/csv_files.h"
#include "common/clock.h"

namespace gridwatch {

struct ApiRequest {
  std::string method;                        // "GET", "POST", "DELETE"
  std::string path;                          // "/api/v1/alerts/12/ack" (no query)
  std::map<std::string, std::string> query;  // decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Splits "path?query" into path and decoded query parameters.
  void SetTarget(std::string_view target);
  // Case-insensitive header lookup; empty if absent.
  std::string Header(std::string_view name) const;
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
};

// One point of a household's recent use against its usual band.
struct UsagePoint {
  int64_t ts_s = 0;          // end of interval
  double kwh = -1;           // observed; < 0 = no reading
  double expected_kwh = -1;  // the model's usual use; < 0 = unknown
  double low_kwh = -1;
  double high_kwh = -1;
};

// Implemented by the app over detect (Detector::ExpectedBand) and its recent readings.
// Thread-safe: called from the HTTP server's threads.
class UsageProvider {
 public:
  virtual ~UsageProvider() = default;
  // Points for intervals ending in (from_s, to_s], oldest first; nullopt if unknown household.
  virtual std::optional<std::vector<UsagePoint>> Usage(HouseholdIndex h, int64_t from_s,
                                                       int64_t to_s) = 0;
};

class AlertApi {
 public:
  // `manager` and `clock` (and `usage` if given) must outlive the API.
  AlertApi(AlertManager* manager, std::vector<ApiToken> tokens, const Clock* clock,
           UsageProvider* usage = nullptr);

  // Reloaded tokens (SIGHUP); requests in flight finish with the tokens they started with.
  void SetTokens(std::vector<ApiToken> tokens);

  // Handles one request; never throws.
  ApiResponse Handle(const ApiRequest& req) const;

 private:
  std::optional<ApiToken> Authenticate(const ApiRequest& req) const;
  bool AlertInScope(const ApiToken& t, const Alert& a) const;
  bool HouseholdInScope(const ApiToken& t, const Household& hh) const;
  bool AbsenceInScope(const ApiToken& t, const Absence& a) const;

  ApiResponse AckLink(std::string_view id_text, const ApiRequest& req) const;
  ApiResponse ListAlerts(const ApiToken& t, const ApiRequest& req) const;
  ApiResponse GetAlert(const ApiToken& t, int64_t id) const;
  ApiResponse Ack(const ApiToken& t, int64_t id, const ApiRequest& req) const;
  ApiResponse ResolveAlert(const ApiToken& t, int64_t id, const ApiRequest& req) const;
  ApiResponse ListAbsences(const ApiToken& t) const;
  ApiResponse AddAbsence(const ApiToken& t, const ApiRequest& req) const;
  ApiResponse DeleteAbsence(const ApiToken& t, int64_t id) const;
  ApiResponse Usage(const ApiToken& t, const std::string& household, const ApiRequest& req) const;

  AlertManager* manager_;
  mutable std::mutex tokens_mu_;
  std::shared_ptr<const std::unordered_map<std::string, ApiToken>> tokens_;  // under tokens_mu_
  const Clock* clock_;
  UsageProvider* usage_;
};

}  // namespace gridwatch
