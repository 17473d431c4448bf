#include "bspline.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

extern "C" void dgelsd_(const int* m, const int* n, const int* nrhs, double* a, const int* lda,
                        double* b, const int* ldb, double* s, const double* rcond, int* rank,
                        double* work, const int* lwork, int* iwork, int* info);

namespace glia::kan {

template <class T>
void local_basis(const T* knots, int n, int k, T x, LocalBasis<T>& out, bool with_slope) {
  out.inside = false;
  if (!(x >= knots[0] && x < knots[n - 1])) {  // also false for NaN
    for (int r = 0; r <= k; ++r) out.value[r] = out.slope[r] = 0;
    return;
  }
  const int j = static_cast<int>(std::upper_bound(knots, knots + n, x) - knots) - 1;
  out.inside = true;
  out.first = j - k;
  // Knots outside the vector only feed bases that do not exist; extrapolate them linearly so
  // that the recursion stays finite.
  auto knot = [&](int i) -> T {
    if (i < 0) return knots[0] + T(i) * (knots[1] - knots[0]);
    if (i >= n) return knots[n - 1] + T(i - n + 1) * (knots[n - 1] - knots[n - 2]);
    return knots[i];
  };
  T left[kMaxOrder + 1], right[kMaxOrder + 1], lower[kMaxOrder + 1];
  T* N = out.value;
  N[0] = 1;
  for (int p = 1; p <= k; ++p) {
    if (p == k)
      for (int r = 0; r < k; ++r) lower[r] = N[r];  // degree k-1 bases B_{j-k+1..j}
    left[p] = x - knot(j + 1 - p);
    right[p] = knot(j + p) - x;
    T saved = 0;
    for (int r = 0; r < p; ++r) {
      const T denom = right[r + 1] + left[p - r];
      const T temp = denom != 0 ? N[r] / denom : T(0);
      N[r] = saved + right[r + 1] * temp;
      saved = left[p - r] * temp;
    }
    N[p] = saved;
  }
  if (!with_slope) return;
  if (k == 0) {
    out.slope[0] = 0;
    return;
  }
  // B'_{i,k} = k (B_{i,k-1} / (t_{i+k} - t_i) - B_{i+1,k-1} / (t_{i+k+1} - t_{i+1})).
  for (int r = 0; r <= k; ++r) {
    const int i = j - k + r;
    const T a = r >= 1 ? lower[r - 1] : T(0);
    const T b = r < k ? lower[r] : T(0);
    const T da = knot(i + k) - knot(i), db = knot(i + k + 1) - knot(i + 1);
    out.slope[r] = T(k) * ((da != 0 ? a / da : T(0)) - (db != 0 ? b / db : T(0)));
  }
}

template <class T>
T uniform_spacing(const T* knots, int n) {
  const T h = (knots[n - 1] - knots[0]) / T(n - 1);
  if (!(h > 0)) return 0;
  for (int i = 1; i < n; ++i)
    if (std::abs(knots[i] - knots[i - 1] - h) > T(1e-5) * h) return 0;
  return h;
}

template <class T>
std::vector<T> extend_knots(const std::vector<T>& points, int k) {
  const size_t g = points.size() - 1;
  const T h_lo = points[1] - points[0], h_hi = points[g] - points[g - 1];
  std::vector<T> knots(points.size() + 2 * k);
  for (int i = 0; i < k; ++i) {
    knots[i] = points[0] - T(k - i) * h_lo;
    knots[g + k + 1 + i] = points[g] + T(i + 1) * h_hi;
  }
  std::copy(points.begin(), points.end(), knots.begin() + k);
  return knots;
}

template <class T>
std::vector<T> uniform_knots(T lo, T hi, int G, int k) {
  std::vector<T> points(G + 1);
  for (int i = 0; i <= G; ++i) points[i] = lo + (hi - lo) * T(i) / T(G);
  return extend_knots(points, k);
}

std::vector<double> fit_spline(const std::vector<double>& knots, int k, const std::vector<double>& x,
                               const std::vector<double>& y, size_t columns) {
  const int n_knots = static_cast<int>(knots.size());
  const int bases = n_knots - k - 1;
  const int m = static_cast<int>(x.size());
  const int ld = std::max(m, bases);
  // Column-major design matrix and right-hand sides for LAPACK.
  std::vector<double> a(static_cast<size_t>(ld) * bases, 0.0), b(static_cast<size_t>(ld) * columns, 0.0);
  LocalBasis<double> basis;
  for (int s = 0; s < m; ++s) {
    local_basis(knots.data(), n_knots, k, x[s], basis, false);
    if (basis.inside)
      for (int r = 0; r <= k; ++r) {
        const int col = basis.first + r;
        if (col >= 0 && col < bases) a[static_cast<size_t>(col) * ld + s] = basis.value[r];
      }
    for (size_t c = 0; c < columns; ++c) b[c * ld + s] = y[s * columns + c];
  }
  const int nrhs = static_cast<int>(columns);
  std::vector<double> sv(std::min(m, bases));
  const double rcond = 1e-13;
  int rank = 0, info = 0, lwork = -1, iwork_query = 0;
  double work_query = 0;
  dgelsd_(&m, &bases, &nrhs, a.data(), &ld, b.data(), &ld, sv.data(), &rcond, &rank, &work_query,
          &lwork, &iwork_query, &info);
  lwork = static_cast<int>(work_query) + 1;
  std::vector<double> work(lwork);
  std::vector<int> iwork(std::max(1, iwork_query) + 8 * (std::min(m, bases) + 1) * 4);
  dgelsd_(&m, &bases, &nrhs, a.data(), &ld, b.data(), &ld, sv.data(), &rcond, &rank, work.data(),
          &lwork, iwork.data(), &info);
  if (info != 0) throw std::runtime_error("spline least-squares fit failed (LAPACK dgelsd info " +
                                          std::to_string(info) + ")");
  std::vector<double> coef(static_cast<size_t>(bases) * columns);
  for (int j = 0; j < bases; ++j)
    for (size_t c = 0; c < columns; ++c) coef[j * columns + c] = b[c * ld + j];
  return coef;
}

template void local_basis<float>(const float*, int, int, float, LocalBasis<float>&, bool);
template void local_basis<double>(const double*, int, int, double, LocalBasis<double>&, bool);
template float uniform_spacing<float>(const float*, int);
template double uniform_spacing<double>(const double*, int);
template std::vector<float> uniform_knots<float>(float, float, int, int);
template std::vector<double> uniform_knots<double>(double, double, int, int);
template std::vector<float> extend_knots<float>(const std::vector<float>&, int);
template std::vector<double> extend_knots<double>(const std::vector<double>&, int);

}  // namespace glia::kan
