// Reading: one interval of a household's energy use, as detect sees it after ingest has
// validated it, mapped the meter to a household and turned registers into interval energy.
// `ts_s` is the END of the interval (epoch seconds, UTC), as in the MQTT and replay contracts.
//
// Plain value; 16 bytes so that queues of them stay cache-friendly.
#pragma once

#include <cstdint>

#include "config/registry.h"

namespace gridwatch {

struct Reading {
  int64_t ts_s = 0;         // end of the interval, epoch seconds
  float energy_kwh = 0.0f;  // energy used in the interval (>= 0)
  HouseholdIndex household = 0;
};
static_assert(sizeof(Reading) == 16);

}  // namespace gridwatch
