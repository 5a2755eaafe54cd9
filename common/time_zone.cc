#include "common/time_zone.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace gridwatch {
namespace {

int64_t Be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::Fixed(int32_t offset_s, std::string name) {
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = std::move(name);
  tz->initial_offset_ = offset_s;
  return tz;
}

std::shared_ptr<const TimeZone> TimeZone::Load(const std::string& name,
                                               const std::string& zoneinfo_dir) {
  if (name == "UTC" || name == "Z" || name == "Etc/UTC") return Fixed(0, name);
  if (name.empty() || name.find("..") != std::string::npos || name[0] == '/')
    throw std::runtime_error("time zone '" + name + "' is not a valid IANA zone name");
  std::ifstream in(zoneinfo_dir + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("time zone '" + name + "' not found in " + zoneinfo_dir);
  std::vector<unsigned char> buf((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  auto bad = [&] { return std::runtime_error("time zone file for '" + name + "' is not TZif"); };
  if (buf.size() < 44 || buf[0] != 'T' || buf[1] != 'Z' || buf[2] != 'i' || buf[3] != 'f')
    throw bad();
  const int version = buf[4];
  size_t pos = 0;
  auto header = [&](size_t at, int64_t* isutc, int64_t* isstd, int64_t* leap, int64_t* timecnt,
                    int64_t* typecnt, int64_t* charcnt) {
    if (at + 44 > buf.size()) throw bad();
    const unsigned char* h = buf.data() + at + 20;
    *isutc = Be(h, 4);
    *isstd = Be(h + 4, 4);
    *leap = Be(h + 8, 4);
    *timecnt = Be(h + 12, 4);
    *typecnt = Be(h + 16, 4);
    *charcnt = Be(h + 20, 4);
  };
  int64_t isutc, isstd, leap, timecnt, typecnt, charcnt;
  header(0, &isutc, &isstd, &leap, &timecnt, &typecnt, &charcnt);
  int tsize = 4;
  if (version >= '2') {
    // Skip the v1 block; use the 64-bit v2 block.
    pos = 44 + timecnt * 4 + timecnt + typecnt * 6 + charcnt + leap * 8 + isstd + isutc;
    header(pos, &isutc, &isstd, &leap, &timecnt, &typecnt, &charcnt);
    tsize = 8;
  }
  size_t p = pos + 44;
  const size_t need = timecnt * tsize + timecnt + typecnt * 6;
  if (p + need > buf.size() || typecnt <= 0) throw bad();
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = name;
  std::vector<int32_t> type_offsets(typecnt);
  const size_t types_at = p + timecnt * tsize + timecnt;
  for (int64_t i = 0; i < typecnt; ++i)
    type_offsets[i] = static_cast<int32_t>(Be(buf.data() + types_at + i * 6, 4));
  tz->initial_offset_ = type_offsets[0];
  for (int64_t i = 0; i < timecnt; ++i) {
    const int64_t t = Be(buf.data() + p + i * tsize, tsize);
    const unsigned idx = buf[p + timecnt * tsize + i];
    if (idx >= type_offsets.size()) throw bad();
    tz->transitions_.push_back(t);
    tz->offsets_.push_back(type_offsets[idx]);
  }
  // Past the last transition the footer's POSIX rule applies; zones with ongoing DST have
  // transitions listed to 2037 in the v2 block, which covers the service's horizon.
  return tz;
}

int32_t TimeZone::OffsetAt(int64_t utc_s) const {
  if (transitions_.empty() || utc_s < transitions_.front()) return initial_offset_;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

}  // namespace gridwatch
