// Test-only helpers shared by the engine's tests (see engine_test_support.h).
#include "engine_test_support.h"

#include <cstdint>
#include <utility>

namespace hearth::engine::testing {

Status add_control_tokens(gguf::Metadata& vocab, const std::vector<std::string>& controls) {
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* pieces_in, vocab.get_array("tokenizer.ggml.tokens"));
  HEARTH_ASSIGN_OR_RETURN(const gguf::Array* types_in,
                          vocab.get_array("tokenizer.ggml.token_type"));
  gguf::Array pieces = *pieces_in;
  gguf::Array types = *types_in;
  if (pieces.items.size() < controls.size() || types.items.size() != pieces.items.size()) {
    return make_error("a vocabulary of {} tokens ({} types) cannot take {} control tokens",
                      pieces.items.size(), types.items.size(), controls.size());
  }
  for (size_t i = 0; i < controls.size(); ++i) {
    const size_t id = pieces.items.size() - 1 - i;
    pieces.items[id].storage = controls[i];
    types.items[id].storage = int32_t{3};  // control
  }
  vocab.set("tokenizer.ggml.tokens", gguf::Value{std::move(pieces)});
  vocab.set("tokenizer.ggml.token_type", gguf::Value{std::move(types)});
  return Status();
}

}  // namespace hearth::engine::testing
