// glia::nn core types: tensors, trainable parameters, BLAS and parallel helpers.
//
// Tensors are row-major xt::xarray. Layers read and write them through data() in plain loops
// (which the compiler vectorises) and hand matrix products to BLAS. float is the training dtype;
// double is instantiated too so that gradient checks run in float64.
#pragma once

#include <xtensor/xarray.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace glia::nn {

template <class T>
using Tensor = xt::xarray<T, xt::layout_type::row_major>;
using Shape = std::vector<size_t>;

// A trainable tensor and the gradient that backward() accumulates into it.
template <class T>
struct Parameter {
  std::string name;  // local name within its layer: "weight", "bias"
  Tensor<T> value;
  Tensor<T> grad;
};

// A named tensor of a layer's state (parameters and buffers such as running statistics), in the
// order checkpoints store them.
template <class T>
struct StateEntry {
  std::string name;
  Tensor<T>* tensor;
};

// Resizes t to shape, reallocating only when the element count changes.
template <class T>
void ensure_shape(Tensor<T>& t, const Shape& shape) {
  if (t.dimension() != shape.size() || !std::equal(shape.begin(), shape.end(), t.shape().begin()))
    t.resize(shape);
}

// "(128, 784)" for error messages.
std::string shape_string(const Shape& shape);
template <class T>
std::string shape_string(const Tensor<T>& t) {
  return shape_string(Shape(t.shape().begin(), t.shape().end()));
}

// Rows a parallel kernel hands to one task. Fixed, never derived from the thread count, so that
// every result is computed by the same sequence of operations whatever the number of threads.
inline constexpr size_t kRowBlock = 64;

// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C (op = transpose when ta / tb), single
// BLAS call on the calling thread.
void gemm(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc);
void gemm(bool ta, bool tb, size_t M, size_t N, size_t K, double alpha, const double* A,
          size_t lda, const double* B, size_t ldb, double beta, double* C, size_t ldc);

// The same product with the rows of C split into kRowBlock blocks run as TBB tasks. Each element
// of C is computed by the same BLAS call whatever the thread count: deterministic.
template <class T>
void parallel_gemm(bool ta, bool tb, size_t M, size_t N, size_t K, T alpha, const T* A,
                   size_t lda, const T* B, size_t ldb, T beta, T* C, size_t ldc);

// Runs body(begin, end) over [0, n) in fixed blocks of `block` as TBB tasks.
void parallel_blocks(size_t n, size_t block, const std::function<void(size_t, size_t)>& body);

}  // namespace glia::nn
