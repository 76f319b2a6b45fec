// Binding GGUF tensors to the forward pass by name, with shape checks at load: a Matrix is a view
// of a 2-D weight in the mmap (any type the matmul kernels take), a Vector a 1-D weight decoded
// to float32 (norm weights, frequency factors: small, so a copy is cheap and any type works).
// Errors name the tensor and say what was expected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hearth/base/ggml_types.h"
#include "hearth/base/result.h"
#include "hearth/gguf/gguf.h"

namespace hearth::model {

// n_rows rows of n_cols elements (GGUF shape [n_cols, n_rows]), row-major in `type`.
struct Matrix {
  GgmlType type = GgmlType::kF32;
  const uint8_t* data = nullptr;
  int64_t n_rows = 0;  // outputs
  int64_t n_cols = 0;  // inputs
  explicit operator bool() const { return data != nullptr; }
};

// n_experts matrices of n_rows x n_cols each, stored one after another (GGUF shape
// [n_cols, n_rows, n_experts], llama.cpp's ffn_{gate,up,down}_exps): a mixture of experts reads
// only the slices of the experts it routes to.
struct ExpertMatrices {
  GgmlType type = GgmlType::kF32;
  const uint8_t* data = nullptr;
  int64_t n_experts = 0;
  int64_t n_rows = 0;       // outputs of each expert
  int64_t n_cols = 0;       // inputs
  size_t expert_bytes = 0;  // bytes of one expert's matrix
  explicit operator bool() const { return data != nullptr; }
  Matrix expert(int64_t e) const {
    return Matrix{type, data + static_cast<size_t>(e) * expert_bytes, n_rows, n_cols};
  }
};

using Vector = std::vector<float>;

class WeightBinder {
 public:
  explicit WeightBinder(const gguf::File& file) : file_(file) {}

  // Whether the file has a tensor `name` (for layouts that differ in which tensors exist).
  bool contains(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

  // The weight `name` of shape [n_cols, n_rows]; n_rows < 0 accepts any row count.
  Result<Matrix> matrix(const std::string& name, int64_t n_cols, int64_t n_rows) const;
  // Same, but an absent tensor gives an empty Matrix.
  Result<Matrix> optional_matrix(const std::string& name, int64_t n_cols, int64_t n_rows) const;
  // The 3-D expert weight `name` of shape [n_cols, n_rows, n_experts].
  Result<ExpertMatrices> experts(const std::string& name, int64_t n_cols, int64_t n_rows,
                                 int64_t n_experts) const;
  Result<Vector> vector(const std::string& name, int64_t n) const;
  Result<Vector> optional_vector(const std::string& name, int64_t n) const;

 private:
  const gguf::File& file_;
};

}  // namespace hearth::model
