// `hearth bench`: prompt processing (pp) and generation (tg) tokens/s of a model, like
// llama-bench: pp feeds N random tokens to the context in --ubatch chunks; tg generates N tokens
// one at a time. Both start from an empty context, or with -d D from D random tokens fed to it
// untimed (llama-bench's "@ dD"). Each test runs once to warm up and then -r times;
// the table shows the median and the spread (min-max). Also measures the machine's memory read
// bandwidth with the same threads, around the measured runs, and prints the decode ceiling it
// implies (bandwidth / bytes of weights read per token; at a depth, also with the KV cache each
// token reads), the same for a plain read of the weights' own pages, and the resident memory
// after the runs (file, KV cache, rest).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hearth/base/json.h"
#include "hearth/base/mapped_file.h"
#include "hearth/cli/commands.h"
#include "hearth/cli/engine_flags.h"
#include "hearth/tensor/stream.h"

namespace hearth::cli {
namespace {

struct BenchFlags {
  EngineFlags engine;
  int64_t n_prompt = 512;
  int64_t n_gen = 128;
  int64_t depth = 0;
  int reps = 5;
  bool json = false;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Measurement {
  std::string test;  // "pp512", "tg128"
  int64_t n_tokens = 0;
  std::vector<double> tokens_per_second;
  double median() const { return median_of(tokens_per_second); }
  double min() const {
    return *std::min_element(tokens_per_second.begin(), tokens_per_second.end());
  }
  double max() const {
    return *std::max_element(tokens_per_second.begin(), tokens_per_second.end());
  }
};

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The share of a tensor's bytes one decoded token reads: all of it, except one row of an
// embedding table (the token embedding when the output head is a separate tensor, Gemma 4's
// per-layer embedding) and the used share of a mixture of experts' expert tensors.
double share_read_per_token(const gguf::File& file, const model::ModelConfig& config,
                            const gguf::TensorInfo& tensor) {
  const bool tied = file.find_tensor("output.weight") == nullptr;
  const bool lookup =
      (tensor.name == "token_embd.weight" && !tied) || tensor.name == "per_layer_token_embd.weight";
  if (lookup) return tensor.shape.size() > 1 ? 1.0 / double(tensor.shape[1]) : 0.0;
  const bool experts = tensor.name.find("_exps.") != std::string::npos && config.n_experts > 0;
  return experts ? double(config.n_experts_used) / double(config.n_experts) : 1.0;
}

// Bytes of weights one decoded token reads.
uint64_t weight_bytes_per_token(const gguf::File& file, const model::ModelConfig& config) {
  double total = 0;
  for (const auto& tensor : file.tensors())
    total += double(tensor.n_bytes) * share_read_per_token(file, config, tensor);
  return static_cast<uint64_t>(total);
}

// The tensors every decoded token reads whole, as runs of 8-byte words (tensors that follow one
// another in the file, apart by their alignment padding, make one run).
std::vector<std::span<const uint64_t>> weights_read_whole(const gguf::File& file,
                                                          const model::ModelConfig& config) {
  std::vector<std::span<const uint8_t>> tensors;
  for (const auto& tensor : file.tensors()) {
    if (!tensor.data.empty() && share_read_per_token(file, config, tensor) == 1.0)
      tensors.push_back(tensor.data);
  }
  std::sort(tensors.begin(), tensors.end(),
            [](const auto& a, const auto& b) { return a.data() < b.data(); });
  std::vector<std::span<const uint64_t>> runs;
  for (size_t i = 0; i < tensors.size();) {
    const auto begin = reinterpret_cast<uintptr_t>(tensors[i].data());
    uintptr_t end = begin + tensors[i].size();
    for (++i; i < tensors.size() &&
              reinterpret_cast<uintptr_t>(tensors[i].data()) < end + file.alignment();
         ++i)
      end = std::max(end, reinterpret_cast<uintptr_t>(tensors[i].data()) + tensors[i].size());
    const uintptr_t first_word = (begin + 7) / 8 * 8, end_word = end / 8 * 8;
    if (first_word < end_word)
      runs.emplace_back(reinterpret_cast<const uint64_t*>(first_word), (end_word - first_word) / 8);
  }
  return runs;
}

// Bytes of KV cache one decoded token reads when it sees `positions` positions: every attention
// layer reads the keys and values of those it sees (all, or its sliding window's), from its own
// cache or, for Gemma 4's shared-KV layers, an earlier layer's. Linear-attention layers read a
// fixed state instead, which this leaves out.
uint64_t kv_bytes_per_token(const model::ModelConfig& config, double positions,
                            size_t element_bytes) {
  double total = 0;
  for (size_t il = 0; il < config.layer_attention.size(); ++il) {
    if (il < config.layer_recurrent.size() && config.layer_recurrent[il]) continue;
    const model::LayerAttention& layer = config.layer_attention[il];
    const int64_t window = il < config.layer_window.size() ? config.layer_window[il] : 0;
    const double seen = window > 0 ? std::min(positions, double(window)) : positions;
    total += seen * double(layer.n_kv_heads * (layer.head_dim + layer.head_dim_v)) *
             double(element_bytes);
  }
  return static_cast<uint64_t>(total);
}

// A "Name:   N kB" line of a /proc file (/proc/meminfo, /proc/self/status) in bytes; nullopt
// where the file or the line is missing.
std::optional<uint64_t> proc_bytes(const char* path, const std::string& name) {
  std::FILE* file = std::fopen(path, "r");
  if (file == nullptr) return std::nullopt;
  const std::string format = name + ": %lu kB";
  char line[256];
  std::optional<uint64_t> bytes;
  unsigned long kib = 0;
  while (!bytes && std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::sscanf(line, format.c_str(), &kib) == 1) bytes = uint64_t{kib} * 1024;
  }
  std::fclose(file);
  return bytes;
}

// The machine's read bandwidth in bytes/s, a pass at a time: every thread of the pool sums a
// buffer as large as the weights a token reads (at least 256 MiB; at most 2 GiB, and a quarter of
// the memory the kernel says is available, so that the buffer does not push the model's own
// pages out of memory), prefetching ahead as the kernels do (tensor::sum_words). The size
// matters where the last-level cache is large: on a VM reporting 480 MiB of L3, 2 threads read
// 52-54 GB/s over 128 MiB, 39-40 over 256 MiB, 36-37 over 512 MiB and 34-35 over 1-2 GiB
// (docs/PERFORMANCE.md), so a fixed 256 MiB set the ceiling of a 700 MiB model by a cache its
// weights do not fit; a buffer of the weights' own size is read in the same cyclic order and gets
// the same help from the cache.
// This VM's bandwidth moves by a third over minutes, so the bench takes a pass before each
// measured run and one after the last, and the ceiling uses their median: the bandwidth the
// machine had while the model ran. Each pass also reads the weights a token reads whole, in the
// model's own pages: on this VM memory reads at different speeds in different physical pages (a
// model's page-cache pages read at 0.8-1.0x a fresh buffer in some sessions, and a fresh buffer
// at 0.5-1.0x the model's pages in others, from one process to the next), which the buffer's
// figure alone does not show.
class BandwidthProbe {
 public:
  struct Readings {
    std::vector<double> buffer, weights;
  };

  // The buffer is in 2 MiB pages where the kernel gives them, as the weights are: with 4 KiB
  // pages a pass would also measure TLB misses.
  static Result<std::unique_ptr<BandwidthProbe>> create(
      ThreadPool& pool, uint64_t weight_bytes_per_token,
      std::vector<std::span<const uint64_t>> weights) {
    // The memory the kernel counts as available for new allocations.
    const uint64_t available = proc_bytes("/proc/meminfo", "MemAvailable").value_or(UINT64_MAX);
    const uint64_t most = std::max(kMinBytes, std::min(kMaxBytes, available / 4));
    const uint64_t bytes =
        std::clamp<uint64_t>((weight_bytes_per_token + kPage - 1) / kPage * kPage, kMinBytes, most);
    HEARTH_ASSIGN_OR_RETURN(LargePageBuffer buffer, LargePageBuffer::allocate(bytes));
    const std::span<uint64_t> words(reinterpret_cast<uint64_t*>(buffer.data()),
                                    bytes / sizeof(uint64_t));
    std::fill(words.begin(), words.end(), uint64_t{1});
    return std::unique_ptr<BandwidthProbe>(
        new BandwidthProbe(pool, std::move(buffer), words, std::move(weights)));
  }

  void pass() {
    double start = now_seconds();
    const uint64_t sum = tensor::sum_words(words_, &pool_);
    readings_.buffer.push_back(double(words_.size_bytes()) / (now_seconds() - start));
    if (sum != words_.size()) std::fprintf(stderr, "hearth: bandwidth pass read wrong sums\n");
    if (weights_bytes_ == 0) return;
    start = now_seconds();
    for (const std::span<const uint64_t> run : weights_) tensor::sum_words(run, &pool_);
    readings_.weights.push_back(double(weights_bytes_) / (now_seconds() - start));
  }

  uint64_t buffer_bytes() const { return words_.size_bytes(); }

  // The readings (three passes first when none was taken); `weights` is empty when a token reads
  // no tensor whole.
  const Readings& readings() {
    if (readings_.buffer.empty()) {
      for (int i = 0; i < 3; ++i) pass();
    }
    return readings_;
  }

 private:
  static constexpr uint64_t kPage = uint64_t{2} << 20;
  static constexpr uint64_t kMinBytes = uint64_t{256} << 20;
  static constexpr uint64_t kMaxBytes = uint64_t{2} << 30;
  BandwidthProbe(ThreadPool& pool, LargePageBuffer buffer, std::span<const uint64_t> words,
                 std::vector<std::span<const uint64_t>> weights)
      : pool_(pool), buffer_(std::move(buffer)), words_(words), weights_(std::move(weights)) {
    for (const auto& run : weights_) weights_bytes_ += run.size_bytes();
  }

  ThreadPool& pool_;
  LargePageBuffer buffer_;
  std::span<const uint64_t> words_;  // buffer_'s
  std::vector<std::span<const uint64_t>> weights_;
  uint64_t weights_bytes_ = 0;
  Readings readings_;
};

// Feeds n random tokens to `sequence` after what it holds: in --ubatch chunks with logits for the
// last token only (a prompt), or one token at a time with logits for each (`decode`).
Status feed(engine::Engine& engine, model::Sequence& sequence, int64_t n, bool decode,
            std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(0,
                                               static_cast<int32_t>(engine.config().n_vocab - 1));
  const int64_t chunk = decode ? 1 : engine.options().n_ubatch;
  std::vector<model::BatchToken> batch;
  std::vector<float> logits;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    batch.clear();
    const int64_t end = std::min(n, begin + chunk);
    for (int64_t i = begin; i < end; ++i)
      batch.push_back({&sequence, token(rng), decode || i + 1 == n});
    HEARTH_RETURN_IF_ERROR(engine.model().forward(batch, logits, &engine.pool()));
  }
  return Status();
}

// Tokens/s of feeding n tokens (a prompt, or `decode`) after `depth` tokens fed untimed.
Result<double> time_feed(engine::Engine& engine, model::Sequence& sequence, int64_t depth,
                         int64_t n, bool decode, std::mt19937& rng) {
  sequence.truncate(0);
  HEARTH_RETURN_IF_ERROR(feed(engine, sequence, depth, false, rng));
  const double start = now_seconds();
  HEARTH_RETURN_IF_ERROR(feed(engine, sequence, n, decode, rng));
  return n / (now_seconds() - start);
}

int run_bench(const BenchFlags& flags) {
  EngineFlags engine_flags = flags.engine;
  if (engine_flags.ctx_size == 0) {
    engine_flags.ctx_size = flags.depth + std::max(flags.n_prompt, flags.n_gen);
  }
  auto loaded = load_engine(engine_flags);
  if (!loaded.ok()) return report_error(loaded.error());
  engine::Engine& engine = **loaded;
  auto sequence = engine.model().new_sequence(engine.n_ctx(), engine.options().kv_type);
  if (!sequence.ok()) return report_error(sequence.error());
  std::mt19937 rng(1234);

  std::vector<Measurement> results;
  const gguf::File& file = engine.model().file();
  const uint64_t per_token = weight_bytes_per_token(file, engine.config());
  auto created_probe =
      BandwidthProbe::create(engine.pool(), per_token, weights_read_whole(file, engine.config()));
  if (!created_probe.ok()) return report_error(created_probe.error());
  std::unique_ptr<BandwidthProbe> probe = std::move(created_probe).value();
  const auto measure = [&](const std::string& prefix, int64_t n, bool decode) -> Status {
    if (n <= 0) return Status();
    const std::string at_depth = flags.depth > 0 ? fmt::format(" @ d{}", flags.depth) : "";
    Measurement m{fmt::format("{}{}{}", prefix, n, at_depth), n, {}};
    const auto timed = [&] { return time_feed(engine, **sequence, flags.depth, n, decode, rng); };
    HEARTH_RETURN_IF_ERROR(timed());  // warm-up
    for (int r = 0; r < flags.reps; ++r) {
      probe->pass();
      HEARTH_ASSIGN_OR_RETURN(const double rate, timed());
      m.tokens_per_second.push_back(rate);
    }
    probe->pass();
    results.push_back(std::move(m));
    return Status();
  };
  if (Status s = measure("pp", flags.n_prompt, false); !s.ok()) return report_error(s.error());
  if (Status s = measure("tg", flags.n_gen, true); !s.ok()) return report_error(s.error());
  const double bandwidth = median_of(probe->readings().buffer);
  const std::vector<double>& weights_readings = probe->readings().weights;
  const double weights_bandwidth = weights_readings.empty() ? 0.0 : median_of(weights_readings);
  const uint64_t probe_bytes = probe->buffer_bytes();
  probe.reset();  // (its buffer is not part of the resident memory reported)

  // The process's resident memory (0 where unknown).
  const uint64_t resident = proc_bytes("/proc/self/status", "VmRSS").value_or(0);
  const MappedRegion::Residency weights =
      file.mapping() != nullptr ? file.mapping()->residency() : MappedRegion::Residency();
  const uint64_t kv_resident = (*sequence)->resident_bytes();
  const double ceiling = bandwidth / static_cast<double>(per_token);
  const double weights_ceiling = weights_bandwidth / static_cast<double>(per_token);
  // The tg test's tokens see depth + 1 to depth + n_gen positions.
  const uint64_t kv_per_token =
      kv_bytes_per_token(engine.config(), double(flags.depth) + double(flags.n_gen + 1) / 2,
                         (*sequence)->element_bytes());
  const double ceiling_with_kv = bandwidth / static_cast<double>(per_token + kv_per_token);
  const model::ModelConfig& config = engine.config();
  uint64_t n_params = 0;
  for (const auto& tensor : file.tensors()) n_params += tensor.n_elements;

  if (flags.json) {
    Json out = {{"model", engine.name()},
                {"arch", config.arch},
                {"file_bytes", file.file_size()},
                {"file_resident_bytes", weights.resident},
                {"file_resident_bytes_in_large_pages", weights.in_large_pages},
                {"parameters", n_params},
                {"threads", engine.pool().size()},
                {"depth", flags.depth},
                {"read_bandwidth_bytes_per_s", bandwidth},
                {"read_bandwidth_buffer_bytes", probe_bytes},
                {"weight_bytes_per_token", per_token},
                {"decode_ceiling_tokens_per_s", ceiling},
                {"weights_read_bandwidth_bytes_per_s", weights_bandwidth},
                {"decode_ceiling_from_weights_read_tokens_per_s", weights_ceiling},
                {"kv_cache_bytes_per_token", kv_per_token},
                {"decode_ceiling_with_kv_cache_tokens_per_s", ceiling_with_kv},
                {"resident_bytes", resident},
                {"kv_cache_bytes", (*sequence)->bytes()},
                {"kv_cache_resident_bytes", kv_resident},
                {"results", Json::array()}};
    for (const auto& m : results) {
      out["results"].push_back({{"test", m.test},
                                {"n_tokens", m.n_tokens},
                                {"median_tokens_per_s", m.median()},
                                {"min_tokens_per_s", m.min()},
                                {"max_tokens_per_s", m.max()},
                                {"samples", m.tokens_per_second}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("| model | size | params | threads | test | t/s (median) | min - max |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& m : results) {
    std::printf("| %s %s | %.2f MiB | %.2f M | %d | %s | %.2f | %.2f - %.2f |\n",
                engine.name().c_str(), config.arch.c_str(), file.file_size() / 1048576.0,
                n_params / 1e6, engine.pool().size(), m.test.c_str(), m.median(), m.min(), m.max());
  }
  std::printf(
      "\nread bandwidth %.1f GB/s (over %.0f MiB); %.1f MiB of weights per token: decode ceiling "
      "%.1f t/s",
      bandwidth / 1e9, probe_bytes / 1048576.0, per_token / 1048576.0, ceiling);
  const auto print_shares = [&](double of) {
    for (const auto& m : results) {
      if (m.test.rfind("tg", 0) == 0)
        std::printf(" (%s at %.0f%%)", m.test.c_str(), 100 * m.median() / of);
    }
  };
  print_shares(ceiling);
  if (weights_bandwidth > 0) {
    std::printf("\nthe weights' own pages read at %.1f GB/s: decode ceiling %.1f t/s from them",
                weights_bandwidth / 1e9, weights_ceiling);
    print_shares(weights_ceiling);
  }
  // At a depth each token also reads the KV cache: a second ceiling counts it.
  if (flags.depth > 0) {
    std::printf("\nwith the KV cache's %.1f MiB per token at depth %lld: decode ceiling %.1f t/s",
                kv_per_token / 1048576.0, static_cast<long long>(flags.depth), ceiling_with_kv);
    print_shares(ceiling_with_kv);
  }
  // Decoding reads weights mapped in 4 KiB pages more slowly (see base/mapped_file.h).
  std::printf(
      "\nweights in 2 MiB pages: %.0f%% of the file's %.1f MiB in memory",
      100.0 * double(weights.in_large_pages) / double(std::max<size_t>(weights.resident, 1)),
      weights.resident / 1048576.0);
  // The file's pages in memory are those read (a prompt reads few embedding rows, a MoE model's
  // decode few experts); the rest is hearth's own: the KV cache, activations, tokenizer, code.
  std::printf(
      "\nresident memory %.1f MiB: the file's %.1f MiB in memory, the KV cache's %.1f MiB, "
      "%.1f MiB besides\n",
      resident / 1048576.0, weights.resident / 1048576.0, kv_resident / 1048576.0,
      (double(resident) - double(weights.resident) - double(kv_resident)) / 1048576.0);
  return 0;
}

}  // namespace

void register_bench(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BenchFlags>();
  auto* command = app.add_subcommand("bench", "Prompt-processing and generation tokens/s");
  add_engine_flags(command, flags->engine);
  command->add_option("-p,--n-prompt", flags->n_prompt, "prompt tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  command->add_option("-n,--n-gen", flags->n_gen, "generated tokens (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  command
      ->add_option("-d,--n-depth", flags->depth,
                   "tokens in the context before each test, fed untimed (llama-bench's -d)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  command->add_option("-r,--repetitions", flags->reps, "measured runs per test")
      ->check(CLI::Range(1, 1000));
  command->add_flag("--json", flags->json, "print JSON instead of a table");
  command->callback([flags, exit_code] { *exit_code = run_bench(*flags); });
}

}  // namespace hearth::cli
