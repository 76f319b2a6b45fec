// Prometheus text: one HELP/TYPE header per metric family, hearth_ prefix, counters end in
// _total (the exposition format's conventions).
#include "hearth/server/metrics.h"

#include <fmt/format.h>

namespace hearth::server {

void RequestCounters::count(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++counts_[{route, status}];
}

std::map<std::pair<std::string, int>, int64_t> RequestCounters::snapshot() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

std::string prometheus_text(const RequestCounters& requests, const engine::SchedulerStats* stats) {
  std::string out;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  const auto value = [&](std::string_view name, auto v) { out += fmt::format("{} {}\n", name, v); };

  family("hearth_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests.snapshot()) {
    out += fmt::format("hearth_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                       key.second, n);
  }
  family("hearth_ready", "gauge", "1 when the model is loaded and requests are admitted.");
  value("hearth_ready", stats != nullptr ? 1 : 0);
  if (stats == nullptr) return out;

  family("hearth_requests_finished_total", "counter", "Generations that ended normally.");
  value("hearth_requests_finished_total", stats->requests_finished);
  family("hearth_requests_cancelled_total", "counter",
         "Generations cancelled (client gone, shutdown).");
  value("hearth_requests_cancelled_total", stats->requests_cancelled);
  family("hearth_requests_failed_total", "counter", "Generations that failed in the engine.");
  value("hearth_requests_failed_total", stats->requests_failed);
  family("hearth_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.");
  value("hearth_prompt_tokens_total", stats->prompt_tokens);
  family("hearth_prompt_tokens_reused_total", "counter",
         "Prompt tokens found in a slot's KV cache (prefix reuse).");
  value("hearth_prompt_tokens_reused_total", stats->reused_tokens);
  family("hearth_generated_tokens_total", "counter", "Tokens generated.");
  value("hearth_generated_tokens_total", stats->generated_tokens);
  family("hearth_forward_passes_total", "counter", "Batched forward passes.");
  value("hearth_forward_passes_total", stats->forward_passes);
  family("hearth_busy_seconds_total", "counter", "Seconds spent in forward passes and sampling.");
  value("hearth_busy_seconds_total", fmt::format("{:.6f}", stats->busy_seconds));
  family("hearth_generation_tokens_per_second", "gauge",
         "Generated tokens per busy second since start (all streams together).");
  value(
      "hearth_generation_tokens_per_second",
      fmt::format("{:.3f}", stats->busy_seconds > 0
                                ? static_cast<double>(stats->generated_tokens) / stats->busy_seconds
                                : 0.0));
  family("hearth_queue_depth", "gauge", "Requests waiting for a slot.");
  value("hearth_queue_depth", stats->queued);
  family("hearth_active_requests", "gauge", "Requests in a slot.");
  value("hearth_active_requests", stats->active);
  family("hearth_slots", "gauge", "Slots (--parallel).");
  value("hearth_slots", stats->n_slots);
  return out;
}

}  // namespace hearth::server
