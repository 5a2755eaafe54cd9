// Explain: renders a finding's one-line explanation in zh-CN and en from its structured evidence
// ("自 06:30 起无用电活动（5.0 小时）；该户平日此时段 28 天中 26 天有活动"). Times are shown in
// the household's local time. Internal to detect; pure.
#pragma once

#include "common/time_zone.h"
#include "detect/finding.h"

namespace gridwatch {

// Fills f->summary_zh and f->summary_en from f->kind, f->state and f->evidence.
void Explain(const TimeZone& tz, Finding* f);

}  // namespace gridwatch
