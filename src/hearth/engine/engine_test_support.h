// Test-only helpers shared by the engine's tests: the tiny Llama's vocabulary with some of its
// pieces turned into control tokens, so that a synthetic model speaks a chat format's markers
// (Gemma 4's <|tool_call>, Kimi K2's sections) as single control tokens.
#pragma once

#include <string>
#include <vector>

#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"

namespace hearth::engine::testing {

// Replaces the last ids of `vocab` (tokenizer.* metadata, as model::load_synth_vocab gives it)
// with `controls`, as control tokens. Errors: metadata without the token arrays, or fewer
// tokens than `controls`.
Status add_control_tokens(gguf::Metadata& vocab, const std::vector<std::string>& controls);

}  // namespace hearth::engine::testing
