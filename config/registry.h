// Registry: the households gridwatch watches, loaded from households.csv
// (household,meter,category,street,community,grid,address). Each household gets a dense index
// (0..N-1, in file order) that the pipeline uses instead of strings on the hot path; meters map
// to households for ingest.
//
// Immutable after loading; thread-safe to read. A reload builds a new Registry.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gridwatch {

using HouseholdIndex = uint32_t;

// Categories a household may have; per-category detection overrides key on these.
inline const std::vector<std::string>& KnownCategories() {
  static const std::vector<std::string> k = {"elderly_alone", "elderly_couple", "disabled",
                                             "rental",        "family",         "other"};
  return k;
}

struct Household {
  std::string id;        // "H0001": an identifier, personal data: never a metric label
  std::string meter;     // "M8589669"
  std::string category;  // one of KnownCategories()
  std::string street;
  std::string community;
  std::string grid;
  std::string address;  // shown to the grid worker; never in logs at info level
};

class Registry {
 public:
  // Loads and validates a households CSV. Throws ConfigError (config/config_error.h) naming the
  // file and line for: missing/extra columns, empty household/meter/street/community/grid,
  // duplicate household, duplicate meter, unknown category.
  static std::shared_ptr<const Registry> LoadCsv(const std::string& path);
  static std::shared_ptr<const Registry> FromHouseholds(std::vector<Household> households);

  size_t size() const { return households_.size(); }
  const Household& at(HouseholdIndex i) const { return households_[i]; }
  const std::vector<Household>& households() const { return households_; }
  std::optional<HouseholdIndex> FindMeter(std::string_view meter) const;
  std::optional<HouseholdIndex> FindHousehold(std::string_view id) const;

 private:
  std::vector<Household> households_;
  std::unordered_map<std::string, HouseholdIndex> by_meter_;
  std::unordered_map<std::string, HouseholdIndex> by_id_;
};

}  // namespace gridwatch
