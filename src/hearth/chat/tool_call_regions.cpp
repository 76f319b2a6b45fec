// Readers of tool-call regions, one per call syntax. Each keeps a cursor into the region's
// growing text and resumes where it stopped, so a call fed byte by byte costs what a whole one
// does. They report a name as soon as it is complete and argument text as soon as it is a
// valid prefix; anything off-syntax fails the call, and the parser returns it as content.
#include "hearth/chat/tool_call_regions.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <vector>

namespace hearth::chat::detail {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;
constexpr std::size_t kMaxHead = 256;  // names, ids, keys: longer means it was not a call

enum class Match { kYes, kNo, kMore };

Match match_at(std::string_view text, std::size_t pos, std::string_view lit, bool final) {
  std::string_view rest = text.substr(pos);
  if (rest.starts_with(lit)) return Match::kYes;
  if (!final && rest.size() < lit.size() && lit.starts_with(rest)) return Match::kMore;
  return Match::kNo;
}

std::size_t skip_ws(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The earliest complete occurrence of any of `ends` at or after `pos` (longest on a tie).
// kMore while none is complete, or while a longer one that starts earlier may still complete;
// kNo when none can be found within `limit` bytes (or at the end of the output).
struct Found {
  Match match = Match::kMore;
  std::size_t at = kNpos;
  std::size_t which = 0;
};

// `from` (>= pos) skips text already searched by an earlier call.
Found find_any(std::string_view text, std::size_t pos, std::initializer_list<std::string_view> ends,
               bool final, std::size_t limit = kNpos, std::size_t from = 0) {
  Found found;
  std::size_t index = 0;
  for (std::string_view end : ends) {
    if (!end.empty()) {
      std::size_t at = text.find(end, std::max(pos, from));
      if (at != kNpos &&
          (at < found.at || (at == found.at && end.size() > ends.begin()[found.which].size()))) {
        found.at = at;
        found.which = index;
      }
    }
    ++index;
  }
  const std::size_t horizon = found.at == kNpos ? text.size() : found.at;
  if (!final) {
    for (std::string_view end : ends) {
      if (end.empty()) continue;
      std::size_t tail = text.size() >= end.size() ? text.size() - end.size() + 1 : 0;
      for (std::size_t q = std::max(tail, pos); q < horizon; ++q) {
        if (end.starts_with(text.substr(q))) return {Match::kMore};
      }
    }
  }
  if (found.at != kNpos) {
    if (found.at - pos > limit) return {Match::kNo};
    found.match = Match::kYes;
    return found;
  }
  if (final || text.size() - pos > limit) return {Match::kNo};
  return {Match::kMore};
}

// Where the next search for `marker` may start, given that text[...size) held none.
std::size_t resume_point(std::string_view text, std::string_view marker) {
  return text.size() >= marker.size() ? text.size() - marker.size() + 1 : 0;
}

RegionStep more() {
  return {};
}
RegionStep done(std::size_t end) {
  return {RegionStep::kDone, end, {}, true};
}
RegionStep failed(std::size_t at, std::string error, bool warn = true) {
  return {RegionStep::kFailed, at, std::move(error), warn};
}

// One `{"name": .., "arguments": ..}` object. Streams the arguments once the name is known
// and the arguments object has begun, so a JSON reply that merely has a "name" key is never
// announced as a call.
class JsonCallObject {
 public:
  enum class State { kMore, kDone, kError };

  // `bare`: the object is not inside call markers (Llama 3 and Gemma 3 replies), so it is a
  // call only with both a name and arguments.
  JsonCallObject(std::size_t begin, bool bare) : begin_(begin), bare_(bare) {}

  // Reads text[pos...]; `pos` advances. On kError, error() says why.
  State advance(std::string_view text, std::size_t& pos, CallSink& sink) {
    while (pos < text.size()) {
      ScanStatus status = scanner_.push(text[pos++]);
      if (status == ScanStatus::kError) return fail("invalid JSON in tool call");
      stream(text, pos, sink);
      if (status == ScanStatus::kDone) return finish(text, pos, sink);
    }
    return State::kMore;
  }

  const std::string& error() const { return error_; }
  // Whether a failure is worth a warning: a bare object must have looked like a call.
  bool looked_like_call() const {
    return !bare_ || (find("name") != nullptr && args_member() != nullptr);
  }

 private:
  const JsonScanner::Member* find(std::string_view key) const {
    for (const auto& m : scanner_.members()) {
      if (m.key == key) return &m;
    }
    return nullptr;
  }
  const JsonScanner::Member* args_member() const {
    for (const auto& m : scanner_.members()) {
      if (m.key == "arguments" || m.key == "parameters") return &m;
    }
    return nullptr;
  }

  State fail(std::string message) {
    error_ = std::move(message);
    return State::kError;
  }

  void stream(std::string_view text, std::size_t pos, CallSink& sink) {
    const auto* args = args_member();
    if (!streaming_) {
      const auto* name = find("name");
      // value_begin 0 is the object's own '{': the arguments' value has not begun yet.
      if (name == nullptr || name->value_end == 0 || args == nullptr || args->value_begin == 0) {
        return;
      }
      if (text[begin_ + args->value_begin] != '{') return;
      auto parsed = parse_json(
          text.substr(begin_ + name->value_begin, name->value_end - name->value_begin), "name");
      if (!parsed.ok() || !parsed->is_string() || parsed->get<std::string>().empty()) return;
      sink.begin_call("", parsed->get<std::string>());
      streaming_ = true;
      sent_ = begin_ + args->value_begin;
    }
    std::size_t end = args->value_end != 0 ? begin_ + args->value_end : pos;
    if (end > sent_) {
      sink.add_arguments(text.substr(sent_, end - sent_));
      sent_ = end;
    }
  }

  State finish(std::string_view text, std::size_t pos, CallSink& sink) {
    auto object = parse_json(text.substr(begin_, pos - begin_), "tool call");
    if (!object.ok()) return fail(object.error().message());
    const Json* call = &*object;
    if (call->is_object() && !call->contains("name") && call->contains("function")) {
      call = &(*call)["function"];
    }
    if (!call->is_object()) return fail("tool call is not a JSON object");
    auto name = call->find("name");
    if (name == call->end() || !name->is_string() || name->get<std::string>().empty()) {
      return fail("tool call has no \"name\"");
    }
    if (bare_ && !call->contains("arguments") && !call->contains("parameters")) {
      return fail("JSON reply has no \"arguments\"");
    }
    if (!streaming_) {
      std::string arguments = "{}";
      auto args = call->find("arguments");
      if (args == call->end()) args = call->find("parameters");
      if (args != call->end() && args->is_string()) {
        arguments = args->get<std::string>();
      } else if (args != call->end() && !args->is_null()) {
        arguments = args->dump();
      }
      sink.begin_call("", name->get<std::string>());
      sink.add_arguments(arguments);
    } else if (auto args = args_member(); args == nullptr || args->value_end == 0) {
      return fail("tool call arguments do not end");
    }
    sink.end_call();
    return State::kDone;
  }

  std::size_t begin_;
  bool bare_;
  JsonScanner scanner_;
  bool streaming_ = false;
  std::size_t sent_ = 0;
  std::string error_;
};

class JsonCallRegion : public Region {
 public:
  JsonCallRegion(std::size_t skip, std::string_view close) : pos_(skip), close_(close) {}

  RegionStep advance(std::string_view text, bool final, CallSink& sink) override {
    if (!object_) {
      pos_ = skip_ws(text, pos_);
      if (pos_ == text.size()) return final ? failed(0, "empty tool call") : more();
      if (text[pos_] != '{') return failed(0, "tool call is not a JSON object", pos_ > 0);
      object_.emplace(pos_, close_.empty() && pos_ == 0);
    }
    if (!object_done_) {
      auto state = object_->advance(text, pos_, sink);
      if (state == JsonCallObject::State::kError) {
        // A bare JSON reply (the opener was its '{') only counts as a failed call once it
        // looked like one.
        return failed(0, object_->error(), object_->looked_like_call());
      }
      if (state == JsonCallObject::State::kMore) return more();
      object_done_ = true;
    }
    if (close_.empty()) return done(pos_);
    std::size_t at = skip_ws(text, pos_);
    switch (match_at(text, at, close_, final)) {
      case Match::kYes:
        return done(at + close_.size());
      case Match::kMore:
        return more();
      case Match::kNo:
        break;
    }
    return failed(0, "tool call is not closed");
  }

 private:
  std::size_t pos_;
  std::string_view close_;
  std::optional<JsonCallObject> object_;
  bool object_done_ = false;
};

class NameJsonRegion : public Region {
 public:
  NameJsonRegion(std::size_t skip, const NameJsonSyntax& syntax)
      : syntax_(syntax), pos_(skip), call_start_(0) {}

  RegionStep advance(std::string_view text, bool final, CallSink& sink) override {
    while (true) {
      RegionStep step = step_once(text, final, sink);
      if (step.kind != RegionStep::kMore || stalled_) {
        stalled_ = false;
        if (step.kind == RegionStep::kMore && final) return fail("unterminated tool call");
        return step;
      }
    }
  }

 private:
  enum class Stage {
    kStart,
    kCallOpen,
    kHead,
    kId,
    kFencedName,
    kArgsStart,
    kArgs,
    kAfter,
    kArrayItem,
    kArrayNext
  };

  RegionStep wait() {
    stalled_ = true;
    return more();
  }
  RegionStep fail(std::string error) { return failed(call_start_, std::move(error)); }

  RegionStep step_once(std::string_view text, bool final, CallSink& sink) {
    switch (stage_) {
      case Stage::kStart: {
        std::size_t at = skip_ws(text, pos_);
        if (at == text.size()) return final ? fail("empty tool call") : wait();
        if (syntax_.array_form && text[at] == '[') {
          pos_ = at + 1;
          stage_ = Stage::kArrayItem;
        } else {
          stage_ = Stage::kCallOpen;
        }
        return more();
      }
      case Stage::kCallOpen: {
        std::size_t at = skip_ws(text, pos_);
        if (calls_ > 0) {
          call_start_ = at;
          switch (match_at(text, at, syntax_.region_close, final)) {
            case Match::kYes:
              return done(at + syntax_.region_close.size());
            case Match::kMore:
              return wait();
            case Match::kNo:
              break;
          }
        }
        if (!syntax_.call_open.empty()) {
          switch (match_at(text, at, syntax_.call_open, final)) {
            case Match::kYes:
              pos_ = at + syntax_.call_open.size();
              break;
            case Match::kMore:
              return wait();
            case Match::kNo:
              return fail("expected " + std::string(syntax_.call_open));
          }
        }
        stage_ = Stage::kHead;
        return more();
      }
      case Stage::kHead: {
        Found f = find_any(text, pos_, {syntax_.args_sep, syntax_.id_sep}, final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("tool call name does not end");
        std::string_view head = trim(text.substr(pos_, f.at - pos_));
        pos_ = f.at + (f.which == 0 ? syntax_.args_sep : syntax_.id_sep).size();
        if (syntax_.fenced && head == "function") {
          stage_ = Stage::kFencedName;
          return more();
        }
        if (!set_name(head)) return fail("bad tool call name");
        if (f.which == 1) {
          stage_ = Stage::kId;
          return more();
        }
        sink.begin_call(id_, name_);
        stage_ = Stage::kArgsStart;
        return more();
      }
      case Stage::kId: {
        Found f = find_any(text, pos_, {syntax_.args_sep}, final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("tool call id does not end");
        id_ = std::string(trim(text.substr(pos_, f.at - pos_)));
        pos_ = f.at + syntax_.args_sep.size();
        sink.begin_call(id_, name_);
        stage_ = Stage::kArgsStart;
        return more();
      }
      case Stage::kFencedName: {
        Found f = find_any(text, pos_, {"```json"}, final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("tool call has no ```json block");
        if (!set_name(trim(text.substr(pos_, f.at - pos_)))) return fail("bad tool call name");
        pos_ = f.at + 7;
        fenced_call_ = true;
        sink.begin_call(id_, name_);
        stage_ = Stage::kArgsStart;
        return more();
      }
      case Stage::kArgsStart: {
        std::size_t at = skip_ws(text, pos_);
        if (at == text.size()) return final ? fail("tool call has no arguments") : wait();
        if (text[at] != '{') return fail("tool call arguments are not a JSON object");
        pos_ = at;
        scanner_ = JsonScanner();
        stage_ = Stage::kArgs;
        return more();
      }
      case Stage::kArgs: {
        std::size_t from = pos_;
        ScanStatus status = ScanStatus::kMore;
        while (pos_ < text.size() && status == ScanStatus::kMore) {
          status = scanner_.push(text[pos_++]);
        }
        if (status == ScanStatus::kError) return fail("invalid JSON in tool call arguments");
        if (pos_ > from) sink.add_arguments(text.substr(from, pos_ - from));
        if (status == ScanStatus::kMore) return wait();
        auto check = parse_json(text.substr(pos_ - scanner_.offset(), scanner_.offset()),
                                "tool call arguments");
        if (!check.ok()) return fail(check.error().message());
        stage_ = Stage::kAfter;
        return more();
      }
      case Stage::kAfter: {
        if (fenced_call_) {
          std::size_t at = skip_ws(text, pos_);
          switch (match_at(text, at, "```", final)) {
            case Match::kYes:
              pos_ = at + 3;
              fenced_call_ = false;
              break;
            case Match::kMore:
              return wait();
            case Match::kNo:
              return fail("tool call ```json block is not closed");
          }
        }
        if (!syntax_.call_close.empty()) {
          std::size_t at = skip_ws(text, pos_);
          switch (match_at(text, at, syntax_.call_close, final)) {
            case Match::kYes:
              pos_ = at + syntax_.call_close.size();
              break;
            case Match::kMore:
              return wait();
            case Match::kNo:
              return fail("expected " + std::string(syntax_.call_close));
          }
        }
        sink.end_call();
        ++calls_;
        id_.clear();
        if (syntax_.region_close.empty()) return done(pos_);
        stage_ = Stage::kCallOpen;
        return more();
      }
      case Stage::kArrayItem: {
        if (!object_) {
          std::size_t at = skip_ws(text, pos_);
          if (at == text.size()) return final ? fail("unterminated tool call list") : wait();
          if (text[at] != '{') return fail("tool call list item is not a JSON object");
          call_start_ = calls_ == 0 ? 0 : at;
          pos_ = at;
          object_.emplace(at, false);
        }
        auto state = object_->advance(text, pos_, sink);
        if (state == JsonCallObject::State::kError) return fail(object_->error());
        if (state == JsonCallObject::State::kMore) return wait();
        object_.reset();
        ++calls_;
        stage_ = Stage::kArrayNext;
        return more();
      }
      case Stage::kArrayNext: {
        std::size_t at = skip_ws(text, pos_);
        if (at == text.size()) return final ? fail("unterminated tool call list") : wait();
        if (text[at] == ']') return done(at + 1);
        if (text[at] != ',') return fail("expected ',' or ']' in tool call list");
        pos_ = at + 1;
        stage_ = Stage::kArrayItem;
        return more();
      }
    }
    return fail("unreachable");
  }

  bool set_name(std::string_view head) {
    if (head.empty() || head.find('\n') != kNpos) return false;
    if (syntax_.kimi_ids) {
      // "functions.get_weather:0": the whole head is the id.
      id_ = std::string(head);
      if (head.starts_with("functions.")) head.remove_prefix(10);
      if (std::size_t colon = head.rfind(':'); colon != kNpos) head = head.substr(0, colon);
      if (head.empty()) return false;
    }
    name_ = std::string(head);
    return true;
  }

  const NameJsonSyntax& syntax_;
  Stage stage_ = Stage::kStart;
  std::size_t pos_;
  std::size_t call_start_;
  std::size_t calls_ = 0;
  bool stalled_ = false;
  bool fenced_call_ = false;
  std::string name_;
  std::string id_;
  JsonScanner scanner_;
  std::optional<JsonCallObject> object_;
};

class XmlRegion : public Region {
 public:
  XmlRegion(std::size_t skip, const XmlSyntax& syntax, const Json& tools)
      : syntax_(syntax), tools_(tools), pos_(skip) {}

  RegionStep advance(std::string_view text, bool final, CallSink& sink) override {
    while (true) {
      RegionStep step = step_once(text, final, sink);
      if (step.kind != RegionStep::kMore || stalled_) {
        stalled_ = false;
        if (step.kind == RegionStep::kMore && final) return fail("unterminated tool call");
        return step;
      }
    }
  }

 private:
  enum class Stage { kCallOpen, kName, kParams, kKey, kValueOpen, kValue };

  RegionStep wait() {
    stalled_ = true;
    return more();
  }
  RegionStep fail(std::string error) { return failed(call_start_, std::move(error)); }

  RegionStep end_call(CallSink& sink, std::size_t after) {
    sink.add_arguments(params_ == 0 ? "{}" : "}");
    sink.end_call();
    ++calls_;
    pos_ = after;
    if (syntax_.region_close.empty()) return done(pos_);
    stage_ = Stage::kCallOpen;
    return more();
  }

  RegionStep step_once(std::string_view text, bool final, CallSink& sink) {
    switch (stage_) {
      case Stage::kCallOpen: {
        std::size_t at = skip_ws(text, pos_);
        if (calls_ > 0) {
          call_start_ = at;
          switch (match_at(text, at, syntax_.region_close, final)) {
            case Match::kYes:
              return done(at + syntax_.region_close.size());
            case Match::kMore:
              return wait();
            case Match::kNo:
              break;
          }
          if (syntax_.call_open.empty()) return fail("expected the end of the tool calls");
        }
        if (!syntax_.call_open.empty()) {
          switch (match_at(text, at, syntax_.call_open, final)) {
            case Match::kYes:
              pos_ = at + syntax_.call_open.size();
              break;
            case Match::kMore:
              return wait();
            case Match::kNo:
              return fail("expected " + std::string(syntax_.call_open));
          }
        }
        stage_ = Stage::kName;
        return more();
      }
      case Stage::kName: {
        Found f = find_any(text, pos_, {syntax_.name_end, syntax_.key_open, syntax_.call_close},
                           final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("tool call name does not end");
        std::string_view name = trim(text.substr(pos_, f.at - pos_));
        if (name.empty() || name.find('\n') != kNpos) return fail("bad tool call name");
        name_ = std::string(name);
        pos_ = f.which == 0 ? f.at + syntax_.name_end.size() : f.at;
        params_ = 0;
        sink.begin_call("", name_);
        stage_ = Stage::kParams;
        return more();
      }
      case Stage::kParams: {
        std::size_t at = skip_ws(text, pos_);
        Match key = match_at(text, at, syntax_.key_open, final);
        Match close = match_at(text, at, syntax_.call_close, final);
        // Qwen3-Coder models sometimes skip </function> before </tool_call>.
        Match region = syntax_.region_close.empty()
                           ? Match::kNo
                           : match_at(text, at, syntax_.region_close, final);
        if (key == Match::kYes) {
          pos_ = at + syntax_.key_open.size();
          stage_ = Stage::kKey;
          return more();
        }
        if (close == Match::kYes) return end_call(sink, at + syntax_.call_close.size());
        if (region == Match::kYes) {
          end_call(sink, at + syntax_.region_close.size());
          return done(pos_);
        }
        if (at == text.size() || key == Match::kMore || close == Match::kMore ||
            region == Match::kMore) {
          return final ? fail("tool call is not closed") : wait();
        }
        return fail("unexpected text in tool call");
      }
      case Stage::kKey: {
        Found f = find_any(text, pos_, {syntax_.key_end}, final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("parameter name does not end");
        key_ = std::string(trim(text.substr(pos_, f.at - pos_)));
        if (key_.empty()) return fail("empty parameter name");
        pos_ = f.at + syntax_.key_end.size();
        type_ = parameter_schema_type(tools_, name_, key_);
        stage_ = syntax_.value_open.empty() ? Stage::kValue : Stage::kValueOpen;
        return more();
      }
      case Stage::kValueOpen: {
        Found f = find_any(text, pos_, {syntax_.value_open}, final, kMaxHead);
        if (f.match == Match::kMore) return wait();
        if (f.match == Match::kNo) return fail("parameter value does not start");
        std::string_view between = text.substr(pos_, f.at - pos_);
        // DeepSeek V3.2 says how to read the value: string="true" (text) or "false" (JSON).
        if (between.find("string=\"true\"") != kNpos) type_ = "string";
        if (between.find("string=\"false\"") != kNpos) type_ = nullptr;
        if (between.find('<') != kNpos) return fail("unexpected text before a parameter value");
        pos_ = f.at + syntax_.value_open.size();
        stage_ = Stage::kValue;
        return more();
      }
      case Stage::kValue: {
        Found f = find_any(text, pos_, {syntax_.value_close}, final, kNpos, searched_);
        if (f.match == Match::kMore) {
          searched_ = resume_point(text, syntax_.value_close);
          return wait();
        }
        if (f.match == Match::kNo) return fail("parameter value is not closed");
        std::string_view raw = text.substr(pos_, f.at - pos_);
        if (syntax_.trim_value_newlines) {
          if (raw.starts_with('\n')) raw.remove_prefix(1);
          if (raw.ends_with('\n')) raw.remove_suffix(1);
        }
        std::string fragment = params_ == 0 ? "{\"" : ", \"";
        append_json_escaped(key_, fragment);
        fragment += "\": ";
        fragment += typed_parameter_value(raw, type_);
        sink.add_arguments(fragment);
        ++params_;
        pos_ = f.at + syntax_.value_close.size();
        searched_ = 0;
        stage_ = Stage::kParams;
        return more();
      }
    }
    return fail("unreachable");
  }

  const XmlSyntax& syntax_;
  const Json& tools_;
  Stage stage_ = Stage::kCallOpen;
  std::size_t pos_;
  std::size_t call_start_ = 0;
  std::size_t calls_ = 0;
  std::size_t params_ = 0;
  std::size_t searched_ = 0;
  bool stalled_ = false;
  std::string name_;
  std::string key_;
  Json type_;
};

class Gemma4Region : public Region {
 public:
  explicit Gemma4Region(std::size_t skip) : pos_(skip) {}

  RegionStep advance(std::string_view text, bool final, CallSink& sink) override {
    if (stage_ == Stage::kName) {
      switch (match_at(text, pos_, "call:", final)) {
        case Match::kYes:
          break;
        case Match::kMore:
          return more();
        case Match::kNo:
          return failed(0, "expected call:NAME{...}");
      }
      Found f = find_any(text, pos_ + 5, {"{"}, final, kMaxHead);
      if (f.match == Match::kMore) return more();
      std::string_view name = f.match == Match::kYes ? trim(text.substr(pos_ + 5, f.at - pos_ - 5))
                                                     : std::string_view();
      if (name.empty() || name.find('\n') != kNpos) return failed(0, "bad tool call name");
      sink.begin_call("", std::string(name));
      pos_ = f.at;
      stage_ = Stage::kArgs;
    }
    if (stage_ == Stage::kArgs) {
      std::string out;
      ScanStatus status = converter_.advance(text, pos_, final, out);
      if (status == ScanStatus::kError) return failed(0, "bad tool call arguments");
      if (!out.empty()) sink.add_arguments(out);
      arguments_ += out;
      if (status == ScanStatus::kMore) return more();
      if (auto check = parse_json(arguments_, "tool call arguments"); !check.ok()) {
        return failed(0, check.error().message());
      }
      stage_ = Stage::kClose;
    }
    std::size_t at = skip_ws(text, pos_);
    switch (match_at(text, at, kGemma4CallClose, final)) {
      case Match::kYes:
        sink.end_call();
        return done(at + kGemma4CallClose.size());
      case Match::kMore:
        return more();
      case Match::kNo:
        break;
    }
    return failed(0, "tool call is not closed");
  }

 private:
  enum class Stage { kName, kArgs, kClose };
  Stage stage_ = Stage::kName;
  std::size_t pos_;
  GemmaArgsConverter converter_;
  std::string arguments_;
};

class PythonRegion : public Region {
 public:
  PythonRegion(std::size_t skip, std::string_view close, bool list)
      : skip_(skip), close_(close), list_(list) {}

  RegionStep advance(std::string_view text, bool final, CallSink& sink) override {
    constexpr std::size_t kMaxList = 1 << 16;
    if (list_) {
      std::size_t pos = skip_;
      std::vector<PythonCall> calls;
      switch (parse_python_calls(text, pos, true, calls)) {
        case PyParse::kOk:
          emit(calls, sink);
          return done(pos);
        case PyParse::kIncomplete:
          if (!final && text.size() < kMaxList) return more();
          return failed(0, "tool call list does not end", text.size() > 2);
        case PyParse::kInvalid:
          return failed(0, "not a tool call list", false);
      }
    }
    if (!close_.empty()) {
      Found f = find_any(text, skip_, {close_}, final, kNpos, searched_);
      if (f.match == Match::kMore) {
        searched_ = resume_point(text, close_);
        return more();
      }
      if (f.match == Match::kNo) return failed(0, "tool_code block is not closed");
      std::string_view body = text.substr(skip_, f.at - skip_);
      std::vector<PythonCall> calls;
      std::size_t pos = 0;
      while ((pos = skip_ws(body, pos)) < body.size()) {
        if (parse_python_calls(body, pos, false, calls) != PyParse::kOk) {
          return failed(0, "bad call in tool_code block");
        }
      }
      if (calls.empty()) return failed(0, "empty tool_code block");
      emit(calls, sink);
      return done(f.at + close_.size());
    }
    if (!final) return more();
    return python_tag(trim(text.substr(skip_)), text.size(), sink);
  }

 private:
  static void emit(const std::vector<PythonCall>& calls, CallSink& sink) {
    for (const auto& call : calls) {
      sink.begin_call("", call.name);
      sink.add_arguments(call.arguments.dump());
      sink.end_call();
    }
  }

  // Llama 3.x after <|python_tag|>: JSON calls separated by ';', a builtin tool's
  // `name.call(k="v")`, or code for the code interpreter.
  RegionStep python_tag(std::string_view body, std::size_t end, CallSink& sink) {
    if (body.empty()) return failed(0, "empty <|python_tag|> call");
    if (body.front() == '{') {
      std::vector<Json> calls;
      std::size_t pos = 0;
      while (pos < body.size()) {
        JsonScanner scanner;
        std::size_t begin = pos;
        while (pos < body.size() && scanner.push(body[pos]) == ScanStatus::kMore) ++pos;
        if (scanner.status() != ScanStatus::kDone) return failed(0, "invalid JSON tool call");
        auto call = parse_json(body.substr(begin, ++pos - begin), "tool call");
        if (!call.ok() || !call->is_object() || !call->contains("name") ||
            !(*call)["name"].is_string()) {
          return failed(0, "tool call has no \"name\"");
        }
        calls.push_back(std::move(*call));
        pos = skip_ws(body, pos);
        if (pos < body.size() && body[pos] == ';') pos = skip_ws(body, pos + 1);
      }
      for (const auto& call : calls) {
        const Json& args = call.contains("parameters") ? call["parameters"]
                                                       : call.value("arguments", Json::object());
        sink.begin_call("", call["name"].get<std::string>());
        sink.add_arguments(args.is_string() ? args.get<std::string>() : args.dump());
        sink.end_call();
      }
      return done(end);
    }
    std::vector<PythonCall> calls;
    std::size_t pos = 0;
    if (parse_python_calls(body, pos, false, calls) == PyParse::kOk &&
        skip_ws(body, pos) == body.size() && calls[0].name.ends_with(".call")) {
      calls[0].name.resize(calls[0].name.size() - 5);
      emit(calls, sink);
      return done(end);
    }
    Json code = Json::object();
    code["code"] = std::string(body);
    sink.begin_call("", "code_interpreter");
    sink.add_arguments(code.dump());
    sink.end_call();
    return done(end);
  }

  std::size_t skip_;
  std::string_view close_;
  bool list_;
  std::size_t searched_ = 0;
};

}  // namespace

std::unique_ptr<Region> make_json_call_region(std::size_t skip, std::string_view close) {
  return std::make_unique<JsonCallRegion>(skip, close);
}
std::unique_ptr<Region> make_name_json_region(std::size_t skip, const NameJsonSyntax& syntax) {
  return std::make_unique<NameJsonRegion>(skip, syntax);
}
std::unique_ptr<Region> make_xml_region(std::size_t skip, const XmlSyntax& syntax,
                                        const Json& tools) {
  return std::make_unique<XmlRegion>(skip, syntax, tools);
}
std::unique_ptr<Region> make_gemma4_region(std::size_t skip) {
  return std::make_unique<Gemma4Region>(skip);
}
std::unique_ptr<Region> make_python_region(std::size_t skip, std::string_view close, bool list) {
  return std::make_unique<PythonRegion>(skip, close, list);
}

}  // namespace hearth::chat::detail
