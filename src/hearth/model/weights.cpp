// Shape and type checks for bound weights.
#include "hearth/model/weights.h"

#include "hearth/tensor/matvec.h"
#include "hearth/tensor/quantize.h"

namespace hearth::model {
namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string type_name(uint32_t type) {
  const auto traits = ggml_type_traits(type);
  return traits ? std::string(traits->name) : "type " + std::to_string(type);
}

}  // namespace

Result<Matrix> WeightBinder::matrix(const std::string& name, int64_t n_cols,
                                    int64_t n_rows) const {
  const gguf::TensorInfo* info = file_.find_tensor(name);
  if (info == nullptr) return make_error("tensor '{}' is missing", name);
  const auto& shape = info->shape;
  const bool rows_match = n_rows < 0 || (shape.size() >= 2 && shape[1] == uint64_t(n_rows));
  if (shape.size() != 2 || shape[0] != uint64_t(n_cols) || !rows_match) {
    return make_error("tensor '{}' has shape {}, expected [{}, {}]", name, shape_text(shape),
                      n_cols, n_rows < 0 ? std::string("n") : std::to_string(n_rows));
  }
  const auto type = static_cast<GgmlType>(info->type);
  if (!info->known_type || !tensor::has_matvec(type)) {
    return make_error("tensor '{}' has type {}, which hearth cannot multiply yet", name,
                      type_name(info->type));
  }
  HEARTH_ASSIGN_OR_RETURN(const auto bytes, file_.tensor_data(*info));
  return Matrix{type, bytes.data(), static_cast<int64_t>(shape[1]), n_cols};
}

Result<Matrix> WeightBinder::optional_matrix(const std::string& name, int64_t n_cols,
                                             int64_t n_rows) const {
  if (file_.find_tensor(name) == nullptr) return Matrix{};
  return matrix(name, n_cols, n_rows);
}

Result<ExpertMatrices> WeightBinder::experts(const std::string& name, int64_t n_cols,
                                             int64_t n_rows, int64_t n_experts) const {
  const gguf::TensorInfo* info = file_.find_tensor(name);
  if (info == nullptr) return make_error("tensor '{}' is missing", name);
  const auto& shape = info->shape;
  if (shape.size() != 3 || shape[0] != uint64_t(n_cols) || shape[1] != uint64_t(n_rows) ||
      shape[2] != uint64_t(n_experts)) {
    return make_error("tensor '{}' has shape {}, expected [{}, {}, {}]", name, shape_text(shape),
                      n_cols, n_rows, n_experts);
  }
  const auto type = static_cast<GgmlType>(info->type);
  if (!info->known_type || !tensor::has_matvec(type)) {
    return make_error("tensor '{}' has type {}, which hearth cannot multiply yet", name,
                      type_name(info->type));
  }
  const auto row_bytes = ggml_row_bytes(info->type, shape[0]);
  if (!row_bytes) {
    return make_error("tensor '{}': rows of {} do not fill whole {} blocks", name, n_cols,
                      type_name(info->type));
  }
  HEARTH_ASSIGN_OR_RETURN(const auto bytes, file_.tensor_data(*info));
  return ExpertMatrices{type,   bytes.data(), n_experts,
                        n_rows, n_cols,       static_cast<size_t>(*row_bytes * shape[1])};
}

Result<Vector> WeightBinder::vector(const std::string& name, int64_t n) const {
  const gguf::TensorInfo* info = file_.find_tensor(name);
  if (info == nullptr) return make_error("tensor '{}' is missing", name);
  if (info->shape.size() != 1 || info->shape[0] != uint64_t(n)) {
    return make_error("tensor '{}' has shape {}, expected [{}]", name, shape_text(info->shape), n);
  }
  const auto type = static_cast<GgmlType>(info->type);
  if (!info->known_type || !tensor::is_convertible(type)) {
    return make_error("tensor '{}' has type {}, which hearth cannot read", name,
                      type_name(info->type));
  }
  HEARTH_ASSIGN_OR_RETURN(const auto bytes, file_.tensor_data(*info));
  Vector values(static_cast<size_t>(n));
  tensor::dequantize_row(type, bytes.data(), values.data(), n);
  return values;
}

Result<Vector> WeightBinder::optional_vector(const std::string& name, int64_t n) const {
  if (file_.find_tensor(name) == nullptr) return Vector{};
  return vector(name, n);
}

}  // namespace hearth::model
