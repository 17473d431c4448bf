// The training loop: learning, determinism across thread counts, early stopping, cancellation.
#include <glia/nn/train.hpp>
#include <glia/random.hpp>

#include <tbb/global_control.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

using namespace glia::nn;

namespace {
// Three Gaussian blobs in 2-D with one-unit spread, labels 0..2.
Dataset blobs(size_t n, uint64_t seed) {
  Dataset d;
  d.x = Tensor<float>::from_shape({n, 2});
  d.labels.resize(n);
  glia::Rng rng(seed);
  const double centers[3][2] = {{-3, 0}, {3, 0}, {0, 4}};
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i % 3;
    d.labels[i] = int64_t(k);
    d.x(i, 0) = float(centers[k][0] + rng.normal());
    d.x(i, 1) = float(centers[k][1] + rng.normal());
  }
  return d;
}
// 8x8 images of a horizontal (label 0) or vertical (label 1) bar at a random position, plus noise.
Dataset bars(size_t n, uint64_t seed) {
  Dataset d;
  d.x = Tensor<float>::from_shape({n, 1, 8, 8});
  d.labels.resize(n);
  glia::Rng rng(seed);
  for (size_t i = 0; i < n; ++i) {
    const bool vertical = i % 2;
    const size_t at = rng.below(8);
    d.labels[i] = vertical;
    for (size_t r = 0; r < 8; ++r)
      for (size_t c = 0; c < 8; ++c)
        d.x(i, 0, r, c) = float(0.2 * rng.uniform() + ((vertical ? c : r) == at ? 1.0 : 0.0));
  }
  return d;
}
const char* kMlp = R"([{"type":"linear","in_features":2,"out_features":16},{"type":"relu"},
                       {"type":"dropout","p":0.1},{"type":"linear","in_features":16,"out_features":3}])";
}  // namespace

TEST_CASE("shuffled indices are a seeded permutation") {
  auto a = shuffled_indices(100, 5, 0), b = shuffled_indices(100, 5, 0), c = shuffled_indices(100, 5, 1);
  CHECK(a == b);
  CHECK(a != c);
  std::sort(c.begin(), c.end());
  std::vector<size_t> iota(100);
  std::iota(iota.begin(), iota.end(), size_t(0));
  CHECK(c == iota);
}

TEST_CASE("an MLP learns separable blobs and reports every epoch") {
  Dataset train = blobs(600, 1), val = blobs(300, 2);
  auto model = Sequential<float>::from_architecture(kMlp, 3);
  Adam<float> adam(model.parameters(), 0.01);
  FitOptions opt;
  opt.epochs = 15;
  opt.batch_size = 32;
  opt.schedule.kind = Schedule::Kind::cosine;
  std::vector<EpochReport> seen;
  double last_progress = 0;
  FitHooks hooks;
  hooks.on_epoch = [&](const EpochReport& r) { seen.push_back(r); };
  hooks.on_progress = [&](double f) { CHECK(f >= last_progress); last_progress = f; };
  FitResult r = fit(model, adam, train, &val, Task::classification, opt, hooks);
  REQUIRE(seen.size() == 15);
  CHECK(r.epochs_run == 15);
  CHECK(seen.back().val_accuracy > 0.97);
  CHECK(seen.back().train_loss < seen.front().train_loss);
  CHECK(last_progress == Approx(1.0));
  CHECK(evaluate(model, val, Task::classification).accuracy > 0.97);
}

TEST_CASE("training is bit-identical whatever the thread count") {
  auto run = [](size_t threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    Dataset train = bars(200, 4);
    auto model = Sequential<float>::from_architecture(
        R"([{"type":"conv2d","in_channels":1,"out_channels":4,"kernel_size":3,"padding":1},{"type":"relu"},
            {"type":"maxpool2d","kernel_size":2},{"type":"flatten"},{"type":"dropout","p":0.2},
            {"type":"linear","in_features":64,"out_features":80},{"type":"relu"},
            {"type":"linear","in_features":80,"out_features":2}])",
        5);
    Adam<float> adam(model.parameters(), 0.01);
    FitOptions opt;
    opt.epochs = 2;
    opt.batch_size = 100;  // > kRowBlock and several conv blocks: exercises the split kernels
    opt.seed = 6;
    fit(model, adam, train, nullptr, Task::classification, opt);
    return save_model(model);
  };
  const std::string one = run(1), two = run(2);
  CHECK(one == two);
}

TEST_CASE("a small CNN learns bar orientation") {
  Dataset train = bars(400, 7), test = bars(200, 8);
  auto model = Sequential<float>::from_architecture(
      R"([{"type":"conv2d","in_channels":1,"out_channels":4,"kernel_size":3,"padding":1},{"type":"relu"},
          {"type":"maxpool2d","kernel_size":2},{"type":"flatten"},
          {"type":"linear","in_features":64,"out_features":2}])",
      9);
  Adam<float> adam(model.parameters(), 0.01);
  FitOptions opt;
  opt.epochs = 8;
  opt.batch_size = 32;
  fit(model, adam, train, nullptr, Task::classification, opt);
  CHECK(evaluate(model, test, Task::classification).accuracy > 0.97);
}

TEST_CASE("regression with MSE fits a linear map") {
  Dataset d;
  d.x = Tensor<float>::from_shape({256, 3});
  d.targets = Tensor<float>::from_shape({256, 1});
  glia::Rng rng(10);
  for (size_t i = 0; i < 256; ++i) {
    for (size_t j = 0; j < 3; ++j) d.x(i, j) = float(rng.uniform(-1, 1));
    d.targets(i, 0) = 2 * d.x(i, 0) - d.x(i, 1) + 0.5f * d.x(i, 2) + 1;
  }
  auto model = Sequential<float>::from_architecture(R"([{"type":"linear","in_features":3,"out_features":1}])", 11);
  Sgd<float> sgd(model.parameters(), 0.1, 0.9);
  FitOptions opt;
  opt.epochs = 30;
  opt.batch_size = 32;
  fit(model, sgd, d, nullptr, Task::regression, opt);
  CHECK(evaluate(model, d, Task::regression).loss < 1e-6);
}

TEST_CASE("early stopping, cancellation, divergence and bad data") {
  Dataset train = blobs(90, 12), val = blobs(30, 13);
  auto model = Sequential<float>::from_architecture(kMlp, 14);
  Adam<float> frozen(model.parameters(), 0.0);  // lr 0: validation never improves
  FitOptions opt;
  opt.epochs = 20;
  opt.patience = 2;
  FitResult r = fit(model, frozen, train, &val, Task::classification, opt);
  CHECK(r.stopped_early);
  CHECK(r.epochs_run == 3);

  int polls = 0;
  FitHooks hooks;
  hooks.cancelled = [&] { return ++polls > 3; };
  Adam<float> adam(model.parameters(), 0.01);
  CHECK_THROWS_AS(fit(model, adam, train, nullptr, Task::classification, opt, hooks), Cancelled);
  CHECK(polls == 4);

  Dataset reg;
  reg.x = Tensor<float>::from_shape({8, 1});
  reg.x.fill(1e3f);
  reg.targets = Tensor<float>::from_shape({8, 1});
  reg.targets.fill(1);
  auto lin = Sequential<float>::from_architecture(R"([{"type":"linear","in_features":1,"out_features":1}])", 1);
  Sgd<float> wild(lin.parameters(), 1e6);
  FitOptions few;
  few.epochs = 50;
  CHECK_THROWS_WITH(fit(lin, wild, reg, nullptr, Task::regression, few), Catch::Contains("diverged"));

  train.labels.pop_back();
  CHECK_THROWS_WITH(fit(model, adam, train, nullptr, Task::classification, opt),
                    Catch::Contains("90 examples but 89 labels"));
}

TEST_CASE("validation split is seeded and disjoint") {
  Dataset d = blobs(100, 15);
  for (size_t i = 0; i < 100; ++i) d.x(i, 0) = float(i);  // tag rows
  auto [a, b] = split_validation(d, 0.2, 3);
  CHECK(a.size() == 80);
  CHECK(b.size() == 20);
  std::vector<float> tags;
  for (size_t i = 0; i < 80; ++i) tags.push_back(a.x(i, 0));
  for (size_t i = 0; i < 20; ++i) tags.push_back(b.x(i, 0));
  std::sort(tags.begin(), tags.end());
  for (size_t i = 0; i < 100; ++i) CHECK(tags[i] == float(i));
  CHECK_THROWS(split_validation(d, 1.5, 3));
}

namespace {
// Identity layer that counts its backward calls and whether it was asked for dx.
struct CountingIdentity final : Layer<float> {
  int* backwards;
  bool* asked_dx;
  CountingIdentity(int* b, bool* a) : backwards(b), asked_dx(a) {}
  std::string type() const override { return "counting_identity"; }
  std::string config() const override { return R"({"type":"counting_identity"})"; }
  Shape output_shape(const Shape& in) const override { return in; }
  void forward(const Tensor<float>& x, Tensor<float>& y, bool) override { y = x; }
  void backward(const Tensor<float>&, const Tensor<float>&, const Tensor<float>& dy,
                Tensor<float>* dx) override {
    ++*backwards;
    if (dx) *dx = dy;
  }
};
}  // namespace

TEST_CASE("backward skips leading parameterless layers unless dx is asked for") {
  int backwards = 0;
  bool unused = false;
  Sequential<float> model;
  model.add(std::make_unique<CountingIdentity>(&backwards, &unused));
  model.add(make_layer<float>(R"({"type":"linear","in_features":2,"out_features":1})", 1));
  Tensor<float> x = Tensor<float>::from_shape({3, 2});
  x.fill(1);
  Tensor<float> dy = Tensor<float>::from_shape({3, 1});
  dy.fill(1);
  model.forward(x, true);
  model.backward(dy);
  CHECK(backwards == 0);
  CHECK(model.parameters()[0]->grad(0, 0) == Approx(3.0));  // the linear layer still learns
  Tensor<float> dx;
  model.backward(dy, &dx);
  CHECK(backwards == 1);
  CHECK(dx.shape()[1] == 2);
}

TEST_CASE("registered layer types build through make_layer and load_model") {
  int backwards = 0;
  bool unused = false;
  CHECK_THROWS_WITH(make_layer<float>(R"({"type":"counting_identity"})"),
                    Catch::Contains("unknown layer type"));
  register_layer<float>("counting_identity", [&](const std::string&, uint64_t) {
    return std::make_unique<CountingIdentity>(&backwards, &unused);
  });
  auto model = Sequential<float>::from_architecture(
      R"([{"type":"counting_identity"},{"type":"linear","in_features":2,"out_features":1}])", 4);
  const std::string bytes = save_model(model);
  Sequential<float> back = load_model(bytes);
  REQUIRE(back.size() == 2);
  CHECK(back.layer(0).type() == "counting_identity");
  const bool same = back.parameters()[0]->value == model.parameters()[0]->value;
  CHECK(same);
}
