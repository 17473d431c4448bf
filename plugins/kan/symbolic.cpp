#include "symbolic.hpp"

#include <glia/nn/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

namespace glia::kan {

namespace {

std::vector<Fn> library_or_all(const std::vector<Fn>& lib) {
  if (!lib.empty()) return lib;
  std::vector<Fn> all;
  for (int f = 0; f < kFnCount; ++f) all.push_back(static_cast<Fn>(f));
  return all;
}

// Least squares y ~ a*u + d and the R^2 of that fit.
void linear_fit(const std::vector<double>& u, const std::vector<double>& y, double& a, double& d, double& r2) {
  const size_t n = y.size();
  double mu = 0, my = 0;
  for (size_t s = 0; s < n; ++s) mu += u[s], my += y[s];
  mu /= n;
  my /= n;
  double suu = 0, suy = 0, syy = 0;
  for (size_t s = 0; s < n; ++s) {
    suu += (u[s] - mu) * (u[s] - mu);
    suy += (u[s] - mu) * (y[s] - my);
    syy += (y[s] - my) * (y[s] - my);
  }
  a = suu > 0 ? suy / suu : 0.0;
  d = my - a * mu;
  double sse = 0;
  for (size_t s = 0; s < n; ++s) sse += (y[s] - a * u[s] - d) * (y[s] - a * u[s] - d);
  r2 = syy > 0 ? 1 - sse / syy : (sse == 0 ? 1.0 : 0.0);
}

std::string number(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// f applied to an argument expression, in the notation of the library.
std::string apply_fn(Fn f, const std::string& arg) {
  switch (f) {
    case Fn::x: return "(" + arg + ")";
    case Fn::x2: return "(" + arg + ")^2";
    case Fn::x3: return "(" + arg + ")^3";
    case Fn::x4: return "(" + arg + ")^4";
    case Fn::inv: return "1/(" + arg + ")";
    default: return std::string(fn_name(f)) + "(" + arg + ")";
  }
}

// "b*e + c" with trivial factors and terms dropped.
std::string affine_string(double b, const std::string& e, double c, int digits) {
  std::string s = b == 1 ? e : number(b, digits) + "*" + e;
  if (c != 0) s += (c > 0 ? " + " : " - ") + number(std::abs(c), digits);
  return s;
}

}  // namespace

SymbolicFit fit_function(Fn f, const std::vector<double>& x_all, const std::vector<double>& y_all,
                         const SymbolicOptions& opt) {
  SymbolicFit fit;
  fit.fn = f;
  if (f == Fn::zero) {  // pykan scores the 0 function as R^2 = -1e8 unless the edge is flat
    fit.a = fit.b = fit.c = 0;
    double mean = 0;
    for (double v : y_all) mean += v;
    fit.d = y_all.empty() ? 0.0 : mean / y_all.size();
    fit.r2 = -1e8;
    return fit;
  }
  // Evenly spaced samples in x order for the grid search.
  std::vector<size_t> order(x_all.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t p, size_t q) { return x_all[p] < x_all[q]; });
  const size_t n = std::min(opt.max_samples, x_all.size());
  std::vector<double> x(n), y(n);
  for (size_t s = 0; s < n; ++s) {
    const size_t at = order[n == 1 ? 0 : s * (x_all.size() - 1) / (n - 1)];
    x[s] = x_all[at];
    y[s] = y_all[at];
  }
  double my = 0;
  for (double v : y) my += v;
  my /= n;
  double syy = 0;
  for (double v : y) syy += (v - my) * (v - my);

  const int G = opt.grid_number;
  double b_lo = -opt.range, b_hi = opt.range, c_lo = -opt.range, c_hi = opt.range;
  double best_b = 1, best_c = 0, best_r2 = -1;
  for (int it = 0; it < opt.iterations; ++it) {
    int best_ib = 0, best_ic = 0;
    best_r2 = -1;
    for (int ib = 0; ib < G; ++ib) {
      const double b = b_lo + (b_hi - b_lo) * ib / (G - 1);
      for (int ic = 0; ic < G; ++ic) {
        const double c = c_lo + (c_hi - c_lo) * ic / (G - 1);
        double su = 0, suu = 0, suy = 0;
        for (size_t s = 0; s < n; ++s) {
          double u = fn_eval(f, b * x[s] + c);
          if (!std::isfinite(u)) u = 0;
          su += u;
          suu += u * u;
          suy += u * (y[s] - my);
        }
        const double var_u = suu - su * su / n;
        const double r2 = suy * suy / (var_u * syy + 1e-4);  // pykan's squared correlation
        if (std::isfinite(r2) && r2 > best_r2) {
          best_r2 = r2;
          best_ib = ib;
          best_ic = ic;
        }
      }
    }
    const double hb = (b_hi - b_lo) / (G - 1), hc = (c_hi - c_lo) / (G - 1);
    best_b = b_lo + hb * best_ib;
    best_c = c_lo + hc * best_ic;
    // Zoom as pykan: a best cell on the boundary narrows only the boundary dimensions to the
    // edge cell; otherwise both narrow to the neighbouring cells.
    const bool b_edge = best_ib == 0 || best_ib == G - 1, c_edge = best_ic == 0 || best_ic == G - 1;
    if (b_edge || c_edge) {
      if (best_ib == 0) b_hi = b_lo + hb;
      if (best_ib == G - 1) b_lo = b_hi - hb;
      if (best_ic == 0) c_hi = c_lo + hc;
      if (best_ic == G - 1) c_lo = c_hi - hc;
    } else {
      b_lo = best_b - hb, b_hi = best_b + hb;
      c_lo = best_c - hc, c_hi = best_c + hc;
    }
  }
  // (a, d) by least squares on all samples; R^2 of the final fit on all samples.
  std::vector<double> u(x_all.size());
  for (size_t s = 0; s < x_all.size(); ++s) {
    u[s] = fn_eval(f, best_b * x_all[s] + best_c);
    if (!std::isfinite(u[s])) u[s] = 0;
  }
  fit.b = best_b;
  fit.c = best_c;
  linear_fit(u, y_all, fit.a, fit.d, fit.r2);
  return fit;
}

SymbolicFit suggest(const std::vector<double>& x, const std::vector<double>& y, const SymbolicOptions& opt,
                    std::vector<SymbolicFit>* all) {
  const auto lib = library_or_all(opt.library);
  std::vector<SymbolicFit> fits;
  SymbolicFit best;
  double best_score = 0;
  for (size_t k = 0; k < lib.size(); ++k) {
    SymbolicFit fit = fit_function(lib[k], x, y, opt);
    const double r2_loss = std::log2(1 + 1e-5 - fit.r2);
    const double score = opt.weight_simple * fn_complexity(lib[k]) + (1 - opt.weight_simple) * r2_loss;
    if (k == 0 || score < best_score) {  // ties keep the earlier function (np.argsort is stable here)
      best = fit;
      best_score = score;
    }
    fits.push_back(fit);
  }
  if (all) *all = std::move(fits);
  return best;
}

std::vector<EdgeFit> fit_edges(const Model<double>& m, const double* x, size_t n, const SymbolicOptions& opt) {
  Workspace<double> ws;
  forward(m, x, n, ws);
  std::vector<EdgeFit> edges;
  for (size_t l = 0; l < m.depth(); ++l)
    for (size_t i = 0; i < m.layers[l].in; ++i)
      for (size_t o = 0; o < m.layers[l].out; ++o) edges.push_back({l, i, o, {}});
  nn::parallel_blocks(edges.size(), 1, [&](size_t e0, size_t e1) {
    for (size_t e = e0; e < e1; ++e) {
      EdgeFit& ef = edges[e];
      const Layer<double>& L = m.layers[ef.layer];
      const size_t edge = ef.in * L.out + ef.out;
      if (L.symbolic[edge] != Fn::none) {  // already locked: keep it
        const double* p = m.affine_of(ef.layer, ef.in, ef.out);
        ef.fit = {L.symbolic[edge], p[0], p[1], p[2], p[3], 1.0};
        continue;
      }
      if (L.mask[edge] == 0) {
        ef.fit = {Fn::zero, 0, 0, 0, 0, 1.0};
        continue;
      }
      std::vector<double> xs(n), ys(n);
      for (size_t b = 0; b < n; ++b) {
        xs[b] = ws.act[ef.layer][b * L.in + ef.in];
        ys[b] = edge_value(m, ef.layer, ef.in, ef.out, xs[b]);
      }
      ef.fit = suggest(xs, ys, opt);
    }
  });
  return edges;
}

void lock_edges(Model<double>& m, const std::vector<EdgeFit>& fits) {
  for (const EdgeFit& ef : fits) {
    Layer<double>& L = m.layers[ef.layer];
    const size_t e = ef.in * L.out + ef.out;
    L.symbolic[e] = ef.fit.fn;
    L.mask[e] = 0;
    double* p = m.affine_of(ef.layer, ef.in, ef.out);
    p[0] = ef.fit.a;
    p[1] = ef.fit.b;
    p[2] = ef.fit.c;
    p[3] = ef.fit.d;
  }
}

std::vector<std::string> formula(const Model<double>& m, const std::vector<std::string>& input_names, int digits) {
  std::vector<std::string> nodes = input_names;
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& L = m.layers[l];
    std::vector<std::string> next(L.out);
    for (size_t o = 0; o < L.out; ++o) {
      double constant = m.bias(l)[o];
      std::string sum;
      for (size_t i = 0; i < L.in; ++i) {
        const size_t e = i * L.out + o;
        const Fn f = L.symbolic[e];
        const double* p = m.affine_of(l, i, o);
        std::string term;
        if (f == Fn::none) {
          if (L.mask[e] == 0) continue;
          term = "spline_" + std::to_string(l) + "_" + std::to_string(i) + "_" + std::to_string(o) + "(" + nodes[i] + ")";
        } else {
          constant += p[3];
          if (f == Fn::zero || p[0] == 0) continue;
          if (f == Fn::x) {  // a*(b*e + c) folds into one affine term
            constant += p[0] * p[2];
            term = number(p[0] * p[1], digits) + "*" + nodes[i];
          } else {
            term = number(p[0], digits) + "*" + apply_fn(f, affine_string(p[1], nodes[i], p[2], digits));
          }
        }
        sum += (sum.empty() ? "" : " + ") + term;
      }
      if (constant != 0 || sum.empty())
        sum += (sum.empty() ? "" : (constant >= 0 ? " + " : " - ")) + number(sum.empty() ? constant : std::abs(constant), digits);
      next[o] = l + 1 == m.depth() ? sum : "(" + sum + ")";
    }
    nodes = std::move(next);
  }
  return nodes;
}

}  // namespace glia::kan
