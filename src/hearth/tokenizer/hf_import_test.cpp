// hf_import: tokenizer.json → tokenizer.ggml.* metadata, compared with what llama.cpp's converter
// wrote into the tiny models (same Qwen3 and Gemma 3 vocabularies), plus small hand-made files
// for padding, special ids and the errors malformed vocabularies must give. Also the decoding
// edge cases: streaming never splits a UTF-8 sequence, bad ids and bad input fail clearly.
#include "hearth/tokenizer/hf_import.h"

#include <gtest/gtest.h>

#include "hearth/base/files.h"
#include "hearth/base/json.h"
#include "hearth/base/utf8.h"
#include "hearth/tokenizer/tokenizer.h"
#include "hearth/tokenizer/vocab.h"
#include "test_cache.h"
#include "testing.h"

namespace hearth::tokenizer {
namespace {

std::vector<std::string> strings(const gguf::Metadata& metadata, std::string_view key) {
  std::vector<std::string> out;
  auto array = metadata.get_array(key);
  if (!array.ok()) return out;
  for (const gguf::Value& value : (*array)->items) out.push_back(*value.string());
  return out;
}

std::vector<int64_t> ints(const gguf::Metadata& metadata, std::string_view key) {
  std::vector<int64_t> out;
  auto array = metadata.get_array(key);
  if (!array.ok()) return out;
  for (const gguf::Value& value : (*array)->items) out.push_back(*value.to_int());
  return out;
}

TEST(HfImport, Qwen3MatchesConvertedGguf) {
  HEARTH_REQUIRE_TESTDATA(json, "tokenizers/qwen3/tokenizer.json");
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const gguf::Metadata* imported = testing_cache::imported(json);
  ASSERT_NE(imported, nullptr);
  auto file = gguf::File::open(model);
  ASSERT_TRUE(file.ok()) << file.error().message();
  const gguf::Metadata& ours = *imported;
  const gguf::Metadata& theirs = file->metadata();

  EXPECT_EQ(*ours.get_string(keys::kModel), "gpt2");
  EXPECT_EQ(*ours.get_string(keys::kPre), "qwen2");
  // The converter padded to config.json's vocab_size (151936); without config.json we stop at
  // the last id the tokenizer knows.
  auto tokens = strings(ours, keys::kTokens);
  auto their_tokens = strings(theirs, keys::kTokens);
  ASSERT_EQ(tokens.size(), 151669u);
  their_tokens.resize(tokens.size());
  EXPECT_EQ(tokens, their_tokens);
  auto types = ints(ours, keys::kTokenType);
  auto their_types = ints(theirs, keys::kTokenType);
  their_types.resize(types.size());
  EXPECT_EQ(types, their_types);
  EXPECT_EQ(strings(ours, keys::kMerges), strings(theirs, keys::kMerges));
  for (std::string_view key : {keys::kEos, keys::kPadding}) {
    EXPECT_EQ(*ours.get_int(key), *theirs.get_int(key)) << key;
  }
  EXPECT_EQ(*ours.get_bool(keys::kAddBos), false);
  EXPECT_EQ(*ours.get_string(keys::kChatTemplate), *theirs.get_string(keys::kChatTemplate));
}

TEST(HfImport, Gemma3MatchesConvertedGguf) {
  HEARTH_REQUIRE_TESTDATA(json, "tokenizers/gemma3/tokenizer.json");
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-gemma3-f16.gguf");
  const gguf::Metadata* imported = testing_cache::imported(json);
  ASSERT_NE(imported, nullptr);
  auto file = gguf::File::open(model);
  ASSERT_TRUE(file.ok()) << file.error().message();
  const gguf::Metadata& ours = *imported;
  const gguf::Metadata& theirs = file->metadata();

  EXPECT_EQ(*ours.get_string(keys::kModel), "llama");
  EXPECT_EQ(*ours.get_bool(keys::kAddSpacePrefix), false);
  // 262145 ids; the tiny model keeps the first 262144 (its embedding rows).
  auto tokens = strings(ours, keys::kTokens);
  ASSERT_EQ(tokens.size(), 262145u);
  tokens.resize(262144);
  EXPECT_EQ(tokens, strings(theirs, keys::kTokens));
  auto types = ints(ours, keys::kTokenType);
  types.resize(262144);
  EXPECT_EQ(types, ints(theirs, keys::kTokenType));
  // Scores agree for every token a merge produces; the order among the rest never matters
  // (single characters are never the result of merging two symbols).
  auto our_scores = (*ours.get_array(keys::kScores))->items;
  auto their_scores = (*theirs.get_array(keys::kScores))->items;
  int merged = 0, agree = 0;
  for (size_t i = 0; i < their_scores.size(); ++i) {
    if (types[i] != int(TokenType::kNormal) || tokens[i].size() <= 4) continue;
    const double score = *their_scores[i].to_float();
    if (score > -236000) {
      ++merged;
      agree += score == *our_scores[i].to_float();
    }
  }
  EXPECT_GT(merged, 200000);
  EXPECT_EQ(agree, merged);
  for (std::string_view key : {keys::kBos, keys::kEos, keys::kUnknown, keys::kPadding}) {
    EXPECT_EQ(*ours.get_int(key), *theirs.get_int(key)) << key;
  }
  EXPECT_EQ(*ours.get_bool(keys::kAddBos), true);
  EXPECT_EQ(*ours.get_bool(keys::kAddEos), false);
  EXPECT_EQ(*ours.get_string(keys::kChatTemplate), *theirs.get_string(keys::kChatTemplate));
}

// A byte-level BPE tokenizer.json small enough to write by hand: the 256 byte characters, a few
// merges, two added tokens (and `extra_added`, more entries of the added_tokens list).
std::string tiny_tokenizer_json(const std::string& merges, const std::string& extra_vocab = "",
                                const std::string& extra_added = "") {
  std::string vocab;
  for (int b = 0; b < 256; ++b) {
    std::string piece;
    utf8::append(piece, byte_to_char(static_cast<uint8_t>(b)));
    vocab += Json(piece).dump() + ": " + std::to_string(b) + ", ";
  }
  vocab += R"("he": 256, "ll": 257, "hell": 258, "hello": 259)" + extra_vocab;
  return R"({"added_tokens": [
      {"id": 260, "content": "<|end|>", "special": true},
      {"id": 261, "content": "<tool>", "special": false})" +
         extra_added + R"(],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "model": {"type": "BPE", "vocab": {)" +
         vocab + R"(}, "merges": )" + merges + "}}";
}

std::filesystem::path write_dir(const std::string& name, const std::string& tokenizer_json,
                                const std::string& config = "", const std::string& model = "") {
  const auto dir = testing::temp_path(name);
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(write_file_atomic(dir / "tokenizer.json", tokenizer_json).ok());
  if (!config.empty()) {
    EXPECT_TRUE(write_file_atomic(dir / "tokenizer_config.json", config).ok());
  }
  if (!model.empty()) {
    EXPECT_TRUE(write_file_atomic(dir / "config.json", model).ok());
  }
  return dir / "tokenizer.json";
}

TEST(HfImport, SmallByteLevelVocabulary) {
  const auto path = write_dir("tiny", tiny_tokenizer_json(R"(["h e", "l l", "he ll", "hell o"])"),
                              R"({"eos_token": "<|end|>", "chat_template": "{{ x }}"})",
                              R"({"vocab_size": 264, "bos_token_id": 260})");
  auto metadata = import_hf_tokenizer(path);
  ASSERT_TRUE(metadata.ok()) << metadata.error().message();
  EXPECT_EQ(*metadata->get_string(keys::kPre), "gpt-2");
  const auto tokens = strings(*metadata, keys::kTokens);
  ASSERT_EQ(tokens.size(), 264u);
  EXPECT_EQ(tokens[263], "[PAD263]");
  const auto types = ints(*metadata, keys::kTokenType);
  EXPECT_EQ(types[259], int(TokenType::kNormal));
  EXPECT_EQ(types[260], int(TokenType::kControl));
  EXPECT_EQ(types[261], int(TokenType::kUserDefined));
  EXPECT_EQ(types[263], int(TokenType::kUnused));
  EXPECT_EQ(*metadata->get_int(keys::kEos), 260);
  EXPECT_EQ(*metadata->get_int(keys::kBos), 260);  // from config.json
  EXPECT_EQ(*metadata->get_string(keys::kChatTemplate), "{{ x }}");

  auto tokenizer = Tokenizer::from_metadata(*metadata);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  auto ids = tokenizer->encode("hello<tool> hello<|end|>", {.add_special = true});
  ASSERT_TRUE(ids.ok());
  // <|end|> stays text without parse_special; <tool> (user-defined) is always a token.
  // Byte b is token b here: ' ' 32, '<' 60, '|' 124, 'e' 101, 'n' 110, 'd' 100, '>' 62.
  EXPECT_EQ(*ids, (std::vector<TokenId>{259, 261, 32, 259, 60, 124, 101, 110, 100, 124, 62}));
  auto parsed = tokenizer->encode("hello<|end|>", {.add_special = false, .parse_special = true});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<TokenId>{259, 260}));
  EXPECT_EQ(*tokenizer->decode(*parsed, {.special = true}), "hello<|end|>");
  EXPECT_EQ(*tokenizer->decode(*parsed, {.special = false}), "hello");
}

TEST(HfImport, MalformedFilesGiveClearErrors) {
  struct Case {
    std::string name, json, expected;
  };
  const Case cases[] = {
      {"no_merges", tiny_tokenizer_json("[]"), "model.merges: missing or empty"},
      {"bad_merge", tiny_tokenizer_json(R"(["h e", 7])"), "model.merges[1]"},
      {"bad_id", tiny_tokenizer_json(R"(["h e"])", R"(, "x": -4)"), "model.vocab['x']"},
      {"not_json", "{", "is not valid JSON"},
      {"unigram", R"({"model": {"type": "Unigram"}})", "only BPE tokenizers"},
      {"regex",
       R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\d+"}}, "model": {"type": "BPE",
          "vocab": {"a": 0}, "merges": ["a a"]}})",
       "unsupported split regex"},
  };
  for (const Case& c : cases) {
    auto result = import_hf_tokenizer(write_dir(c.name, c.json));
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_NE(result.error().message().find(c.expected), std::string::npos)
        << c.name << ": " << result.error().message();
    EXPECT_NE(result.error().message().find("tokenizer.json"), std::string::npos) << c.name;
  }
  // A merge whose parts are not tokens passes import (it only copies) but not the loader.
  auto metadata = import_hf_tokenizer(write_dir("merge_oov", tiny_tokenizer_json(R"(["h q"])")));
  ASSERT_TRUE(metadata.ok()) << metadata.error().message();
  auto tokenizer = Tokenizer::from_metadata(*metadata);
  ASSERT_FALSE(tokenizer.ok());
  EXPECT_NE(tokenizer.error().message().find("tokenizer.ggml.merges[0] 'h q': 'hq' is not in"),
            std::string::npos)
      << tokenizer.error().message();
}

TEST(Tokenizer, RejectsBadInputAndIds) {
  auto metadata = import_hf_tokenizer(write_dir("bad_input", tiny_tokenizer_json(R"(["h e"])")));
  ASSERT_TRUE(metadata.ok()) << metadata.error().message();
  auto tokenizer = Tokenizer::from_metadata(*metadata);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  auto bad_text = tokenizer->encode("ok\xC3(", {});
  ASSERT_FALSE(bad_text.ok());
  EXPECT_EQ(bad_text.error().message(), "text is not valid UTF-8 at byte 2");
  const std::vector<TokenId> bad_ids = {1, 9999};
  auto decoded = tokenizer->decode(bad_ids, {});
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().message(), "token id 9999 is outside the vocabulary of 262 tokens");
}

TEST(StreamDecoder, NeverEmitsPartialUtf8) {
  auto metadata = import_hf_tokenizer(write_dir("stream", tiny_tokenizer_json(R"(["h e"])")));
  ASSERT_TRUE(metadata.ok()) << metadata.error().message();
  auto tokenizer = Tokenizer::from_metadata(*metadata);
  ASSERT_TRUE(tokenizer.ok());
  // "é€" as single-byte tokens: C3 A9 E2 82 AC.
  const std::string text = "\xC3\xA9\xE2\x82\xAC";
  auto ids = tokenizer->encode(text, {});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 5u);
  StreamDecoder stream(*tokenizer, {});
  std::vector<std::string> chunks;
  for (const TokenId id : *ids) chunks.push_back(*stream.push(id));
  EXPECT_EQ(chunks, (std::vector<std::string>{"", "\xC3\xA9", "", "", "\xE2\x82\xAC"}));
  EXPECT_EQ(stream.finish(), "");
  // A sequence cut short is flushed as U+FFFD at the end.
  StreamDecoder cut(*tokenizer, {});
  EXPECT_EQ(*cut.push((*ids)[2]), "");
  EXPECT_EQ(cut.finish(), "\xEF\xBF\xBD");
}

// Preserved control tokens are rendered with `special` off; other control tokens stay hidden.
TEST(StreamDecoder, ShowsPreservedControlTokens) {
  auto metadata = import_hf_tokenizer(
      write_dir("preserved", tiny_tokenizer_json(R"(["h e"])", "",
                                                 R"(, {"id": 262, "content": "<|call|>",
                                                       "special": true})")));
  ASSERT_TRUE(metadata.ok()) << metadata.error().message();
  auto tokenizer = Tokenizer::from_metadata(*metadata);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message();
  auto ids =
      tokenizer->encode("he<|call|>he<|end|>", {.add_special = false, .parse_special = true});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(*ids, (std::vector<TokenId>{256, 262, 256, 260}));
  EXPECT_EQ(*tokenizer->decode(*ids, {.special = false}), "hehe");
  EXPECT_EQ(*tokenizer->decode(*ids, {.special = true}), "he<|call|>he<|end|>");
  EXPECT_EQ(*tokenizer->decode(*ids, {.special = false, .preserved = {262}}), "he<|call|>he");
  // Under `special` every control token shows, named or not.
  EXPECT_EQ(*tokenizer->decode(*ids, {.special = true, .preserved = {262}}), "he<|call|>he<|end|>");
  // A preserved id that is not a control token changes nothing.
  EXPECT_EQ(*tokenizer->decode(*ids, {.special = false, .preserved = {256}}), "hehe");

  StreamDecoder stream(*tokenizer, {.special = false, .preserved = {262}});
  std::vector<std::string> chunks;
  for (const TokenId id : *ids) chunks.push_back(*stream.push(id));
  EXPECT_EQ(chunks, (std::vector<std::string>{"he", "<|call|>", "he", ""}));
  EXPECT_EQ(stream.finish(), "");
}

}  // namespace
}  // namespace hearth::tokenizer
