// L-BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical Optimization, 2nd ed.:
// algorithm 7.4 for the two-loop recursion, 3.5 and 3.6 for the line search).
#include <glia/nn/optim.hpp>

#include <cmath>
#include <deque>
#include <stdexcept>

namespace glia::nn {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// Minimiser of the cubic matching f and f' at x1 and x2, clamped to [lo, hi]; the midpoint when
// the cubic has no minimum there.
double cubic_minimum(double x1, double f1, double g1, double x2, double f2, double g2, double lo,
                     double hi) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const double d2 = std::sqrt(d2sq);
    const double m = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                              : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    if (std::isfinite(m)) return std::min(std::max(m, lo), hi);
  }
  return (lo + hi) / 2;
}

// One point of the line search: step t, loss, directional derivative, gradient.
struct Point {
  double t, f, dphi;
  std::vector<double> g;
};

class LineSearch {
 public:
  LineSearch(const Objective& f, const std::vector<double>& x, const std::vector<double>& d,
             size_t& evaluations)
      : f_(f), x_(x), d_(d), trial_(x.size()), evaluations_(evaluations) {}

  Point eval(double t) {
    for (size_t i = 0; i < x_.size(); ++i) trial_[i] = x_[i] + t * d_[i];
    Point p{t, 0, 0, std::vector<double>(x_.size())};
    p.f = f_(trial_, p.g);
    ++evaluations_;
    p.dphi = dot(p.g, d_);
    return p;
  }

  // Returns a point satisfying the strong Wolfe conditions, or the best one found.
  Point search(const Point& start, double t, double tolerance_change) {
    constexpr double c1 = 1e-4, c2 = 0.9;
    constexpr int max_tries = 25;
    const double f0 = start.f, gtd0 = start.dphi;
    Point prev = start;
    for (int i = 0; i < max_tries; ++i) {
      Point cur = eval(t);
      if (!std::isfinite(cur.f)) {  // overshoot into NaN/Inf: shrink the step
        t = (prev.t + t) / 2;
        continue;
      }
      if (cur.f > f0 + c1 * t * gtd0 || (i > 0 && cur.f >= prev.f))
        return zoom(prev, cur, f0, gtd0, tolerance_change);
      if (std::abs(cur.dphi) <= -c2 * gtd0) return cur;
      if (cur.dphi >= 0) return zoom(cur, prev, f0, gtd0, tolerance_change);
      // still descending: extrapolate within [2t, 10t]
      const double next = cubic_minimum(prev.t, prev.f, prev.dphi, cur.t, cur.f, cur.dphi,
                                        cur.t + 0.01 * (cur.t - prev.t), cur.t * 10);
      prev = std::move(cur);
      t = std::max(next, 2 * prev.t);
    }
    return prev;
  }

 private:
  // lo has the lower loss; the minimiser lies between lo.t and hi.t.
  Point zoom(Point lo, Point hi, double f0, double gtd0, double tolerance_change) {
    constexpr double c1 = 1e-4, c2 = 0.9;
    const double dmax = max_abs(d_);
    for (int i = 0; i < 25; ++i) {
      const double a = std::min(lo.t, hi.t), b = std::max(lo.t, hi.t);
      if ((b - a) * dmax < tolerance_change) break;
      const double t = cubic_minimum(lo.t, lo.f, lo.dphi, hi.t, hi.f, hi.dphi, a + 0.1 * (b - a),
                                     b - 0.1 * (b - a));
      Point cur = eval(t);
      if (!std::isfinite(cur.f) || cur.f > f0 + c1 * t * gtd0 || cur.f >= lo.f) {
        hi = std::move(cur);
      } else {
        if (std::abs(cur.dphi) <= -c2 * gtd0) return cur;
        if (cur.dphi * (hi.t - lo.t) >= 0) hi = lo;
        lo = std::move(cur);
      }
    }
    return lo;
  }

  const Objective& f_;
  const std::vector<double>& x_;
  const std::vector<double>& d_;
  std::vector<double> trial_;
  size_t& evaluations_;
};

}  // namespace

LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double>& x, const LbfgsOptions& opt) {
  if (opt.history == 0) throw std::invalid_argument("lbfgs: history must be positive");
  const size_t n = x.size();
  const size_t max_evals = opt.max_evaluations ? opt.max_evaluations : opt.max_iterations * 5 / 4;
  LbfgsResult result;
  std::vector<double> g(n);
  double loss = f(x, g);
  result.evaluations = 1;
  if (!std::isfinite(loss)) throw std::domain_error("lbfgs: the loss at the starting point is not finite");
  std::deque<std::vector<double>> S, Y;  // the last `history` steps and gradient changes
  std::deque<double> rho;
  std::vector<double> d(n), q(n);
  std::vector<double> alpha(opt.history);

  while (true) {
    if (max_abs(g) <= opt.gradient_tolerance) {
      result.converged = true;
      result.reason = "gradient below tolerance";
      break;
    }
    if (result.iterations >= opt.max_iterations) {
      result.reason = "iteration limit";
      break;
    }
    if (result.evaluations >= max_evals) {
      result.reason = "evaluation limit";
      break;
    }
    // Two-loop recursion: d = -H g with H the L-BFGS inverse-Hessian estimate.
    q = g;
    for (size_t k = S.size(); k-- > 0;) {
      alpha[k] = rho[k] * dot(S[k], q);
      for (size_t i = 0; i < n; ++i) q[i] -= alpha[k] * Y[k][i];
    }
    const double gamma = S.empty() ? 1.0 : dot(S.back(), Y.back()) / dot(Y.back(), Y.back());
    for (size_t i = 0; i < n; ++i) q[i] *= gamma;
    for (size_t k = 0; k < S.size(); ++k) {
      const double beta = rho[k] * dot(Y[k], q);
      for (size_t i = 0; i < n; ++i) q[i] += S[k][i] * (alpha[k] - beta);
    }
    for (size_t i = 0; i < n; ++i) d[i] = -q[i];
    double gtd = dot(g, d);
    if (!(gtd < 0)) {  // not a descent direction: forget the history, go downhill
      S.clear(), Y.clear(), rho.clear();
      for (size_t i = 0; i < n; ++i) d[i] = -g[i];
      gtd = -dot(g, g);
    }
    // First step: scaled so that it moves at most initial_step in the L1 sense (as torch).
    double t = opt.initial_step;
    if (result.iterations == 0) {
      double l1 = 0;
      for (double v : g) l1 += std::abs(v);
      t = std::min(1.0, 1.0 / l1) * opt.initial_step;
    }
    LineSearch ls(f, x, d, result.evaluations);
    Point start{0, loss, gtd, g};
    Point found = ls.search(start, t, opt.change_tolerance);
    ++result.iterations;
    if (found.t == 0) {
      result.reason = "line search made no progress";
      result.converged = true;
      break;
    }
    std::vector<double> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = found.t * d[i];
      y[i] = found.g[i] - g[i];
      x[i] += s[i];
    }
    const double ys = dot(y, s);
    if (ys > 1e-10) {  // keep the pair only when the curvature condition holds
      if (S.size() == opt.history) S.pop_front(), Y.pop_front(), rho.pop_front();
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1 / ys);
    }
    const double change = std::abs(found.f - loss);
    loss = found.f;
    g = std::move(found.g);
    if (found.t * max_abs(d) <= opt.change_tolerance || change < opt.change_tolerance) {
      result.converged = true;
      result.reason = "change below tolerance";
      break;
    }
  }
  result.loss = loss;
  return result;
}

template <class T>
LbfgsOptimizer<T>::LbfgsOptimizer(std::vector<Parameter<T>*> params, LbfgsOptions options)
    : params_(std::move(params)), options_(options) {}

template <class T>
LbfgsResult LbfgsOptimizer<T>::step(const std::function<double()>& closure) {
  auto scatter = [&](std::span<const double> x) {
    size_t k = 0;
    for (Parameter<T>* p : params_)
      for (T& v : p->value) v = T(x[k++]);
  };
  std::vector<double> x;
  for (Parameter<T>* p : params_) x.insert(x.end(), p->value.begin(), p->value.end());
  const Objective objective = [&](std::span<const double> at, std::span<double> g) {
    scatter(at);
    const double loss = closure();
    size_t k = 0;
    for (Parameter<T>* p : params_)
      for (T v : p->grad) g[k++] = double(v);
    return loss;
  };
  LbfgsResult r = lbfgs_minimize(objective, x, options_);
  scatter(x);  // the line search may have evaluated elsewhere last
  return r;
}

template class LbfgsOptimizer<float>;
template class LbfgsOptimizer<double>;

}  // namespace glia::nn
