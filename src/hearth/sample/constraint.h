// The contract between the sampler chain and whatever restricts which tokens may come next (the
// grammar engine, JSON-schema and tool-call grammars). The sampler first samples freely and asks
// allows() about the chosen token; only when it is refused does it call mask() over the whole
// vocabulary and sample again, so a constraint costs one check per token in the common case.
#pragma once

#include <cstdint>
#include <span>

namespace hearth::sample {

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;

  // True when appending `token` keeps the output a valid prefix (for an end-of-generation token:
  // when the output so far is complete).
  virtual bool allows(int32_t token) const = 0;

  // Sets logits[t] to -infinity for every token t that allows() refuses.
  virtual void mask(std::span<float> logits) const = 0;

  // Advances past `token`, which allows() accepted.
  virtual void accept(int32_t token) = 0;
};

}  // namespace hearth::sample
