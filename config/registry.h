// Registry: the households gridwatch watches, loaded from households.csv
// (household,meter,category,street,community,grid,address). Each household gets a dense index
// (0..N-1, in file order) that the pipeline uses instead of strings on the hot path; meters map
// to households for ingest.
//
// Immutable after loading; thread-safe to read. A reload builds a new Registry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  // Household indices by one of their string fields, open addressing, keys not copied: 4 bytes
  // a slot, at most half full (≈ 8–16 bytes a household instead of ≈ 70 for a node-based map).
  class Index {
   public:
    using KeyOf = std::string_view (*)(const Household&);
    explicit Index(KeyOf key_of) : key_of_(key_of) {}
    std::optional<HouseholdIndex> Find(const std::vector<Household>& hs,
                                       std::string_view key) const;
    // Adds hs[i] (already in hs); the caller has checked that its key is new.
    void Insert(const std::vector<Household>& hs, HouseholdIndex i);

   private:
    static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
    size_t Home(std::string_view key) const;  // the key's first slot (slots_ not empty)
    KeyOf key_of_;
    std::vector<uint32_t> slots_;
    size_t used_ = 0;
  };
  static void Add(const std::string& file, int line, Household h, std::vector<int>* lines,
                  Registry* reg);

  std::vector<Household> households_;
  Index by_meter_{[](const Household& h) { return std::string_view(h.meter); }};
  Index by_id_{[](const Household& h) { return std::string_view(h.id); }};
};

}  // namespace gridwatch
