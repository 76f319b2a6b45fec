// Test helpers of the tensor module: a check run once per Highway target that HWY_TARGETS
// compiled and this CPU supports (forcing that target for HWY_DYNAMIC_DISPATCH meanwhile), and
// random rows that start off vector alignment.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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

// n values N(0, sigma) in a buffer one float past its start (off vector alignment).
struct Row {
  std::vector<float> buffer;
  float* data() { return buffer.data() + 1; }
};

inline Row random_row(int64_t n, float sigma, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, sigma);
  Row row;
  row.buffer.resize(static_cast<size_t>(n) + 1);
  for (float& v : row.buffer) v = normal(rng);
  return row;
}

}  // namespace hearth::tensor
