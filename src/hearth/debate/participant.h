// Who takes part in a debate: a name, a role (answer, critic, judge), a backend (an
// OpenAI-compatible endpoint, a scripted reply file, or a local GGUF model run in-process) and
// optional system prompt and sampling. Parsed from `--participant SPEC` strings and from config
// files (config.h); make_backend() turns one into a ChatBackend.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hearth/base/result.h"
#include "hearth/llm/chat_backend.h"

namespace hearth::debate {

enum class ParticipantRole { kAnswer, kCritic, kJudge };

std::string_view participant_role_name(ParticipantRole role);
Result<ParticipantRole> parse_participant_role(std::string_view name);

struct ParticipantSpec {
  std::string name;
  ParticipantRole role = ParticipantRole::kAnswer;
  std::string endpoint;     // OpenAI-compatible base URL
  std::string model;        // model name at the endpoint
  std::string api_key_env;  // environment variable holding this endpoint's key
  std::string gguf;         // local model file, run by llm::LocalBackend
  std::string script;       // scripted backend: JSONL replies (tests, dry runs)
  std::string system;       // system prompt
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;  // per reply
  int64_t context_size = 0;           // tokens; 0 when unknown
};

// "name=alice,role=answer,endpoint=http://127.0.0.1:8080/v1,model=qwen3". Keys: name, role,
// endpoint, model, api_key_env, gguf, script, system, temperature, max_tokens, context. A
// value containing commas is written in double quotes ("a, b"; \" and \\ escape inside).
Result<ParticipantSpec> parse_participant_spec(std::string_view spec);

// Checks one backend is given and the fields fit; names the participant in errors.
Status validate(const ParticipantSpec& spec);

// "remote http://... (qwen3)" style description for transcripts.
std::string describe_backend(const ParticipantSpec& spec);

// The participant's backend. API keys come from api_key_env, else $HEARTH_API_KEY, else
// $OPENAI_API_KEY. gguf participants naming the same file share one loaded model.
Result<std::unique_ptr<llm::ChatBackend>> make_backend(const ParticipantSpec& spec);

}  // namespace hearth::debate
