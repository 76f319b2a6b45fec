// The server's counters and their Prometheus text exposition (format 0.0.4) for GET /metrics:
// HTTP requests by route and status, and the scheduler's tokens, queue and throughput.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "hearth/engine/scheduler.h"

namespace hearth::server {

class RequestCounters {
 public:
  // Thread-safe. `route` is a known route or "other".
  void count(const std::string& route, int status);
  std::map<std::pair<std::string, int>, int64_t> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> counts_;
};

// `stats` is null while the model is loading.
std::string prometheus_text(const RequestCounters& requests, const engine::SchedulerStats* stats);

}  // namespace hearth::server
