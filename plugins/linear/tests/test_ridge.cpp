// The ridge math library, checked against direct computations.
#include "ridge.hpp"

#include <glia/random.hpp>

#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

// The glia host runs plugins with single-threaded OpenBLAS; do the same here.
extern "C" void openblas_set_num_threads(int);
static const bool blas_single_threaded = [] {
  openblas_set_num_threads(1);
  return true;
}();

using namespace glia::linear;

namespace {

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return v[i * cols + j]; }
  double operator()(int64_t i, int64_t j) const { return v[i * cols + j]; }
  MatrixView view() const { return {v.data(), rows, cols}; }
};

Matrix gaussian(int64_t rows, int64_t cols, glia::Rng& rng) {
  Matrix m(rows, cols);
  for (double& x : m.v) x = rng.normal();
  return m;
}

Matrix multiply(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t k = 0; k < a.cols; ++k)
      for (int64_t j = 0; j < b.cols; ++j) c(i, j) += a(i, k) * b(k, j);
  return c;
}

Matrix select_rows(const Matrix& m, const std::vector<int64_t>& rows) {
  Matrix out(static_cast<int64_t>(rows.size()), m.cols);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 0; j < m.cols; ++j) out(static_cast<int64_t>(i), j) = m(rows[i], j);
  return out;
}

// Solves A X = B by Gaussian elimination with partial pivoting (A square, overwritten).
Matrix solve_linear(Matrix a, Matrix b) {
  const int64_t n = a.rows;
  for (int64_t c = 0; c < n; ++c) {
    int64_t pivot = c;
    for (int64_t i = c + 1; i < n; ++i)
      if (std::abs(a(i, c)) > std::abs(a(pivot, c))) pivot = i;
    for (int64_t j = 0; j < n; ++j) std::swap(a(c, j), a(pivot, j));
    for (int64_t j = 0; j < b.cols; ++j) std::swap(b(c, j), b(pivot, j));
    for (int64_t i = c + 1; i < n; ++i) {
      const double f = a(i, c) / a(c, c);
      for (int64_t j = c; j < n; ++j) a(i, j) -= f * a(c, j);
      for (int64_t j = 0; j < b.cols; ++j) b(i, j) -= f * b(c, j);
    }
  }
  for (int64_t c = n - 1; c >= 0; --c)
    for (int64_t j = 0; j < b.cols; ++j) {
      double s = b(c, j);
      for (int64_t k = c + 1; k < n; ++k) s -= a(c, k) * b(k, j);
      b(c, j) = s / a(c, c);
    }
  return b;
}

// Ridge by the normal equations (XᵀX + αI) W = XᵀY on centred data, one target at a time.
void normal_equation_ridge(const Matrix& x, const Matrix& y, const std::vector<double>& alphas,
                           bool fit_intercept, Matrix& coef, std::vector<double>& intercept) {
  const int64_t n = x.rows, d = x.cols, t = y.cols;
  std::vector<double> xm(d, 0.0), ym(t, 0.0);
  if (fit_intercept) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d; ++j) xm[j] += x(i, j) / n;
      for (int64_t j = 0; j < t; ++j) ym[j] += y(i, j) / n;
    }
  }
  Matrix xc = x, yc = y;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) xc(i, j) -= xm[j];
    for (int64_t j = 0; j < t; ++j) yc(i, j) -= ym[j];
  }
  coef = Matrix(d, t);
  intercept.assign(t, 0.0);
  for (int64_t target = 0; target < t; ++target) {
    Matrix gram(d, d), rhs(d, 1);
    for (int64_t a = 0; a < d; ++a) {
      for (int64_t b = 0; b < d; ++b)
        for (int64_t i = 0; i < n; ++i) gram(a, b) += xc(i, a) * xc(i, b);
      gram(a, a) += alphas.size() == 1 ? alphas[0] : alphas[target];
      for (int64_t i = 0; i < n; ++i) rhs(a, 0) += xc(i, a) * yc(i, target);
    }
    const Matrix w = solve_linear(gram, rhs);
    intercept[target] = ym[target];
    for (int64_t a = 0; a < d; ++a) {
      coef(a, target) = w(a, 0);
      intercept[target] -= xm[a] * w(a, 0);
    }
  }
}

void require_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == Approx(b[i]).margin(tol).epsilon(0));
}

bool bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

const std::vector<double> kGrid = {1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4};

}  // namespace

TEST_CASE("fit_ridge matches the normal equations", "[ridge]") {
  glia::Rng rng(7);
  const bool fit_intercept = GENERATE(true, false);
  SECTION("N > D, shared penalty") {
    Matrix x = gaussian(40, 6, rng), y = gaussian(40, 3, rng);
    for (double& v : x.v) v += 2.0;  // off-centre, so the intercept matters
    Matrix coef(0, 0);
    std::vector<double> intercept;
    normal_equation_ridge(x, y, {0.7}, fit_intercept, coef, intercept);
    const std::vector<double> alpha = {0.7};
    const RidgeModel model = fit_ridge(x.view(), y.view(), alpha, fit_intercept);
    REQUIRE(model.n_features == 6);
    REQUIRE(model.n_targets == 3);
    require_close(model.coef, coef.v, 1e-8);
    require_close(model.intercept, intercept, 1e-8);
    REQUIRE(model.alpha == std::vector<double>{0.7, 0.7, 0.7});
  }
  SECTION("N < D, one penalty per target") {
    Matrix x = gaussian(8, 20, rng), y = gaussian(8, 3, rng);
    const std::vector<double> alphas = {0.05, 2.0, 300.0};
    Matrix coef(0, 0);
    std::vector<double> intercept;
    normal_equation_ridge(x, y, alphas, fit_intercept, coef, intercept);
    const RidgeModel model = fit_ridge(x.view(), y.view(), alphas, fit_intercept);
    require_close(model.coef, coef.v, 1e-8);
    require_close(model.intercept, intercept, 1e-8);
    REQUIRE(model.alpha == alphas);
  }
}

TEST_CASE("alpha = 0 gives least squares, the minimum-norm interpolant when N < D", "[ridge]") {
  glia::Rng rng(11);
  const Matrix x = gaussian(10, 25, rng), y = gaussian(10, 2, rng);
  const std::vector<double> zero = {0.0};
  const RidgeModel model = fit_ridge(x.view(), y.view(), zero, false);
  const std::vector<double> fitted =
      predict(x.view(), {model.coef.data(), 25, 2}, model.intercept);
  require_close(fitted, y.v, 1e-9);
  // Minimum norm: the coefficients lie in the row space of x, so W = Xᵀ c for some c.
  Matrix coef(25, 2);
  coef.v = model.coef;
  Matrix xt(25, 10);
  for (int64_t i = 0; i < 10; ++i)
    for (int64_t j = 0; j < 25; ++j) xt(j, i) = x(i, j);
  Matrix gram = multiply(x, xt);
  const Matrix c = solve_linear(gram, y);
  require_close(coef.v, multiply(xt, c).v, 1e-9);
}

TEST_CASE("kfold_split partitions the samples into balanced, seeded folds", "[ridge]") {
  const auto split = kfold_split(23, 5, 99);
  REQUIRE(split.size() == 5);
  std::vector<int64_t> all;
  for (const auto& fold : split) {
    REQUIRE((fold.size() == 4 || fold.size() == 5));
    REQUIRE(std::is_sorted(fold.begin(), fold.end()));
    all.insert(all.end(), fold.begin(), fold.end());
  }
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 23; ++i) REQUIRE(all[i] == i);
  REQUIRE(kfold_split(23, 5, 99) == split);
  REQUIRE(kfold_split(23, 5, 100) != split);
  REQUIRE_THROWS_AS(kfold_split(4, 5, 1), RidgeError);
  REQUIRE_THROWS_AS(kfold_split(10, 1, 1), RidgeError);
}

TEST_CASE("cross_validate equals explicit refits on every fold", "[ridge]") {
  glia::Rng rng(3);
  const Matrix x = gaussian(37, 9, rng);
  Matrix y = gaussian(37, 4, rng);
  const Matrix signal = multiply(x, gaussian(9, 4, rng));
  for (size_t i = 0; i < y.v.size(); ++i) y.v[i] += signal.v[i];
  RidgeOptions options;
  options.alphas = {0.0, 0.1, 5.0, 80.0};
  options.folds = 4;
  options.seed = 1234;
  options.fit_intercept = GENERATE(true, false);
  const std::vector<double> scores = cross_validate(x.view(), y.view(), options);
  REQUIRE(scores.size() == 4 * 4);

  const auto folds = kfold_split(37, 4, 1234);
  std::vector<double> expected(16, 0.0);
  for (const auto& val : folds) {
    std::vector<int64_t> train;
    for (int64_t i = 0; i < 37; ++i)
      if (!std::binary_search(val.begin(), val.end(), i)) train.push_back(i);
    const Matrix x_train = select_rows(x, train), y_train = select_rows(y, train);
    const Matrix x_val = select_rows(x, val), y_val = select_rows(y, val);
    for (size_t a = 0; a < options.alphas.size(); ++a) {
      const std::vector<double> alpha = {options.alphas[a]};
      const RidgeModel m = fit_ridge(x_train.view(), y_train.view(), alpha, options.fit_intercept);
      const std::vector<double> pred = predict(x_val.view(), {m.coef.data(), 9, 4}, m.intercept);
      const std::vector<double> r2 = r2_score(y_val.view(), {pred.data(), y_val.rows, 4});
      for (int64_t j = 0; j < 4; ++j) expected[a * 4 + j] += r2[j] / 4.0;
    }
  }
  require_close(scores, expected, 1e-10);
}

TEST_CASE("cross-validation picks a small penalty on clean data, a large one on noise",
          "[ridge]") {
  glia::Rng rng(5);
  RidgeOptions options;
  options.alphas = kGrid;
  options.seed = 8;
  SECTION("noiseless, well-posed") {
    const Matrix x = gaussian(80, 5, rng);
    Matrix y = multiply(x, gaussian(5, 1, rng));
    for (double& v : y.v) v += 3.0;
    const RidgeModel model = fit_ridge_cv(x.view(), y.view(), options);
    REQUIRE(model.alpha[0] == 1e-3);
    REQUIRE(model.cv_r2[0] > 0.9999);
  }
  SECTION("pure noise") {
    const Matrix x = gaussian(60, 20, rng), y = gaussian(60, 1, rng);
    const RidgeModel model = fit_ridge_cv(x.view(), y.view(), options);
    REQUIRE(model.alpha[0] >= 1e3);
    REQUIRE(model.cv_r2[0] < 0.05);
  }
}

TEST_CASE("per-target penalties follow each target's noise; shared mode uses one", "[ridge]") {
  glia::Rng rng(21);
  const int64_t n = 100, d = 30;
  const Matrix x = gaussian(n, d, rng), w = gaussian(d, 1, rng);
  const Matrix clean = multiply(x, w);
  Matrix y(n, 3);
  for (int64_t i = 0; i < n; ++i) {
    y(i, 0) = clean(i, 0);                             // noiseless
    y(i, 1) = clean(i, 0) + 3.0 * rng.normal();        // noisy
    y(i, 2) = rng.normal();                            // pure noise
  }
  RidgeOptions options;
  options.alphas = kGrid;
  options.seed = 2;
  const RidgeModel per_target = fit_ridge_cv(x.view(), y.view(), options);
  REQUIRE(per_target.alpha[0] < per_target.alpha[1]);
  REQUIRE(per_target.alpha[1] < per_target.alpha[2]);

  // The choice and the reported score agree with the cross-validation table.
  const std::vector<double> scores = cross_validate(x.view(), y.view(), options);
  for (int64_t j = 0; j < 3; ++j) {
    double best = -std::numeric_limits<double>::infinity();
    for (size_t a = 0; a < kGrid.size(); ++a) best = std::max(best, scores[a * 3 + j]);
    REQUIRE(per_target.cv_r2[j] == best);
  }

  options.alpha_per_target = false;
  const RidgeModel shared = fit_ridge_cv(x.view(), y.view(), options);
  REQUIRE(shared.alpha[0] == shared.alpha[1]);
  REQUIRE(shared.alpha[1] == shared.alpha[2]);
  size_t best = 0;
  double best_mean = -std::numeric_limits<double>::infinity();
  for (size_t a = 0; a < kGrid.size(); ++a) {
    const double mean = (scores[a * 3] + scores[a * 3 + 1] + scores[a * 3 + 2]) / 3.0;
    if (mean >= best_mean) best = a, best_mean = mean;
  }
  REQUIRE(shared.alpha[0] == kGrid[best]);
  // The refit uses the chosen penalty.
  const std::vector<double> one = {kGrid[best]};
  REQUIRE(bit_identical(shared.coef, fit_ridge(x.view(), y.view(), one, true).coef));
}

TEST_CASE("ties between penalties go to the larger one", "[ridge]") {
  // A constant target is predicted exactly whatever the penalty: every score is 1.
  glia::Rng rng(4);
  const Matrix x = gaussian(20, 3, rng);
  Matrix y(20, 1);
  for (double& v : y.v) v = 2.5;
  RidgeOptions options;
  options.alphas = {10.0, 1e4, 0.5};
  const RidgeModel model = fit_ridge_cv(x.view(), y.view(), options);
  REQUIRE(model.alpha[0] == 1e4);
  REQUIRE(model.cv_r2[0] == 1.0);
}

TEST_CASE("fits are bit-identical for a seed, whatever the thread count", "[ridge]") {
  glia::Rng rng(17);
  const Matrix x = gaussian(150, 40, rng);
  Matrix y = multiply(x, gaussian(40, 60, rng));
  for (double& v : y.v) v += 3.0 * rng.normal();
  RidgeOptions options;
  options.alphas = kGrid;
  options.seed = 77;

  const RidgeModel reference = fit_ridge_cv(x.view(), y.view(), options);
  const RidgeModel again = fit_ridge_cv(x.view(), y.view(), options);
  for (size_t threads : {size_t{1}, size_t{2}, size_t{3}}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    const RidgeModel model = fit_ridge_cv(x.view(), y.view(), options);
    REQUIRE(bit_identical(model.coef, reference.coef));
    REQUIRE(bit_identical(model.intercept, reference.intercept));
    REQUIRE(bit_identical(model.alpha, reference.alpha));
    REQUIRE(bit_identical(model.cv_r2, reference.cv_r2));
  }
  REQUIRE(bit_identical(again.coef, reference.coef));
  REQUIRE(bit_identical(again.cv_r2, reference.cv_r2));

  options.seed = 78;  // other folds, other scores
  REQUIRE_FALSE(bit_identical(fit_ridge_cv(x.view(), y.view(), options).cv_r2, reference.cv_r2));
}

TEST_CASE("the library rejects bad input with the kind and the place", "[ridge]") {
  glia::Rng rng(1);
  Matrix x = gaussian(10, 3, rng), y = gaussian(10, 2, rng);
  RidgeOptions options;
  options.alphas = {1.0};
  auto kind_of = [&](const MatrixView& xv, const MatrixView& yv, const RidgeOptions& o,
                     const char* fragment) {
    try {
      fit_ridge_cv(xv, yv, o);
    } catch (const RidgeError& e) {
      INFO(e.what());
      REQUIRE(std::string(e.what()).find(fragment) != std::string::npos);
      return e.kind();
    }
    FAIL("no error");
    return ErrorKind::numeric;
  };
  SECTION("folds > N") {
    options.folds = 11;
    REQUIRE(kind_of(x.view(), y.view(), options, "folds") == ErrorKind::config);
  }
  SECTION("row mismatch") {
    REQUIRE(kind_of(x.view(), {y.v.data(), 9, 2}, options, "y") == ErrorKind::data);
  }
  SECTION("NaN in x") {
    x(4, 1) = std::numeric_limits<double>::quiet_NaN();
    REQUIRE(kind_of(x.view(), y.view(), options, "x holds a non-finite value at row 4") ==
            ErrorKind::data);
  }
  SECTION("Inf in y") {
    y(2, 0) = std::numeric_limits<double>::infinity();
    REQUIRE(kind_of(x.view(), y.view(), options, "y holds") == ErrorKind::data);
  }
  SECTION("empty alphas") {
    options.alphas.clear();
    REQUIRE(kind_of(x.view(), y.view(), options, "alphas") == ErrorKind::config);
  }
  SECTION("negative alpha") {
    options.alphas = {1.0, -0.5};
    REQUIRE(kind_of(x.view(), y.view(), options, "alphas[1]") == ErrorKind::config);
  }
  SECTION("predict with mismatched coef") {
    const std::vector<double> coef(4 * 2, 0.0), intercept(2, 0.0);
    REQUIRE_THROWS_AS(predict(x.view(), {coef.data(), 4, 2}, intercept), RidgeError);
  }
}
