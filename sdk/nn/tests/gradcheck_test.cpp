// Finite-difference gradient checks (float64) for every layer and loss: the analytic backward
// must match central differences of L = sum(w * forward(x)) for a random upstream gradient w.
#include <glia/nn/layers.hpp>
#include <glia/nn/loss.hpp>
#include <glia/nn/model.hpp>
#include <glia/random.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

using namespace glia::nn;
using T = double;

namespace {

Tensor<T> random_tensor(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1) {
  Tensor<T> t = Tensor<T>::from_shape(shape);
  glia::Rng rng(seed);
  for (T& v : t) v = rng.uniform(lo, hi);
  return t;
}

Tensor<T> mat(std::vector<std::vector<double>> rows) {
  Tensor<T> t = Tensor<T>::from_shape({rows.size(), rows[0].size()});
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[r].size(); ++c) t(r, c) = rows[r][c];
  return t;
}

double max_rel_error(double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(a) + std::abs(b)); }

// Checks dL/dx and dL/dparameters of `layer` at x. `before` runs before every forward (to pin
// random state such as dropout masks).
void check_layer(Layer<T>& layer, Tensor<T> x, bool training = true, bool check_input = true,
                 const std::function<void()>& before = [] {}) {
  const double h = 1e-6, tol = 1e-6;
  Tensor<T> y;
  before();
  layer.forward(x, y, training);
  const Tensor<T> w = random_tensor(Shape(y.shape().begin(), y.shape().end()), 99);
  auto loss = [&]() {
    Tensor<T> out;
    before();
    layer.forward(x, out, training);
    double s = 0;
    for (size_t i = 0; i < out.size(); ++i) s += w.data()[i] * out.data()[i];
    return s;
  };
  for (Parameter<T>* p : layer.parameters()) p->grad.fill(0);
  before();
  layer.forward(x, y, training);
  Tensor<T> dx;
  layer.backward(x, y, w, check_input ? &dx : nullptr);

  if (check_input) {
    REQUIRE(dx.shape() == x.shape());
    for (size_t i = 0; i < x.size(); ++i) {
      const T saved = x.data()[i];
      x.data()[i] = saved + h;
      const double up = loss();
      x.data()[i] = saved - h;
      const double down = loss();
      x.data()[i] = saved;
      INFO(layer.type() << " dx[" << i << "] analytic " << dx.data()[i] << " numeric " << (up - down) / (2 * h));
      CHECK(max_rel_error(dx.data()[i], (up - down) / (2 * h)) < tol);
    }
  }
  for (Parameter<T>* p : layer.parameters()) {
    for (size_t i = 0; i < p->value.size(); ++i) {
      const T saved = p->value.data()[i];
      p->value.data()[i] = saved + h;
      const double up = loss();
      p->value.data()[i] = saved - h;
      const double down = loss();
      p->value.data()[i] = saved;
      INFO(layer.type() << " d" << p->name << "[" << i << "] analytic " << p->grad.data()[i]
                        << " numeric " << (up - down) / (2 * h));
      CHECK(max_rel_error(p->grad.data()[i], (up - down) / (2 * h)) < tol);
    }
  }
}

// Checks the gradient a loss writes against central differences of its value.
void check_loss(const std::function<double(const Tensor<T>&, Tensor<T>*)>& loss, Tensor<T> x) {
  const double h = 1e-6;
  Tensor<T> grad;
  loss(x, &grad);
  REQUIRE(grad.shape() == x.shape());
  for (size_t i = 0; i < x.size(); ++i) {
    const T saved = x.data()[i];
    x.data()[i] = saved + h;
    const double up = loss(x, nullptr);
    x.data()[i] = saved - h;
    const double down = loss(x, nullptr);
    x.data()[i] = saved;
    INFO("grad[" << i << "] analytic " << grad.data()[i] << " numeric " << (up - down) / (2 * h));
    CHECK(max_rel_error(grad.data()[i], (up - down) / (2 * h)) < 1e-7);
  }
}

}  // namespace

TEST_CASE("linear gradients, 2-D and 3-D inputs, with and without bias") {
  Linear<T> a(5, 4, true, 1);
  check_layer(a, random_tensor({3, 5}, 2));
  Linear<T> b(5, 3, false, 3);
  check_layer(b, random_tensor({2, 3, 5}, 4));
  // More rows than one parallel block: the blocked GEMM must still be exact.
  Linear<T> c(3, 2, true, 5);
  check_layer(c, random_tensor({kRowBlock + 7, 3}, 6));
}

TEST_CASE("activation gradients") {
  for (auto kind : {Activation::relu, Activation::gelu, Activation::silu, Activation::tanh,
                    Activation::sigmoid}) {
    Elementwise<T> act(kind);
    Tensor<T> x = random_tensor({4, 6}, 7, -3, 3);
    for (T& v : x)
      if (std::abs(v) < 1e-3) v = 0.5;  // keep ReLU's kink out of the differences
    check_layer(act, x);
  }
  Softmax<T> softmax;
  check_layer(softmax, random_tensor({3, 5}, 8, -2, 2));
  Flatten<T> flatten;
  check_layer(flatten, random_tensor({2, 3, 2, 2}, 9));
}

TEST_CASE("conv2d gradients") {
  Conv2d<T> same(2, 3, 3, 1, 1, true, 10);
  check_layer(same, random_tensor({2, 2, 5, 5}, 11));
  Conv2d<T> strided(3, 2, 2, 2, 0, false, 12);
  check_layer(strided, random_tensor({2, 3, 5, 6}, 13));
  // More samples than one conv block: per-block weight-gradient partial sums.
  Conv2d<T> many(1, 2, 3, 1, 0, true, 14);
  check_layer(many, random_tensor({11, 1, 4, 4}, 15));
}

TEST_CASE("pooling gradients") {
  Pool2d<T> maxpool(PoolKind::max, 2);
  check_layer(maxpool, random_tensor({2, 3, 4, 5}, 16));
  Pool2d<T> avgpool(PoolKind::average, 3, 2);
  check_layer(avgpool, random_tensor({2, 2, 7, 5}, 17));
}

TEST_CASE("batch norm gradients, training and evaluation") {
  BatchNorm<T> bn1(4, 1e-5, 0.1, false);
  bn1.weight.value = random_tensor({4}, 18, 0.5, 1.5);
  bn1.bias.value = random_tensor({4}, 19);
  check_layer(bn1, random_tensor({6, 4}, 20), true);
  BatchNorm<T> bn2(3, 1e-5, 0.1, true);
  bn2.weight.value = random_tensor({3}, 21, 0.5, 1.5);
  check_layer(bn2, random_tensor({2, 3, 3, 2}, 22), true);
  bn2.running_mean = random_tensor({3}, 23);
  bn2.running_var = random_tensor({3}, 24, 0.5, 2);
  check_layer(bn2, random_tensor({2, 3, 3, 2}, 25), false);
}

TEST_CASE("batch norm running statistics follow PyTorch") {
  BatchNorm<T> bn(1, 1e-5, 0.1, false);
  Tensor<T> x = Tensor<T>::from_shape({4, 1});
  x.data()[0] = 1, x.data()[1] = 2, x.data()[2] = 3, x.data()[3] = 6;  // mean 3, unbiased var 14/3
  Tensor<T> y;
  bn.forward(x, y, true);
  CHECK(bn.running_mean.data()[0] == Approx(0.3));
  CHECK(bn.running_var.data()[0] == Approx(0.9 + 0.1 * 14.0 / 3));
  CHECK(bn.num_batches_tracked.data()[0] == 1);
  CHECK(y.data()[0] == Approx((1 - 3) / std::sqrt(3.5 + 1e-5)));  // biased variance normalises
}

TEST_CASE("layer norm gradients") {
  LayerNorm<T> ln(5);
  ln.weight.value = random_tensor({5}, 26, 0.5, 1.5);
  ln.bias.value = random_tensor({5}, 27);
  check_layer(ln, random_tensor({2, 3, 5}, 28));
}

TEST_CASE("dropout gradients and statistics") {
  Dropout<T> drop(0.3, 29);
  check_layer(drop, random_tensor({5, 7}, 30), true, true, [&] { drop.reset(29); });
  // Evaluation is the identity; training keeps about 1-p of the elements, scaled by 1/(1-p).
  Tensor<T> x = Tensor<T>::from_shape({100, 100});
  x.fill(1);
  Tensor<T> y;
  drop.forward(x, y, false);
  const bool identity = y == x;
  CHECK(identity);
  drop.forward(x, y, true);
  size_t kept = 0;
  for (T v : y) {
    if (v != 0) {
      CHECK(v == Approx(1 / 0.7));
      ++kept;
    }
  }
  CHECK(kept > 6700);
  CHECK(kept < 7300);
}

TEST_CASE("embedding gradients, repeated ids and range errors") {
  Embedding<T> emb(6, 3, 31);
  Tensor<T> ids = Tensor<T>::from_shape({2, 3});
  const double values[] = {0, 5, 2, 2, 2, 1};
  std::copy(values, values + 6, ids.data());
  check_layer(emb, ids, true, false);
  ids.data()[1] = 6;
  Tensor<T> y;
  CHECK_THROWS_WITH(emb.forward(ids, y, true), Catch::Contains("not an integer in [0, 6)"));
}

TEST_CASE("causal self-attention gradients and causality") {
  CausalSelfAttention<T> att(6, 2, 32);
  check_layer(att, random_tensor({2, 4, 6}, 33));
  // Changing a later position must not change earlier outputs.
  Tensor<T> x = random_tensor({1, 5, 6}, 34), y1, y2;
  att.forward(x, y1, false);
  for (size_t c = 0; c < 6; ++c) x.data()[4 * 6 + c] += 1;
  att.forward(x, y2, false);
  for (size_t i = 0; i < 4 * 6; ++i) CHECK(y1.data()[i] == y2.data()[i]);
  CHECK(y1.data()[4 * 6] != y2.data()[4 * 6]);
}

TEST_CASE("a sequential model backpropagates through all its layers") {
  auto model = Sequential<T>::from_architecture(
      R"([{"type":"conv2d","in_channels":1,"out_channels":2,"kernel_size":3,"padding":1},
          {"type":"relu"},{"type":"maxpool2d","kernel_size":2},{"type":"flatten"},
          {"type":"linear","in_features":8,"out_features":3},{"type":"tanh"}])",
      35);
  Tensor<T> x = random_tensor({2, 1, 4, 4}, 36);
  const Tensor<T> w = random_tensor({2, 3}, 37);
  for (auto* p : model.parameters()) p->grad.fill(0);
  model.forward(x, true);
  Tensor<T> dx;
  model.backward(w, &dx);
  auto loss = [&] {
    const Tensor<T>& y = model.forward(x, true);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += w.data()[i] * y.data()[i];
    return s;
  };
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const T saved = x.data()[i];
    x.data()[i] = saved + h;
    const double up = loss();
    x.data()[i] = saved - h;
    const double down = loss();
    x.data()[i] = saved;
    CHECK(max_rel_error(dx.data()[i], (up - down) / (2 * h)) < 1e-6);
  }
  auto* w0 = model.parameters()[0];
  for (size_t i = 0; i < w0->value.size(); ++i) {
    const T saved = w0->value.data()[i];
    w0->value.data()[i] = saved + h;
    const double up = loss();
    w0->value.data()[i] = saved - h;
    const double down = loss();
    w0->value.data()[i] = saved;
    CHECK(max_rel_error(w0->grad.data()[i], (up - down) / (2 * h)) < 1e-6);
  }
}

TEST_CASE("loss gradients") {
  const Tensor<T> target = random_tensor({3, 4}, 40);
  check_loss([&](const Tensor<T>& x, Tensor<T>* g) { return mse_loss(x, target, g); },
             random_tensor({3, 4}, 41));

  const int64_t labels[] = {2, 0, 3};
  check_loss([&](const Tensor<T>& x, Tensor<T>* g) { return cross_entropy_loss(x, labels, g); },
             random_tensor({3, 4}, 42, -3, 3));

  const Tensor<T> probs01 = random_tensor({3, 4}, 43, 0, 1);
  check_loss([&](const Tensor<T>& x, Tensor<T>* g) { return binary_cross_entropy_loss(x, probs01, g); },
             random_tensor({3, 4}, 44, -4, 4));

  Tensor<T> p = random_tensor({3, 4}, 45, 0.1, 1);
  for (size_t r = 0; r < 3; ++r) {
    double s = 0;
    for (size_t c = 0; c < 4; ++c) s += p(r, c);
    for (size_t c = 0; c < 4; ++c) p(r, c) /= s;
  }
  check_loss([&](const Tensor<T>& x, Tensor<T>* g) { return kl_div_loss(x, p, g); },
             random_tensor({3, 4}, 46, -3, -0.1));
}

TEST_CASE("loss values match their definitions") {
  Tensor<T> logits = mat({{0.0, 0.0}, {std::log(3.0), 0.0}});
  const int64_t labels[] = {0, 0};
  // -log(1/2) and -log(3/4), averaged
  CHECK(cross_entropy_loss(logits, labels, nullptr) == Approx((std::log(2.0) + std::log(4.0 / 3)) / 2));
  const int64_t bad[] = {0, 2};
  CHECK_THROWS_WITH(cross_entropy_loss(logits, bad, nullptr), Catch::Contains("label 2 of row 1"));
  CHECK(binary_cross_entropy_loss(mat({{0.0}}), mat({{1.0}}), nullptr) == Approx(std::log(2.0)));
  // stable for large logits: no overflow
  CHECK(binary_cross_entropy_loss(mat({{1000.0}}), mat({{0.0}}), nullptr) == Approx(1000.0));
  CHECK(kl_div_loss(mat({{std::log(0.5), std::log(0.5)}}), mat({{1.0, 0.0}}), nullptr) == Approx(std::log(2.0)));
  CHECK(mse_loss(mat({{1.0, 2.0}}), mat({{1.0, 4.0}}), nullptr) == Approx(2.0));
}
