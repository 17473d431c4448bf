#include "kan.hpp"
#include "symbolic.hpp"
#include "train.hpp"

#include <glia/random.hpp>

#include <catch2/catch.hpp>
#include <tbb/global_control.h>

#include <cmath>
#include <numbers>

using namespace glia::kan;

namespace {

std::vector<double> random_inputs(size_t n, size_t d, uint64_t seed, double lo = -1.2, double hi = 1.2) {
  glia::Rng rng(seed);
  std::vector<double> x(n * d);
  for (auto& v : x) v = rng.uniform(lo, hi);
  return x;
}

// Loss = sum_b,o w_bo * y_bo (+ lamb * reg) with fixed random weights, and its analytic gradient.
double weighted_output(Model<double>& m, const std::vector<double>& x, size_t n, const std::vector<double>& w,
                       const Regularizer* reg, bool grad) {
  Workspace<double> ws;
  const auto& y = forward(m, x.data(), n, ws);
  double loss = 0;
  for (size_t i = 0; i < y.size(); ++i) loss += w[i] * y[i];
  if (grad) {
    m.params.grad.fill(0.0);
    m.affine.grad.fill(0.0);
    std::copy(w.begin(), w.end(), ws.grad_act.back().begin());
  }
  if (reg) loss += reg->lamb * regularization(m, ws, *reg, grad);
  if (grad) backward(m, ws);
  return loss;
}

void check_gradients(Model<double>& m, const std::vector<double>& x, size_t n, const Regularizer* reg) {
  glia::Rng rng(7);
  std::vector<double> w(n * m.widths.back());
  for (auto& v : w) v = rng.uniform(-1, 1);
  weighted_output(m, x, n, w, reg, true);
  const auto grad = m.params.grad, affine_grad = m.affine.grad;
  auto check = [&](glia::nn::Parameter<double>& p, const glia::nn::Tensor<double>& g) {
    for (size_t k = 0; k < p.value.size(); ++k) {
      const double saved = p.value[k], h = 1e-6;
      p.value[k] = saved + h;
      const double up = weighted_output(m, x, n, w, reg, false);
      p.value[k] = saved - h;
      const double dn = weighted_output(m, x, n, w, reg, false);
      p.value[k] = saved;
      INFO(p.name << "[" << k << "]");
      REQUIRE(g[k] == Approx((up - dn) / (2 * h)).margin(2e-6).epsilon(1e-5));
    }
  };
  check(m.params, grad);
  check(m.affine, affine_grad);
}

}  // namespace

TEST_CASE("analytic gradients match finite differences (float64), two hidden layers") {
  InitOptions init;
  init.noise_scale = 1.0;
  Model<double> m = init_model<double>({3, 4, 2, 2}, 5, 3, init, 11);
  for (size_t l = 0; l < m.depth(); ++l)
    for (size_t o = 0; o < m.layers[l].out; ++o) m.bias(l)[o] = 0.1 * double(o + 1);
  const auto x = random_inputs(9, 3, 3);
  check_gradients(m, x, 9, nullptr);
}

TEST_CASE("gradients of the sparsity regulariser and of symbolic edges match finite differences") {
  InitOptions init;
  init.noise_scale = 2.0;
  Model<double> m = init_model<double>({2, 3, 1}, 4, 3, init, 5);
  const auto x = random_inputs(12, 2, 4, -0.9, 0.9);
  update_grid(m, x.data(), 12, 0.02);  // non-uniform knots
  Regularizer reg;
  reg.lamb = 0.3;
  reg.lamb_l1 = 1.0;
  reg.lamb_entropy = 2.0;
  check_gradients(m, x, 12, &reg);
  // Lock two edges to symbolic functions.
  m.layers[0].symbolic[0 * 3 + 1] = Fn::sin;
  m.layers[0].mask[0 * 3 + 1] = 0;
  double* p = m.affine_of(0, 0, 1);
  p[0] = 0.7, p[1] = 1.3, p[2] = 0.2, p[3] = -0.1;
  m.layers[1].symbolic[2] = Fn::exp;
  m.layers[1].mask[2] = 0;
  p = m.affine_of(1, 2, 0);
  p[0] = 0.5, p[1] = 0.4, p[2] = -0.3, p[3] = 0.2;
  check_gradients(m, x, 12, &reg);
}

TEST_CASE("grid update and grid extension keep each edge's function on the samples") {
  Model<double> m = init_model<double>({2, 3, 1}, 5, 3, InitOptions{}, 9);
  const size_t n = 200;
  const auto x = random_inputs(n, 2, 8, -0.8, 0.8);
  Workspace<double> ws;
  const auto before = forward(m, x.data(), n, ws);
  update_grid(m, x.data(), n, 0.02);
  const auto after = forward(m, x.data(), n, ws);
  for (size_t b = 0; b < n; ++b) REQUIRE(after[b] == Approx(before[b]).margin(2e-3));
  // The new knots follow the samples: the grid core spans the sample range.
  const double lo = m.layers[0].knots_of(0)[3], hi = m.layers[0].knots_of(0)[8];
  CHECK(lo > -0.8);
  CHECK(hi < 0.8);
  const Model<double> fine = refine(m, 10, x.data(), n);
  CHECK(fine.grid == 10);
  CHECK(fine.layers[0].bases() == 13);
  const auto refined = forward(fine, x.data(), n, ws);
  for (size_t b = 0; b < n; ++b) REQUIRE(refined[b] == Approx(after[b]).margin(1e-3));
}

TEST_CASE("save and load round-trip the model exactly, symbolic edges included") {
  Model<double> m = init_model<double>({3, 2, 1}, 4, 2, InitOptions{}, 1);
  m.layers[0].symbolic[1] = Fn::x2;
  m.layers[0].mask[1] = 0;
  m.affine_of(0, 0, 1)[0] = 2.5;
  std::string extra;
  const Model<double> r = load_model(save_model(m, R"({"task":"regression"})"), &extra);
  CHECK(extra == R"({"task":"regression"})");
  CHECK(r.widths == m.widths);
  CHECK(r.order == 2);
  CHECK(r.layers[0].symbolic[1] == Fn::x2);
  for (size_t k = 0; k < m.params.value.size(); ++k) REQUIRE(r.params.value[k] == m.params.value[k]);
  CHECK(r.affine_of(0, 0, 1)[0] == 2.5);
  const auto x = random_inputs(5, 3, 2);
  Workspace<double> a, b;
  CHECK(forward(m, x.data(), 5, a) == forward(r, x.data(), 5, b));
  CHECK_THROWS_WITH(load_model("garbage"), Catch::Contains("safetensors") || Catch::Contains("header"));
}

TEST_CASE("L-BFGS training fits a smooth function and is bit-identical at 1 and 2 threads") {
  const size_t n = 200;
  const auto x = random_inputs(n, 2, 21, -1, 1);
  Data d;
  d.n = n;
  d.x = x;
  for (size_t b = 0; b < n; ++b) d.targets.push_back(std::sin(std::numbers::pi * x[2 * b]) + x[2 * b + 1] * x[2 * b + 1]);
  TrainOptions opt;
  opt.steps = 10;
  auto run = [&](int threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    Model<double> m = init_model<double>({2, 3, 1}, 5, 3, InitOptions{}, 3);
    std::vector<double> losses;
    train(m, d, nullptr, opt, [&](const StepReport& r) { losses.push_back(r.train_loss); return true; });
    return std::make_pair(m.params.value, losses);
  };
  const auto [p1, l1] = run(1);
  const auto [p2, l2] = run(2);
  CHECK(l1.back() < 1e-3);
  CHECK(l1.back() < l1.front());
  CHECK(l1 == l2);
  CHECK(p1 == p2);
}

TEST_CASE("Adam reduces a classification loss; binary BCE and softmax CE both train") {
  const size_t n = 128;
  const auto x = random_inputs(n, 2, 5, -1, 1);
  Data d;
  d.n = n;
  d.x = x;
  for (size_t b = 0; b < n; ++b) d.labels.push_back(x[2 * b] * x[2 * b + 1] > 0 ? 1 : 0);
  for (size_t out : {size_t(1), size_t(2)}) {
    Model<double> m = init_model<double>({2, 4, out}, 5, 3, InitOptions{}, 2);
    TrainOptions opt;
    opt.optimizer = "adam";
    opt.lr = 0.02;
    opt.steps = 150;
    opt.loss = out == 1 ? Loss::binary_cross_entropy : Loss::cross_entropy;
    std::vector<double> losses;
    train(m, d, nullptr, opt, [&](const StepReport& r) { losses.push_back(r.train_loss); return true; });
    CHECK(losses.back() < 0.5 * losses.front());
  }
}

TEST_CASE("symbolic fits recover the function family and its affine parameters") {
  std::vector<double> x, y;
  for (int s = 0; s < 200; ++s) {
    x.push_back(-1 + 2.0 * s / 199);
    y.push_back(2.0 * std::sin(3.0 * x.back() + 0.5) - 1.0);
  }
  const SymbolicFit fit = fit_function(Fn::sin, x, y, SymbolicOptions{});
  CHECK(fit.r2 > 0.99999);
  SymbolicOptions opt;
  std::vector<SymbolicFit> all;
  const SymbolicFit best = suggest(x, y, opt, &all);
  CHECK(best.fn == Fn::sin);
  CHECK(all.size() == size_t(kFnCount));
  std::vector<double> q;
  for (double v : x) q.push_back(3 * v * v + 0.2);
  CHECK(suggest(x, q, opt).fn == Fn::x2);
}

TEST_CASE("pruning removes a hidden node that carries nothing and keeps the function") {
  Model<double> m = init_model<double>({2, 3, 1}, 3, 3, InitOptions{}, 4);
  // Hidden node 1 has zero outgoing edge.
  m.scale_base(1)[1] = 0;
  m.scale_sp(1)[1] = 0;
  const auto x = random_inputs(100, 2, 6);
  std::vector<std::vector<size_t>> kept;
  const Model<double> p = prune(m, x.data(), 100, 1e-2, 0.0, &kept);
  CHECK(p.widths == std::vector<size_t>{2, 2, 1});
  CHECK(kept[1] == std::vector<size_t>{0, 2});
  Workspace<double> a, b;
  const auto ya = forward(m, x.data(), 100, a), yb = forward(p, x.data(), 100, b);
  for (size_t s = 0; s < 100; ++s) REQUIRE(yb[s] == Approx(ya[s]).margin(1e-12));
}

TEST_CASE("invalid architectures are refused with a message") {
  CHECK_THROWS_WITH(empty_model<double>({3}, 5, 3), Catch::Contains("widths"));
  CHECK_THROWS_WITH(empty_model<double>({3, 1}, 5, 7), Catch::Contains("k must be"));
  CHECK_THROWS_WITH(empty_model<double>({3, 1}, 0, 3), Catch::Contains("grid"));
}
