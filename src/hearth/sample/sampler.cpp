// The sampler chain over a 150k-262k vocabulary without sorting it: top-k is one pass with a
// k-sized heap that skips blocks with nothing above its threshold, min-p is a threshold on the
// logit, and top-p sorts only as much of the candidate list as its cumulative probability needs.
// The numeric rules (penalty formulas, min-p's threshold, top-p's ">= p" cut) follow llama.cpp.
#include "hearth/sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hearth/base/check.h"

namespace hearth::sample {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Block size for the threshold-first scans: a block is tested whole, vectorized, and only looked
// at element by element when something in it beats the current threshold.
constexpr size_t kBlock = 64;

// Whether any of x[0..n) is above `threshold` (NaN never is). Counting comparisons vectorizes
// without -ffast-math, which a float max reduction does not (and measured faster than an OR).
bool any_above(const float* x, size_t n, float threshold) {
  uint32_t count = 0;
  for (size_t i = 0; i < n; ++i) count += x[i] > threshold;
  return count != 0;
}

// Argmax with ties to the lowest id; kNoToken when no logit is above -inf.
int32_t argmax(std::span<const float> logits) {
  float best = kNegInf;
  int32_t best_id = kNoToken;
  for (size_t start = 0; start < logits.size(); start += kBlock) {
    const size_t end = std::min(logits.size(), start + kBlock);
    if (!any_above(logits.data() + start, end - start, best)) continue;
    for (size_t i = start; i < end; ++i) {
      if (logits[i] > best) {
        best = logits[i];
        best_id = static_cast<int32_t>(i);
      }
    }
  }
  return best_id;
}

}  // namespace

Status validate(const SamplingParams& p) {
  if (!std::isfinite(p.temperature)) return make_error("sampling: temperature must be finite");
  if (!(p.top_p >= 0.0f && p.top_p <= 1.0f)) {
    return make_error("sampling: top_p {} is outside [0, 1]", p.top_p);
  }
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return make_error("sampling: min_p {} is outside [0, 1]", p.min_p);
  }
  if (!(p.repeat_penalty > 0.0f) || !std::isfinite(p.repeat_penalty)) {
    return make_error("sampling: repeat_penalty {} must be positive", p.repeat_penalty);
  }
  if (p.repeat_last_n < -1) {
    return make_error("sampling: repeat_last_n {} must be >= -1", p.repeat_last_n);
  }
  if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty)) {
    return make_error("sampling: presence_penalty and frequency_penalty must be finite");
  }
  return {};
}

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab) {
  HEARTH_CHECK(n_vocab > 0, "n_vocab {}", n_vocab);
  const Status status = validate(params);
  HEARTH_CHECK(status.ok(), "{}", status.error().message());
  seed_ = params.seed;
  if (seed_ == kRandomSeed) {
    std::random_device device;
    do {
      seed_ = device();
    } while (seed_ == kRandomSeed);
  }
  rng_.seed(seed_);
  penalties_on_ = params.repeat_last_n != 0 &&
                  (params.repeat_penalty != 1.0f || params.frequency_penalty != 0.0f ||
                   params.presence_penalty != 0.0f);
  if (penalties_on_) {
    counts_.assign(static_cast<size_t>(n_vocab), 0);
    if (params.repeat_last_n > 0) {
      window_.reserve(static_cast<size_t>(params.repeat_last_n));
      penalized_.reserve(static_cast<size_t>(params.repeat_last_n));
    }
  }
  candidates_.resize(static_cast<size_t>(n_vocab));
}

int32_t Sampler::sample(std::span<float> logits) {
  HEARTH_CHECK(logits.size() == static_cast<size_t>(n_vocab_), "{} logits for a vocabulary of {}",
               logits.size(), n_vocab_);
  apply_penalties(logits);
  int32_t token = pick(logits);
  // The constraint's contract (constraint.h): one allows() per token in the common case, the
  // full-vocabulary mask only when the free choice is refused.
  if (constraint_ != nullptr && token != kNoToken && !constraint_->allows(token)) {
    constraint_->mask(logits);
    token = pick(logits);
    HEARTH_DCHECK(token == kNoToken || constraint_->allows(token));
  }
  return token;
}

void Sampler::accept(int32_t token) {
  record(token);
  if (constraint_ != nullptr) constraint_->accept(token);
}

void Sampler::add_history(std::span<const int32_t> tokens) {
  for (int32_t token : tokens) record(token);
}

void Sampler::reset() {
  window_.clear();
  window_next_ = 0;
  std::fill(counts_.begin(), counts_.end(), 0);
  rng_.seed(seed_);
}

void Sampler::record(int32_t token) {
  HEARTH_CHECK(token >= 0 && token < n_vocab_, "token {} outside the vocabulary of {}", token,
               n_vocab_);
  if (!penalties_on_) return;
  const size_t limit = params_.repeat_last_n < 0 ? std::numeric_limits<size_t>::max()
                                                 : static_cast<size_t>(params_.repeat_last_n);
  if (window_.size() < limit) {
    window_.push_back(token);
  } else {
    --counts_[static_cast<size_t>(window_[window_next_])];
    window_[window_next_] = token;
    window_next_ = (window_next_ + 1) % limit;
  }
  ++counts_[static_cast<size_t>(token)];
}

// llama.cpp's penalties sampler: for each distinct token in the window, a positive logit is
// divided by repeat_penalty and a non-positive one multiplied, then count * frequency_penalty +
// presence_penalty is subtracted. Each distinct token is visited once by zeroing its count while
// it is applied and restoring the counts afterwards.
void Sampler::apply_penalties(std::span<float> logits) {
  if (!penalties_on_) return;
  penalized_.clear();
  for (int32_t token : window_) {
    const size_t t = static_cast<size_t>(token);
    const uint32_t count = counts_[t];
    if (count == 0) continue;
    float& logit = logits[t];
    logit = logit <= 0.0f ? logit * params_.repeat_penalty : logit / params_.repeat_penalty;
    logit -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    penalized_.emplace_back(token, count);
    counts_[t] = 0;
  }
  for (const auto& [token, count] : penalized_) counts_[static_cast<size_t>(token)] = count;
}

int32_t Sampler::pick(std::span<const float> logits) {
  // llama.cpp's temperature sampler with temp <= 0 keeps only the maximum, so the filters before
  // it cannot change the outcome: greedy is the argmax of the penalized logits.
  if (params_.temperature <= 0.0f) return argmax(logits);

  const bool top_k_on = params_.top_k > 0 && params_.top_k < n_vocab_;
  const size_t n =
      top_k_on ? select_top_k(logits, static_cast<size_t>(params_.top_k)) : collect_finite(logits);
  if (n == 0) return kNoToken;
  const bool sorted = top_k_on;
  Candidate* c = candidates_.data();
  float max_logit = c[0].logit;
  if (!sorted) {
    for (size_t i = 1; i < n; ++i) max_logit = std::max(max_logit, c[i].logit);
  }

  // min-p keeps logit >= max + log(min_p). Top-p never drops the maximum, so this threshold is
  // the same before and after top-p, and the survivors of both are the shorter of their two
  // prefixes in sorted order: partition by min-p first, then top-p only sorts inside that.
  size_t n_keep = n;
  if (params_.min_p > 0.0f) {
    const float threshold = max_logit + std::log(params_.min_p);
    const auto above = [threshold](const Candidate& x) { return x.logit >= threshold; };
    n_keep = static_cast<size_t>(
        (sorted ? std::partition_point(c, c + n, above) : std::partition(c, c + n, above)) - c);
  }
  if (params_.top_p < 1.0f) n_keep = top_p_cut(n, n_keep, max_logit, sorted);
  return draw(n_keep, max_logit);
}

// Top-k candidates, best first (higher logit, then lower id). A heap of the k best so far has its
// worst on top; scanning ids upward, a later equal logit is worse, so only strictly greater
// logits enter. Logits at -inf (masked) or NaN never enter.
size_t Sampler::select_top_k(std::span<const float> logits, size_t k) {
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  Candidate* heap = candidates_.data();
  size_t size = 0;
  float threshold = kNegInf;
  for (size_t start = 0; start < logits.size(); start += kBlock) {
    const size_t end = std::min(logits.size(), start + kBlock);
    if (size == k && !any_above(logits.data() + start, end - start, threshold)) continue;
    for (size_t i = start; i < end; ++i) {
      const float x = logits[i];
      if (!(x > threshold)) continue;
      const Candidate candidate{static_cast<int32_t>(i), x};
      if (size < k) {
        heap[size++] = candidate;
        std::push_heap(heap, heap + size, better);
        if (size == k) threshold = heap[0].logit;
      } else {
        std::pop_heap(heap, heap + size, better);
        heap[size - 1] = candidate;
        std::push_heap(heap, heap + size, better);
        threshold = heap[0].logit;
      }
    }
  }
  std::sort_heap(heap, heap + size, better);
  return size;
}

size_t Sampler::collect_finite(std::span<const float> logits) {
  size_t n = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > kNegInf) candidates_[n++] = {static_cast<int32_t>(i), logits[i]};
  }
  return n;
}

// llama.cpp's top-p: over the softmax of all n candidates, keep the shortest best-first prefix
// whose cumulative probability reaches top_p. Only the first n_sortable (the min-p survivors,
// which hold that prefix or are cut shorter) are sorted, a chunk at a time as the walk needs.
size_t Sampler::top_p_cut(size_t n, size_t n_sortable, float max_logit, bool sorted) {
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  Candidate* c = candidates_.data();
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += std::exp(c[i].logit - max_logit);
  const double target = static_cast<double>(params_.top_p) * total;
  size_t sorted_end = sorted ? n_sortable : 0;
  double cumulative = 0.0;
  for (size_t i = 0; i < n_sortable; ++i) {
    if (i == sorted_end) {
      sorted_end = std::min(n_sortable, std::max<size_t>(2 * sorted_end, kBlock));
      if (sorted_end < n_sortable) std::nth_element(c + i, c + sorted_end, c + n_sortable, better);
      std::sort(c + i, c + sorted_end, better);
    }
    cumulative += std::exp(c[i].logit - max_logit);
    if (cumulative >= target) return i + 1;
  }
  return n_sortable;
}

// Softmax of the first n candidates at the temperature, then one uniform draw from the seeded
// generator walked along the cumulative sum.
int32_t Sampler::draw(size_t n, float max_logit) {
  Candidate* c = candidates_.data();
  const float inv_temperature = 1.0f / params_.temperature;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    c[i].logit = std::exp((c[i].logit - max_logit) * inv_temperature);
    total += c[i].logit;
  }
  // 32 random bits scaled to [0, 1): std::uniform_real_distribution's output differs between
  // standard libraries, mt19937's does not, so this keeps a seed's tokens portable.
  const double u = static_cast<double>(rng_()) * 0x1p-32 * total;
  double cumulative = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += c[i].logit;
    if (u < cumulative) return c[i].id;
  }
  return c[n - 1].id;
}

}  // namespace hearth::sample
