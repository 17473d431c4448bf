#include <glia/nn/layers.hpp>
#include <glia/nn/tensor.hpp>

#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <bit>
#include <climits>
#include <stdexcept>

static_assert(std::endian::native == std::endian::little,
              "glia::nn assumes a little-endian host (checkpoints store little-endian data)");

namespace glia::nn {

std::string shape_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

namespace {
blasint blas_int(size_t v) {
  if (v > static_cast<size_t>(INT_MAX)) throw std::length_error("matrix dimension exceeds BLAS int range");
  return static_cast<blasint>(v);
}
CBLAS_TRANSPOSE op(bool t) { return t ? CblasTrans : CblasNoTrans; }
}  // namespace

void gemm(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float beta, float* C, size_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, op(ta), op(tb), blas_int(M), blas_int(N), blas_int(K), alpha, A,
              blas_int(lda), B, blas_int(ldb), beta, C, blas_int(ldc));
}

void gemm(bool ta, bool tb, size_t M, size_t N, size_t K, double alpha, const double* A,
          size_t lda, const double* B, size_t ldb, double beta, double* C, size_t ldc) {
  if (M == 0 || N == 0) return;
  cblas_dgemm(CblasRowMajor, op(ta), op(tb), blas_int(M), blas_int(N), blas_int(K), alpha, A,
              blas_int(lda), B, blas_int(ldb), beta, C, blas_int(ldc));
}

void parallel_blocks(size_t n, size_t block, const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  const size_t blocks = (n + block - 1) / block;
  if (blocks == 1) {
    body(0, n);
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, blocks, 1),
      [&](const tbb::blocked_range<size_t>& r) {
        for (size_t b = r.begin(); b != r.end(); ++b) body(b * block, std::min(n, (b + 1) * block));
      },
      tbb::simple_partitioner());
}

template <class T>
void parallel_gemm(bool ta, bool tb, size_t M, size_t N, size_t K, T alpha, const T* A,
                   size_t lda, const T* B, size_t ldb, T beta, T* C, size_t ldc) {
  parallel_blocks(M, kRowBlock, [&](size_t r0, size_t r1) {
    // Rows r0..r1 of op(A): rows of A, or columns when A is transposed.
    const T* a = ta ? A + r0 : A + r0 * lda;
    gemm(ta, tb, r1 - r0, N, K, alpha, a, lda, B, ldb, beta, C + r0 * ldc, ldc);
  });
}

template void parallel_gemm<float>(bool, bool, size_t, size_t, size_t, float, const float*, size_t,
                                   const float*, size_t, float, float*, size_t);
template void parallel_gemm<double>(bool, bool, size_t, size_t, size_t, double, const double*,
                                    size_t, const double*, size_t, double, double*, size_t);

template <class T>
std::vector<StateEntry<T>> Layer<T>::state() {
  std::vector<StateEntry<T>> out;
  for (Parameter<T>* p : parameters()) out.push_back({p->name, &p->value});
  return out;
}

template class Layer<float>;
template class Layer<double>;

}  // namespace glia::nn
