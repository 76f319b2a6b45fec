// The output parser: one incremental engine that splits text into content, reasoning and
// tool-call regions by each family's markers (the table below), holding back any tail that
// may still become a marker. Region syntaxes are read by tool_call_regions.cpp; a region that
// fails is given back as content, its opener taken literally, and parsing goes on after it.
#include "hearth/chat/output_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "hearth/chat/tool_call_regions.h"

namespace hearth::chat {
namespace {

using detail::NameJsonSyntax;
using detail::XmlSyntax;

enum class RegionKind {
  kJsonCall,
  kNameJson,
  kXml,
  kGemma4,
  kPythonBlock,
  kPythonList,
  kPythonTag
};

struct Opener {
  std::string_view marker;
  RegionKind kind;
  bool at_start = false;  // only as the first thing in the reply (after whitespace)
  bool in_body = false;   // the marker is the start of the call itself ('{', '[')
  std::string_view close = {};
};

struct Family {
  OutputFormat format;
  std::string_view name;
  std::string_view think_open;
  std::string_view think_close;
  std::vector<Opener> openers;
  const NameJsonSyntax* name_json = nullptr;
  const XmlSyntax* xml = nullptr;
};

// Mistral v11+ (Small 3.2, Devstral, Ministral 3): [TOOL_CALLS]name[CALL_ID]id[ARGS]{..};
// Nemo and Small 3.1: [TOOL_CALLS][{"name":..,"arguments":..,"id":..}].
constexpr NameJsonSyntax kMistral{.call_open = "",
                                  .id_sep = "[CALL_ID]",
                                  .args_sep = "[ARGS]",
                                  .call_close = "",
                                  .region_close = "",
                                  .array_form = true};
// DeepSeek V3.1: name<｜tool▁sep｜>{..}; V3 and R1: function<｜tool▁sep｜>name\n```json\n{..}\n```.
constexpr NameJsonSyntax kDeepSeek{.call_open = "<｜tool▁call▁begin｜>",
                                   .id_sep = "",
                                   .args_sep = "<｜tool▁sep｜>",
                                   .call_close = "<｜tool▁call▁end｜>",
                                   .region_close = "<｜tool▁calls▁end｜>",
                                   .fenced = true};
constexpr NameJsonSyntax kKimi{.call_open = "<|tool_call_begin|>",
                               .id_sep = "",
                               .args_sep = "<|tool_call_argument_begin|>",
                               .call_close = "<|tool_call_end|>",
                               .region_close = "<|tool_calls_section_end|>",
                               .kimi_ids = true};
constexpr XmlSyntax kQwen3Coder{.call_open = "<function=",
                                .name_end = ">",
                                .key_open = "<parameter=",
                                .key_end = ">",
                                .value_open = "",
                                .value_close = "</parameter>",
                                .call_close = "</function>",
                                .region_close = "</tool_call>",
                                .trim_value_newlines = true};
// GLM-4.5/4.6 put a newline after the name; GLM-4.7 does not.
constexpr XmlSyntax kGlm{.call_open = "",
                         .name_end = "\n",
                         .key_open = "<arg_key>",
                         .key_end = "</arg_key>",
                         .value_open = "<arg_value>",
                         .value_close = "</arg_value>",
                         .call_close = "</tool_call>",
                         .region_close = ""};
constexpr XmlSyntax kDsml{.call_open = "<｜DSML｜invoke name=\"",
                          .name_end = "\">",
                          .key_open = "<｜DSML｜parameter name=\"",
                          .key_end = "\"",
                          .value_open = ">",
                          .value_close = "</｜DSML｜parameter>",
                          .call_close = "</｜DSML｜invoke>",
                          .region_close = "</｜DSML｜function_calls>"};

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      {OutputFormat::kGeneric, "generic", kThinkOpen, kThinkClose, {}},
      {OutputFormat::kHermes,
       "hermes",
       kThinkOpen,
       kThinkClose,
       {{"<tool_call>", RegionKind::kJsonCall, false, false, "</tool_call>"}}},
      {OutputFormat::kQwen3Coder,
       "qwen3_coder",
       kThinkOpen,
       kThinkClose,
       {{"<tool_call>", RegionKind::kXml}},
       nullptr,
       &kQwen3Coder},
      {OutputFormat::kLlama3,
       "llama3",
       "",
       "",
       {{"<|python_tag|>", RegionKind::kPythonTag}, {"{", RegionKind::kJsonCall, true, true}}},
      {OutputFormat::kMistral,
       "mistral",
       "[THINK]",
       "[/THINK]",
       {{"[TOOL_CALLS]", RegionKind::kNameJson}},
       &kMistral},
      {OutputFormat::kDeepSeekV3,
       "deepseek_v3",
       kThinkOpen,
       kThinkClose,
       {{"<｜tool▁calls▁begin｜>", RegionKind::kNameJson}},
       &kDeepSeek},
      {OutputFormat::kDeepSeekV32,
       "deepseek_v3_2",
       kThinkOpen,
       kThinkClose,
       {{"<｜DSML｜function_calls>", RegionKind::kXml}},
       nullptr,
       &kDsml},
      {OutputFormat::kGlm4,
       "glm4",
       kThinkOpen,
       kThinkClose,
       {{"<tool_call>", RegionKind::kXml}},
       nullptr,
       &kGlm},
      {OutputFormat::kKimiK2,
       "kimi_k2",
       kThinkOpen,
       kThinkClose,
       {{"<|tool_calls_section_begin|>", RegionKind::kNameJson}},
       &kKimi},
      {OutputFormat::kGemma3,
       "gemma3",
       "",
       "",
       {{"```tool_code", RegionKind::kPythonBlock, false, false, "```"},
        {"[", RegionKind::kPythonList, true, true},
        {"{", RegionKind::kJsonCall, true, true}}},
      // Gemma 4 thinks in a "thought" channel: <|channel>thought\n...<channel|>.
      {OutputFormat::kGemma4,
       "gemma4",
       "<|channel>thought",
       "<channel|>",
       {{"<|tool_call>", RegionKind::kGemma4}}},
  };
  return table;
}

const Family& family_of(OutputFormat format) {
  for (const auto& family : families()) {
    if (family.format == format) return family;
  }
  return families().front();
}

bool is_space(char c) {
  return detail::is_space(c);
}

// Where the first marker starts in `text`: found >= 0 when text[safe...] begins with
// markers[found]; otherwise text[safe...] may still become a marker (empty when final).
struct Scan {
  std::size_t safe;
  int found = -1;
};

Scan scan_markers(std::string_view text, const std::vector<std::string_view>& markers, bool final) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    int best = -1;
    for (std::size_t k = 0; k < markers.size(); ++k) {
      std::string_view m = markers[k];
      if (m.empty() || m.front() != text[i]) continue;
      std::string_view rest = text.substr(i);
      if (rest.starts_with(m)) {
        if (best < 0 || m.size() > markers[best].size()) best = static_cast<int>(k);
      } else if (!final && rest.size() < m.size() && m.starts_with(rest)) {
        return {i};  // a longer marker may still complete here
      }
    }
    if (best >= 0) return {i, best};
  }
  return {text.size()};
}

}  // namespace

std::string_view output_format_name(OutputFormat format) {
  return family_of(format).name;
}

Result<OutputFormat> output_format_from_name(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, OutputFormat>, 9> kAliases = {{
      {"qwen3", OutputFormat::kHermes},
      {"qwen2.5", OutputFormat::kHermes},
      {"qwen3.5", OutputFormat::kQwen3Coder},
      {"llama3.1", OutputFormat::kLlama3},
      {"llama3.2", OutputFormat::kLlama3},
      {"deepseek_v3_1", OutputFormat::kDeepSeekV3},
      {"deepseek_r1", OutputFormat::kDeepSeekV3},
      {"glm4.5", OutputFormat::kGlm4},
      {"kimi", OutputFormat::kKimiK2},
  }};
  for (const auto& family : families()) {
    if (family.name == name) return family.format;
  }
  for (const auto& [alias, format] : kAliases) {
    if (alias == name) return format;
  }
  std::string known;
  for (const auto& family : families()) {
    known += known.empty() ? "" : ", ";
    known += family.name;
  }
  return make_error("unknown output format '{}' (known: {})", name, known);
}

OutputFormat detect_output_format(std::string_view source) {
  auto has = [&](std::string_view s) { return source.find(s) != std::string_view::npos; };
  // Most specific first: several families also render a plain "<tool_call>".
  if (has("｜DSML｜")) return OutputFormat::kDeepSeekV32;
  if (has("tool▁calls▁begin")) return OutputFormat::kDeepSeekV3;
  if (has("<|tool_calls_section_begin|>")) return OutputFormat::kKimiK2;
  if (has("<|tool_call>")) return OutputFormat::kGemma4;
  if (has("<arg_key>")) return OutputFormat::kGlm4;
  if (has("<function=") && has("<parameter=")) return OutputFormat::kQwen3Coder;
  if (has("[TOOL_CALLS]")) return OutputFormat::kMistral;
  if (has("<tool_call>")) return OutputFormat::kHermes;
  if (has("<|python_tag|>") || (has("<|start_header_id|>") && has("ipython"))) {
    return OutputFormat::kLlama3;
  }
  if (has("<start_of_turn>")) return OutputFormat::kGemma3;
  return OutputFormat::kGeneric;
}

std::vector<std::string_view> parser_markers(OutputFormat format, bool tool_calls) {
  const Family& family = family_of(format);
  std::vector<std::string_view> markers = {family.think_open, family.think_close};
  if (tool_calls) {
    for (const Opener& opener : family.openers) {
      markers.insert(markers.end(), {opener.marker, opener.close});
      if (opener.kind == RegionKind::kGemma4) {
        markers.insert(markers.end(), {detail::kGemma4Quote, detail::kGemma4CallClose});
      }
    }
    if (const NameJsonSyntax* syntax = family.name_json) {
      markers.insert(markers.end(), {syntax->call_open, syntax->id_sep, syntax->args_sep,
                                     syntax->call_close, syntax->region_close});
    }
    if (const XmlSyntax* syntax = family.xml) {
      markers.insert(markers.end(), {syntax->call_open, syntax->name_end, syntax->key_open,
                                     syntax->key_end, syntax->value_open, syntax->value_close,
                                     syntax->call_close, syntax->region_close});
    }
  }
  std::erase(markers, std::string_view());
  std::sort(markers.begin(), markers.end());
  markers.erase(std::unique(markers.begin(), markers.end()), markers.end());
  return markers;
}

bool prompt_opens_reasoning(OutputFormat format, std::string_view prompt) {
  const Family& family = family_of(format);
  if (family.think_open.empty()) return false;
  while (!prompt.empty() && is_space(prompt.back())) prompt.remove_suffix(1);
  return prompt.ends_with(family.think_open);
}

class OutputParser::Impl : public detail::CallSink {
 public:
  Impl(const Family& family, ParserOptions options)
      : family_(family), options_(std::move(options)) {
    if (options_.starts_in_reasoning && !family_.think_open.empty()) mode_ = Mode::kReasoning;
    for (const auto& opener : family_.openers) {
      if (!options_.parse_tool_calls) break;
      (opener.at_start ? start_openers_ : openers_).push_back(&opener);
      if (!opener.at_start) markers_.push_back(opener.marker);
    }
  }

  OutputDelta feed(std::string_view chunk, bool final) {
    delta_ = {};
    if (finished_) return {};
    (mode_ == Mode::kRegion ? region_text_ : pending_) += chunk;
    while (step(final)) {
    }
    if (final) {
      content_.held.clear();
      reasoning_.held.clear();
      finished_ = true;
    }
    return std::exchange(delta_, {});
  }

  const ParsedOutput& result() const { return result_; }

  void begin_call(std::string id, std::string name) override {
    if (id.empty()) id = fmt::format("{}{:05d}", options_.id_prefix, ++generated_ids_);
    content_.held.clear();  // whitespace before a call is layout, not content
    result_.tool_calls.push_back({id, name, ""});
    delta_.tool_calls.push_back({stream_index_, std::move(id), std::move(name), "", false});
    call_open_ = true;
  }

  void add_arguments(std::string_view fragment) override {
    result_.tool_calls.back().arguments += fragment;
    auto& calls = delta_.tool_calls;
    if (calls.empty() || calls.back().index != stream_index_) {
      calls.push_back({stream_index_, "", "", "", false});
    }
    calls.back().arguments += fragment;
  }

  void end_call() override {
    call_open_ = false;
    ++stream_index_;
  }

 private:
  enum class Mode { kContent, kReasoning, kRegion };

  // Text that drops leading whitespace and holds trailing whitespace until more text follows,
  // so markers' surrounding newlines never reach the user.
  struct Text {
    std::string* result;
    std::string* delta;
    std::string held;
  };

  static void append(Text& text, std::string_view piece) {
    if (text.result->empty()) {
      while (!piece.empty() && is_space(piece.front())) piece.remove_prefix(1);
    }
    std::size_t body = piece.size();
    while (body > 0 && is_space(piece[body - 1])) --body;
    if (body == 0) {
      if (!text.result->empty()) text.held += piece;
      return;
    }
    std::string out = std::exchange(text.held, std::string(piece.substr(body)));
    out += piece.substr(0, body);
    *text.result += out;
    *text.delta += out;
  }

  bool step(bool final) {
    switch (mode_) {
      case Mode::kContent:
        return step_content(final);
      case Mode::kReasoning:
        return step_reasoning(final);
      case Mode::kRegion:
        return step_region(final);
    }
    return false;
  }

  bool step_content(bool final) {
    if (result_.content.empty()) {
      std::size_t ws = 0;
      while (ws < pending_.size() && is_space(pending_[ws])) ++ws;
      pending_.erase(0, ws);
      if (pending_.empty()) return false;
      if (!family_.think_open.empty()) {
        switch (match(family_.think_open, final)) {
          case 1:
            pending_.erase(0, family_.think_open.size());
            mode_ = Mode::kReasoning;
            return true;
          case -1:
            return false;
          default:
            break;
        }
      }
      for (const Opener* opener : start_openers_) {
        switch (match(opener->marker, final)) {
          case 1:
            start_region(*opener);
            return true;
          case -1:
            return false;
          default:
            break;
        }
      }
    }
    Scan scan = scan_markers(pending_, markers_, final);
    append(content_, std::string_view(pending_).substr(0, scan.safe));
    pending_.erase(0, scan.safe);
    if (scan.found < 0) return false;
    start_region(*openers_[scan.found]);
    return true;
  }

  // 1: pending_ starts with `marker`; -1: it may, once more text arrives; 0: it does not.
  int match(std::string_view marker, bool final) const {
    if (std::string_view(pending_).starts_with(marker)) return 1;
    if (!final && pending_.size() < marker.size() && marker.starts_with(pending_)) return -1;
    return 0;
  }

  bool step_reasoning(bool final) {
    Scan scan = scan_markers(pending_, {family_.think_close}, final);
    append(reasoning_, std::string_view(pending_).substr(0, scan.safe));
    pending_.erase(0, scan.safe);
    if (scan.found < 0) return false;
    pending_.erase(0, family_.think_close.size());
    reasoning_.held.clear();
    mode_ = Mode::kContent;
    return true;
  }

  void start_region(const Opener& opener) {
    const std::size_t skip = opener.in_body ? 0 : opener.marker.size();
    switch (opener.kind) {
      case RegionKind::kJsonCall:
        region_ = detail::make_json_call_region(skip, opener.close);
        break;
      case RegionKind::kNameJson:
        region_ = detail::make_name_json_region(skip, *family_.name_json);
        break;
      case RegionKind::kXml:
        region_ = detail::make_xml_region(skip, *family_.xml, options_.tools);
        break;
      case RegionKind::kGemma4:
        region_ = detail::make_gemma4_region(skip);
        break;
      case RegionKind::kPythonBlock:
        region_ = detail::make_python_region(skip, opener.close, false);
        break;
      case RegionKind::kPythonList:
        region_ = detail::make_python_region(skip, "", true);
        break;
      case RegionKind::kPythonTag:
        region_ = detail::make_python_region(skip, "", false);
        break;
    }
    opener_size_ = opener.marker.size();
    region_text_ = std::move(pending_);
    pending_.clear();
    mode_ = Mode::kRegion;
  }

  bool step_region(bool final) {
    detail::RegionStep step = region_->advance(region_text_, final, *this);
    if (step.kind == detail::RegionStep::kMore) {
      if (!final) return false;
      step = {detail::RegionStep::kFailed, 0, "unterminated tool call", true};
    }
    std::size_t resume = step.end;
    if (step.kind == detail::RegionStep::kFailed) {
      if (call_open_) {
        result_.tool_calls.pop_back();
        delta_.tool_calls.push_back({stream_index_++, "", "", "", true});
        call_open_ = false;
      }
      if (step.warn) {
        std::string warning =
            fmt::format("malformed {} tool call returned as content: {}", family_.name, step.error);
        result_.warnings.push_back(warning);
        delta_.warnings.push_back(std::move(warning));
      }
      if (resume == 0) {
        // The opener was not a call after all: it is text, and parsing resumes after it.
        append(content_, std::string_view(region_text_).substr(0, opener_size_));
        resume = opener_size_;
      }
    }
    pending_ = region_text_.substr(resume);
    region_text_.clear();
    region_.reset();
    mode_ = Mode::kContent;
    return true;
  }

  const Family& family_;
  ParserOptions options_;
  std::vector<const Opener*> start_openers_;
  std::vector<const Opener*> openers_;
  std::vector<std::string_view> markers_;  // openers_' markers, in the same order

  Mode mode_ = Mode::kContent;
  bool finished_ = false;
  std::string pending_;      // text not yet classified (content and reasoning modes)
  std::string region_text_;  // the open region's text, opener included
  std::size_t opener_size_ = 0;
  std::unique_ptr<detail::Region> region_;

  ParsedOutput result_;
  OutputDelta delta_;
  Text content_{&result_.content, &delta_.content, {}};
  Text reasoning_{&result_.reasoning, &delta_.reasoning, {}};
  bool call_open_ = false;
  std::size_t stream_index_ = 0;
  std::size_t generated_ids_ = 0;
};

OutputParser::OutputParser(OutputFormat format, ParserOptions options)
    : impl_(std::make_unique<Impl>(family_of(format), std::move(options))) {}
OutputParser::~OutputParser() = default;
OutputParser::OutputParser(OutputParser&&) noexcept = default;
OutputParser& OutputParser::operator=(OutputParser&&) noexcept = default;

OutputDelta OutputParser::feed(std::string_view chunk) {
  return impl_->feed(chunk, false);
}
OutputDelta OutputParser::finish() {
  return impl_->feed({}, true);
}
const ParsedOutput& OutputParser::result() const {
  return impl_->result();
}

ParsedOutput parse_output(OutputFormat format, std::string_view text,
                          const ParserOptions& options) {
  OutputParser parser(format, options);
  parser.feed(text);
  parser.finish();
  return parser.result();
}

}  // namespace hearth::chat
