// B-splines on a per-input knot vector, evaluated with local support: for an x only the k+1
// bases of its knot span are non-zero, so they are computed by the triangular Cox-de Boor
// recursion (The NURBS Book, A2.2) instead of the full [G+k] recursion pykan and efficient-kan run.
//
// Conventions follow pykan's B_batch: a knot vector of G+2k+1 knots gives G+k bases
// B_0..B_{G+k-1}; a basis is 0 outside [t_0, t_last), and 0/0 in the recursion counts as 0
// (pykan's nan_to_num), which keeps repeated knots (from quantile grids) harmless.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace glia::kan {

inline constexpr int kMaxOrder = 5;

// The k+1 bases that can be non-zero at x, B_{first..first+k}, and their derivatives.
template <class T>
struct LocalBasis {
  int first = 0;             // index of the first basis; may be < 0 or run past the last basis
  bool inside = false;       // false: x is outside [t_0, t_last), every basis is 0
  T value[kMaxOrder + 1];
  T slope[kMaxOrder + 1];    // dB/dx
};

// knots: n = G+2k+1 increasing (non-decreasing) values. Computes the local bases at x.
template <class T>
void local_basis(const T* knots, int n, int k, T x, LocalBasis<T>& out, bool with_slope);

// The k+1 bases of a uniform span at t = frac((x - t0) / h) in [0, 1), B_{j-k..j}, with the
// degree k-1 ones in lower: every denominator of the recursion is p*h. Straight-line code once
// k is a constant (the layer kernels vectorise it over inputs).
template <class T>
[[gnu::always_inline]] inline void cardinal_bases(int k, T t, T* N, T* lower) {
  N[0] = 1;
#pragma GCC unroll 8
  for (int p = 1; p <= k; ++p) {
    if (p == k)
#pragma GCC unroll 8
      for (int r = 0; r < k; ++r) lower[r] = N[r];
    const T inv = T(1) / T(p);
    T saved = 0;
#pragma GCC unroll 8
    for (int r = 0; r < p; ++r) {
      const T temp = N[r] * inv;
      N[r] = saved + (T(r + 1) - t) * temp;
      saved = (t + T(p - 1 - r)) * temp;
    }
    N[p] = saved;
  }
}

// local_basis on uniform knots t_j = t0 + j*h (the initial grids): the span is floor((x-t0)/h),
// with no search and no division by knot differences.
template <class T>
inline void local_basis_uniform(T t0, T h, int n, int k, T x, LocalBasis<T>& out, bool with_slope) {
  const T u = (x - t0) / h;
  out.inside = false;
  if (!(u >= T(0) && u < T(n - 1))) {
    for (int r = 0; r <= k; ++r) out.value[r] = out.slope[r] = 0;
    return;
  }
  const int j = std::min(static_cast<int>(u), n - 2);
  out.inside = true;
  out.first = j - k;
  T lower[kMaxOrder + 1];
  cardinal_bases(k, u - T(j), out.value, lower);
  if (!with_slope) return;
  if (k == 0) {
    out.slope[0] = 0;
    return;
  }
  for (int r = 0; r <= k; ++r) out.slope[r] = ((r >= 1 ? lower[r - 1] : T(0)) - (r < k ? lower[r] : T(0))) / h;
}

// h when the n knots are uniformly spaced (to rounding), else 0.
template <class T>
T uniform_spacing(const T* knots, int n);

// Uniform knots on [lo, hi] with G intervals, extended by k knots on each side (pykan's
// linspace + extend_grid).
template <class T>
std::vector<T> uniform_knots(T lo, T hi, int G, int k);

// Extends G+1 grid points by k knots on each side with the end spacings (pykan's extend_grid).
template <class T>
std::vector<T> extend_knots(const std::vector<T>& points, int k);

// Least-squares spline coefficients: for one input with knots, samples x (n_samples) and values
// y (n_samples x columns, row-major), returns coef (bases x columns, row-major) minimising
// ||B(x) coef - y||, the minimum-norm solution when under-determined (torch.linalg.lstsq).
std::vector<double> fit_spline(const std::vector<double>& knots, int k, const std::vector<double>& x,
                               const std::vector<double>& y, size_t columns);

}  // namespace glia::kan
