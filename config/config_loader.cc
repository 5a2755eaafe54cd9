// Placeholder until the config module lands.
#include "config/registry.h"
