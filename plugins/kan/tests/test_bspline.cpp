#include "bspline.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace glia::kan;

// All G+k bases at x, by local evaluation.
static std::vector<double> all_bases(const std::vector<double>& knots, int k, double x, bool slope = false) {
  LocalBasis<double> b;
  local_basis(knots.data(), int(knots.size()), k, x, b, slope);
  std::vector<double> out(knots.size() - k - 1, 0.0);
  if (b.inside)
    for (int r = 0; r <= k; ++r)
      if (b.first + r >= 0 && b.first + r < int(out.size())) out[b.first + r] = slope ? b.slope[r] : b.value[r];
  return out;
}

// Full Cox-de Boor recursion over all bases (pykan's B_batch) as the reference.
static std::vector<double> cox_de_boor(const std::vector<double>& t, int k, double x) {
  std::vector<double> B(t.size() - 1);
  for (size_t j = 0; j + 1 < t.size(); ++j) B[j] = (x >= t[j] && x < t[j + 1]) ? 1.0 : 0.0;
  for (int p = 1; p <= k; ++p) {
    std::vector<double> N(t.size() - 1 - p);
    for (size_t j = 0; j < N.size(); ++j) {
      const double a = t[j + p] - t[j], b = t[j + p + 1] - t[j + 1];
      N[j] = (a != 0 ? (x - t[j]) / a * B[j] : 0.0) + (b != 0 ? (t[j + p + 1] - x) / b * B[j + 1] : 0.0);
    }
    B = N;
  }
  return B;
}

TEST_CASE("cubic bases at 0.25 on knots -4..4 match the hand-computed values (kan.md gate)") {
  std::vector<double> knots;
  for (int i = -4; i <= 4; ++i) knots.push_back(i);
  const auto B = all_bases(knots, 3, 0.25);
  const std::vector<double> expect{0, 0.0703125, 0.6119791666666666, 0.3151041666666667, 0.0026041666666666665};
  REQUIRE(B.size() == 5);
  for (size_t j = 0; j < 5; ++j) CHECK(B[j] == Approx(expect[j]).margin(1e-15));
}

TEST_CASE("local bases equal the full recursion on uniform and non-uniform knots, orders 1..5") {
  const std::vector<double> uneven{-2.0, -1.3, -1.0, -0.2, -0.1, 0.0, 0.0, 0.4, 0.9, 1.5, 2.2, 3.0, 3.1, 4.0};
  for (int k = 1; k <= 5; ++k) {
    const auto uniform = uniform_knots<double>(-1.0, 1.0, 5, k);
    for (const auto* t : {&uniform, &uneven}) {
      for (double x = (*t)[0] - 0.3; x < t->back() + 0.3; x += 0.0137) {
        const auto local = all_bases(*t, k, x), full = cox_de_boor(*t, k, x);
        for (size_t j = 0; j < local.size(); ++j) REQUIRE(local[j] == Approx(full[j]).margin(1e-13));
      }
    }
  }
}

TEST_CASE("basis slopes match central differences") {
  const std::vector<double> t{-2.0, -1.3, -1.0, -0.2, -0.1, 0.3, 0.4, 0.9, 1.5, 2.2, 3.0};
  for (int k = 1; k <= 4; ++k)
    for (double x = -1.9; x < 2.9; x += 0.0731) {
      const double h = 1e-6;
      const auto d = all_bases(t, k, x, true), up = all_bases(t, k, x + h), dn = all_bases(t, k, x - h);
      bool near_knot = false;
      for (double v : t) near_knot |= std::abs(v - x) < 2 * h;
      if (near_knot) continue;
      for (size_t j = 0; j < d.size(); ++j) REQUIRE(d[j] == Approx((up[j] - dn[j]) / (2 * h)).margin(1e-5));
    }
}

TEST_CASE("bases vanish outside the knot span and for NaN") {
  const auto t = uniform_knots<double>(-1.0, 1.0, 3, 3);
  for (double x : {t.front() - 1e-9, t.back(), t.back() + 5.0, std::nan("")})
    for (double v : all_bases(t, 3, x)) CHECK(v == 0.0);
}

TEST_CASE("fit_spline reproduces a spline exactly and gives the min-norm solution when under-determined") {
  const auto t = uniform_knots<double>(-1.0, 1.0, 4, 3);
  const std::vector<double> coef{0.3, -1.0, 0.5, 2.0, -0.7, 0.1, 0.9};
  std::vector<double> x, y;
  for (int s = 0; s < 50; ++s) {
    x.push_back(-1 + 2.0 * s / 49);
    const auto B = all_bases(t, 3, x.back());
    double v = 0;
    for (size_t j = 0; j < B.size(); ++j) v += coef[j] * B[j];
    y.push_back(v);
  }
  const auto fit = fit_spline(t, 3, x, y, 1);
  for (size_t j = 0; j < coef.size(); ++j) CHECK(fit[j] == Approx(coef[j]).margin(1e-9));
  // Five points, seven unknowns: interpolates exactly.
  const std::vector<double> xs{-1, -0.5, 0, 0.5, 1 - 1e-12}, ys{1, 2, 0, -1, 3};
  const auto c = fit_spline(t, 3, xs, ys, 1);
  for (size_t s = 0; s < xs.size(); ++s) {
    const auto B = all_bases(t, 3, xs[s]);
    double v = 0;
    for (size_t j = 0; j < B.size(); ++j) v += c[j] * B[j];
    CHECK(v == Approx(ys[s]).margin(1e-9));
  }
}

TEST_CASE("the uniform fast path equals the general recursion, values and slopes") {
  for (int k = 1; k <= 5; ++k) {
    const auto t = uniform_knots<double>(-1.0, 1.0, 5, k);
    const int n = int(t.size());
    const double h = uniform_spacing(t.data(), n);
    REQUIRE(h == Approx(0.4));
    for (double x = t[0] - 0.2; x < t.back() + 0.2; x += 0.00913) {
      LocalBasis<double> a, b;
      local_basis(t.data(), n, k, x, a, true);
      local_basis_uniform(t[0], h, n, k, x, b, true);
      REQUIRE(a.inside == b.inside);
      if (!a.inside) continue;
      REQUIRE(a.first == b.first);
      for (int r = 0; r <= k; ++r) {
        REQUIRE(b.value[r] == Approx(a.value[r]).margin(1e-12));
        REQUIRE(b.slope[r] == Approx(a.slope[r]).margin(1e-10));
      }
    }
  }
  const std::vector<double> uneven{0, 1, 2, 4, 5};
  CHECK(uniform_spacing(uneven.data(), 5) == 0.0);
}
