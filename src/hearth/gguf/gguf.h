// GGUF v2/v3 files: reading (validated once, zero-copy over a memory map) and writing.
// Owns the container format only: metadata values, tensor infos, alignment, the data section.
// What the keys and tensors mean belongs to tokenizer and model; how a type's blocks decode to
// numbers belongs to tensor (base/ggml_types.h gives only block geometry, for bounds).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/mapped_file.h"
#include "hearth/base/result.h"

namespace hearth::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr uint64_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

// Metadata value types; the numbers are GGUF's and also the index into Value::Storage.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
std::string_view value_type_name(ValueType type);

struct Value;

// A GGUF array: elements all of element_type (which may itself be kArray: nested arrays).
struct Array {
  ValueType element_type = ValueType::kUint8;
  std::vector<Value> items;
};

struct Value {
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, Array, uint64_t, int64_t, double>;
  Storage storage;

  ValueType type() const { return static_cast<ValueType>(storage.index()); }

  // Any integer type as int64 (nullopt for other types or a uint64 above INT64_MAX).
  std::optional<int64_t> to_int() const;
  // Float types, and integers, as double.
  std::optional<double> to_float() const;
  std::optional<bool> to_bool() const;
  const std::string* string() const { return std::get_if<std::string>(&storage); }
  const Array* array() const { return std::get_if<Array>(&storage); }
};

// Metadata in file order, with lookup by key. Typed getters return an Error naming the key
// when it is missing or has another type.
class Metadata {
 public:
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  const Value* find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  // Adds or replaces (keeping the original position on replace).
  void set(std::string key, Value value);
  bool erase(std::string_view key);

  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string_view> get_string(std::string_view key) const;
  Result<const Array*> get_array(std::string_view key) const;

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the innermost (row length)
  uint32_t type = 0;            // ggml type number; may be unknown (see known_type)
  uint64_t offset = 0;          // from the start of the data section
  bool known_type = false;
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;           // 0 when the type is unknown
  std::span<const uint8_t> data;  // view into the file; empty when the type is unknown
};

class File {
 public:
  // Maps and validates the file. Errors name the field and its byte offset.
  static Result<File> open(const std::filesystem::path& path);
  // Validates bytes owned by the caller (which must outlive the File); `name` is for errors.
  static Result<File> parse(std::span<const uint8_t> bytes, std::string name);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::string& name() const { return name_; }
  // The mapping the bytes live in; null for File::parse.
  const MappedFile* mapping() const { return mapping_.get(); }
  const Metadata& metadata() const { return metadata_; }
  // Forgets a metadata entry: a reader that has consumed a large one (the vocabulary's token
  // and merge arrays, tens of MB as strings) gives its memory back. False when absent.
  bool drop_metadata(std::string_view key) { return metadata_.erase(key); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  const TensorInfo* find_tensor(std::string_view name) const;
  // The tensor's bytes; an Error naming the tensor and its type number when the type is
  // unknown (the point where an unknown type stops being tolerated).
  Result<std::span<const uint8_t>> tensor_data(const TensorInfo& tensor) const;

 private:
  File() = default;

  std::shared_ptr<const MappedFile> mapping_;  // null when parsing caller-owned bytes
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Writes a GGUF v3 file. Tensor bytes come from a span (borrowed until write() returns) or
// from a filler called at write time, so a large model streams to disk without being held in
// memory. The file appears atomically (temporary file, then rename): a failed write leaves an
// existing file at the path untouched.
class Writer {
 public:
  using Filler = std::function<Status(std::span<uint8_t> out)>;

  Metadata& metadata() { return metadata_; }

  // Shape in GGUF order. Errors: duplicate name, too many dims, unknown type, or a row length
  // that is not a multiple of the type's block size.
  Status add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type,
                    std::span<const uint8_t> bytes);
  Status add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type, Filler filler);

  // `progress` (optional) is called with (bytes written so far, total bytes).
  Status write(const std::filesystem::path& path,
               const std::function<void(uint64_t, uint64_t)>& progress = {}) const;

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> shape;
    uint32_t type;
    uint64_t n_bytes;
    Filler filler;
  };
  Result<uint64_t> check_new_tensor(const std::string& name, const std::vector<uint64_t>& shape,
                                    uint32_t type) const;

  Metadata metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace hearth::gguf
