// Participant specs: the key=value parser (with quoting for commas) and the backend factory
// over llm's remote and scripted backends.
#include "hearth/debate/participant.h"

#include <cstdlib>

#include "hearth/llm/local_backend.h"
#include "hearth/llm/remote_backend.h"
#include "hearth/llm/scripted_backend.h"

namespace hearth::debate {
namespace {

Result<double> parse_double(std::string_view key, const std::string& value) {
  char* end = nullptr;
  const double d = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size()) {
    return make_error("{}: '{}' is not a number", key, value);
  }
  return d;
}

Result<int64_t> parse_int(std::string_view key, const std::string& value) {
  char* end = nullptr;
  const long long n = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || end != value.c_str() + value.size() || n < 0) {
    return make_error("{}: '{}' is not a non-negative integer", key, value);
  }
  return static_cast<int64_t>(n);
}

Status set_field(ParticipantSpec& spec, std::string_view key, std::string value) {
  if (key == "name") {
    spec.name = std::move(value);
  } else if (key == "role") {
    HEARTH_ASSIGN_OR_RETURN(spec.role, parse_participant_role(value));
  } else if (key == "endpoint") {
    spec.endpoint = std::move(value);
  } else if (key == "model") {
    spec.model = std::move(value);
  } else if (key == "api_key_env") {
    spec.api_key_env = std::move(value);
  } else if (key == "gguf") {
    spec.gguf = std::move(value);
  } else if (key == "script") {
    spec.script = std::move(value);
  } else if (key == "system") {
    spec.system = std::move(value);
  } else if (key == "temperature") {
    HEARTH_ASSIGN_OR_RETURN(spec.temperature, parse_double(key, value));
  } else if (key == "max_tokens") {
    HEARTH_ASSIGN_OR_RETURN(spec.max_tokens, parse_int(key, value));
  } else if (key == "context") {
    HEARTH_ASSIGN_OR_RETURN(spec.context_size, parse_int(key, value));
  } else {
    return make_error(
        "unknown key '{}' (name, role, endpoint, model, api_key_env, gguf, script, system, "
        "temperature, max_tokens, context)",
        key);
  }
  return {};
}

}  // namespace

std::string_view participant_role_name(ParticipantRole role) {
  switch (role) {
    case ParticipantRole::kAnswer:
      return "answer";
    case ParticipantRole::kCritic:
      return "critic";
    case ParticipantRole::kJudge:
      return "judge";
  }
  return "answer";
}

Result<ParticipantRole> parse_participant_role(std::string_view name) {
  if (name == "answer") return ParticipantRole::kAnswer;
  if (name == "critic") return ParticipantRole::kCritic;
  if (name == "judge") return ParticipantRole::kJudge;
  return make_error("unknown role '{}' (answer, critic or judge)", name);
}

Result<ParticipantSpec> parse_participant_spec(std::string_view text) {
  ParticipantSpec spec;
  size_t i = 0;
  while (i < text.size()) {
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) {
      return make_error("participant '{}': expected key=value at byte {}", text, i);
    }
    const std::string_view key = text.substr(i, eq - i);
    std::string value;
    i = eq + 1;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) {
          value += text[i++];
        } else {
          value += c;
        }
      }
      if (!closed) return make_error("participant '{}': unterminated quote in {}", text, key);
      if (i < text.size() && text[i] != ',') {
        return make_error("participant '{}': expected ',' after the quoted {}", text, key);
      }
    } else {
      const size_t comma = text.find(',', i);
      value = std::string(text.substr(i, comma == std::string_view::npos ? text.npos : comma - i));
      i = comma == std::string_view::npos ? text.size() : comma;
    }
    if (i < text.size()) ++i;  // the comma
    if (Status s = set_field(spec, key, std::move(value)); !s.ok()) {
      return s.error().context(fmt::format("participant '{}'", text));
    }
  }
  HEARTH_RETURN_IF_ERROR(validate(spec));
  return spec;
}

Status validate(const ParticipantSpec& spec) {
  if (spec.name.empty()) return make_error("a participant needs a name (name=...)");
  const int backends = !spec.endpoint.empty() + !spec.gguf.empty() + !spec.script.empty();
  if (backends != 1) {
    return make_error(
        "participant '{}': give exactly one backend: endpoint=URL (with model=NAME), "
        "gguf=PATH or script=PATH",
        spec.name);
  }
  if (!spec.endpoint.empty() && spec.model.empty()) {
    return make_error("participant '{}': endpoint= needs model=NAME", spec.name);
  }
  return {};
}

std::string describe_backend(const ParticipantSpec& spec) {
  if (!spec.script.empty()) return "scripted " + spec.script;
  if (!spec.gguf.empty()) return "gguf " + spec.gguf;
  return fmt::format("remote {} ({})", spec.endpoint, spec.model);
}

Result<std::unique_ptr<llm::ChatBackend>> make_backend(const ParticipantSpec& spec) {
  HEARTH_RETURN_IF_ERROR(validate(spec));
  if (!spec.gguf.empty()) {
    // Participants naming the same file share one loaded model (LocalBackend's engine cache).
    auto local = llm::LocalBackend::open({.model_path = spec.gguf, .n_ctx = spec.context_size});
    if (!local.ok()) return local.error().context("participant '" + spec.name + "'");
    return std::unique_ptr<llm::ChatBackend>(std::move(*local));
  }
  if (!spec.script.empty()) {
    HEARTH_ASSIGN_OR_RETURN(llm::ScriptedBackend backend,
                            llm::ScriptedBackend::from_file(spec.script, spec.context_size));
    return std::unique_ptr<llm::ChatBackend>(new llm::ScriptedBackend(std::move(backend)));
  }
  llm::RemoteOptions options;
  options.base_url = spec.endpoint;
  options.model = spec.model;
  std::string key;
  if (!spec.api_key_env.empty()) {
    const char* value = std::getenv(spec.api_key_env.c_str());
    if (value == nullptr || *value == '\0') {
      return make_error("participant '{}': api_key_env {} is not set", spec.name, spec.api_key_env);
    }
    key = value;
  }
  options.api_key = llm::resolve_api_key(key);
  options.context_size = spec.context_size;
  HEARTH_ASSIGN_OR_RETURN(auto remote, llm::RemoteBackend::create(std::move(options)));
  return std::unique_ptr<llm::ChatBackend>(std::move(remote));
}

}  // namespace hearth::debate
