// The grammar engine behind grammar_matcher.h. A parse position is a stack of frames (element
// position, parent frame), hash-consed so equal stacks are one frame id; a state is the sorted set
// of live stack tops (each a character element), whether the grammar may end here, and an
// unfinished UTF-8 character. States are interned and their byte transitions memoised, so the
// output staying inside one construct (a JSON string, a run of digits) revisits the same ids and a
// mask walk costs one table lookup per trie node; each state's mask is then cached as a bitset.
// Stack tops may also be token references (kToken elements), which bytes never advance: a token
// moves a state along its bytes and, separately, past the references it fills, and the two
// results are merged.
#include "hearth/sample/grammar_matcher.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include "hearth/base/check.h"
#include "hearth/base/utf8.h"

namespace hearth::sample {

// --- vocabulary ---

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::create(
    std::vector<Token> tokens, std::vector<int32_t> end_tokens) {
  auto vocab = std::shared_ptr<GrammarVocabulary>(new GrammarVocabulary());
  vocab->tokens_ = std::move(tokens);
  std::sort(end_tokens.begin(), end_tokens.end());
  end_tokens.erase(std::unique(end_tokens.begin(), end_tokens.end()), end_tokens.end());
  vocab->end_tokens_ = std::move(end_tokens);

  // Sorted by bytes, tokens sharing a prefix are adjacent; the trie is then built in one pass,
  // each token adding nodes for what it does not share with its predecessor.
  const auto& all = vocab->tokens_;
  std::vector<int32_t>& order = vocab->order_;
  // End tokens stay out even when they have bytes: they end generation, never continue text.
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].special) {
      vocab->specials_.push_back(static_cast<int32_t>(i));
    } else if (!all[i].bytes.empty() && !vocab->is_end(static_cast<int32_t>(i))) {
      order.push_back(static_cast<int32_t>(i));
    }
  }
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return all[a].bytes < all[b].bytes; });
  std::vector<Node>& nodes = vocab->nodes_;
  std::vector<uint32_t> open;  // node index at each depth of the current path
  std::string_view previous;
  for (size_t k = 0; k < order.size(); ++k) {
    const std::string_view bytes = all[order[k]].bytes;
    size_t common = 0;
    while (common < previous.size() && common < bytes.size() && previous[common] == bytes[common]) {
      ++common;
    }
    common = std::min(common, open.size());
    while (open.size() > common) {
      nodes[open.back()].end = static_cast<uint32_t>(nodes.size());
      open.pop_back();
    }
    for (size_t d = common; d < bytes.size(); ++d) {
      open.push_back(static_cast<uint32_t>(nodes.size()));
      nodes.push_back(Node{0, static_cast<uint32_t>(k), static_cast<uint16_t>(d + 1), 0,
                           static_cast<uint8_t>(bytes[d])});
    }
    Node& leaf = nodes[open.back()];
    if (leaf.token_count == 0) leaf.token_begin = static_cast<uint32_t>(k);
    ++leaf.token_count;
    vocab->max_depth_ = std::max<uint16_t>(vocab->max_depth_, static_cast<uint16_t>(bytes.size()));
    previous = bytes;
  }
  while (!open.empty()) {
    nodes[open.back()].end = static_cast<uint32_t>(nodes.size());
    open.pop_back();
  }
  return vocab;
}

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::from_tokenizer(
    const tokenizer::Tokenizer& tokenizer, std::vector<int32_t> end_tokens) {
  using tokenizer::TokenType;
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  std::array<int16_t, 0x144> reverse;  // GPT-2's byte table, inverted
  reverse.fill(-1);
  for (int b = 0; b < 256; ++b) {
    reverse[tokenizer::byte_to_char(static_cast<uint8_t>(b))] = static_cast<int16_t>(b);
  }
  std::vector<Token> tokens(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    const TokenType type = vocab.types[i];
    Token& token = tokens[i];
    if (type == TokenType::kControl || type == TokenType::kUnknown) {
      token.special = true;
      token.bytes = std::string(vocab.tokens[i]);  // its text, for token references
    } else if (type != TokenType::kUnused) {
      // Decoding one token alone gives its bytes, except a byte token that is not a whole
      // character (rendered as U+FFFD): those come from the piece itself.
      const std::string_view piece = vocab.tokens[i];
      unsigned byte = 0;
      if (type == TokenType::kByte && vocab.model == tokenizer::Model::kSentencePiece &&
          piece.size() == 6 && piece.starts_with("<0x") &&
          std::sscanf(std::string(piece.substr(3, 2)).c_str(), "%2x", &byte) == 1) {
        token.bytes.push_back(static_cast<char>(byte));
      } else if (vocab.model == tokenizer::Model::kSentencePiece ||
                 type == TokenType::kUserDefined) {
        // SentencePiece's ▁ stands for a space (user-defined pieces are literal text).
        static constexpr std::string_view kSpace = "\xE2\x96\x81";
        const bool spaces = type != TokenType::kUserDefined;
        std::string text;
        for (size_t at = 0; at < piece.size();) {
          if (spaces && piece.compare(at, kSpace.size(), kSpace) == 0) {
            text.push_back(' ');
            at += kSpace.size();
          } else {
            text.push_back(piece[at++]);
          }
        }
        token.bytes = std::move(text);
      } else {
        // Byte-level BPE: each character of the piece stands for one byte.
        std::string bytes;
        bool ok = true;
        for (std::string_view rest = piece; !rest.empty() && ok;) {
          const utf8::Decoded d = utf8::decode(rest);
          ok = d.valid && d.code_point < reverse.size() && reverse[d.code_point] >= 0;
          if (ok) bytes.push_back(static_cast<char>(reverse[d.code_point]));
          rest.remove_prefix(d.length);
        }
        token.bytes = ok ? std::move(bytes) : std::string(piece);
      }
    }
  }
  return create(std::move(tokens), std::move(end_tokens));
}

bool GrammarVocabulary::is_end(int32_t id) const {
  return std::binary_search(end_tokens_.begin(), end_tokens_.end(), id);
}

int32_t GrammarVocabulary::find(std::string_view text) const {
  for (int32_t id : specials_) {
    if (tokens_[id].bytes == text) return id;
  }
  const auto [lo, hi] =
      std::equal_range(order_.begin(), order_.end(), text, [&](const auto& a, const auto& b) {
        if constexpr (std::is_same_v<std::decay_t<decltype(a)>, int32_t>) {
          return std::string_view(tokens_[a].bytes) < b;
        } else {
          return a < std::string_view(tokens_[b].bytes);
        }
      });
  return lo == hi ? -1 : *std::min_element(lo, hi);
}

Status check_token_ids(const Grammar& grammar, const GrammarVocabulary& vocab) {
  for (const TokenReference& ref : grammar.tokens()) {
    if (ref.id && static_cast<size_t>(*ref.id) >= vocab.size()) {
      return make_error("grammar {}: token id {} is not in the vocabulary ({} tokens)", ref.where,
                        *ref.id, vocab.size());
    }
  }
  return {};
}

std::vector<int32_t> end_of_generation_tokens(const tokenizer::Tokenizer& tokenizer) {
  // Gemma 4 closes a turn with <turn|>.
  static constexpr std::array<std::string_view, 11> kEndTexts = {
      "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<end_of_turn>",
      "<|end|>",    "</s>",          "<|return|>", "<eos>",      "<turn|>"};
  const tokenizer::Vocab& vocab = tokenizer.vocab();
  std::vector<int32_t> ends;
  for (const auto& id : {vocab.eos, vocab.eot, vocab.eom}) {
    if (id) ends.push_back(*id);
  }
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (vocab.types[i] != tokenizer::TokenType::kControl) continue;
    if (std::find(kEndTexts.begin(), kEndTexts.end(), vocab.tokens[i]) != kEndTexts.end()) {
      ends.push_back(static_cast<int32_t>(i));
    }
  }
  std::sort(ends.begin(), ends.end());
  ends.erase(std::unique(ends.begin(), ends.end()), ends.end());
  return ends;
}

// --- engine ---

class GrammarEngine {
 public:
  static constexpr int32_t kDead = -1;

  GrammarEngine(Grammar grammar, std::shared_ptr<const GrammarVocabulary> vocab)
      : grammar_(std::move(grammar)), vocab_(std::move(vocab)) {
    for (const TokenReference& ref : grammar_.tokens()) {
      if (ref.id) {
        resolved_.push_back(static_cast<size_t>(*ref.id) < vocab_->size() ? *ref.id : -1);
      } else {
        resolved_.push_back(vocab_->find(ref.text));
      }
    }
    Scratch out;
    for (uint32_t alt : grammar_.alternatives(grammar_.root())) resolve(alt, -1, out);
    initial_ = intern(out, 0, 0, 0);
  }

  const Grammar& grammar() const { return grammar_; }
  const GrammarVocabulary& vocab() const { return *vocab_; }
  int32_t initial() const { return initial_; }

  int32_t advance(int32_t state, std::string_view bytes) {
    std::lock_guard lock(mutex_);
    return advance_bytes(state, bytes);
  }

  // The state after `token`: read as bytes (an ordinary token) and as the token that fills
  // references at the stack tops.
  int32_t advance_token(int32_t state, int32_t token) {
    std::lock_guard lock(mutex_);
    const GrammarVocabulary::Token& t = vocab_->token(token);
    const bool text = !t.special && !t.bytes.empty() && !vocab_->is_end(token);
    const int32_t by_bytes = text ? advance_bytes(state, t.bytes) : kDead;
    return merge(by_bytes, fill_references(state, token));
  }

  bool can_end(int32_t state) {
    std::lock_guard lock(mutex_);
    return states_[state].can_end;
  }
  bool has_tops(int32_t state) {
    std::lock_guard lock(mutex_);
    return !states_[state].tops.empty();
  }

  void mask(int32_t state, std::span<float> logits) {
    std::lock_guard lock(mutex_);
    State& s = states_[state];
    const std::vector<uint64_t>* bits = s.mask.get();
    std::vector<uint64_t> fresh;
    if (!bits) {
      fresh = walk(state);
      if (cached_mask_bytes_ + fresh.size() * 8 <= kMaxCachedMaskBytes) {
        cached_mask_bytes_ += fresh.size() * 8;
        states_[state].mask = std::make_unique<std::vector<uint64_t>>(std::move(fresh));
        bits = states_[state].mask.get();
      } else {
        bits = &fresh;
      }
    }
    constexpr float kMinus = -std::numeric_limits<float>::infinity();
    const size_t n = std::min(logits.size(), vocab_->size());
    for (size_t w = 0; w * 64 < n; ++w) {
      const uint64_t word = (*bits)[w];
      if (word == ~uint64_t{0}) continue;
      float* out = logits.data() + w * 64;
      const size_t count = std::min<size_t>(64, n - w * 64);
      if (word == 0) {
        std::fill(out, out + count, kMinus);  // most words, in structural states
        continue;
      }
      for (size_t b = 0; b < count; ++b) {
        if (!((word >> b) & 1)) out[b] = kMinus;
      }
    }
    for (size_t t = n; t < logits.size(); ++t) logits[t] = kMinus;
  }

 private:
  // Masks are 19 KiB (Qwen3) to 32 KiB (Gemma 3) each; beyond this they are recomputed.
  static constexpr size_t kMaxCachedMaskBytes = size_t{256} << 20;

  struct Frame {
    uint32_t pos;    // a kChar element, or for a return frame the element after a kRef
    int32_t parent;  // -1: the root
  };

  struct State {
    std::vector<int32_t> tops;  // frame ids, sorted
    bool can_end = false;
    bool has_references = false;  // some top is a token reference
    // An unfinished UTF-8 character: its total length, the bytes still expected and the bits
    // so far (length 0: none).
    uint8_t length = 0;
    uint8_t need = 0;
    char32_t value = 0;
    std::unique_ptr<std::array<int32_t, 256>> next;  // memoised steps (complete states only)
    std::unique_ptr<std::vector<uint64_t>> mask;     // allowed tokens, one bit each
  };

  struct Scratch {
    std::vector<int32_t> tops;
    bool can_end = false;
  };

  static void add(Scratch& out, int32_t frame) {
    if (std::find(out.tops.begin(), out.tops.end(), frame) == out.tops.end()) {
      out.tops.push_back(frame);
    }
  }

  int32_t frame(uint32_t pos, int32_t parent) {
    const uint64_t key = (uint64_t{pos} << 32) | static_cast<uint32_t>(parent + 1);
    auto [it, inserted] = frame_ids_.emplace(key, static_cast<int32_t>(frames_.size()));
    if (inserted) frames_.push_back(Frame{pos, parent});
    return it->second;
  }

  // Collects the stack tops reached from element `pos` with return frame `parent`: a character
  // element or a token reference is a top; a rule reference expands into its alternatives (the
  // return frame is skipped when the reference ends its alternative, so right recursion does not
  // grow stacks), as does a reference by text to a token the vocabulary lacks (into its text
  // spelled out); the end of an alternative returns to the parent.
  void resolve(uint32_t pos, int32_t parent, Scratch& out) {
    const GrammarElement& e = grammar_.elements()[pos];
    switch (e.kind) {
      case GrammarElement::kChar:
        add(out, frame(pos, parent));
        return;
      case GrammarElement::kToken: {
        if (e.negated || resolved_[e.first] >= 0) {
          add(out, frame(pos, parent));
        } else if (const TokenReference& ref = grammar_.tokens()[e.first]; !ref.id) {
          expand(pos, ref.spelled, parent, out);
        }
        return;
      }
      case GrammarElement::kEnd:
        if (parent < 0) {
          out.can_end = true;
        } else {
          const Frame up = frames_[parent];
          resolve(up.pos, up.parent, out);
        }
        return;
      case GrammarElement::kRef:
        expand(pos, e.first, parent, out);
        return;
    }
  }

  // The alternatives of `rule`, referenced at `pos`.
  void expand(uint32_t pos, uint32_t rule, int32_t parent, Scratch& out) {
    const int32_t back =
        grammar_.elements()[pos + 1].kind == GrammarElement::kEnd ? parent : frame(pos + 1, parent);
    for (uint32_t alt : grammar_.alternatives(rule)) resolve(alt, back, out);
  }

  bool is_char(int32_t frame_id) const {
    return grammar_.elements()[frames_[frame_id].pos].kind == GrammarElement::kChar;
  }

  int32_t intern(Scratch& out, uint8_t length, uint8_t need, char32_t value) {
    if (out.tops.empty() && !out.can_end) return kDead;
    std::sort(out.tops.begin(), out.tops.end());
    std::string key;
    key.reserve(8 + out.tops.size() * 4);
    key.push_back(static_cast<char>(out.can_end));
    key.push_back(static_cast<char>(length));
    key.push_back(static_cast<char>(need));
    key.append(reinterpret_cast<const char*>(&value), sizeof value);
    key.append(reinterpret_cast<const char*>(out.tops.data()), out.tops.size() * 4);
    auto [it, inserted] = state_ids_.emplace(std::move(key), static_cast<int32_t>(states_.size()));
    if (inserted) {
      State s;
      s.tops = out.tops;
      s.can_end = out.can_end;
      s.has_references =
          std::any_of(out.tops.begin(), out.tops.end(), [&](int32_t f) { return !is_char(f); });
      s.length = length;
      s.need = need;
      s.value = value;
      states_.push_back(std::move(s));
    }
    return it->second;
  }

  // The code points a partial character can still become, clipped to valid scalar values;
  // false when there is none.
  static bool completions(uint8_t length, uint8_t need, char32_t value, char32_t& lo,
                          char32_t& hi) {
    static constexpr char32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned shift = 6u * need;
    lo = std::max<char32_t>(value << shift, kMin[length]);
    hi = std::min<char32_t>((value << shift) | ((char32_t{1} << shift) - 1), 0x10FFFF);
    if (lo > hi) return false;
    // Blocks are aligned, so surrogates can only cut one end of the range.
    if (lo >= 0xD800 && hi <= 0xDFFF) return false;
    if (lo < 0xD800 && hi >= 0xD800 && hi <= 0xDFFF) hi = 0xD7FF;
    if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;
    return true;
  }

  int32_t step(int32_t state, uint8_t byte) {
    State& s = states_[state];
    if (s.need == 0) {
      if (!s.next) {
        s.next = std::make_unique<std::array<int32_t, 256>>();
        s.next->fill(kUnknown);
      }
      int32_t& slot = (*s.next)[byte];
      if (slot == kUnknown) {
        const int32_t to = compute(state, byte);
        (*states_[state].next)[byte] = to;  // states_ may have grown: index again
        return to;
      }
      return slot;
    }
    const uint64_t key = (static_cast<uint64_t>(state) << 8) | byte;
    auto it = partial_next_.find(key);
    if (it != partial_next_.end()) return it->second;
    const int32_t to = compute(state, byte);
    partial_next_.emplace(key, to);
    return to;
  }

  int32_t compute(int32_t state, uint8_t byte) {
    // Copies: interning may reallocate states_.
    const std::vector<int32_t> tops = states_[state].tops;
    uint8_t length = states_[state].length;
    uint8_t need = states_[state].need;
    char32_t value = states_[state].value;
    Scratch out;
    if (need == 0) {
      if (byte < 0x80) {
        for (int32_t f : tops) {
          const Frame top = frames_[f];
          if (is_char(f) && grammar_.matches(top.pos, byte)) resolve(top.pos + 1, top.parent, out);
        }
        return intern(out, 0, 0, 0);
      }
      if (byte >= 0xC0 && byte < 0xE0) {
        length = 2, value = byte & 0x1F;
      } else if (byte >= 0xE0 && byte < 0xF0) {
        length = 3, value = byte & 0x0F;
      } else if (byte >= 0xF0 && byte < 0xF8) {
        length = 4, value = byte & 0x07;
      } else {
        return kDead;
      }
      need = length - 1;
    } else {
      if ((byte & 0xC0) != 0x80) return kDead;
      value = (value << 6) | (byte & 0x3F);
      --need;
    }
    char32_t lo, hi;
    if (!completions(length, need, value, lo, hi)) return kDead;
    if (need == 0) {
      for (int32_t f : tops) {
        const Frame top = frames_[f];
        if (is_char(f) && grammar_.matches(top.pos, value)) resolve(top.pos + 1, top.parent, out);
      }
      return intern(out, 0, 0, 0);
    }
    for (int32_t f : tops) {
      if (is_char(f) && grammar_.intersects(frames_[f].pos, lo, hi)) add(out, f);
    }
    return intern(out, length, need, value);
  }

  // One depth-first pass over the trie; a subtree is skipped as soon as its prefix is dead.
  std::vector<uint64_t> walk(int32_t state) {
    const GrammarVocabulary& v = *vocab_;
    std::vector<uint64_t> bits((v.size() + 63) / 64, 0);
    std::vector<int32_t> level(v.max_depth_ + 1u);
    level[0] = state;
    const auto& nodes = v.nodes_;
    const auto& order = v.order_;
    for (size_t i = 0; i < nodes.size();) {
      const GrammarVocabulary::Node& node = nodes[i];
      const int32_t to = step(level[node.depth - 1], node.byte);
      if (to == kDead) {
        i = node.end;
        continue;
      }
      level[node.depth] = to;
      for (uint32_t k = node.token_begin; k < node.token_begin + node.token_count; ++k) {
        const int32_t id = order[k];
        bits[id / 64] |= uint64_t{1} << (id % 64);
      }
      ++i;
    }
    if (states_[state].can_end) {
      for (int32_t id : v.end_tokens_) bits[id / 64] |= uint64_t{1} << (id % 64);
    }
    if (!states_[state].has_references) return bits;
    const std::vector<int32_t> tops = states_[state].tops;
    for (int32_t f : tops) {
      const GrammarElement& e = grammar_.elements()[frames_[f].pos];
      if (e.kind != GrammarElement::kToken) continue;
      const int32_t id = resolved_[e.first];
      if (!e.negated) {
        if (id >= 0) bits[id / 64] |= uint64_t{1} << (id % 64);
        continue;
      }
      const std::vector<uint64_t>& ordinary = ordinary_tokens();
      for (size_t w = 0; w < bits.size(); ++w) {
        const uint64_t except =
            id >= 0 && static_cast<size_t>(id / 64) == w ? uint64_t{1} << (id % 64) : 0;
        bits[w] |= ordinary[w] & ~except;
      }
    }
    return bits;
  }

  // Ordinary tokens (those of the trie: bytes, not an end token) as bits: what `!<...>` may
  // match.
  const std::vector<uint64_t>& ordinary_tokens() {
    if (ordinary_.empty()) {
      ordinary_.assign((vocab_->size() + 63) / 64, 0);
      for (int32_t id : vocab_->order_) ordinary_[id / 64] |= uint64_t{1} << (id % 64);
    }
    return ordinary_;
  }

  int32_t advance_bytes(int32_t state, std::string_view bytes) {
    for (char c : bytes) {
      state = step(state, static_cast<uint8_t>(c));
      if (state == kDead) break;
    }
    return state;
  }

  // The state after `token` fills the references at the stack tops (a state inside a UTF-8
  // character has none that can be filled).
  int32_t fill_references(int32_t state, int32_t token) {
    if (!states_[state].has_references || states_[state].need != 0) return kDead;
    const std::vector<int32_t> tops = states_[state].tops;
    const GrammarVocabulary::Token& t = vocab_->token(token);
    const bool ordinary = !t.special && !t.bytes.empty() && !vocab_->is_end(token);
    Scratch out;
    for (int32_t f : tops) {
      const Frame top = frames_[f];
      const GrammarElement& e = grammar_.elements()[top.pos];
      if (e.kind != GrammarElement::kToken) continue;
      const int32_t id = resolved_[e.first];
      if (e.negated ? ordinary && token != id : token == id) {
        resolve(top.pos + 1, top.parent, out);
      }
    }
    return intern(out, 0, 0, 0);
  }

  // One state for both readings of a token. A reading that ends inside a UTF-8 character cannot
  // share a state with one that does not; there the reference's reading is kept (only a grammar
  // that offers `!<...>`, or a reference to an ordinary token, beside characters that the same
  // token could begin, meets this).
  int32_t merge(int32_t by_bytes, int32_t by_reference) {
    if (by_bytes == kDead || by_bytes == by_reference) return by_reference;
    if (by_reference == kDead) return by_bytes;
    if (states_[by_bytes].need != 0) return by_reference;
    Scratch out;
    out.tops = states_[by_bytes].tops;
    for (int32_t f : states_[by_reference].tops) add(out, f);
    out.can_end = states_[by_bytes].can_end || states_[by_reference].can_end;
    return intern(out, 0, 0, 0);
  }

  static constexpr int32_t kUnknown = -2;

  Grammar grammar_;
  std::shared_ptr<const GrammarVocabulary> vocab_;
  std::mutex mutex_;
  std::vector<Frame> frames_;
  std::unordered_map<uint64_t, int32_t> frame_ids_;
  std::vector<State> states_;
  std::unordered_map<std::string, int32_t> state_ids_;
  std::unordered_map<uint64_t, int32_t> partial_next_;
  std::vector<int32_t> resolved_;   // per token reference: the token id, -1 when none
  std::vector<uint64_t> ordinary_;  // ordinary_tokens(), made on first use
  int32_t initial_ = kDead;
  size_t cached_mask_bytes_ = 0;
};

// --- compiled grammar and matcher ---

CompiledGrammar::CompiledGrammar(std::unique_ptr<GrammarEngine> engine)
    : engine_(std::move(engine)) {}
CompiledGrammar::~CompiledGrammar() = default;

std::shared_ptr<CompiledGrammar> CompiledGrammar::create(
    Grammar grammar, std::shared_ptr<const GrammarVocabulary> vocab) {
  return std::shared_ptr<CompiledGrammar>(
      new CompiledGrammar(std::make_unique<GrammarEngine>(std::move(grammar), std::move(vocab))));
}

const Grammar& CompiledGrammar::grammar() const {
  return engine_->grammar();
}
const GrammarVocabulary& CompiledGrammar::vocabulary() const {
  return engine_->vocab();
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<CompiledGrammar> compiled)
    : compiled_(std::move(compiled)), state_(compiled_->engine().initial()) {}

Result<std::unique_ptr<GrammarMatcher>> GrammarMatcher::create(
    std::string_view gbnf, std::shared_ptr<const GrammarVocabulary> vocab) {
  HEARTH_ASSIGN_OR_RETURN(Grammar grammar, Grammar::parse(gbnf));
  HEARTH_RETURN_IF_ERROR(check_token_ids(grammar, *vocab));
  return std::make_unique<GrammarMatcher>(
      CompiledGrammar::create(std::move(grammar), std::move(vocab)));
}

bool GrammarMatcher::allows(int32_t token) const {
  const GrammarVocabulary& vocab = compiled_->vocabulary();
  if (ended_ || token < 0 || static_cast<size_t>(token) >= vocab.size()) return false;
  GrammarEngine& engine = compiled_->engine();
  if (vocab.is_end(token) && engine.can_end(state_)) return true;
  return engine.advance_token(state_, token) != GrammarEngine::kDead;
}

void GrammarMatcher::mask(std::span<float> logits) const {
  if (ended_) {
    std::fill(logits.begin(), logits.end(), -std::numeric_limits<float>::infinity());
    return;
  }
  compiled_->engine().mask(state_, logits);
}

void GrammarMatcher::accept(int32_t token) {
  HEARTH_CHECK(allows(token), "grammar: accept() of token {} that allows() refuses", token);
  GrammarEngine& engine = compiled_->engine();
  if (compiled_->vocabulary().is_end(token) && engine.can_end(state_)) {
    ended_ = true;
    return;
  }
  state_ = engine.advance_token(state_, token);
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  if (ended_) return false;
  const int32_t next = compiled_->engine().advance(state_, bytes);
  if (next == GrammarEngine::kDead) return false;
  state_ = next;
  return true;
}

bool GrammarMatcher::is_complete() const {
  return !ended_ && compiled_->engine().can_end(state_);
}

bool GrammarMatcher::is_finished() const {
  return ended_ || !compiled_->engine().has_tops(state_);
}

void GrammarMatcher::reset() {
  state_ = compiled_->engine().initial();
  ended_ = false;
}

std::unique_ptr<GrammarMatcher> GrammarMatcher::clone() const {
  return std::make_unique<GrammarMatcher>(*this);
}

}  // namespace hearth::sample
