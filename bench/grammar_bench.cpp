// Constrained-decoding cost over a real vocabulary (Qwen3, 151,936 tokens; Gemma 3 with
// --vocab=gemma3): mask() at typical states of a JSON-schema grammar, cold (first visit of the
// state: one trie walk) and warm (the state's cached bitset applied), allows() and accept() of
// one token, and whole random-model generations per token. Compare with a forward pass per token.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "hearth/sample/grammar_matcher.h"
#include "hearth/sample/json_schema.h"
#include "hearth/tokenizer/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using hearth::sample::CompiledGrammar;
using hearth::sample::Grammar;
using hearth::sample::GrammarMatcher;
using hearth::sample::GrammarVocabulary;

fs::path testdata_root() {
  if (const char* dir = std::getenv("HEARTH_TESTDATA"); dir && *dir) return dir;
  return HEARTH_TESTDATA_DEFAULT;
}

const char* const kSchema = R"({"type":"object","properties":{
  "name":{"type":"string"},
  "age":{"type":"integer","minimum":0,"maximum":150},
  "email":{"type":"string","pattern":"^[a-z]+@[a-z]+\\.com$"},
  "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}},
             "required":["street","city"]},
  "tags":{"type":"array","items":{"type":"string"}}},
  "required":["name","age","address"]})";

// Prefixes of an output that leave the grammar in the states people ask about.
struct Case {
  const char* name;
  const char* prefix;
};
const Case kCases[] = {
    {"start", ""},
    {"key", "{\"name\": \"Ada\", "},
    {"string", "{\"name\": \"Ada Love"},
    {"number", "{\"name\": \"Ada\", \"age\": 3"},
    {"after_value", "{\"name\": \"Ada\", \"age\": 36"},
    {"nested_string", "{\"name\": \"Ada\", \"age\": 36, \"address\": {\"street\": \"St James"},
};

std::shared_ptr<const GrammarVocabulary> g_vocab;
std::string g_gbnf;

std::shared_ptr<CompiledGrammar> compile() {
  auto grammar = Grammar::parse(g_gbnf);
  if (!grammar.ok()) {
    std::cerr << grammar.error().message() << "\n";
    std::exit(1);
  }
  return CompiledGrammar::create(std::move(*grammar), g_vocab);
}

GrammarMatcher at(const std::shared_ptr<CompiledGrammar>& compiled, const char* prefix) {
  GrammarMatcher m(compiled);
  if (!m.accept_bytes(prefix)) {
    std::cerr << "prefix refused: " << prefix << "\n";
    std::exit(1);
  }
  return m;
}

size_t allowed_count(const std::vector<float>& logits) {
  size_t n = 0;
  for (float l : logits) n += std::isfinite(l) ? 1 : 0;
  return n;
}

void BM_MaskCold(benchmark::State& state, const char* prefix) {
  std::vector<float> logits(g_vocab->size());
  for (auto _ : state) {
    state.PauseTiming();
    auto compiled = compile();
    GrammarMatcher m = at(compiled, prefix);
    std::fill(logits.begin(), logits.end(), 0.0f);
    state.ResumeTiming();
    m.mask(logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["allowed"] = static_cast<double>(allowed_count(logits));
}

void BM_MaskWarm(benchmark::State& state, const char* prefix) {
  auto compiled = compile();
  GrammarMatcher m = at(compiled, prefix);
  std::vector<float> logits(g_vocab->size(), 0.0f);
  m.mask(logits);
  for (auto _ : state) {
    m.mask(logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["allowed"] = static_cast<double>(allowed_count(logits));
}

void BM_Allows(benchmark::State& state, const char* prefix) {
  auto compiled = compile();
  GrammarMatcher m = at(compiled, prefix);
  std::mt19937 rng(1);
  std::vector<int32_t> ids(4096);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % g_vocab->size());
  for (int32_t id : ids) benchmark::DoNotOptimize(m.allows(id));  // memoise the transitions
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(m.allows(ids[i++ % ids.size()]));
}

// A random model under the grammar, as the sampler drives it: a free draw checked with allows(),
// a masked draw when refused. Time per generated token, including the sampling scans.
void BM_RandomModelToken(benchmark::State& state) {
  auto compiled = compile();
  std::mt19937 rng(7);
  std::vector<float> logits(g_vocab->size());
  std::vector<int32_t> allowed;
  GrammarMatcher m(compiled);
  int64_t tokens = 0, masks = 0;
  for (auto _ : state) {
    auto t = static_cast<int32_t>(rng() % g_vocab->size());
    if (!m.allows(t)) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      m.mask(logits);
      ++masks;
      allowed.clear();
      for (size_t i = 0; i < logits.size(); ++i) {
        if (std::isfinite(logits[i])) allowed.push_back(static_cast<int32_t>(i));
      }
      t = allowed[rng() % allowed.size()];
    }
    m.accept(t);
    ++tokens;
    if (m.is_finished() || tokens % 400 == 0) m.reset();
  }
  state.counters["mask_fraction"] = static_cast<double>(masks) / static_cast<double>(tokens);
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_name = "qwen3";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("--vocab=")) {
      vocab_name = arg.substr(8);
    } else {
      rest.push_back(argv[i]);
    }
  }
  const fs::path model = testdata_root() / "models" / ("tiny-" + vocab_name + "-f16.gguf");
  auto tok = hearth::tokenizer::Tokenizer::from_gguf(model);
  if (!tok.ok()) {
    std::cerr << model.string() << ": " << tok.error().message() << "\n";
    return 1;
  }
  g_vocab = GrammarVocabulary::from_tokenizer(*tok, hearth::sample::end_of_generation_tokens(*tok));
  auto schema = nlohmann::ordered_json::parse(kSchema);
  auto gbnf = hearth::sample::grammar_from_json_schema(schema);
  if (!gbnf.ok()) {
    std::cerr << gbnf.error().message() << "\n";
    return 1;
  }
  g_gbnf = *gbnf;
  std::cerr << vocab_name << ": " << g_vocab->size() << " tokens, " << g_vocab->nodes().size()
            << " trie nodes\n";
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("MaskCold/") + c.name).c_str(), BM_MaskCold, c.prefix)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("MaskWarm/") + c.name).c_str(), BM_MaskWarm, c.prefix)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("Allows/") + c.name).c_str(), BM_Allows, c.prefix);
  }
  benchmark::RegisterBenchmark("RandomModelToken", BM_RandomModelToken)
      ->Unit(benchmark::kMicrosecond);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
