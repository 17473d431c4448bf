#include "metrics.hpp"

#include "errors.hpp"
#include "labels.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace glia::core {

namespace {

void check_finite(const double* v, int64_t count, int64_t t, bool is_prediction) {
  for (int64_t i = 0; i < count; ++i) {
    if (std::isfinite(v[i])) continue;
    const std::string where = std::to_string(v[i]) + " at row " + std::to_string(i / t) +
                              (t > 1 ? ", target " + std::to_string(i % t) : std::string());
    if (is_prediction) throw numeric_failure("y_pred holds " + where + " (did the model diverge?)");
    throw data_failure("y_true holds " + where);
  }
}

}  // namespace

RegressionScores regression_scores(const double* y_true, const double* y_pred, int64_t n, int64_t t) {
  if (n <= 0 || t <= 0) throw data_failure("regression metrics need at least one row and target");
  check_finite(y_true, n * t, t, false);
  check_finite(y_pred, n * t, t, true);
  const auto tu = static_cast<size_t>(t);
  std::vector<double> sq(tu, 0.0), ab(tu, 0.0), mean(tu, 0.0), tot(tu, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < tu; ++j) {
      const double e = y_pred[i * t + static_cast<int64_t>(j)] - y_true[i * t + static_cast<int64_t>(j)];
      sq[j] += e * e;
      ab[j] += std::abs(e);
      mean[j] += y_true[i * t + static_cast<int64_t>(j)];
    }
  for (size_t j = 0; j < tu; ++j) mean[j] /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (size_t j = 0; j < tu; ++j) {
      const double dev = y_true[i * t + static_cast<int64_t>(j)] - mean[j];
      tot[j] += dev * dev;
    }
  RegressionScores s;
  const double nd = static_cast<double>(n);
  for (size_t j = 0; j < tu; ++j) {
    const double mse = sq[j] / nd;
    s.mse += mse;
    s.rmse += std::sqrt(mse);
    s.mae += ab[j] / nd;
    s.r2 += tot[j] > 0 ? 1.0 - sq[j] / tot[j] : (sq[j] == 0 ? 1.0 : 0.0);
  }
  s.mse /= static_cast<double>(t);
  s.rmse /= static_cast<double>(t);
  s.mae /= static_cast<double>(t);
  s.r2 /= static_cast<double>(t);
  return s;
}

ClassificationScores classification_scores(std::span<const int64_t> y_true,
                                           std::span<const int64_t> y_pred, int64_t classes) {
  if (y_true.size() != y_pred.size())
    throw data_failure("y_true has " + std::to_string(y_true.size()) + " rows, y_pred " +
                       std::to_string(y_pred.size()));
  if (y_true.empty()) throw data_failure("classification metrics need at least one row");
  check_label_range(y_true, classes, "y_true");
  check_label_range(y_pred, classes, "y_pred");
  if (classes <= 0) classes = std::max(infer_classes(y_true), infer_classes(y_pred));

  ClassificationScores s;
  s.classes = classes;
  const auto c = static_cast<size_t>(classes);
  s.confusion.assign(c * c, 0);
  for (size_t i = 0; i < y_true.size(); ++i)
    ++s.confusion[static_cast<size_t>(y_true[i]) * c + static_cast<size_t>(y_pred[i])];

  int64_t correct = 0, present = 0;
  double f1_sum = 0;
  std::vector<double> f1(c, 0.0);
  for (size_t k = 0; k < c; ++k) {
    const int64_t tp = s.confusion[k * c + k];
    int64_t row = 0, col = 0;  // true k, predicted k
    for (size_t j = 0; j < c; ++j) {
      row += s.confusion[k * c + j];
      col += s.confusion[j * c + k];
    }
    correct += tp;
    if (row + col == 0) continue;  // class absent from both: left out of the macro average
    ++present;
    f1[k] = 2.0 * static_cast<double>(tp) / static_cast<double>(row + col);
    f1_sum += f1[k];
  }
  s.accuracy = static_cast<double>(correct) / static_cast<double>(y_true.size());
  s.macro_f1 = f1_sum / static_cast<double>(present);
  s.f1 = c > 1 ? f1[1] : 0.0;
  return s;
}

std::vector<int64_t> argmax_rows(const double* scores, int64_t n, int64_t c) {
  if (c <= 0) throw data_failure("y_pred scores have no columns");
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double* row = scores + i * c;
    int64_t best = 0;
    for (int64_t j = 0; j < c; ++j) {
      if (std::isnan(row[j]))
        throw numeric_failure("y_pred holds NaN at row " + std::to_string(i) + ", column " +
                              std::to_string(j) + " (did the model diverge?)");
      if (row[j] > row[best]) best = j;
    }
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

}  // namespace glia::core
