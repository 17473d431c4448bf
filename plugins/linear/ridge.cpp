#include "ridge.hpp"

#include <glia/random.hpp>

#include <cblas.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <numeric>

// LAPACK divide-and-conquer SVD (Fortran symbol; the trailing argument is the hidden length of
// the character argument that gfortran passes).
extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda,
                        double* s, double* u, const int* ldu, double* vt, const int* ldvt,
                        double* work, const int* lwork, int* iwork, int* info, size_t jobz_len);

namespace glia::linear {
namespace {

// Rows per block when a product is split over TBB tasks: fixed, so that the block boundaries,
// hence the results, do not depend on the thread count.
constexpr int64_t kRowsPerBlock = 256;

void check_matrix(MatrixView m, const char* name) {
  if (m.rows < 1 || m.cols < 1)
    throw RidgeError(ErrorKind::data, std::string(name) + " is empty (" + std::to_string(m.rows) +
                                          " x " + std::to_string(m.cols) + ")");
  if (m.rows > INT_MAX || m.cols > INT_MAX)
    throw RidgeError(ErrorKind::data, std::string(name) + " has a dimension beyond 2^31 - 1");
  const int64_t size = m.rows * m.cols;
  for (int64_t i = 0; i < size; ++i) {
    if (!std::isfinite(m.data[i]))
      throw RidgeError(ErrorKind::data, std::string(name) + " holds a non-finite value at row " +
                                            std::to_string(i / m.cols) + ", column " +
                                            std::to_string(i % m.cols));
  }
}

void check_training_data(MatrixView x, MatrixView y) {
  check_matrix(x, "x");
  check_matrix(y, "y");
  if (x.rows != y.rows)
    throw RidgeError(ErrorKind::data, "x has " + std::to_string(x.rows) + " rows but y has " +
                                          std::to_string(y.rows));
}

std::vector<double> gather_rows(MatrixView m, std::span<const int64_t> rows) {
  std::vector<double> out(rows.size() * static_cast<size_t>(m.cols));
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(m.data + rows[i] * m.cols, m.cols, out.begin() + i * m.cols);
  return out;
}

std::vector<double> column_means(const std::vector<double>& m, int64_t rows, int64_t cols) {
  std::vector<double> mean(cols, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mean[j] += m[i * cols + j];
  for (double& v : mean) v /= static_cast<double>(rows);
  return mean;
}

void subtract_from_rows(std::vector<double>& m, const std::vector<double>& v) {
  const size_t cols = v.size();
  for (size_t i = 0; i < m.size(); ++i) m[i] -= v[i % cols];
}

// 1 - SS_res / SS_tot, with the convention for a constant column (SS_tot = 0).
double r2_from_sums(double ss_res, double ss_tot) {
  if (ss_tot > 0) return 1.0 - ss_res / ss_tot;
  return ss_res == 0 ? 1.0 : 0.0;
}

// Sum of squares of each column about its own mean.
std::vector<double> column_total_sums(const double* m, int64_t rows, int64_t cols) {
  std::vector<double> mean(cols, 0.0), ss(cols, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) mean[j] += m[i * cols + j];
  for (double& v : mean) v /= static_cast<double>(rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const double r = m[i * cols + j] - mean[j];
      ss[j] += r * r;
    }
  return ss;
}

struct ThinSvd {
  int64_t rank = 0;        // min(n, d): number of singular triplets kept
  std::vector<double> u;   // (n, rank)
  std::vector<double> s;   // (rank), descending
  std::vector<double> vt;  // (rank, d)
  double cutoff = 0;       // singular values at or below it count as zero
};

// Thin SVD of the row-major (n, d) matrix in `a` (consumed). LAPACK is column-major, so it sees
// the buffer as the (d, n) matrix Xᵀ = V S Uᵀ; its "U" and "Vᵀ" outputs are then exactly Vᵀ and
// U of X in row-major order, with no transposition.
ThinSvd thin_svd(std::vector<double> a, int64_t n, int64_t d) {
  ThinSvd svd;
  svd.rank = std::min(n, d);
  svd.u.resize(static_cast<size_t>(n * svd.rank));
  svd.s.resize(static_cast<size_t>(svd.rank));
  svd.vt.resize(static_cast<size_t>(svd.rank * d));
  const char jobz = 'S';
  const int m = static_cast<int>(d), cols = static_cast<int>(n), r = static_cast<int>(svd.rank);
  std::vector<int> iwork(8 * static_cast<size_t>(r));
  int info = 0, lwork = -1;
  double query = 0;
  dgesdd_(&jobz, &m, &cols, a.data(), &m, svd.s.data(), svd.vt.data(), &m, svd.u.data(), &r,
          &query, &lwork, iwork.data(), &info, 1);
  if (info != 0)
    throw RidgeError(ErrorKind::numeric, "SVD workspace query failed (dgesdd info " +
                                             std::to_string(info) + ")");
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  dgesdd_(&jobz, &m, &cols, a.data(), &m, svd.s.data(), svd.vt.data(), &m, svd.u.data(), &r,
          work.data(), &lwork, iwork.data(), &info, 1);
  if (info > 0)
    throw RidgeError(ErrorKind::numeric, "SVD of x did not converge (dgesdd info " +
                                             std::to_string(info) + ")");
  if (info < 0)
    throw RidgeError(ErrorKind::numeric, "SVD of x rejected argument " + std::to_string(-info));
  // Same rank tolerance as numpy.linalg.matrix_rank: without it α = 0 would divide by round-off.
  svd.cutoff = svd.s.empty() ? 0.0
                             : svd.s[0] * static_cast<double>(std::max(n, d)) *
                                   std::numeric_limits<double>::epsilon();
  return svd;
}

// s / (s² + α) for each singular value, 0 for numerically null directions.
double shrink(const ThinSvd& svd, int64_t i, double alpha) {
  const double s = svd.s[i];
  return s > svd.cutoff ? s / (s * s + alpha) : 0.0;
}

// C (m, n) = op(A) op(B), row-major.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const double* a,
          int64_t lda, const double* b, int64_t ldb, double* c) {
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0,
              c, static_cast<int>(n));
}

// Everything a ridge fit on one data set needs before the penalties are known.
struct Decomposition {
  int64_t n_features = 0, n_targets = 0;
  ThinSvd svd;
  std::vector<double> uty;     // Uᵀ Y (rank, T)
  std::vector<double> x_mean;  // (D), zeros without intercept
  std::vector<double> y_mean;  // (T)
};

Decomposition decompose(MatrixView x, MatrixView y, bool fit_intercept) {
  Decomposition dec;
  dec.n_features = x.cols;
  dec.n_targets = y.cols;
  std::vector<double> xc(x.data, x.data + x.rows * x.cols);
  std::vector<double> yc(y.data, y.data + y.rows * y.cols);
  dec.x_mean.assign(x.cols, 0.0);
  dec.y_mean.assign(y.cols, 0.0);
  if (fit_intercept) {
    dec.x_mean = column_means(xc, x.rows, x.cols);
    dec.y_mean = column_means(yc, y.rows, y.cols);
    subtract_from_rows(xc, dec.x_mean);
    subtract_from_rows(yc, dec.y_mean);
  }
  dec.svd = thin_svd(std::move(xc), x.rows, x.cols);
  const int64_t r = dec.svd.rank, t = y.cols;
  dec.uty.resize(static_cast<size_t>(r * t));
  gemm(true, false, r, t, x.rows, dec.svd.u.data(), r, yc.data(), t, dec.uty.data());
  return dec;
}

// coef = V diag(s / (s² + α_t)) Uᵀ y_t for every target t; intercept = ȳ - x̄ᵀ coef.
RidgeModel solve(const Decomposition& dec, std::span<const double> alphas) {
  const int64_t r = dec.svd.rank, d = dec.n_features, t = dec.n_targets;
  std::vector<double> scaled(dec.uty);
  for (int64_t j = 0; j < t; ++j) {
    const double alpha = alphas.size() == 1 ? alphas[0] : alphas[j];
    for (int64_t i = 0; i < r; ++i) scaled[i * t + j] *= shrink(dec.svd, i, alpha);
  }
  RidgeModel model;
  model.n_features = d;
  model.n_targets = t;
  model.coef.resize(static_cast<size_t>(d * t));
  gemm(true, false, d, t, r, dec.svd.vt.data(), d, scaled.data(), t, model.coef.data());
  model.intercept = dec.y_mean;
  cblas_dgemv(CblasRowMajor, CblasTrans, static_cast<int>(d), static_cast<int>(t), -1.0,
              model.coef.data(), static_cast<int>(t), dec.x_mean.data(), 1, 1.0,
              model.intercept.data(), 1);
  model.alpha.resize(static_cast<size_t>(t));
  for (int64_t j = 0; j < t; ++j) model.alpha[j] = alphas.size() == 1 ? alphas[0] : alphas[j];
  return model;
}

void checkpoint(const RidgeOptions& options) {
  if (options.checkpoint) options.checkpoint();
}

// Validation R² of every penalty on one fold: (n_alphas, T).
std::vector<double> score_fold(MatrixView x, MatrixView y, std::span<const int64_t> val,
                               const RidgeOptions& options) {
  const int64_t d = x.cols, t = y.cols;
  std::vector<char> is_val(static_cast<size_t>(x.rows), 0);
  for (int64_t i : val) is_val[i] = 1;
  std::vector<int64_t> train;
  train.reserve(x.rows - val.size());
  for (int64_t i = 0; i < x.rows; ++i)
    if (!is_val[i]) train.push_back(i);
  const int64_t n_train = static_cast<int64_t>(train.size());
  const int64_t n_val = static_cast<int64_t>(val.size());

  std::vector<double> x_train = gather_rows(x, train), y_train = gather_rows(y, train);
  std::vector<double> x_val = gather_rows(x, val), y_val = gather_rows(y, val);
  if (options.fit_intercept) {
    const auto x_mean = column_means(x_train, n_train, d);
    const auto y_mean = column_means(y_train, n_train, t);
    subtract_from_rows(x_train, x_mean);
    subtract_from_rows(x_val, x_mean);
    subtract_from_rows(y_train, y_mean);
    subtract_from_rows(y_val, y_mean);
  }
  const std::vector<double> ss_tot = column_total_sums(y_val.data(), n_val, t);

  const ThinSvd svd = thin_svd(std::move(x_train), n_train, d);
  const int64_t r = svd.rank;
  std::vector<double> uty(static_cast<size_t>(r * t));
  gemm(true, false, r, t, n_train, svd.u.data(), r, y_train.data(), t, uty.data());
  std::vector<double> xv_v(static_cast<size_t>(n_val * r));  // X_val V
  gemm(false, true, n_val, r, d, x_val.data(), d, svd.vt.data(), d, xv_v.data());

  const int64_t n_alphas = static_cast<int64_t>(options.alphas.size());
  std::vector<double> scores(static_cast<size_t>(n_alphas * t));
  tbb::parallel_for(int64_t{0}, n_alphas, [&](int64_t a) {
    checkpoint(options);
    std::vector<double> factor(static_cast<size_t>(r));
    for (int64_t i = 0; i < r; ++i) factor[i] = shrink(svd, i, options.alphas[a]);
    std::vector<double> scaled(xv_v);
    for (int64_t k = 0; k < n_val; ++k)
      for (int64_t i = 0; i < r; ++i) scaled[k * r + i] *= factor[i];
    std::vector<double> prediction(static_cast<size_t>(n_val * t));
    gemm(false, false, n_val, t, r, scaled.data(), r, uty.data(), t, prediction.data());
    std::vector<double> ss_res(static_cast<size_t>(t), 0.0);
    for (int64_t k = 0; k < n_val; ++k)
      for (int64_t j = 0; j < t; ++j) {
        const double e = y_val[k * t + j] - prediction[k * t + j];
        ss_res[j] += e * e;
      }
    for (int64_t j = 0; j < t; ++j) scores[a * t + j] = r2_from_sums(ss_res[j], ss_tot[j]);
  });
  return scores;
}

std::vector<double> mean_cv_scores(MatrixView x, MatrixView y,
                                   const std::vector<std::vector<int64_t>>& folds,
                                   const RidgeOptions& options) {
  std::vector<std::vector<double>> per_fold(folds.size());
  tbb::parallel_for(size_t{0}, folds.size(), [&](size_t f) {
    per_fold[f] = score_fold(x, y, folds[f], options);
  });
  // Summed in fold order whatever order the folds finished in.
  std::vector<double> mean(per_fold[0].size(), 0.0);
  for (const auto& scores : per_fold)
    for (size_t i = 0; i < mean.size(); ++i) mean[i] += scores[i];
  for (double& v : mean) v /= static_cast<double>(folds.size());
  return mean;
}

// Is (score, alpha) better than the best so far? Ties go to the larger penalty.
bool better(double score, double alpha, double best_score, double best_alpha) {
  return score > best_score || (score == best_score && alpha > best_alpha);
}

}  // namespace

void check_options(const RidgeOptions& options) {
  if (options.alphas.empty()) throw RidgeError(ErrorKind::config, "alphas is empty");
  for (size_t a = 0; a < options.alphas.size(); ++a) {
    const double alpha = options.alphas[a];
    if (!std::isfinite(alpha) || alpha < 0)
      throw RidgeError(ErrorKind::config, "alphas[" + std::to_string(a) + "] = " +
                                              std::to_string(alpha) +
                                              " is not a finite value >= 0");
  }
  if (options.folds < 2)
    throw RidgeError(ErrorKind::config,
                     "folds = " + std::to_string(options.folds) + " is below the minimum of 2");
}

std::vector<std::vector<int64_t>> kfold_split(int64_t n_samples, int64_t folds, uint64_t seed) {
  if (folds < 2 || folds > n_samples)
    throw RidgeError(ErrorKind::config, "folds = " + std::to_string(folds) +
                                            " must lie in [2, number of samples = " +
                                            std::to_string(n_samples) + "]");
  std::vector<int64_t> order(static_cast<size_t>(n_samples));
  std::iota(order.begin(), order.end(), int64_t{0});
  Rng rng = Rng::stream(seed, 0);
  rng.shuffle(order.begin(), order.end());
  std::vector<std::vector<int64_t>> split(static_cast<size_t>(folds));
  const int64_t base = n_samples / folds, extra = n_samples % folds;
  int64_t start = 0;
  for (int64_t f = 0; f < folds; ++f) {
    const int64_t size = base + (f < extra ? 1 : 0);
    split[f].assign(order.begin() + start, order.begin() + start + size);
    std::sort(split[f].begin(), split[f].end());
    start += size;
  }
  return split;
}

RidgeModel fit_ridge(MatrixView x, MatrixView y, std::span<const double> alphas,
                     bool fit_intercept) {
  check_training_data(x, y);
  if (alphas.size() != 1 && alphas.size() != static_cast<size_t>(y.cols))
    throw RidgeError(ErrorKind::config, "alphas holds " + std::to_string(alphas.size()) +
                                            " values; expected 1 or one per target (" +
                                            std::to_string(y.cols) + ")");
  for (double alpha : alphas)
    if (!std::isfinite(alpha) || alpha < 0)
      throw RidgeError(ErrorKind::config, "alphas holds " + std::to_string(alpha) +
                                              ", not a finite value >= 0");
  return solve(decompose(x, y, fit_intercept), alphas);
}

std::vector<double> cross_validate(MatrixView x, MatrixView y, const RidgeOptions& options) {
  check_options(options);
  check_training_data(x, y);
  return mean_cv_scores(x, y, kfold_split(x.rows, options.folds, options.seed), options);
}

RidgeModel fit_ridge_cv(MatrixView x, MatrixView y, const RidgeOptions& options) {
  check_options(options);
  check_training_data(x, y);
  const auto folds = kfold_split(x.rows, options.folds, options.seed);

  // The cross-validation and the decomposition of the full data are independent.
  std::vector<double> scores;
  Decomposition full;
  tbb::parallel_invoke([&] { scores = mean_cv_scores(x, y, folds, options); },
                       [&] { full = decompose(x, y, options.fit_intercept); });
  checkpoint(options);

  const auto& alphas = options.alphas;
  const int64_t n_alphas = static_cast<int64_t>(alphas.size()), t = y.cols;
  std::vector<double> chosen(static_cast<size_t>(t));
  std::vector<double> cv_r2(static_cast<size_t>(t));
  if (options.alpha_per_target) {
    for (int64_t j = 0; j < t; ++j) {
      int64_t best = 0;
      for (int64_t a = 1; a < n_alphas; ++a)
        if (better(scores[a * t + j], alphas[a], scores[best * t + j], alphas[best])) best = a;
      chosen[j] = alphas[best];
      cv_r2[j] = scores[best * t + j];
    }
  } else {
    std::vector<double> mean_over_targets(static_cast<size_t>(n_alphas), 0.0);
    for (int64_t a = 0; a < n_alphas; ++a) {
      for (int64_t j = 0; j < t; ++j) mean_over_targets[a] += scores[a * t + j];
      mean_over_targets[a] /= static_cast<double>(t);
    }
    int64_t best = 0;
    for (int64_t a = 1; a < n_alphas; ++a)
      if (better(mean_over_targets[a], alphas[a], mean_over_targets[best], alphas[best])) best = a;
    std::fill(chosen.begin(), chosen.end(), alphas[best]);
    for (int64_t j = 0; j < t; ++j) cv_r2[j] = scores[best * t + j];
  }

  RidgeModel model = solve(full, chosen);
  model.cv_r2 = std::move(cv_r2);
  return model;
}

std::vector<double> predict(MatrixView x, MatrixView coef, std::span<const double> intercept) {
  check_matrix(x, "x");
  check_matrix(coef, "coef");
  if (x.cols != coef.rows)
    throw RidgeError(ErrorKind::data, "x has " + std::to_string(x.cols) +
                                          " columns but coef has " + std::to_string(coef.rows) +
                                          " rows");
  if (intercept.size() != static_cast<size_t>(coef.cols))
    throw RidgeError(ErrorKind::data, "intercept has " + std::to_string(intercept.size()) +
                                          " values but coef has " + std::to_string(coef.cols) +
                                          " columns");
  for (size_t j = 0; j < intercept.size(); ++j)
    if (!std::isfinite(intercept[j]))
      throw RidgeError(ErrorKind::data,
                       "intercept holds a non-finite value at " + std::to_string(j));
  const int64_t m = x.rows, d = x.cols, t = coef.cols;
  std::vector<double> y(static_cast<size_t>(m * t));
  const int64_t n_blocks = (m + kRowsPerBlock - 1) / kRowsPerBlock;
  tbb::parallel_for(int64_t{0}, n_blocks, [&](int64_t b) {
    const int64_t first = b * kRowsPerBlock, rows = std::min(kRowsPerBlock, m - first);
    double* out = y.data() + first * t;
    gemm(false, false, rows, t, d, x.data + first * d, d, coef.data, t, out);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < t; ++j) out[i * t + j] += intercept[j];
  });
  return y;
}

std::vector<double> r2_score(MatrixView y_true, MatrixView y_pred) {
  if (y_true.rows != y_pred.rows || y_true.cols != y_pred.cols)
    throw RidgeError(ErrorKind::data, "r2_score: y_true and y_pred differ in shape");
  const int64_t n = y_true.rows, t = y_true.cols;
  const std::vector<double> ss_tot = column_total_sums(y_true.data, n, t);
  std::vector<double> ss_res(static_cast<size_t>(t), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < t; ++j) {
      const double e = y_true.data[i * t + j] - y_pred.data[i * t + j];
      ss_res[j] += e * e;
    }
  std::vector<double> r2(static_cast<size_t>(t));
  for (int64_t j = 0; j < t; ++j) r2[j] = r2_from_sums(ss_res[j], ss_tot[j]);
  return r2;
}

}  // namespace glia::linear
