// Constrained-decoding cost over a real vocabulary (Qwen3, 151,936 tokens; Gemma 3 with
// --vocab=gemma3): mask() at typical states of a JSON-schema grammar, cold (first visit of the
// state: one trie walk) and warm (the state's cached bitset applied), allows() and accept() of
// one token, and whole random-model generations per token. With --model=FILE.gguf it instead
// decodes with that model, without and with the JSON-schema grammar in the same run, and reports
// the grammar's share of the time per token next to the forward pass.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hearth/engine/engine.h"
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

// --- decode with a real model ---

// The schema of the decode comparison: bounded strings and many small values, so the grammar is
// mostly in structural states, where a model's free choice is refused and a mask is needed (a
// random-weight model follows no schema: every structural step needs one). Outputs restart
// after each complete object.
const char* const kDecodeSchema = R"({"type":"object","properties":{
  "name":{"type":"string","maxLength":12},
  "age":{"type":"integer","minimum":0,"maximum":150},
  "email":{"type":"string","pattern":"^[a-z]{1,8}@[a-z]{1,8}\\.com$"},
  "address":{"type":"object","properties":{"street":{"type":"string","maxLength":20},
             "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["zip"]},
  "tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":4}},
  "required":["name","age","email","address"]})";

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Times the constraint's calls (they run inside Sampler::sample and accept).
class TimedConstraint final : public hearth::sample::TokenConstraint {
 public:
  explicit TimedConstraint(GrammarMatcher& matcher) : matcher_(matcher) {}
  bool allows(int32_t token) const override {
    const auto start = Clock::now();
    const bool ok = matcher_.allows(token);
    seconds_ += seconds_since(start);
    return ok;
  }
  void mask(std::span<float> logits) const override {
    const auto start = Clock::now();
    matcher_.mask(logits);
    seconds_ += seconds_since(start);
    ++masks_;
  }
  void accept(int32_t token) override {
    const auto start = Clock::now();
    matcher_.accept(token);
    seconds_ += seconds_since(start);
  }
  double seconds() const { return seconds_; }
  int64_t masks() const { return masks_; }

 private:
  GrammarMatcher& matcher_;
  mutable double seconds_ = 0;
  mutable int64_t masks_ = 0;
};

struct DecodeTimes {
  double forward = 0;  // seconds in forward passes
  double sample = 0;   // seconds in Sampler::sample + accept (the grammar included)
  double grammar = 0;  // of which inside the grammar's calls
  double masks = 0;    // mask() calls
  int64_t tokens = 0;
};

// Decodes `n_tokens` after `prompt`, constrained by `compiled` when it is set (restarting the
// grammar whenever an output completes).
DecodeTimes decode(hearth::engine::Engine& engine, const std::vector<int32_t>& prompt, int n_tokens,
                   const std::shared_ptr<CompiledGrammar>& compiled) {
  auto session = hearth::engine::Session::create(engine);
  if (!session.ok()) {
    std::cerr << session.error().message() << "\n";
    std::exit(1);
  }
  std::vector<float> logits;
  if (auto status = (*session)->prefill(prompt, logits); !status.ok()) {
    std::cerr << status.error().message() << "\n";
    std::exit(1);
  }
  hearth::sample::SamplingParams params;
  params.seed = 1;
  hearth::sample::Sampler sampler(params, static_cast<int32_t>(engine.config().n_vocab));
  std::optional<GrammarMatcher> matcher;
  std::optional<TimedConstraint> timed;
  if (compiled) {
    matcher.emplace(compiled);
    timed.emplace(*matcher);
    sampler.set_constraint(&*timed);
  }
  DecodeTimes times;
  for (; times.tokens < n_tokens; ++times.tokens) {
    auto start = Clock::now();
    const int32_t token = sampler.sample(logits);
    sampler.accept(token);
    if (matcher && matcher->is_finished()) matcher->reset();
    times.sample += seconds_since(start);
    start = Clock::now();
    if (auto status = (*session)->step(token, logits); !status.ok()) {
      std::cerr << status.error().message() << "\n";
      std::exit(1);
    }
    times.forward += seconds_since(start);
  }
  if (timed) {
    times.grammar = timed->seconds();
    times.masks = static_cast<double>(timed->masks());
  }
  return times;
}

int decode_comparison(const fs::path& model, int n_tokens, int reps, int threads) {
  hearth::engine::EngineOptions options;
  options.model_path = model;
  options.n_threads = threads;
  options.n_ctx = 64 + n_tokens;
  auto engine = hearth::engine::Engine::load(options);
  if (!engine.ok()) {
    std::cerr << engine.error().message() << "\n";
    return 1;
  }
  auto gbnf =
      hearth::sample::grammar_from_json_schema(nlohmann::ordered_json::parse(kDecodeSchema));
  auto grammar = Grammar::parse(gbnf.value());
  const auto prompt = (*engine)->tokenize_prompt("Describe a person as JSON:", false).value();
  std::cout << model.filename().string() << ": " << (*engine)->config().n_vocab
            << "-token vocabulary, " << threads << " threads, " << n_tokens
            << " tokens per run, median of " << reps
            << " runs (plain, then constrained, in turn)\n";
  std::vector<DecodeTimes> plain, constrained;
  for (int r = 0; r < reps; ++r) {
    plain.push_back(decode(**engine, prompt, n_tokens, nullptr));
    // A fresh compiled grammar per run: its cold masks (first visit of each state) count.
    constrained.push_back(
        decode(**engine, prompt, n_tokens,
               CompiledGrammar::create(*grammar, (*engine)->grammar_vocabulary())));
  }
  auto median = [](std::vector<DecodeTimes> runs, double DecodeTimes::*field) {
    std::sort(runs.begin(), runs.end(),
              [&](const DecodeTimes& a, const DecodeTimes& b) { return a.*field < b.*field; });
    return runs[runs.size() / 2].*field;
  };
  const double ms = 1e3 / n_tokens;
  const double plain_forward = median(plain, &DecodeTimes::forward) * ms;
  const double plain_sample = median(plain, &DecodeTimes::sample) * ms;
  const double forward = median(constrained, &DecodeTimes::forward) * ms;
  const double sample = median(constrained, &DecodeTimes::sample) * ms;
  const double grammar_ms = median(constrained, &DecodeTimes::grammar) * ms;
  const double masks = median(constrained, &DecodeTimes::masks);
  std::printf("| decode | forward ms/token | sample ms/token | of which grammar | tg t/s |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  std::printf("| plain | %.2f | %.3f | | %.1f |\n", plain_forward, plain_sample,
              1e3 / (plain_forward + plain_sample));
  std::printf("| JSON schema | %.2f | %.3f | %.3f (masks on %.0f%% of tokens) | %.1f |\n", forward,
              sample, grammar_ms, 100.0 * masks / n_tokens, 1e3 / (forward + sample));
  std::printf(
      "grammar overhead: (sample - plain sample) / plain decode = %.2f%%; grammar calls / "
      "forward = %.2f%%\n",
      100.0 * (sample - plain_sample) / (plain_forward + plain_sample),
      100.0 * grammar_ms / forward);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_name = "qwen3";
  std::string decode_model;
  int n_tokens = 256, reps = 3, threads = 2;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("--vocab=")) {
      vocab_name = arg.substr(8);
    } else if (arg.starts_with("--model=")) {
      decode_model = arg.substr(8);
    } else if (arg.starts_with("--tokens=")) {
      n_tokens = std::stoi(arg.substr(9));
    } else if (arg.starts_with("--reps=")) {
      reps = std::stoi(arg.substr(7));
    } else if (arg.starts_with("--threads=")) {
      threads = std::stoi(arg.substr(10));
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!decode_model.empty()) return decode_comparison(decode_model, n_tokens, reps, threads);
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
