#include "errors.hpp"
#include "labels.hpp"
#include "split.hpp"
#include "standardize.hpp"
#include "synthetic.hpp"

#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <set>

using namespace glia::core;

namespace {

std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// train + test must be a partition of 0..n-1.
void check_partition(const SplitIndices& s, int64_t n) {
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::vector<int64_t> expect(static_cast<size_t>(n));
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(sorted(all) == expect);
}

}  // namespace

TEST_CASE("split: sizes, partition, seeding and order") {
  CHECK(test_count(100, 0.25) == 25);
  CHECK(test_count(10, 0.01) == 1);
  CHECK(test_count(10, 0.99) == 9);
  CHECK(test_count(7, 0.5) == 4);
  CHECK_THROWS_WITH(test_count(1, 0.5), Catch::Contains("need at least 2"));

  const SplitIndices a = split_indices(100, 0.25, true, 7);
  CHECK(a.test.size() == 25);
  check_partition(a, 100);
  const SplitIndices b = split_indices(100, 0.25, true, 7);
  CHECK(a.train == b.train);
  CHECK(a.test == b.test);
  CHECK(split_indices(100, 0.25, true, 8).test != a.test);
  CHECK(!std::is_sorted(a.train.begin(), a.train.end()));

  const SplitIndices c = split_indices(10, 0.3, false, 7);
  CHECK(c.train == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(c.test == std::vector<int64_t>{7, 8, 9});
}

TEST_CASE("split: stratified keeps class shares") {
  // 60 of class 0, 30 of class 5, 10 of class -1 (any integer labels), interleaved.
  std::vector<int64_t> y;
  for (int i = 0; i < 100; ++i) y.push_back(i % 10 == 9 ? -1 : (i % 3 == 0 ? 5 : 0));
  const int64_t n0 = std::count(y.begin(), y.end(), 0), n5 = std::count(y.begin(), y.end(), 5);
  for (bool shuffle : {true, false}) {
    const SplitIndices s = split_indices(100, 0.2, shuffle, 3, y);
    check_partition(s, 100);
    REQUIRE(s.test.size() == 20);
    auto count = [&](const std::vector<int64_t>& rows, int64_t label) {
      return std::count_if(rows.begin(), rows.end(), [&](int64_t r) { return y[static_cast<size_t>(r)] == label; });
    };
    CHECK(count(s.test, -1) == 2);
    CHECK(std::abs(count(s.test, 0) - 0.2 * static_cast<double>(n0)) <= 1);
    CHECK(std::abs(count(s.test, 5) - 0.2 * static_cast<double>(n5)) <= 1);
    if (!shuffle) CHECK(std::is_sorted(s.test.begin(), s.test.end()));
  }
  // Every class gets at least one test and one train row even when its share rounds to 0.
  std::vector<int64_t> skewed(50, 0);
  skewed[3] = skewed[40] = 1;
  const SplitIndices s = split_indices(50, 0.1, true, 1, skewed);
  CHECK(std::count_if(s.test.begin(), s.test.end(), [&](int64_t r) { return skewed[static_cast<size_t>(r)] == 1; }) == 1);
  CHECK(s.test.size() == 5);

  CHECK_THROWS_WITH(split_indices(5, 0.4, true, 1, std::vector<int64_t>{0, 0, 0, 1, 0}),
                    Catch::Contains("class 1 has a single row"));
  CHECK_THROWS_WITH(split_indices(6, 0.2, true, 1, std::vector<int64_t>{0, 0, 1, 1, 2, 2}),
                    Catch::Contains("3 classes do not fit in 2 test"));
}

TEST_CASE("standardize: mean 0, scale 1, constant columns, test transform") {
  // Column 0 varies; column 1 is the constant 0.1 (whose float mean is not exactly 0.1).
  const std::vector<double> x{1, 0.1, 2, 0.1, 3, 0.1, 6, 0.1};
  const Standardizer s = fit_standardizer(x.data(), 4, 2, "x");
  CHECK(s.mean[0] == 3.0);
  CHECK(s.scale[0] == Approx(std::sqrt((4 + 1 + 0 + 9) / 4.0)));
  CHECK(s.mean[1] == 0.1);
  CHECK(s.scale[1] == 1.0);
  std::vector<double> z(8);
  apply_standardizer(s, x.data(), 4, z.data(), "x");
  for (int i = 0; i < 4; ++i) CHECK(z[static_cast<size_t>(2 * i + 1)] == 0.0);
  CHECK(z[0] == Approx(-2 / s.scale[0]));
  const std::vector<double> test{3, 5};
  std::vector<double> zt(2);
  apply_standardizer(s, test.data(), 1, zt.data(), "x_test");
  CHECK(zt[0] == 0.0);
  CHECK(zt[1] == Approx(4.9));

  std::vector<double> bad = x;
  bad[5] = NAN;
  CHECK_THROWS_WITH(fit_standardizer(bad.data(), 4, 2, "input 'x_train'"),
                    "input 'x_train': value nan at row 2, column 1 is not finite");
  CHECK_THROWS_WITH(apply_standardizer(s, bad.data(), 4, z.data(), "input 'x_test'"),
                    Catch::Contains("input 'x_test'"));
  CHECK_THROWS_WITH(fit_standardizer(x.data(), 0, 2, "x"), Catch::Contains("no rows"));
}

TEST_CASE("standardize: many rows, bit-identical with 1 or 2 threads") {
  const int64_t n = 20000, d = 7;
  std::vector<double> x(static_cast<size_t>(n * d));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<double>(i) * 0.37) * 1e3 + static_cast<double>(i % d);
  const Standardizer par = fit_standardizer(x.data(), n, d, "x");
  std::vector<double> z(x.size());
  apply_standardizer(par, x.data(), n, z.data(), "x");
  for (int64_t j = 0; j < d; ++j) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) m += z[static_cast<size_t>(i * d + j)];
    for (int64_t i = 0; i < n; ++i) v += z[static_cast<size_t>(i * d + j)] * z[static_cast<size_t>(i * d + j)];
    CHECK(m / n == Approx(0).margin(1e-12));
    CHECK(v / n == Approx(1).epsilon(1e-12));
  }
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const Standardizer ser = fit_standardizer(x.data(), n, d, "x");
  CHECK(ser.mean == par.mean);
  CHECK(ser.scale == par.scale);
}

TEST_CASE("labels and one-hot") {
  CHECK(labels_from_doubles(std::vector<double>{0, 2, 1}, "y") == std::vector<int64_t>{0, 2, 1});
  CHECK_THROWS_WITH(labels_from_doubles(std::vector<double>{0, 1.5}, "input 'y'"),
                    "input 'y': value 1.500000 at row 1 is not an integer class label");
  CHECK_THROWS_WITH(labels_from_doubles(std::vector<double>{NAN}, "y"), Catch::Contains("not an integer"));
  CHECK(infer_classes(std::vector<int64_t>{0, 3, 1}) == 4);
  CHECK(one_hot(std::vector<int64_t>{2, 0}, 3, "y") == std::vector<double>{0, 0, 1, 1, 0, 0});
  CHECK_THROWS_WITH(one_hot(std::vector<int64_t>{0, -1}, 3, "input 'y'"), "input 'y': label -1 at row 1 is negative");
  CHECK_THROWS_WITH(one_hot(std::vector<int64_t>{0, 3}, 3, "input 'y'"),
                    "input 'y': label 3 at row 1 is out of range for classes = 3");
}

TEST_CASE("synthetic: ground truth holds exactly without noise") {
  SyntheticSpec s;
  s.samples = 300;
  s.features = 6;
  s.informative = 3;
  s.noise = 0;
  s.seed = 11;
  SECTION("linear") {
    const SyntheticData d = make_synthetic(s);
    REQUIRE(d.coef.size() == 6);
    for (int j = 0; j < 3; ++j) CHECK((std::abs(d.coef[static_cast<size_t>(j)]) >= 0.5 && std::abs(d.coef[static_cast<size_t>(j)]) <= 2));
    for (int j = 3; j < 6; ++j) CHECK(d.coef[static_cast<size_t>(j)] == 0.0);
    for (int64_t i = 0; i < s.samples; ++i) {
      double v = d.intercept;
      for (int64_t j = 0; j < 6; ++j) v += d.x[static_cast<size_t>(i * 6 + j)] * d.coef[static_cast<size_t>(j)];
      REQUIRE(d.y[static_cast<size_t>(i)] == Approx(v).margin(1e-12));
    }
  }
  SECTION("friedman1 and sine") {
    s.function = SyntheticFunction::friedman1;
    const SyntheticData f = make_synthetic(s);
    for (int64_t i = 0; i < s.samples; ++i) {
      const double* x = f.x.data() + i * 6;
      for (int j = 0; j < 6; ++j) REQUIRE((x[j] >= 0 && x[j] <= 1));
      const double y = 10 * std::sin(std::numbers::pi * x[0] * x[1]) + 20 * (x[2] - 0.5) * (x[2] - 0.5) + 10 * x[3] + 5 * x[4];
      REQUIRE(f.y[static_cast<size_t>(i)] == Approx(y).margin(1e-12));
    }
    s.function = SyntheticFunction::sine;
    const SyntheticData g = make_synthetic(s);
    for (int64_t i = 0; i < s.samples; ++i) {
      const double* x = g.x.data() + i * 6;
      REQUIRE((x[0] >= -1 && x[0] <= 1));
      REQUIRE(g.y[static_cast<size_t>(i)] == Approx(std::sin(std::numbers::pi * x[0]) * std::cos(std::numbers::pi * x[1])).margin(1e-12));
    }
  }
  SECTION("blobs and moons") {
    s.classification = true;
    s.function = SyntheticFunction::blobs;
    s.classes = 3;
    const SyntheticData b = make_synthetic(s);
    CHECK(std::count(b.labels.begin(), b.labels.end(), 2) == 100);
    for (int64_t i = 0; i < 3; ++i)  // no noise: every row of a class is its centre
      CHECK(std::equal(b.x.begin() + i * 6, b.x.begin() + i * 6 + 6, b.x.begin() + (i + 3) * 6));
    CHECK(b.x[5] == 0.0);  // beyond `informative` the centres are 0
    s.function = SyntheticFunction::moons;
    s.classes = 2;
    const SyntheticData m = make_synthetic(s);
    for (int64_t i = 0; i < s.samples; ++i) {
      const double x0 = m.x[static_cast<size_t>(i * 6)], x1 = m.x[static_cast<size_t>(i * 6 + 1)];
      const double r = m.labels[static_cast<size_t>(i)] == 0 ? std::hypot(x0, x1) : std::hypot(x0 - 1, x1 - 0.5);
      REQUIRE(r == Approx(1.0));
    }
  }
}

TEST_CASE("synthetic: seeded, thread-count independent, correlated on request") {
  SyntheticSpec s;
  s.samples = 5000;
  s.features = 4;
  s.correlation = 0.6;
  s.seed = 5;
  const SyntheticData a = make_synthetic(s);
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    const SyntheticData b = make_synthetic(s);
    CHECK(a.x == b.x);
    CHECK(a.y == b.y);
  }
  s.seed = 6;
  CHECK(make_synthetic(s).x != a.x);
  // Empirical correlation of features 0 and 3.
  double m0 = 0, m3 = 0, c = 0, v0 = 0, v3 = 0;
  for (int64_t i = 0; i < s.samples; ++i) m0 += a.x[static_cast<size_t>(i * 4)], m3 += a.x[static_cast<size_t>(i * 4 + 3)];
  m0 /= s.samples, m3 /= s.samples;
  for (int64_t i = 0; i < s.samples; ++i) {
    const double d0 = a.x[static_cast<size_t>(i * 4)] - m0, d3 = a.x[static_cast<size_t>(i * 4 + 3)] - m3;
    c += d0 * d3, v0 += d0 * d0, v3 += d3 * d3;
  }
  CHECK(c / std::sqrt(v0 * v3) == Approx(0.6).margin(0.05));
}

TEST_CASE("synthetic: configuration errors") {
  SyntheticSpec s;
  s.function = SyntheticFunction::moons;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("set task = \"classification\""));
  s.classification = true;
  s.classes = 3;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("moons makes exactly 2 classes"));
  s.classes = 2;
  s.features = 1;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("moons uses 2 features"));
  s = {};
  s.classification = true;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("'linear' makes regression data"));
  s = {};
  s.function = SyntheticFunction::friedman1;
  s.features = 4;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("features >= 5"));
  s = {};
  s.noise = -1;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("noise"));
  s = {};
  s.correlation = 1.5;
  CHECK_THROWS_WITH(check_synthetic(s), Catch::Contains("correlation"));
  CHECK_THROWS_WITH(parse_synthetic_function("spiral"), Catch::Contains("unknown generator 'spiral'"));
  CHECK(parse_synthetic_function("sine") == SyntheticFunction::sine);
}
