// Sampler chain tests: greedy ties, each filter's survivors against a full-sort reference of
// llama.cpp's chain, exact penalty values, seed reproducibility, the drawn distribution against
// the softmax (chi-square at a fixed seed), and the constraint protocol of constraint.h.
#include "hearth/sample/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

namespace hearth::sample {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SamplingParams no_filters(float temperature = 1.0f) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  return p;
}

// The survivors of top-k → top-p → min-p by a plain full sort, as llama.cpp's samplers define
// them; the reference for the chain's partial selection.
std::set<int32_t> reference_survivors(const std::vector<float>& logits, const SamplingParams& p) {
  std::vector<int32_t> order;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > kNegInf) order.push_back(static_cast<int32_t>(i));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order.size()) order.resize(p.top_k);
  const float max_logit = logits[order[0]];
  if (p.top_p < 1.0f) {
    double total = 0.0;
    for (int32_t id : order) total += std::exp(logits[id] - max_logit);
    double cumulative = 0.0;
    for (size_t i = 0; i < order.size(); ++i) {
      cumulative += std::exp(logits[order[i]] - max_logit) / total;
      if (cumulative >= p.top_p) {
        order.resize(i + 1);
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    std::erase_if(order, [&](int32_t id) { return logits[id] < max_logit + std::log(p.min_p); });
  }
  return {order.begin(), order.end()};
}

// Tokens drawn from `logits` over `draws` samplers seeded 0, 1, 2, ...
std::set<int32_t> drawn_tokens(const std::vector<float>& logits, SamplingParams p, int draws) {
  std::set<int32_t> seen;
  for (int i = 0; i < draws; ++i) {
    p.seed = static_cast<uint32_t>(i);
    Sampler sampler(p, static_cast<int32_t>(logits.size()));
    std::vector<float> scratch = logits;
    seen.insert(sampler.sample(scratch));
  }
  return seen;
}

// Draws from one sampler over fresh copies of `logits`.
std::vector<int32_t> sequence(Sampler& sampler, const std::vector<float>& logits, int n) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < n; ++i) {
    std::vector<float> scratch = logits;
    tokens.push_back(sampler.sample(scratch));
  }
  return tokens;
}

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> logits(n);
  for (float& x : logits) x = normal(rng);
  return logits;
}

TEST(Sampler, GreedyTakesTheLowestIdAmongTies) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler(p, 6);
  std::vector<float> logits = {1.0f, 3.0f, -2.0f, 3.0f, 0.5f, 3.0f};
  EXPECT_EQ(sampler.sample(logits), 1);
  p.temperature = -1.0f;
  Sampler negative(p, 6);
  logits = {kNegInf, 2.0f, 7.0f, 7.0f, 1.0f, 0.0f};
  EXPECT_EQ(negative.sample(logits), 2);
}

TEST(Sampler, NothingToChooseGivesNoToken) {
  std::vector<float> logits(5, kNegInf);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  Sampler a(greedy, 5);
  EXPECT_EQ(a.sample(logits), kNoToken);
  Sampler b(SamplingParams{}, 5);
  EXPECT_EQ(b.sample(logits), kNoToken);
  Sampler c(no_filters(), 5);
  EXPECT_EQ(c.sample(logits), kNoToken);
}

TEST(Sampler, TopKKeepsTheKBestWithTiesToLowerIds) {
  SamplingParams p = no_filters();
  p.top_k = 3;
  EXPECT_EQ(drawn_tokens({1.0f, 5.0f, 3.0f, 5.0f, 2.0f, 4.0f}, p, 400),
            (std::set<int32_t>{1, 3, 5}));
  p.top_k = 2;
  EXPECT_EQ(drawn_tokens({5.0f, 4.0f, 4.0f, 4.0f, 1.0f}, p, 400), (std::set<int32_t>{0, 1}));
  p.top_k = 1;
  EXPECT_EQ(drawn_tokens({0.0f, 2.0f, 2.0f, kNegInf}, p, 50), (std::set<int32_t>{1}));
  // Fewer finite logits than k: masked tokens never enter.
  p.top_k = 3;
  EXPECT_EQ(drawn_tokens({kNegInf, 1.0f, kNegInf, 1.5f, kNegInf}, p, 200),
            (std::set<int32_t>{1, 3}));
}

TEST(Sampler, TopKOnALargeVocabularyMatchesAFullSort) {
  // Ascending logits make every block enter the heap; random ones exercise the block skip.
  std::vector<float> ascending(3000);
  std::iota(ascending.begin(), ascending.end(), 0.0f);
  for (float& x : ascending) x *= 1e-3f;
  for (const auto& logits : {random_logits(3000, 7), ascending}) {
    SamplingParams p = no_filters(50.0f);
    p.top_k = 20;
    const auto expected = reference_survivors(logits, p);
    ASSERT_EQ(expected.size(), 20u);
    EXPECT_EQ(drawn_tokens(logits, p, 1500), expected);
  }
}

TEST(Sampler, TopPKeepsTheShortestPrefixReachingP) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 in shuffled order.
  const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f),
                                     std::log(0.3f)};
  SamplingParams p = no_filters();
  p.top_p = 0.75f;
  EXPECT_EQ(drawn_tokens(logits, p, 400), (std::set<int32_t>{1, 3}));
  p.top_p = 0.85f;
  EXPECT_EQ(drawn_tokens(logits, p, 400), (std::set<int32_t>{0, 1, 3}));
  p.top_p = 0.4f;
  EXPECT_EQ(drawn_tokens(logits, p, 100), (std::set<int32_t>{1}));
  p.top_p = 0.0f;
  EXPECT_EQ(drawn_tokens(logits, p, 100), (std::set<int32_t>{1}));
}

TEST(Sampler, TopPWithoutTopKSortsOnlyWhatItNeeds) {
  // A near-flat 1000-token distribution: the cut lies past the first sorted chunks.
  const auto logits = random_logits(1000, 11, 0.2f);
  SamplingParams p = no_filters();
  p.top_p = 0.3f;
  const auto expected = reference_survivors(logits, p);
  ASSERT_GT(expected.size(), 200u);
  EXPECT_EQ(drawn_tokens(logits, p, 8000), expected);
}

TEST(Sampler, MinPKeepsLogitsWithinLogMinPOfTheMaximum) {
  // Relative probabilities 1, 0.5, 0.04, 0.2: min_p 0.1 drops only the 0.04.
  const std::vector<float> logits = {2.0f, 2.0f + std::log(0.5f), 2.0f + std::log(0.04f),
                                     2.0f + std::log(0.2f)};
  SamplingParams p = no_filters();
  p.min_p = 0.1f;
  EXPECT_EQ(drawn_tokens(logits, p, 400), (std::set<int32_t>{0, 1, 3}));
  p.min_p = 0.3f;
  EXPECT_EQ(drawn_tokens(logits, p, 400), (std::set<int32_t>{0, 1}));
  p.min_p = 1.0f;
  EXPECT_EQ(drawn_tokens(logits, p, 100), (std::set<int32_t>{0}));
}

TEST(Sampler, CombinedChainMatchesTheReference) {
  const auto logits = random_logits(151936, 3, 2.0f);
  SamplingParams without_top_k = no_filters(0.7f);
  without_top_k.top_p = 0.9f;
  without_top_k.min_p = 0.02f;
  for (const SamplingParams& p : {SamplingParams{}, without_top_k}) {
    const auto expected = reference_survivors(logits, p);
    for (int32_t token : drawn_tokens(logits, p, 300)) EXPECT_TRUE(expected.count(token)) << token;
  }
}

TEST(Sampler, PenaltiesFollowLlamaCpp) {
  SamplingParams p = no_filters();
  p.repeat_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  Sampler sampler(p, 5);
  const std::vector<int32_t> history = {2, 2, 3};
  sampler.add_history(history);
  std::vector<float> logits = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f};
  sampler.sample(logits);
  // Token 2 (twice): -1 * 2 - (2 * 0.5 + 0.25); token 3 (once): 0.5 / 2 - (0.5 + 0.25).
  EXPECT_EQ(logits, (std::vector<float>{1.0f, 2.0f, -3.25f, -0.5f, 3.0f}));
}

TEST(Sampler, PenaltyWindowForgetsOldTokens) {
  SamplingParams p = no_filters();
  p.temperature = 0.0f;
  p.repeat_penalty = 2.0f;
  p.repeat_last_n = 2;
  Sampler windowed(p, 4);
  for (int32_t token : {1, 2, 3, 3}) windowed.accept(token);
  std::vector<float> logits = {4.0f, 4.0f, 4.0f, 4.0f};
  windowed.sample(logits);
  EXPECT_EQ(logits, (std::vector<float>{4.0f, 4.0f, 4.0f, 2.0f}));

  p.repeat_last_n = -1;
  Sampler whole(p, 4);
  for (int32_t token : {1, 2, 3, 3}) whole.accept(token);
  logits = {4.0f, 4.0f, 4.0f, 4.0f};
  EXPECT_EQ(whole.sample(logits), 0);
  EXPECT_EQ(logits, (std::vector<float>{4.0f, 2.0f, 2.0f, 2.0f}));

  p.repeat_last_n = 0;
  Sampler off(p, 4);
  off.accept(1);
  logits = {4.0f, 4.0f, 4.0f, 4.0f};
  off.sample(logits);
  EXPECT_EQ(logits, (std::vector<float>{4.0f, 4.0f, 4.0f, 4.0f}));

  whole.reset();
  logits = {4.0f, 4.0f, 4.0f, 4.0f};
  whole.sample(logits);
  EXPECT_EQ(logits, (std::vector<float>{4.0f, 4.0f, 4.0f, 4.0f}));
}

TEST(Sampler, PenaltiesChangeTheGreedyChoice) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 1.5f;
  Sampler sampler(p, 3);
  sampler.accept(0);
  std::vector<float> logits = {3.0f, 2.5f, 1.0f};
  EXPECT_EQ(sampler.sample(logits), 1);
}

TEST(Sampler, SameSeedSameTokensAndResetReplays) {
  const auto logits = random_logits(100, 5, 0.5f);
  SamplingParams p = no_filters();
  p.seed = 42;
  Sampler a(p, 100);
  Sampler b(p, 100);
  const auto first = sequence(a, logits, 50);
  EXPECT_EQ(first, sequence(b, logits, 50));
  a.reset();
  EXPECT_EQ(first, sequence(a, logits, 50));
  p.seed = 43;
  Sampler c(p, 100);
  EXPECT_NE(first, sequence(c, logits, 50));
}

TEST(Sampler, RandomSeedIsReported) {
  Sampler a(SamplingParams{}, 10);
  Sampler b(SamplingParams{}, 10);
  EXPECT_NE(a.seed(), kRandomSeed);
  EXPECT_NE(a.seed(), b.seed());
  SamplingParams p;
  p.seed = 7;
  EXPECT_EQ(Sampler(p, 10).seed(), 7u);
}

// Chi-square of 10k draws against the softmax at the temperature, at a fixed seed. The bound is
// the 0.999 quantile for 7 degrees of freedom (24.32).
TEST(Sampler, DrawsFollowTheSoftmax) {
  const std::vector<float> logits = {0.0f, 1.0f, -0.5f, 2.0f, 0.3f, -1.0f, 1.5f, 0.8f};
  for (float temperature : {1.0f, 0.6f, 2.0f}) {
    Sampler sampler(no_filters(temperature), 8);
    std::vector<int> counts(8, 0);
    const int draws = 10000;
    for (int i = 0; i < draws; ++i) {
      std::vector<float> scratch = logits;
      ++counts[sampler.sample(scratch)];
    }
    double total = 0.0;
    for (float x : logits) total += std::exp(x / temperature);
    double chi_square = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
      const double expected = draws * std::exp(logits[i] / temperature) / total;
      chi_square += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    EXPECT_LT(chi_square, 24.32) << "temperature " << temperature;
  }
}

// Allows only even ids; counts the calls of the protocol.
class EvenOnly : public TokenConstraint {
 public:
  bool allows(int32_t token) const override {
    ++allows_calls;
    return token % 2 == 0;
  }
  void mask(std::span<float> logits) const override {
    ++mask_calls;
    for (size_t i = 1; i < logits.size(); i += 2) logits[i] = kNegInf;
  }
  void accept(int32_t token) override { accepted.push_back(token); }

  mutable int allows_calls = 0;
  mutable int mask_calls = 0;
  std::vector<int32_t> accepted;
};

TEST(Sampler, ConstraintMasksOnlyWhenTheFreeChoiceIsRefused) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EvenOnly even;
  Sampler sampler(greedy, 6);
  sampler.set_constraint(&even);
  std::vector<float> logits = {1.0f, 0.0f, 2.0f, 0.0f, 0.0f, 0.0f};
  EXPECT_EQ(sampler.sample(logits), 2);
  EXPECT_EQ(even.mask_calls, 0);
  logits = {1.0f, 0.0f, 2.0f, 5.0f, 0.0f, 0.0f};
  EXPECT_EQ(sampler.sample(logits), 2);
  EXPECT_EQ(even.mask_calls, 1);

  // Random draws: for each seed, the constrained sampler masks exactly when an unconstrained
  // twin with the same seed draws an odd id, and agrees with it otherwise.
  const auto shared = random_logits(500, 9, 1.0f);
  const SamplingParams p = no_filters();
  int odd_free = 0;
  for (uint32_t seed = 0; seed < 300; ++seed) {
    SamplingParams q = p;
    q.seed = seed;
    Sampler free_sampler(q, 500);
    Sampler constrained(q, 500);
    constrained.set_constraint(&even);
    std::vector<float> a = shared;
    std::vector<float> b = shared;
    const int32_t free_token = free_sampler.sample(a);
    const int masks_before = even.mask_calls;
    const int32_t token = constrained.sample(b);
    EXPECT_EQ(token % 2, 0);
    const bool refused = free_token % 2 != 0;
    odd_free += refused;
    EXPECT_EQ(even.mask_calls - masks_before, refused ? 1 : 0);
    if (!refused) {
      EXPECT_EQ(token, free_token);
    }
  }
  EXPECT_GT(odd_free, 50);  // both paths were exercised
}

TEST(Sampler, ConstraintThatRefusesEverythingGivesNoToken) {
  EvenOnly even;
  Sampler sampler(SamplingParams{}, 4);
  sampler.set_constraint(&even);
  std::vector<float> logits = {kNegInf, 1.0f, kNegInf, 2.0f};
  EXPECT_EQ(sampler.sample(logits), kNoToken);
}

TEST(Sampler, AcceptAdvancesTheConstraintButHistoryDoesNot) {
  EvenOnly even;
  Sampler sampler(SamplingParams{}, 10);
  sampler.set_constraint(&even);
  const std::vector<int32_t> prompt = {1, 3, 5};
  sampler.add_history(prompt);
  sampler.accept(4);
  sampler.accept(6);
  EXPECT_EQ(even.accepted, (std::vector<int32_t>{4, 6}));
  sampler.set_constraint(nullptr);
  sampler.accept(8);
  EXPECT_EQ(even.accepted.size(), 2u);
}

TEST(Sampler, ValidateNamesTheBadField) {
  EXPECT_TRUE(validate(SamplingParams{}).ok());
  SamplingParams p;
  p.top_p = 1.5f;
  EXPECT_NE(validate(p).error().message().find("top_p"), std::string::npos);
  p = {};
  p.min_p = -0.1f;
  EXPECT_NE(validate(p).error().message().find("min_p"), std::string::npos);
  p = {};
  p.repeat_penalty = 0.0f;
  EXPECT_NE(validate(p).error().message().find("repeat_penalty"), std::string::npos);
  p = {};
  p.repeat_last_n = -2;
  EXPECT_NE(validate(p).error().message().find("repeat_last_n"), std::string::npos);
  p = {};
  p.temperature = std::nanf("");
  EXPECT_NE(validate(p).error().message().find("temperature"), std::string::npos);
}

}  // namespace
}  // namespace hearth::sample
