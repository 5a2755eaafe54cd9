// Registry loading: a small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF, BOM) and
// the validation rules of registry.h. Start-up only: errors are ConfigError exceptions.
#include "config/registry.h"

#include <fstream>
#include <sstream>

#include "config/config_error.h"

namespace gridwatch {
namespace {

constexpr const char* kHeader = "household,meter,category,street,community,grid,address";
constexpr size_t kNumColumns = 7;

// One CSV record and the line it starts on (1-based).
struct Record {
  std::vector<std::string> fields;
  int line = 0;
};

// Splits `text` into records per RFC 4180. A quoted field may hold commas, doubled quotes and
// line breaks. Throws ConfigError for an unterminated quote or text after a closing quote.
std::vector<Record> ParseCsv(const std::string& file, std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<Record> out;
  Record rec;
  std::string field;
  int line = 1;
  rec.line = 1;
  size_t i = 0;
  const size_t n = text.size();
  bool at_record_start = true;
  while (i < n) {
    char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field.
      at_record_start = false;
      const int quote_line = line;
      ++i;
      bool closed = false;
      while (i < n) {
        char q = text[i];
        if (q == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (q == '\n') ++line;
        field.push_back(q);
        ++i;
      }
      if (!closed) throw ConfigError(file, quote_line, "unterminated quoted field");
      if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
        throw ConfigError(file, line, "unexpected text after closing quote");
      continue;
    }
    if (c == ',') {
      at_record_start = false;
      rec.fields.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      if (!at_record_start || !field.empty()) {
        rec.fields.push_back(std::move(field));
        out.push_back(std::move(rec));
      }
      field.clear();
      rec = Record{};
      ++line;
      rec.line = line;
      at_record_start = true;
      continue;
    }
    at_record_start = false;
    field.push_back(c);
    ++i;
  }
  if (!at_record_start || !field.empty()) {
    rec.fields.push_back(std::move(field));
    out.push_back(std::move(rec));
  }
  return out;
}

std::string KnownCategoryList() {
  std::string s;
  for (const auto& c : KnownCategories()) {
    if (!s.empty()) s += ", ";
    s += c;
  }
  return s;
}

bool IsKnownCategory(const std::string& c) {
  for (const auto& k : KnownCategories())
    if (k == c) return true;
  return false;
}

std::string FirstOn(const std::vector<int>* lines, HouseholdIndex i) {
  if (lines == nullptr || i >= lines->size()) return "";
  return " first on line " + std::to_string((*lines)[i]);
}

// Validates one household and adds it to the maps; `line` 0 means "not from a file".
// `lines` (may be null) records each household's file line for "first on line N" in messages.
}  // namespace

void Registry::Add(const std::string& file, int line, Household h, std::vector<int>* lines,
                   Registry* reg) {
  std::vector<Household>* households = &reg->households_;
  const std::string who = h.id.empty() ? std::string("household") : "household " + h.id;
  if (h.id.empty()) throw ConfigError(file, line, "empty household id");
  if (h.meter.empty()) throw ConfigError(file, line, who + ": empty meter");
  if (h.category.empty()) throw ConfigError(file, line, who + ": empty category");
  if (h.street.empty()) throw ConfigError(file, line, who + ": missing street");
  if (h.community.empty()) throw ConfigError(file, line, who + ": missing community");
  if (h.grid.empty()) throw ConfigError(file, line, who + ": missing grid");
  if (!IsKnownCategory(h.category))
    throw ConfigError(
        file, line,
        who + ": unknown category '" + h.category + "' (known: " + KnownCategoryList() + ")");
  const auto index = static_cast<HouseholdIndex>(households->size());
  if (auto first = reg->by_id_.Find(*households, h.id))
    throw ConfigError(file, line, "duplicate household " + h.id + FirstOn(lines, *first));
  if (auto first = reg->by_meter_.Find(*households, h.meter))
    throw ConfigError(file, line,
                      "duplicate meter " + h.meter + " (" + who + "; already used by household " +
                          (*households)[*first].id + FirstOn(lines, *first) + ")");
  households->push_back(std::move(h));
  reg->by_id_.Insert(*households, index);
  reg->by_meter_.Insert(*households, index);
  if (lines) lines->push_back(line);
}

std::shared_ptr<const Registry> Registry::LoadCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "cannot open households CSV");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<Record> records = ParseCsv(path, text);
  if (records.empty())
    throw ConfigError(path, 1, std::string("empty file; expected header ") + kHeader);
  {
    std::string header;
    for (size_t i = 0; i < records[0].fields.size(); ++i) {
      if (i) header += ',';
      header += records[0].fields[i];
    }
    if (header != kHeader)
      throw ConfigError(path, records[0].line,
                        "wrong header '" + header + "'; expected '" + kHeader + "'");
  }
  auto reg = std::shared_ptr<Registry>(new Registry());
  std::vector<int> lines;
  for (size_t r = 1; r < records.size(); ++r) {
    auto& f = records[r].fields;
    if (f.size() != kNumColumns)
      throw ConfigError(
          path, records[r].line,
          "expected " + std::to_string(kNumColumns) + " columns, got " + std::to_string(f.size()));
    Household h{std::move(f[0]), std::move(f[1]), std::move(f[2]), std::move(f[3]),
                std::move(f[4]), std::move(f[5]), std::move(f[6])};
    Add(path, records[r].line, std::move(h), &lines, reg.get());
  }
  return reg;
}

std::shared_ptr<const Registry> Registry::FromHouseholds(std::vector<Household> households) {
  auto reg = std::shared_ptr<Registry>(new Registry());
  reg->households_.reserve(households.size());
  for (auto& h : households) Add("<households>", 0, std::move(h), nullptr, reg.get());
  return reg;
}

std::optional<HouseholdIndex> Registry::FindMeter(std::string_view meter) const {
  return by_meter_.Find(households_, meter);
}

std::optional<HouseholdIndex> Registry::FindHousehold(std::string_view id) const {
  return by_id_.Find(households_, id);
}

std::optional<HouseholdIndex> Registry::Index::Find(const std::vector<Household>& hs,
                                                    std::string_view key) const {
  if (slots_.empty()) return std::nullopt;
  for (size_t s = Home(key);; s = (s + 1) & (slots_.size() - 1)) {
    const uint32_t i = slots_[s];
    if (i == kEmpty) return std::nullopt;
    if (key_of_(hs[i]) == key) return i;
  }
}

size_t Registry::Index::Home(std::string_view key) const {
  return std::hash<std::string_view>{}(key) & (slots_.size() - 1);
}

void Registry::Index::Insert(const std::vector<Household>& hs, HouseholdIndex i) {
  if (2 * (used_ + 1) > slots_.size()) {  // keep at most half full: short probes
    std::vector<uint32_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(16, old.size() * 2), kEmpty);
    used_ = 0;
    for (uint32_t j : old)
      if (j != kEmpty) Insert(hs, j);
  }
  size_t s = Home(key_of_(hs[i]));
  while (slots_[s] != kEmpty) s = (s + 1) & (slots_.size() - 1);
  slots_[s] = i;
  ++used_;
}

}  // namespace gridwatch
