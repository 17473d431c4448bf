// Regression and classification scores. Sums run serially in row order (bit-reproducible).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace glia::core {

struct RegressionScores {
  double mse = 0, rmse = 0, mae = 0, r2 = 0;
};

// Scores of predictions for an (n, t) row-major target matrix, each the mean over the t targets
// of that target's score (rmse is the mean of per-target RMSEs). r2 of a constant target is 1 for
// a perfect prediction, else 0. Data error for n == 0 or NaN/Inf in y_true; numeric error for
// NaN/Inf in y_pred.
RegressionScores regression_scores(const double* y_true, const double* y_pred, int64_t n, int64_t t);

struct ClassificationScores {
  int64_t classes = 0;
  double accuracy = 0;
  double macro_f1 = 0;  // mean F1 over the classes present in y_true or y_pred
  double f1 = 0;        // F1 of class 1; meaningful for binary problems (classes == 2)
  std::vector<int64_t> confusion;  // classes x classes, row = true class, column = predicted
};

// Labels must lie in [0, classes); classes <= 0 infers max(label) + 1 over both arrays.
ClassificationScores classification_scores(std::span<const int64_t> y_true,
                                           std::span<const int64_t> y_pred, int64_t classes);

// Row-wise argmax of an (n, c) score matrix (first maximum wins). Numeric error for NaN.
std::vector<int64_t> argmax_rows(const double* scores, int64_t n, int64_t c);

}  // namespace glia::core
