// Optimizers on problems with known optima; schedules; gradient clipping.
#include <glia/nn/optim.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using namespace glia::nn;

namespace {
// f(p) = sum_i a_i (p_i - c_i)^2, minimum 0 at p = c.
struct Quadratic {
  std::vector<double> a{1, 10, 0.5, 3}, c{1, -2, 3, 0.25};
  double loss_and_grad(Parameter<float>& p) const {
    double f = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = p.value.data()[i] - c[i];
      f += a[i] * d * d;
      p.grad.data()[i] = float(2 * a[i] * d);
    }
    return f;
  }
};
Parameter<float> zeros(size_t n) {
  Parameter<float> p;
  p.name = "p";
  p.value = Tensor<float>::from_shape({n});
  p.grad = Tensor<float>::from_shape({n});
  p.value.fill(0);
  p.grad.fill(0);
  return p;
}
double rosenbrock(std::span<const double> x, std::span<double> g) {
  double f = 0;
  std::fill(g.begin(), g.end(), 0.0);
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
}
}  // namespace

TEST_CASE("Adam finds the minimum of a quadratic") {
  Quadratic q;
  Parameter<float> p = zeros(4);
  Adam<float> adam({&p}, 0.05);
  for (int step = 0; step < 2000; ++step) {
    adam.zero_grad();
    q.loss_and_grad(p);
    adam.step();
  }
  for (size_t i = 0; i < 4; ++i) CHECK(p.value.data()[i] == Approx(q.c[i]).margin(1e-3));
  CHECK(adam.steps() == 2000);
}

TEST_CASE("Adam's first step and AdamW's decoupled decay follow torch") {
  // First step: m = (1-b1) g, v = (1-b2) g^2, bias-corrected: p -= lr * g / (|g| + eps).
  Parameter<float> p = zeros(1);
  p.value.data()[0] = 2;
  p.grad.data()[0] = 0.5f;
  Adam<float> adam({&p}, 0.1);
  adam.step();
  CHECK(p.value.data()[0] == Approx(2 - 0.1 * 0.5 / (0.5 + 1e-8)));
  // AdamW with a zero gradient: only the decay acts, p *= 1 - lr * wd.
  Parameter<float> w = zeros(1);
  w.value.data()[0] = 2;
  Adam<float> adamw({&w}, 0.1, 0.9, 0.999, 1e-8, 0.5, true);
  adamw.step();
  CHECK(w.value.data()[0] == Approx(2 * (1 - 0.1 * 0.5)));
}

TEST_CASE("SGD with momentum finds the minimum of a quadratic; weight decay shifts it") {
  Quadratic q;
  Parameter<float> p = zeros(4);
  Sgd<float> sgd({&p}, 0.02, 0.9);
  for (int step = 0; step < 1000; ++step) {
    sgd.zero_grad();
    q.loss_and_grad(p);
    sgd.step();
  }
  for (size_t i = 0; i < 4; ++i) CHECK(p.value.data()[i] == Approx(q.c[i]).margin(1e-4));
  // With L2 decay wd the minimum of f + wd/2 |p|^2 is 2 a c / (2 a + wd).
  Parameter<float> r = zeros(4);
  Sgd<float> decayed({&r}, 0.02, 0.9, 1.0, true);
  for (int step = 0; step < 1000; ++step) {
    decayed.zero_grad();
    q.loss_and_grad(r);
    decayed.step();
  }
  for (size_t i = 0; i < 4; ++i)
    CHECK(r.value.data()[i] == Approx(2 * q.a[i] * q.c[i] / (2 * q.a[i] + 1)).margin(1e-4));
}

TEST_CASE("L-BFGS minimises the Rosenbrock function") {
  std::vector<double> x{-1.2, 1.0};
  LbfgsOptions opt;
  opt.max_iterations = 200;
  opt.max_evaluations = 1000;
  LbfgsResult r = lbfgs_minimize(rosenbrock, x, opt);
  INFO(r.reason << " after " << r.iterations << " iterations, " << r.evaluations << " evaluations");
  CHECK(r.converged);
  CHECK(x[0] == Approx(1).margin(1e-5));
  CHECK(x[1] == Approx(1).margin(1e-5));
  CHECK(r.loss < 1e-10);
  CHECK(r.iterations < 100);

  std::vector<double> x10(10, -1.0);
  x10[0] = -1.2;
  r = lbfgs_minimize(rosenbrock, x10, opt);
  INFO(r.reason);
  for (double v : x10) CHECK(v == Approx(1).margin(1e-4));
}

TEST_CASE("L-BFGS over Parameters solves least squares") {
  // min |A p - b|^2 with A = diag(1, 2, 3) + off-diagonal 0.5: the solution solves A p = b.
  const double A[3][3] = {{1, 0.5, 0}, {0.5, 2, 0.5}, {0, 0.5, 3}}, b[3] = {1, 2, 3};
  Parameter<double> p;
  p.value = Tensor<double>::from_shape({3});
  p.grad = Tensor<double>::from_shape({3});
  p.value.fill(0);
  LbfgsOptimizer<double> lbfgs({&p});
  auto closure = [&] {
    double f = 0, r[3];
    for (int i = 0; i < 3; ++i) {
      r[i] = -b[i];
      for (int j = 0; j < 3; ++j) r[i] += A[i][j] * p.value.data()[j];
      f += r[i] * r[i];
    }
    for (int j = 0; j < 3; ++j) {
      p.grad.data()[j] = 0;
      for (int i = 0; i < 3; ++i) p.grad.data()[j] += 2 * A[i][j] * r[i];
    }
    return f;
  };
  LbfgsResult r = lbfgs.step(closure);
  CHECK(r.loss < 1e-12);
  for (int i = 0; i < 3; ++i) {
    double ap = 0;
    for (int j = 0; j < 3; ++j) ap += A[i][j] * p.value.data()[j];
    CHECK(ap == Approx(b[i]).margin(1e-6));
  }
}

TEST_CASE("learning-rate schedules") {
  Schedule constant;
  CHECK(constant.lr_at(0.1, 7, 10) == 0.1);
  Schedule step;
  step.kind = Schedule::Kind::step;
  step.step_size = 3;
  step.gamma = 0.5;
  CHECK(step.lr_at(1.0, 2, 10) == 1.0);
  CHECK(step.lr_at(1.0, 3, 10) == 0.5);
  CHECK(step.lr_at(1.0, 7, 10) == 0.25);
  Schedule cosine;
  cosine.kind = Schedule::Kind::cosine;
  cosine.min_lr = 0.01;
  CHECK(cosine.lr_at(1.0, 0, 11) == Approx(1.0));
  CHECK(cosine.lr_at(1.0, 5, 11) == Approx(0.505));
  CHECK(cosine.lr_at(1.0, 10, 11) == Approx(0.01));
  CHECK(schedule_from_name("cosine") == Schedule::Kind::cosine);
  CHECK_THROWS_WITH(schedule_from_name("linear"), Catch::Contains("unknown schedule 'linear'"));
}

TEST_CASE("gradient clipping scales the joint norm") {
  Parameter<float> a = zeros(2), b = zeros(1);
  a.grad.data()[0] = 3, a.grad.data()[1] = 0, b.grad.data()[0] = 4;  // norm 5
  CHECK(clip_grad_norm<float>({&a, &b}, 10) == Approx(5));
  CHECK(b.grad.data()[0] == 4);  // under the limit: untouched
  CHECK(clip_grad_norm<float>({&a, &b}, 1) == Approx(5));
  CHECK(a.grad.data()[0] == Approx(0.6).epsilon(1e-5));
  CHECK(b.grad.data()[0] == Approx(0.8).epsilon(1e-5));
}
