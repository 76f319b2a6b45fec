#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "hearth/base/files.h"
#include "hearth/base/json.h"
#include "hearth/gguf/gguf.h"
#include "testing.h"

namespace hearth::gguf {
namespace {

Value str(std::string s) {
  return Value{Value::Storage(std::move(s))};
}

// A small file with every value type, a nested array, and three tensors of different types.
Writer sample_writer(std::vector<std::vector<uint8_t>>& storage) {
  Writer writer;
  Metadata& m = writer.metadata();
  m.set("general.architecture", str("llama"));
  m.set("u8", Value{uint8_t{200}});
  m.set("i8", Value{int8_t{-100}});
  m.set("u16", Value{uint16_t{60000}});
  m.set("i16", Value{int16_t{-30000}});
  m.set("u32", Value{uint32_t{4000000000u}});
  m.set("i32", Value{int32_t{-2000000000}});
  m.set("f32", Value{1.5f});
  m.set("bool", Value{true});
  m.set("u64", Value{uint64_t{1} << 60});
  m.set("i64", Value{int64_t{-(int64_t{1} << 60)}});
  m.set("f64", Value{0.125});
  m.set("tokens", Value{Array{ValueType::kString, {str("a"), str("<s>"), str("\xE4\xB8\x96")}}});
  Array inner1{ValueType::kInt32, {Value{int32_t{1}}, Value{int32_t{2}}}};
  Array inner2{ValueType::kInt32, {}};
  m.set("nested", Value{Array{ValueType::kArray, {Value{inner1}, Value{inner2}}}});

  storage.push_back(std::vector<uint8_t>(4 * 8));
  for (size_t i = 0; i < storage.back().size(); ++i) storage.back()[i] = static_cast<uint8_t>(i);
  storage.push_back(std::vector<uint8_t>(2 * 3 * 5, 0xAB));
  storage.push_back(std::vector<uint8_t>(34, 0x11));
  EXPECT_TRUE(writer.add_tensor("a", {8}, static_cast<uint32_t>(GgmlType::kF32), storage[0]).ok());
  EXPECT_TRUE(
      writer.add_tensor("b", {3, 5}, static_cast<uint32_t>(GgmlType::kF16), storage[1]).ok());
  EXPECT_TRUE(
      writer.add_tensor("c", {32}, static_cast<uint32_t>(GgmlType::kQ8_0), storage[2]).ok());
  return writer;
}

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  Result<File> file = File::parse(bytes, "broken.gguf");
  return file.ok() ? "" : file.error().message();
}

TEST(Gguf, WriteThenReadGivesSameMetadataAndBytes) {
  std::vector<std::vector<uint8_t>> storage;
  const Writer writer = sample_writer(storage);
  const auto path = testing::temp_path("round.gguf");
  ASSERT_TRUE(writer.write(path).ok());

  Result<File> file = File::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->alignment(), 32u);
  EXPECT_EQ(file->data_offset() % 32, 0u);
  const Metadata& m = file->metadata();
  ASSERT_EQ(m.entries().size(), 14u);
  EXPECT_EQ(m.entries()[0].first, "general.architecture");
  EXPECT_EQ(*m.get_string("general.architecture"), "llama");
  EXPECT_EQ(*m.get_int("u8"), 200);
  EXPECT_EQ(*m.get_int("i8"), -100);
  EXPECT_EQ(*m.get_int("u16"), 60000);
  EXPECT_EQ(*m.get_int("i16"), -30000);
  EXPECT_EQ(*m.get_int("u32"), 4000000000);
  EXPECT_EQ(*m.get_int("i32"), -2000000000);
  EXPECT_EQ(*m.get_float("f32"), 1.5);
  EXPECT_EQ(*m.get_bool("bool"), true);
  EXPECT_EQ(*m.get_int("u64"), int64_t{1} << 60);
  EXPECT_EQ(*m.get_int("i64"), -(int64_t{1} << 60));
  EXPECT_EQ(*m.get_float("f64"), 0.125);
  const Array* tokens = *m.get_array("tokens");
  ASSERT_EQ(tokens->items.size(), 3u);
  EXPECT_EQ(*tokens->items[2].string(), "\xE4\xB8\x96");
  const Array* nested = *m.get_array("nested");
  ASSERT_EQ(nested->element_type, ValueType::kArray);
  EXPECT_EQ(nested->items[0].array()->items[1].to_int(), 2);
  EXPECT_TRUE(nested->items[1].array()->items.empty());

  ASSERT_EQ(file->tensors().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const TensorInfo& t = file->tensors()[i];
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    ASSERT_EQ(t.data.size(), storage[i].size()) << t.name;
    EXPECT_EQ(std::memcmp(t.data.data(), storage[i].data(), storage[i].size()), 0) << t.name;
  }
  EXPECT_EQ(file->find_tensor("b")->shape, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(file->find_tensor("missing"), nullptr);

  // Writing what was read gives the identical file.
  Writer again;
  for (const auto& [key, value] : m.entries()) again.metadata().set(key, value);
  for (const TensorInfo& t : file->tensors()) {
    ASSERT_TRUE(again.add_tensor(t.name, t.shape, t.type, t.data).ok());
  }
  const auto path2 = testing::temp_path("round2.gguf");
  ASSERT_TRUE(again.write(path2).ok());
  EXPECT_EQ(read_bytes(path), read_bytes(path2));
}

TEST(Gguf, CustomAlignmentIsHonoured) {
  Writer writer;
  writer.metadata().set("general.alignment", Value{uint32_t{64}});
  std::vector<uint8_t> a(4), b(4);
  ASSERT_TRUE(writer.add_tensor("a", {1}, 0, a).ok());
  ASSERT_TRUE(writer.add_tensor("b", {1}, 0, b).ok());
  const auto path = testing::temp_path("align.gguf");
  ASSERT_TRUE(writer.write(path).ok());
  Result<File> file = File::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->data_offset() % 64, 0u);
  EXPECT_EQ(file->tensors()[1].offset, 64u);
}

TEST(Gguf, WriterRejectsBadTensors) {
  Writer writer;
  std::vector<uint8_t> bytes(18);
  EXPECT_EQ(writer.add_tensor("q", {16}, 2, bytes).error().message(),
            "tensor 'q': row length 16 is not a multiple of q4_0's block size 32");
  EXPECT_EQ(writer.add_tensor("u", {32}, 99, bytes).error().message(),
            "tensor 'u' has unknown type 99");
  EXPECT_EQ(writer.add_tensor("s", {3}, 0, bytes).error().message(),
            "tensor 's': 18 bytes given, its shape and type need 12");
  ASSERT_TRUE(writer.add_tensor("ok", {32}, 2, bytes).ok());
  EXPECT_EQ(writer.add_tensor("ok", {32}, 2, bytes).error().message(), "tensor 'ok' added twice");
}

TEST(Gguf, FailedWriteKeepsExistingFile) {
  const auto path = testing::temp_path("keep.gguf");
  ASSERT_TRUE(write_file_atomic(path, "precious").ok());
  Writer writer;
  ASSERT_TRUE(writer
                  .add_tensor("t", {1}, 0, Writer::Filler([](std::span<uint8_t>) -> Status {
                                return make_error("generator failed");
                              }))
                  .ok());
  const Status status = writer.write(path);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("tensor 't': generator failed"), std::string::npos);
  EXPECT_EQ(*read_file(path), "precious");
}

// ---- Broken files: each gives an error naming the field and byte offset. ----

// Builds raw GGUF bytes field by field, to forge files the writer would refuse to make.
class Forge {
 public:
  template <typename T>
  Forge& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Forge& str(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  Forge& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return put<uint32_t>(kMagic).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(
        n_kv);
  }
  Forge& tensor(std::string_view name, std::vector<uint64_t> shape, uint32_t type,
                uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(shape.size()));
    for (uint64_t d : shape) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Forge& pad(size_t alignment = 32) {
    bytes.resize((bytes.size() + alignment - 1) / alignment * alignment, 0);
    return *this;
  }
  Forge& zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

TEST(GgufBroken, EveryTruncationFailsCleanly) {
  std::vector<std::vector<uint8_t>> storage;
  const auto path = testing::temp_path("full.gguf");
  ASSERT_TRUE(sample_writer(storage).write(path).ok());
  const std::vector<uint8_t> full = read_bytes(path);
  Result<File> parsed = File::parse(full, "full");
  ASSERT_TRUE(parsed.ok());
  // Cutting only the zero padding after the last tensor leaves a valid file.
  const TensorInfo& last = parsed->tensors().back();
  const size_t end_of_data = parsed->data_offset() + last.offset + last.n_bytes;
  for (size_t length = 0; length < end_of_data; ++length) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(length));
    const std::string error = parse_error(cut);
    EXPECT_FALSE(error.empty()) << "truncated to " << length << " bytes parsed";
    EXPECT_EQ(error.rfind("broken.gguf: ", 0), 0u) << error;
  }
}

TEST(GgufBroken, BadMagicAndVersion) {
  EXPECT_EQ(parse_error({'G', 'G'}), "broken.gguf: file is 2 bytes, too short for a GGUF header");
  EXPECT_EQ(parse_error(Forge().put<uint32_t>(0x4C4C5546).zeros(20).bytes),
            "broken.gguf: bad magic 0x4c4c5546 at byte 0: not a GGUF file");
  EXPECT_EQ(parse_error(Forge().header(0, 0, 1).bytes),
            "broken.gguf: version at byte 4: GGUF version 1 is not supported (only 2 and 3)");
  EXPECT_TRUE(File::parse(Forge().header(0, 0, 2).bytes, "v2").ok());
}

TEST(GgufBroken, HugeCountsAreRejectedBeforeAllocating) {
  EXPECT_EQ(parse_error(Forge().header(uint64_t{1} << 62, 0).bytes),
            "broken.gguf: tensor count at byte 8: 4611686018427387904 tensors cannot fit in a "
            "24-byte file");
  EXPECT_EQ(parse_error(Forge().header(0, ~uint64_t{0}).bytes),
            "broken.gguf: metadata count at byte 16: 18446744073709551615 entries cannot fit in "
            "a 24-byte file");
  EXPECT_EQ(parse_error(Forge().header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1e12).bytes),
            "broken.gguf: metadata 'k' at byte 37: string length 1000000000000 exceeds the 0 "
            "bytes left in the file");
  EXPECT_EQ(parse_error(Forge()
                            .header(0, 1)
                            .str("arr")
                            .put<uint32_t>(9)
                            .put<uint32_t>(6)
                            .put<uint64_t>(uint64_t{1} << 61)
                            .zeros(8)
                            .bytes),
            "broken.gguf: metadata 'arr' count at byte 43: 2305843009213693952 elements of type "
            "f32 cannot fit in the 8 bytes left");
  EXPECT_EQ(parse_error(Forge().header(0, 1).str("k").put<uint32_t>(77).zeros(8).bytes),
            "broken.gguf: metadata 'k' type at byte 33: unknown value type 77");
}

TEST(GgufBroken, DeeplyNestedArraysAreBounded) {
  Forge f;
  f.header(0, 1).str("deep").put<uint32_t>(9);
  for (int i = 0; i < 100; ++i) f.put<uint32_t>(9).put<uint64_t>(1);
  f.put<uint32_t>(0).put<uint64_t>(0);
  EXPECT_NE(parse_error(f.bytes).find("arrays nested deeper than 16"), std::string::npos);
}

TEST(GgufBroken, DuplicateKeysAndTensors) {
  EXPECT_EQ(parse_error(Forge()
                            .header(0, 2)
                            .str("k")
                            .put<uint32_t>(4)
                            .put<uint32_t>(1)
                            .str("k")
                            .put<uint32_t>(4)
                            .put<uint32_t>(2)
                            .bytes),
            "broken.gguf: metadata key #1 at byte 41: duplicate key 'k'");
  EXPECT_EQ(parse_error(Forge()
                            .header(2, 0)
                            .tensor("t", {1}, 0, 0)
                            .tensor("t", {1}, 0, 32)
                            .pad()
                            .zeros(64)
                            .bytes),
            "broken.gguf: tensor #1: duplicate tensor name 't'");
}

TEST(GgufBroken, TensorGeometry) {
  EXPECT_EQ(
      parse_error(Forge().header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32).bytes),
      "broken.gguf: tensor 't' n_dims at byte 33: 5 dimensions, at most 4 allowed");
  EXPECT_EQ(parse_error(Forge()
                            .header(1, 0)
                            .tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0)
                            .pad()
                            .bytes),
            "broken.gguf: tensor 't' dimension 1 at byte 45: 1099511627776 overflows the element "
            "count");
  EXPECT_EQ(parse_error(Forge().header(1, 0).tensor("t", {4}, 0, 8).pad().zeros(64).bytes),
            "broken.gguf: tensor 't' offset at byte 49: data offset 8 is not a multiple of the "
            "alignment 32");
  EXPECT_EQ(parse_error(Forge().header(1, 0).tensor("t", {64}, 0, 0).pad().zeros(100).bytes),
            "broken.gguf: tensor 't': 256 bytes at data offset 0 (file byte 64) extend past the "
            "end of the file (164 bytes)");
  EXPECT_EQ(parse_error(Forge()
                            .header(2, 0)
                            .tensor("a", {16}, 0, 0)
                            .tensor("b", {16}, 0, 32)
                            .pad()
                            .zeros(128)
                            .bytes),
            "broken.gguf: tensors 'a' (data bytes 0..64) and 'b' (from 32) overlap");
  EXPECT_EQ(parse_error(Forge().header(1, 0).tensor("q", {16}, 2, 0).pad().zeros(32).bytes),
            "broken.gguf: tensor 'q' (info at byte 24): row length 16 is not a multiple of "
            "q4_0's block size 32");
}

TEST(GgufBroken, BadAlignmentValue) {
  EXPECT_EQ(
      parse_error(
          Forge().header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(3).bytes),
      "broken.gguf: metadata 'general.alignment' is 3, not a power of two");
}

TEST(Gguf, UnknownTensorTypeIsToleratedUntilUsed) {
  const std::vector<uint8_t> bytes = Forge()
                                         .header(2, 0)
                                         .tensor("odd", {8}, 1234, 0)
                                         .tensor("f", {2}, 0, 32)
                                         .pad()
                                         .zeros(64)
                                         .bytes;
  Result<File> file = File::parse(bytes, "odd.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message();
  const TensorInfo* odd = file->find_tensor("odd");
  ASSERT_NE(odd, nullptr);
  EXPECT_FALSE(odd->known_type);
  EXPECT_EQ(odd->type, 1234u);
  EXPECT_EQ(file->tensor_data(*odd).error().message(),
            "odd.gguf: tensor 'odd' has unknown type 1234");
  EXPECT_TRUE(file->tensor_data(*file->find_tensor("f")).ok());
}

// A written file is cached in 2 MiB pages wherever the file system caches whole, aligned 2 MiB
// writes in them (the reference file, written that way with write(2)): the writer's output comes
// in such pieces, so a model loaded right after `hearth synth` or `quantize` gets them too.
TEST(Gguf, WrittenFileMapsInLargePagesWhereTheFileSystemGivesThem) {
  constexpr size_t kBytes = 4 * kLargePageBytes;  // the reference file
  const std::vector<uint8_t> weights(kBytes, 0x5a);
  const auto reference = testing::temp_path("aligned-writes.bin");
  {
    std::FILE* out = std::fopen(reference.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    for (size_t at = 0; at < kBytes; at += kLargePageBytes) {
      ASSERT_EQ(::write(::fileno(out), weights.data() + at, kLargePageBytes),
                static_cast<ssize_t>(kLargePageBytes));
    }
    std::fclose(out);
  }
  Result<MappedFile> mapped_reference = MappedFile::open(reference);
  ASSERT_TRUE(mapped_reference.ok());
  for (size_t at = 0; at < kBytes; at += 4096) ASSERT_EQ(mapped_reference->data()[at], 0x5a);
  if (mapped_reference->residency().in_large_pages == 0) {
    GTEST_SKIP() << "this file system or kernel maps no file pages in 2 MiB pages";
  }

  // As in a model: tensors smaller than 2 MiB (each alone holds no aligned 2 MiB piece) between
  // small ones.
  Writer writer;
  writer.metadata().set("general.architecture", str("llama"));
  const std::span<const uint8_t> matrix(weights.data(), kLargePageBytes * 3 / 4);
  const std::span<const uint8_t> norm(weights.data(), 256);
  for (int i = 0; i < 8; ++i) {
    const auto f16 = static_cast<uint32_t>(GgmlType::kF16);
    ASSERT_TRUE(
        writer.add_tensor(fmt::format("matrix.{}", i), {matrix.size() / 2}, f16, matrix).ok());
    ASSERT_TRUE(writer.add_tensor(fmt::format("norm.{}", i), {norm.size() / 2}, f16, norm).ok());
  }
  const auto path = testing::temp_path("large-pages.gguf");
  ASSERT_TRUE(writer.write(path).ok());
  Result<File> file = File::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message();
  for (size_t at = 0; at < file->file_size(); at += 4096) {
    volatile uint8_t touched = file->mapping()->data()[at];
    (void)touched;
  }
  // All but the partial 2 MiB at the end.
  EXPECT_GE(file->mapping()->residency().in_large_pages, file->file_size() - kLargePageBytes);
}

// ---- Real files from ../shared/testdata/models: shapes and counts from the manifest. ----

TEST(GgufReal, TestdataModelsMatchManifest) {
  HEARTH_REQUIRE_TESTDATA(models, "models/models.manifest.json");
  const Result<std::string> text = read_file(models);
  ASSERT_TRUE(text.ok());
  const Result<Json> manifest = parse_json(*text, "models.manifest.json");
  ASSERT_TRUE(manifest.ok());
  int files = 0;
  for (const auto& [file_name, entry] : manifest->items()) {
    SCOPED_TRACE(file_name);
    Result<File> file = File::open(models.parent_path() / file_name);
    ASSERT_TRUE(file.ok()) << file.error().message();
    EXPECT_EQ(*file->metadata().get_string("general.architecture"),
              entry["spec"]["arch"].get<std::string>());
    ASSERT_EQ(file->tensors().size(), entry["tensors"].size());
    for (const Json& expected : entry["tensors"]) {
      const TensorInfo* t = file->find_tensor(expected["name"].get<std::string>());
      ASSERT_NE(t, nullptr) << expected["name"];
      EXPECT_EQ(t->shape, expected["shape"].get<std::vector<uint64_t>>());
      EXPECT_EQ(t->type, expected["type"].get<uint32_t>());
      EXPECT_TRUE(t->known_type);
    }
    ++files;
  }
  EXPECT_EQ(files, 6);
}

}  // namespace
}  // namespace hearth::gguf
