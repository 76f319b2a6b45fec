// Stop-string matching over streamed text: find the first complete stop string, else hold back
// the longest tail that is a prefix of one.
#include "hearth/engine/stop_filter.h"

#include <algorithm>
#include <utility>

namespace hearth::engine {

std::string StopFilter::push(std::string_view text, bool& matched) {
  pending_ += text;
  size_t first = std::string::npos;
  for (const auto& stop : stops_) {
    if (!stop.empty()) first = std::min(first, pending_.find(stop));
  }
  if (first != std::string::npos) {
    matched = true;
    return pending_.substr(0, first);
  }
  size_t hold = 0;
  for (const auto& stop : stops_) {
    if (stop.empty()) continue;
    for (size_t k = std::min(stop.size() - 1, pending_.size()); k > hold; --k) {
      if (pending_.compare(pending_.size() - k, k, stop, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  std::string ready = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return ready;
}

std::string StopFilter::flush() {
  return std::exchange(pending_, {});
}

}  // namespace hearth::engine
