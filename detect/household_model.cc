#include "detect/household_model.h"

#include <algorithm>
#include <functional>

namespace gridwatch {

void PeakHistory::Push(float v) {
  const float q = std::clamp(v * 2.0f + 0.5f, 0.0f, 255.0f);
  peaks[next] = static_cast<uint8_t>(q);
  next = static_cast<uint8_t>((next + 1) % kHistoryDays);
  if (count < kHistoryDays) ++count;
}

float PeakHistory::GumbelLevel(float tail_z) const {
  if (count < 4) return 0.0f;
  std::array<uint8_t, kHistoryDays> tmp;
  std::copy(peaks.begin(), peaks.begin() + count, tmp.begin());
  std::sort(tmp.begin(), tmp.begin() + count);
  auto q = [&](float f) { return tmp[static_cast<int>(f * (count - 1) + 0.5f)] / 2.0f; };
  const float median = q(0.5f);
  const float beta = std::max((q(0.75f) - q(0.25f)) / 1.5725f, 0.25f);
  return median + beta * (tail_z - 0.3665f);
}

}  // namespace gridwatch
