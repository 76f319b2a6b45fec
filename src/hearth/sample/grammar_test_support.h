// Test-only helpers for the constrained-decoding tests: real vocabularies loaded once, a "random
// model" that samples under a TokenConstraint as the sampler does (a free draw checked with
// allows(), a masked draw when refused), and a small JSON Schema validator written apart from
// the grammar code so that it can judge the grammars' output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hearth/base/json.h"
#include "hearth/sample/grammar_matcher.h"

namespace hearth::sample::testing {

// The vocabulary of a testdata GGUF file (relative to the testdata root), loaded once; nullptr
// when it fails (with a test failure).
std::shared_ptr<const GrammarVocabulary> vocabulary(const std::filesystem::path& gguf);

struct Generation {
  std::string text;
  bool ended = false;  // an end token was chosen
  int tokens = 0;
};

// Samples up to `max_tokens` tokens at random among those the matcher allows (seeded): free
// draws checked with allows(), then a draw from the mask, checking that allows() agrees.
Generation generate(GrammarMatcher& matcher, const GrammarVocabulary& vocab, uint32_t seed,
                    int max_tokens);

// Validates `value` against `schema` (the keywords the tests use); nullopt when valid, else why.
std::optional<std::string> validate(const Json& value, const Json& schema, const Json& root);

// The JSON Schemas the constrained-decoding tests generate under (here, in the sample tests on a
// random model, and in engine's test on real tiny models): nested objects with bounded strings
// and arrays, an integer range and a pattern; enums, anyOf, booleans, nullable types; an array of
// $ref'd objects with numbers; formats and patterns — then `last`, each test's own.
std::vector<const char*> test_schemas(const char* last);

// Seeds per test: fewer in sanitizer and debug builds, which run ~10x slower (a forward pass
// of a model even more: those tests divide by more).
int seed_count(int release_count, int sanitizer_divisor = 10);

}  // namespace hearth::sample::testing
