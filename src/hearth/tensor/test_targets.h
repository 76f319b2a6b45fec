// Test helper of the tensor module: runs a check once per Highway target that HWY_TARGETS
// compiled and this CPU supports, forcing that target for HWY_DYNAMIC_DISPATCH meanwhile.
#pragma once

#include <cstdint>
#include <string>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace hearth::tensor {

template <class Check>
void for_each_target(const Check& check) {
  hwy::SetSupportedTargetsForTest(0);
  const int64_t runnable = hwy::SupportedTargets() & HWY_TARGETS;
  for (int64_t bits = runnable; bits != 0; bits &= bits - 1) {
    const int64_t target = bits & -bits;
    hwy::SetSupportedTargetsForTest(target);
    check(std::string(hwy::TargetName(target)));
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace hearth::tensor
