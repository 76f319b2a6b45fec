// End-to-end tests of `hearth quantize` as a user runs it: an f16 model converted to q4_k_m
// that `hearth inspect` reads back and `hearth run` generates from; bad input ending in a
// one-line error, exit 2 for an unknown TYPE and 1 for a file that cannot be read or written,
// with an existing output left as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hearth/base/files.h"
#include "hearth/base/json.h"
#include "process.h"
#include "testing.h"

namespace hearth {
namespace {

using testing::run_hearth;

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(Quantize, Q4_K_MOutputInspectsAndRuns) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto out = testing::temp_path("q4_k_m.gguf");
  const auto quantize =
      run_hearth({"quantize", model.string(), out.string(), "Q4_K_M", "--threads", "2"});
  ASSERT_EQ(quantize.exit_code, 0) << quantize.err;
  EXPECT_NE(quantize.out.find("q4_k_m"), std::string::npos) << quantize.out;
  EXPECT_NE(quantize.out.find("bits per weight"), std::string::npos) << quantize.out;

  const auto inspect = run_hearth({"inspect", "--json", out.string()});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const Result<Json> json = parse_json(inspect.out, "inspect --json");
  ASSERT_TRUE(json.ok()) << json.error().message();
  int64_t file_type = -1;
  for (const Json& entry : (*json)["metadata"]) {
    if (entry["key"] == "general.file_type") file_type = entry["value"].get<int64_t>();
  }
  EXPECT_EQ(file_type, 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M

  const auto run = run_hearth({"run", "-m", out.string(), "-p", "Hello, world", "-n", "8", "--temp",
                               "0", "--ignore-eos", "-t", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("generation: 8 tokens"), std::string::npos) << run.err;
}

TEST(Quantize, UnknownTypeIsAUsageError) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto out = testing::temp_path("never.gguf");
  const auto result = run_hearth({"quantize", model.string(), out.string(), "q3_k_m"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("hearth: error: unknown quantization type 'q3_k_m' (known: "),
            std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(run_hearth({"quantize", model.string(), out.string()}).exit_code, 2);  // no TYPE
}

TEST(Quantize, UnreadableInputExitsWithOneAndKeepsTheOutput) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto out = testing::temp_path("existing.gguf");
  write_text(out, "keep me");

  const auto missing = run_hearth({"quantize", "/nonexistent/model.gguf", out.string(), "q8_0"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("hearth: error: "), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/model.gguf"), std::string::npos) << missing.err;

  const auto whole = read_file(model);
  ASSERT_TRUE(whole.ok());
  const auto truncated = testing::temp_path("truncated.gguf");
  write_text(truncated, whole->substr(0, whole->size() / 2));
  const auto result = run_hearth({"quantize", truncated.string(), out.string(), "q8_0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("hearth: error: "), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;  // one line

  EXPECT_EQ(read_file(out).value_or(""), "keep me");
}

TEST(Quantize, UnwritableOutputExitsWithOne) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const auto no_dir = run_hearth({"quantize", model.string(), "/nonexistent/out.gguf", "q8_0"});
  EXPECT_EQ(no_dir.exit_code, 1);
  EXPECT_NE(no_dir.err.find("/nonexistent/out.gguf"), std::string::npos) << no_dir.err;

  // A directory in the way is not replaced.
  const auto dir = testing::temp_path("dir.gguf");
  write_text(dir / "inside", "x");
  const auto over_dir = run_hearth({"quantize", model.string(), dir.string(), "q8_0"});
  EXPECT_EQ(over_dir.exit_code, 1) << over_dir.err;
  EXPECT_EQ(read_file(dir / "inside").value_or(""), "x");
}

}  // namespace
}  // namespace hearth
