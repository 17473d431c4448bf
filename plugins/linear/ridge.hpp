// Ridge regression with the penalty chosen by k-fold cross-validation, for many targets at once.
//
// Closed form through one thin SVD per fit: with X = U diag(s) Vᵀ (X and Y centred when fitting
// an intercept), the ridge solution for penalty α is  W = V diag(s / (s² + α)) Uᵀ Y,  so a whole
// grid of penalties, and a different penalty per target, costs a single decomposition.
// (Hoerl & Kennard 1970; the per-target cross-validated penalty follows himalaya, Dupré la Tour
// et al. 2022.)
//
// Matrices are row-major doubles. Results depend only on the inputs and the seed, never on the
// number of TBB threads (assuming single-threaded BLAS calls, as the glia host arranges).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace glia::linear {

// What went wrong, so that a caller can map it to its own error kinds.
enum class ErrorKind {
  config,   // an option or an option/data combination is unusable
  data,     // input data malformed: shape mismatch, NaN or Inf
  numeric   // the decomposition failed
};

class RidgeError : public std::runtime_error {
 public:
  RidgeError(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// A read-only row-major matrix.
struct MatrixView {
  const double* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
};

struct RidgeOptions {
  std::vector<double> alphas;    // candidate penalties, each >= 0
  int64_t folds = 5;             // k of k-fold cross-validation, >= 2
  bool alpha_per_target = true;  // choose a penalty per target, or one shared by all targets
  bool fit_intercept = true;     // centre x and y on the training data
  uint64_t seed = 0;             // drives the fold shuffle
  // Called between pieces of work (from any thread); may throw to abandon the fit.
  std::function<void()> checkpoint;
};

struct RidgeModel {
  int64_t n_features = 0;
  int64_t n_targets = 0;
  std::vector<double> coef;       // (n_features, n_targets)
  std::vector<double> intercept;  // (n_targets)
  std::vector<double> alpha;      // (n_targets) the chosen penalties
  std::vector<double> cv_r2;      // (n_targets) mean validation R² at the chosen penalty;
                                  // empty when the penalty was given, not cross-validated
};

// Throws RidgeError(config) naming `alphas` or `folds` when the options are unusable on their own.
void check_options(const RidgeOptions& options);

// Validation sample indices of each fold: the samples are shuffled with `seed`, then cut into
// `folds` contiguous blocks whose sizes differ by at most one. Indices within a fold are sorted.
std::vector<std::vector<int64_t>> kfold_split(int64_t n_samples, int64_t folds, uint64_t seed);

// Ridge fit with given penalties: `alphas` holds one penalty shared by all targets or one per
// target. x is (N, D), y is (N, T).
RidgeModel fit_ridge(MatrixView x, MatrixView y, std::span<const double> alphas,
                     bool fit_intercept);

// Cross-validated R² of every candidate penalty for every target, averaged over the folds:
// (n_alphas, T), row a for options.alphas[a].
std::vector<double> cross_validate(MatrixView x, MatrixView y, const RidgeOptions& options);

// Chooses the penalty by cross-validation, then refits on all of x and y.
RidgeModel fit_ridge_cv(MatrixView x, MatrixView y, const RidgeOptions& options);

// x (M, D) times coef (D, T) plus intercept (T): (M, T).
std::vector<double> predict(MatrixView x, MatrixView coef, std::span<const double> intercept);

// Coefficient of determination per target (columns of (N, T) matrices), 1 - SS_res / SS_tot
// with SS_tot about the column mean. A constant column scores 1 when predicted exactly, else 0.
std::vector<double> r2_score(MatrixView y_true, MatrixView y_pred);

}  // namespace glia::linear
