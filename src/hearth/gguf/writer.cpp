// GGUF v3 writer: header, metadata, tensor infos with offsets aligned to general.alignment
// (default 32), zero padding, then each tensor's bytes (from its span or filler, one tensor in
// memory at a time). Written to a temporary file beside the target and renamed at the end.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "hearth/gguf/gguf.h"

namespace hearth::gguf {
namespace {

uint64_t align_up(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

// Serializes into memory (the header is small next to tensor data).
class ByteSink {
 public:
  template <typename T>
  void put(T value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void put_value(const Value& value) {
    std::visit(
        [this](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            put_string(v);
          } else if constexpr (std::is_same_v<T, Array>) {
            put<uint32_t>(static_cast<uint32_t>(v.element_type));
            put<uint64_t>(v.items.size());
            for (const Value& item : v.items) put_value(item);
          } else if constexpr (std::is_same_v<T, bool>) {
            put<uint8_t>(v ? 1 : 0);
          } else {
            put<T>(v);
          }
        },
        value.storage);
  }
  void pad_to(uint64_t alignment) { bytes_.resize(align_up(bytes_.size(), alignment), 0); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Every array element must have the declared element type, or the file would not parse back.
Status check_array_types(const std::string& key, const Value& value) {
  const Array* array = value.array();
  if (array == nullptr) return {};
  for (const Value& item : array->items) {
    if (item.type() != array->element_type) {
      return make_error("metadata '{}': array of {} holds a {}", key,
                        value_type_name(array->element_type), value_type_name(item.type()));
    }
    HEARTH_RETURN_IF_ERROR(check_array_types(key, item));
  }
  return {};
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

Result<uint64_t> Writer::check_new_tensor(const std::string& name,
                                          const std::vector<uint64_t>& shape, uint32_t type) const {
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) return make_error("tensor '{}' added twice", name);
  }
  if (shape.size() > kMaxDims) {
    return make_error("tensor '{}' has {} dimensions, at most {} allowed", name, shape.size(),
                      kMaxDims);
  }
  const auto traits = ggml_type_traits(type);
  if (!traits) return make_error("tensor '{}' has unknown type {}", name, type);
  uint64_t n_elements = 1;
  for (const uint64_t dim : shape) n_elements *= dim;
  const uint64_t row = shape.empty() ? 1 : shape[0];
  if (row % traits->block_size != 0) {
    return make_error("tensor '{}': row length {} is not a multiple of {}'s block size {}", name,
                      row, traits->name, traits->block_size);
  }
  return n_elements / traits->block_size * traits->block_bytes;
}

Status Writer::add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type,
                          std::span<const uint8_t> bytes) {
  HEARTH_ASSIGN_OR_RETURN(const uint64_t n_bytes, check_new_tensor(name, shape, type));
  if (bytes.size() != n_bytes) {
    return make_error("tensor '{}': {} bytes given, its shape and type need {}", name, bytes.size(),
                      n_bytes);
  }
  Filler copy = [bytes](std::span<uint8_t> out) -> Status {
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return {};
  };
  tensors_.push_back({std::move(name), std::move(shape), type, n_bytes, std::move(copy)});
  return {};
}

Status Writer::add_tensor(std::string name, std::vector<uint64_t> shape, uint32_t type,
                          Filler filler) {
  HEARTH_ASSIGN_OR_RETURN(const uint64_t n_bytes, check_new_tensor(name, shape, type));
  tensors_.push_back({std::move(name), std::move(shape), type, n_bytes, std::move(filler)});
  return {};
}

Status Writer::write(const std::filesystem::path& path,
                     const std::function<void(uint64_t, uint64_t)>& progress) const {
  uint64_t alignment = kDefaultAlignment;
  if (const Value* value = metadata_.find("general.alignment")) {
    const uint32_t* a = std::get_if<uint32_t>(&value->storage);
    if (a == nullptr || *a == 0 || (*a & (*a - 1)) != 0) {
      return make_error("metadata 'general.alignment' must be a u32 power of two");
    }
    alignment = *a;
  }

  ByteSink header;
  header.put<uint32_t>(kMagic);
  header.put<uint32_t>(3);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.entries().size());
  for (const auto& [key, value] : metadata_.entries()) {
    HEARTH_RETURN_IF_ERROR(check_array_types(key, value));
    header.put_string(key);
    header.put<uint32_t>(static_cast<uint32_t>(value.type()));
    header.put_value(value);
  }
  uint64_t data_size = 0;
  for (const PendingTensor& t : tensors_) {
    header.put_string(t.name);
    header.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (const uint64_t dim : t.shape) header.put<uint64_t>(dim);
    header.put<uint32_t>(t.type);
    header.put<uint64_t>(data_size);
    data_size = align_up(data_size + t.n_bytes, alignment);
  }
  header.pad_to(alignment);

  const std::filesystem::path temp = path.string() + ".tmp-" + std::to_string(::getpid());
  // Writes of whole 2 MiB pieces at 2 MiB offsets (stdio flushes a full buffer, and writes
  // larger pieces directly in multiples of it), which file systems with large folios cache in
  // 2 MiB pages: loading the new file right away then maps its weights in them
  // (base/mapped_file.h). (glibc ignores setvbuf's size without a buffer; this one outlives
  // `out`.)
  std::vector<char> stdio_buffer(kLargePageBytes);
  std::unique_ptr<std::FILE, FileCloser> out(std::fopen(temp.c_str(), "wb"));
  if (!out) return make_error("cannot create '{}': {}", temp.string(), std::strerror(errno));
  std::setvbuf(out.get(), stdio_buffer.data(), _IOFBF, stdio_buffer.size());
  auto write_failed = [&](const Error& error) -> Error {
    out.reset();
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    return error.context(fmt::format("writing '{}'", path.string()));
  };
  auto put = [&](const void* data, size_t size) -> Status {
    if (size != 0 && std::fwrite(data, 1, size, out.get()) != size) {
      return make_error("write failed: {}", std::strerror(errno));
    }
    return {};
  };

  const uint64_t total = header.bytes().size() + data_size;
  uint64_t written = header.bytes().size();
  if (Status s = put(header.bytes().data(), header.bytes().size()); !s.ok()) {
    return write_failed(s.error());
  }
  std::vector<uint8_t> buffer;
  for (const PendingTensor& t : tensors_) {
    try {
      buffer.assign(align_up(t.n_bytes, alignment), 0);
    } catch (const std::bad_alloc&) {
      return write_failed(make_error("tensor '{}': cannot allocate {} bytes", t.name, t.n_bytes));
    }
    if (Status s = t.filler(std::span<uint8_t>(buffer.data(), t.n_bytes)); !s.ok()) {
      return write_failed(s.error().context(fmt::format("tensor '{}'", t.name)));
    }
    if (Status s = put(buffer.data(), buffer.size()); !s.ok()) return write_failed(s.error());
    written += buffer.size();
    if (progress) progress(written, total);
  }
  if (std::fflush(out.get()) != 0) {
    return write_failed(make_error("flush failed: {}", std::strerror(errno)));
  }
  out.reset();
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) return write_failed(make_error("cannot rename into place: {}", ec.message()));
  return {};
}

}  // namespace hearth::gguf
