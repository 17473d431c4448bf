// linear.ridge and linear.predict driven through the real ABI trampolines.
#include "linear_plugin.hpp"

#include <glia/random.hpp>
#include <glia/testing.hpp>

#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

using glia::linear::Predict;
using glia::linear::Ridge;
using glia::testing::Harness;

namespace {

// Linear data y = x W + b + noise with the same W, b for every call on one generator seed.
struct Synthetic {
  int64_t d, t;
  std::vector<double> w, b;
  Synthetic(int64_t d_, int64_t t_) : d(d_), t(t_) {
    glia::Rng rng(1000);
    for (int64_t i = 0; i < d * t; ++i) w.push_back(rng.normal());
    for (int64_t j = 0; j < t; ++j) b.push_back(rng.uniform(-5, 5));
  }
  void sample(int64_t n, double noise, uint64_t seed, std::vector<double>& x,
              std::vector<double>& y) const {
    glia::Rng rng(seed);
    x.assign(n * d, 0.0);
    y.assign(n * t, 0.0);
    for (double& v : x) v = rng.normal();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < t; ++j) {
        double s = b[j] + noise * rng.normal();
        for (int64_t k = 0; k < d; ++k) s += x[i * d + k] * w[k * t + j];
        y[i * t + j] = s;
      }
  }
};

double r2(const std::vector<double>& truth, const std::vector<double>& pred, int64_t t,
          int64_t j) {
  const int64_t n = static_cast<int64_t>(truth.size()) / t;
  double mean = 0, ss_tot = 0, ss_res = 0;
  for (int64_t i = 0; i < n; ++i) mean += truth[i * t + j] / n;
  for (int64_t i = 0; i < n; ++i) {
    ss_tot += std::pow(truth[i * t + j] - mean, 2);
    ss_res += std::pow(truth[i * t + j] - pred[i * t + j], 2);
  }
  return 1 - ss_res / ss_tot;
}

void set_training_data(Harness<Ridge>& h, int64_t n = 40, int64_t d = 4, int64_t t = 2) {
  Synthetic model(d, t);
  std::vector<double> x, y;
  model.sample(n, 0.5, 1, x, y);
  h.input("x", x, {n, d});
  h.input("y", y, {n, t});
}

void require_error(Harness<Ridge>& h, glia_status status, const std::string& fragment) {
  REQUIRE(h.run() == status);
  INFO(h.error());
  REQUIRE(h.error().find(fragment) != std::string::npos);
}

}  // namespace

TEST_CASE("linear.ridge fits and predicts synthetic linear data", "[operators]") {
  const int64_t n = 300, m = 200, d = 12, t = 3;
  Synthetic truth(d, t);
  std::vector<double> x, y, x_test, y_test;
  truth.sample(n, 0.5, 1, x, y);
  truth.sample(m, 0.5, 2, x_test, y_test);

  Harness<Ridge> h;
  h.input("x", x, {n, d});
  h.input("y", y, {n, t});
  h.input("x_test", x_test, {m, d});
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.output_shape("coef") == std::vector<int64_t>{d, t});
  REQUIRE(h.output_shape("intercept") == std::vector<int64_t>{t});
  REQUIRE(h.output_shape("alpha") == std::vector<int64_t>{t});
  REQUIRE(h.output_shape("cv_r2") == std::vector<int64_t>{t});
  REQUIRE(h.output_shape("prediction") == std::vector<int64_t>{m, t});
  const auto prediction = h.output<double>("prediction");
  for (int64_t j = 0; j < t; ++j) REQUIRE(r2(y_test, prediction, t, j) > 0.95);
  const auto coef = h.output<double>("coef");
  for (int64_t k = 0; k < d * t; ++k) REQUIRE(coef[k] == Approx(truth.w[k]).margin(0.1));
  const auto intercept = h.output<double>("intercept");
  for (int64_t j = 0; j < t; ++j) REQUIRE(intercept[j] == Approx(truth.b[j]).margin(0.1));
  const auto cv_r2 = h.output<double>("cv_r2");
  REQUIRE(h.metric("cv_r2") == Approx((cv_r2[0] + cv_r2[1] + cv_r2[2]) / 3));
  auto alpha = h.output<double>("alpha");
  std::sort(alpha.begin(), alpha.end());
  REQUIRE(h.metric("alpha") == alpha[1]);

  // linear.predict on the fitted model reproduces the prediction.
  Harness<Predict> p;
  p.input("x", x_test, {m, d});
  p.input("coef", coef, {d, t});
  p.input("intercept", intercept, {t});
  REQUIRE(p.run() == GLIA_OK);
  REQUIRE(p.output_shape("y") == std::vector<int64_t>{m, t});
  REQUIRE(p.output<double>("y") == prediction);
}

TEST_CASE("linear.ridge takes float32 x and 1-D y and answers in y's rank", "[operators]") {
  const int64_t n = 120, m = 30, d = 5;
  Synthetic truth(d, 1);
  std::vector<double> x, y, x_test, y_test;
  truth.sample(n, 0.1, 3, x, y);
  truth.sample(m, 0.1, 4, x_test, y_test);
  Harness<Ridge> h;
  h.input("x", std::vector<float>(x.begin(), x.end()), {n, d});
  h.input("y", y, {n});
  h.input("x_test", std::vector<float>(x_test.begin(), x_test.end()), {m, d});
  h.param("folds", 3);
  h.param("alphas", std::vector<double>{0.01, 1.0, 100.0});
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.output_shape("coef") == std::vector<int64_t>{d, 1});
  REQUIRE(h.output_shape("prediction") == std::vector<int64_t>{m});
  REQUIRE(r2(y_test, h.output<double>("prediction"), 1, 0) > 0.95);
}

TEST_CASE("linear.ridge leaves prediction unallocated without x_test", "[operators]") {
  Harness<Ridge> h;
  set_training_data(h);
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.has_output("coef"));
  REQUIRE_FALSE(h.has_output("prediction"));
}

TEST_CASE("linear.ridge is bit-identical per seed, whatever the thread count", "[operators]") {
  auto fit = [](uint64_t seed) {
    Harness<Ridge> h;
    set_training_data(h, 90, 8, 20);
    h.seed(seed);
    REQUIRE(h.run() == GLIA_OK);
    auto out = h.output<double>("coef");
    for (const char* port : {"intercept", "alpha", "cv_r2"}) {
      const auto v = h.output<double>(port);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  };
  const auto reference = fit(5);
  {
    tbb::global_control single(tbb::global_control::max_allowed_parallelism, 1);
    REQUIRE(fit(5) == reference);
  }
  REQUIRE(fit(5) == reference);
  REQUIRE(fit(6) != reference);
}

TEST_CASE("linear.ridge reports bad input with the place", "[operators]") {
  Harness<Ridge> h;
  SECTION("folds > N") {
    set_training_data(h, 6);
    h.param("folds", 7);
    require_error(h, GLIA_ERR_INVALID_ARGUMENT, "folds = 7");
  }
  SECTION("x/y row mismatch") {
    set_training_data(h);
    h.input("y", std::vector<double>(39, 1.0), {39});
    require_error(h, GLIA_ERR_DATA, "x has 40 rows but y has 39");
  }
  SECTION("NaN in x") {
    std::vector<double> x(40 * 4, 1.0);
    x[13] = std::numeric_limits<double>::quiet_NaN();
    set_training_data(h);
    h.input("x", x, {40, 4});
    require_error(h, GLIA_ERR_DATA, "x holds a non-finite value at row 3, column 1");
  }
  SECTION("Inf in y") {
    set_training_data(h);
    std::vector<double> y(40, 0.0);
    y[5] = -std::numeric_limits<double>::infinity();
    h.input("y", y, {40});
    require_error(h, GLIA_ERR_DATA, "y holds a non-finite value at row 5");
  }
  SECTION("empty alpha list") {
    set_training_data(h);
    h.param("alphas", std::vector<double>{});
    require_error(h, GLIA_ERR_INVALID_ARGUMENT, "alphas is empty");
  }
  SECTION("negative alpha") {
    set_training_data(h);
    h.param("alphas", std::vector<double>{1.0, 10.0, -2.0});
    require_error(h, GLIA_ERR_INVALID_ARGUMENT, "alphas[2]");
  }
  SECTION("x_test column mismatch") {
    set_training_data(h);
    h.input("x_test", std::vector<double>(10 * 5, 0.0), {10, 5});
    require_error(h, GLIA_ERR_DATA, "x_test has 5 columns but x has 4");
  }
  SECTION("y of rank 3") {
    set_training_data(h);
    h.input("y", std::vector<double>(40 * 4, 0.0), {40, 2, 2});
    require_error(h, GLIA_ERR_DATA, "input 'y' must be (N) or (N,T)");
  }
  SECTION("missing x") {
    h.input("y", std::vector<double>(40, 0.0), {40});
    require_error(h, GLIA_ERR_INVALID_ARGUMENT, "input 'x' is not connected");
  }
}

TEST_CASE("linear.ridge stops when the run is cancelled", "[operators]") {
  Harness<Ridge> h;
  set_training_data(h);
  h.cancel();
  REQUIRE(h.run() == GLIA_ERR_CANCELLED);
  REQUIRE_FALSE(h.has_output("coef"));
}

TEST_CASE("linear.predict computes x coef + intercept", "[operators]") {
  const std::vector<double> x = {1, 2, 3, 4, 5, 6};  // (3, 2)
  Harness<Predict> h;
  h.input("x", x, {3, 2});
  SECTION("one target, squeezed or not") {
    h.input("coef", std::vector<double>{0.5, -1}, {2, 1});
    h.input("intercept", std::vector<double>{10}, {1});
    REQUIRE(h.run() == GLIA_OK);
    REQUIRE(h.output_shape("y") == std::vector<int64_t>{3});
    REQUIRE(h.output<double>("y") == std::vector<double>{8.5, 7.5, 6.5});
    h.param("squeeze", false);
    REQUIRE(h.run() == GLIA_OK);
    REQUIRE(h.output_shape("y") == std::vector<int64_t>{3, 1});
  }
  SECTION("two targets, float32 coefficients") {
    h.input("coef", std::vector<float>{1, 0, 0, 2}, {2, 2});
    h.input("intercept", std::vector<float>{0, 1}, {2});
    REQUIRE(h.run() == GLIA_OK);
    REQUIRE(h.output<double>("y") == std::vector<double>{1, 5, 3, 9, 5, 13});
  }
  SECTION("coef rows differ from x columns") {
    h.input("coef", std::vector<double>(3, 1.0), {3, 1});
    h.input("intercept", std::vector<double>{0}, {1});
    REQUIRE(h.run() == GLIA_ERR_DATA);
    REQUIRE(h.error().find("x has 2 columns but coef has 3 rows") != std::string::npos);
  }
  SECTION("intercept length differs from coef columns") {
    h.input("coef", std::vector<double>(4, 1.0), {2, 2});
    h.input("intercept", std::vector<double>{0, 0, 0}, {3});
    REQUIRE(h.run() == GLIA_ERR_DATA);
    REQUIRE(h.error().find("intercept has 3 values") != std::string::npos);
  }
  SECTION("NaN in x") {
    h.input("x", std::vector<double>{1, 2, std::nan(""), 4, 5, 6}, {3, 2});
    h.input("coef", std::vector<double>{1, 1}, {2, 1});
    h.input("intercept", std::vector<double>{0}, {1});
    REQUIRE(h.run() == GLIA_ERR_DATA);
    REQUIRE(h.error().find("x holds a non-finite value") != std::string::npos);
  }
}
