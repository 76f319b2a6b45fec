// The sampler chain: turns one position's logits into the next token as llama.cpp's default chain
// does (penalties → top-k → top-p → min-p → temperature → random draw; argmax after penalties when
// the temperature is <= 0), with a seeded RNG so a seed replays the same tokens, and an optional
// TokenConstraint (grammar) consulted after the free draw. It knows no model and no text: the
// engine feeds it logits and tells it which tokens were emitted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/sample/constraint.h"

namespace hearth::sample {

// llama.cpp's LLAMA_DEFAULT_SEED: asks for a random seed; Sampler::seed() reports the one used.
inline constexpr uint32_t kRandomSeed = 0xFFFFFFFF;

// What sample() returns when no token is possible (every logit -inf, or a constraint refuses all).
inline constexpr int32_t kNoToken = -1;

// Names and defaults as llama.cpp's common_params_sampling (and its --temp, --top-k, ... flags).
struct SamplingParams {
  float temperature = 0.8f;        // <= 0: greedy, the argmax of the penalized logits
  int32_t top_k = 40;              // <= 0: off
  float top_p = 0.95f;             // >= 1: off
  float min_p = 0.05f;             // <= 0: off; else keep logit >= max logit + log(min_p)
  float repeat_penalty = 1.0f;     // 1: off; divides positive logits, multiplies negative ones
  int32_t repeat_last_n = 64;      // penalty window in tokens; 0: off, -1: the whole history
  float presence_penalty = 0.0f;   // subtracted once from every token in the window
  float frequency_penalty = 0.0f;  // subtracted once per occurrence in the window
  uint32_t seed = kRandomSeed;
};

// Checks ranges that would make the chain ill-defined (NaN, top_p outside [0, 1], min_p > 1,
// repeat_penalty <= 0, repeat_last_n < -1); the error names the field. Callers validate user
// input with this before constructing a Sampler.
Status validate(const SamplingParams& params);

class Sampler {
 public:
  // `params` must pass validate(); n_vocab > 0. A seed of kRandomSeed draws one from the system.
  Sampler(const SamplingParams& params, int32_t n_vocab);

  // Picks the next token from `logits` (n_vocab values). The logits are scratch: penalties, and a
  // constraint's mask when the free choice was refused, are written into them. Returns kNoToken
  // only when nothing can be chosen. Does not record the token: call accept() with it.
  int32_t sample(std::span<float> logits);

  // Records an emitted token: penalty history, and advances the constraint if one is set.
  void accept(int32_t token);

  // Records tokens for the penalties only (a prompt, as llama.cpp accepts prompt tokens with
  // accept_grammar = false); the constraint is not touched.
  void add_history(std::span<const int32_t> tokens);

  // Not owned; must outlive its use here. nullptr removes it.
  void set_constraint(TokenConstraint* constraint) { constraint_ = constraint; }

  // Forgets the history and restarts the random sequence from seed(); the constraint is kept.
  void reset();

  // The seed in use: params.seed, or the one drawn when it was kRandomSeed.
  uint32_t seed() const { return seed_; }
  const SamplingParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };

  void record(int32_t token);
  void apply_penalties(std::span<float> logits);
  int32_t pick(std::span<const float> logits);
  size_t select_top_k(std::span<const float> logits, size_t k);
  size_t collect_finite(std::span<const float> logits);
  size_t top_p_cut(size_t n, size_t n_sortable, float max_logit, bool sorted);
  int32_t draw(size_t n, float max_logit);

  SamplingParams params_;
  int32_t n_vocab_;
  uint32_t seed_;
  std::mt19937 rng_;
  TokenConstraint* constraint_ = nullptr;
  bool penalties_on_;

  // Penalty window: the last repeat_last_n recorded tokens (a ring once full; unbounded for -1)
  // and how often each token occurs in it (n_vocab counts, empty when penalties are off).
  std::vector<int32_t> window_;
  size_t window_next_ = 0;
  std::vector<uint32_t> counts_;

  // Scratch kept between calls so sample() does not allocate: (token, count) pairs of the
  // window's distinct tokens, and the candidate list (capacity n_vocab).
  std::vector<std::pair<int32_t, uint32_t>> penalized_;
  std::vector<Candidate> candidates_;
};

}  // namespace hearth::sample
