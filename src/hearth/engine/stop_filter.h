// Holds back generated text that may still become a stop string, so a streamed reply never shows
// the start of one. Shared by Session::generate and the continuous-batching scheduler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::engine {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // The text that is now certain; `matched` is set when a stop string appeared (the text before
  // it is returned, the rest dropped).
  std::string push(std::string_view text, bool& matched);
  // The held-back text, at the end of generation.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

}  // namespace hearth::engine
