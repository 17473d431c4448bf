// nn.mlp.* and nn.cnn.* through the real ABI trampolines (glia::testing::Harness).
#include "ops.hpp"

#include <glia/nn/safetensors.hpp>
#include <glia/random.hpp>
#include <glia/testing.hpp>

#include <tbb/global_control.h>

#include <catch2/catch.hpp>

using namespace glia;
using glia::testing::Harness;
using namespace glia::nn_plugin;

namespace {
// Two interleaved classes in 4-D: class k has mean +-1.5 on every axis.
void blobs(size_t n, uint64_t seed, std::vector<float>& x, std::vector<int64_t>& y) {
  Rng rng(seed);
  x.resize(n * 4);
  y.resize(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = int64_t(i % 2);
    for (size_t j = 0; j < 4; ++j) x[i * 4 + j] = float((y[i] ? 1.5 : -1.5) + rng.normal());
  }
}
// 8x8 horizontal (0) / vertical (1) bars.
void bars(size_t n, uint64_t seed, std::vector<float>& x, std::vector<int64_t>& y) {
  Rng rng(seed);
  x.assign(n * 64, 0);
  y.resize(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = int64_t(i % 2);
    const size_t at = rng.below(8);
    for (size_t k = 0; k < 8; ++k) x[i * 64 + (y[i] ? k * 8 + at : at * 8 + k)] = 1;
    for (size_t k = 0; k < 64; ++k) x[i * 64 + k] += float(0.2 * rng.uniform());
  }
}
double accuracy(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t ok = 0;
  for (size_t i = 0; i < a.size(); ++i) ok += a[i] == b[i];
  return double(ok) / a.size();
}
}  // namespace

TEST_CASE("nn.mlp.train then nn.mlp.predict classify held-out data") {
  std::vector<float> x, xt;
  std::vector<int64_t> y, yt;
  blobs(400, 1, x, y);
  blobs(200, 2, xt, yt);
  Harness<MlpTrain> train;
  train.param("widths", std::vector<int64_t>{16});
  train.param("epochs", 5);
  train.param("batch_size", 32);
  train.param("lr", 0.01);
  train.param("val_fraction", 0.25);
  train.input("x", x, {400, 4});
  train.input("y", y, {400});
  REQUIRE(train.run() == GLIA_OK);
  size_t epochs_seen = 0;
  for (const auto& m : train.metrics()) epochs_seen += m.name == "train_loss" && m.step >= 0;
  CHECK(epochs_seen == 5);
  CHECK(train.metric("val_accuracy") > 0.95);
  const auto model = train.output<uint8_t>("model");
  const auto file = nn::safetensors::parse(std::string(model.begin(), model.end()));
  CHECK(file.metadata.at("glia.nn.task") == "classification");
  CHECK(file.tensors.at("0.weight").shape == std::vector<int64_t>{16, 4});

  Harness<MlpPredict> predict;
  predict.input("model", model, {int64_t(model.size())});
  predict.input("x", xt, {200, 4});
  REQUIRE(predict.run() == GLIA_OK);
  CHECK(accuracy(predict.output<int64_t>("y"), yt) > 0.95);
  const auto scores = predict.output<float>("scores");
  REQUIRE(scores.size() == 400);
  CHECK(scores[0] + scores[1] == Approx(1.0f));
}

TEST_CASE("nn.mlp.train accepts float64 features and integer-valued float labels, flattens rank 3") {
  std::vector<float> xf;
  std::vector<int64_t> yi;
  blobs(100, 3, xf, yi);
  std::vector<double> x(xf.begin(), xf.end()), y(yi.begin(), yi.end());
  Harness<MlpTrain> train;
  train.param("epochs", 2);
  train.input("x", x, {100, 2, 2});
  train.input("y", y, {100});
  REQUIRE(train.run() == GLIA_OK);
  const auto model = train.output<uint8_t>("model");
  Harness<MlpPredict> predict;
  predict.input("model", model, {int64_t(model.size())});
  predict.input("x", x, {100, 4});  // the same values flat: accepted
  REQUIRE(predict.run() == GLIA_OK);
  CHECK(predict.output_shape("y") == std::vector<int64_t>{100});
}

TEST_CASE("training is deterministic for a seed, across thread counts") {
  std::vector<float> x;
  std::vector<int64_t> y;
  blobs(300, 4, x, y);
  auto run = [&](size_t threads, uint64_t seed) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    Harness<MlpTrain> train;
    train.seed(seed);
    train.param("widths", std::vector<int64_t>{80, 70});
    train.param("dropout", 0.2);
    train.param("epochs", 2);
    train.param("batch_size", 150);
    train.input("x", x, {300, 4});
    train.input("y", y, {300});
    REQUIRE(train.run() == GLIA_OK);
    return train.output<uint8_t>("model");
  };
  const auto a = run(1, 7), b = run(2, 7), c = run(2, 8);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("nn.cnn.train then nn.cnn.predict on (N, H, W) images") {
  std::vector<float> x, xt;
  std::vector<int64_t> y, yt;
  bars(300, 5, x, y);
  bars(100, 6, xt, yt);
  Harness<CnnTrain> train;
  train.param("channels", std::vector<int64_t>{4});
  train.param("hidden", std::vector<int64_t>{16});
  train.param("batch_norm", true);
  train.param("epochs", 6);
  train.param("batch_size", 32);
  train.param("lr", 0.01);
  train.input("x", x, {300, 8, 8});
  train.input("y", y, {300});
  REQUIRE(train.run() == GLIA_OK);
  const auto model = train.output<uint8_t>("model");
  Harness<CnnPredict> predict;
  predict.input("model", model, {int64_t(model.size())});
  predict.input("x", xt, {100, 1, 8, 8});
  REQUIRE(predict.run() == GLIA_OK);
  CHECK(accuracy(predict.output<int64_t>("y"), yt) > 0.95);

  Harness<CnnTrain> flat;  // flat rows need image_shape
  flat.input("x", x, {300, 64});
  flat.input("y", y, {300});
  CHECK(flat.run() == GLIA_ERR_DATA);
  CHECK_THAT(flat.error(), Catch::Contains("image_shape"));
}

TEST_CASE("nn.mlp regression outputs float values") {
  std::vector<float> x(200), y(200);
  Rng rng(9);
  for (size_t i = 0; i < 200; ++i) {
    x[i] = float(rng.uniform(-1, 1));
    y[i] = 3 * x[i] - 1;
  }
  Harness<MlpTrain> train;
  train.param("task", "regression");
  train.param("widths", std::vector<int64_t>{});
  train.param("epochs", 40);
  train.param("batch_size", 20);
  train.param("lr", 0.05);
  train.input("x", x, {200, 1});
  train.input("y", y, {200});
  REQUIRE(train.run() == GLIA_OK);
  const auto model = train.output<uint8_t>("model");
  Harness<MlpPredict> predict;
  predict.input("model", model, {int64_t(model.size())});
  predict.input("x", std::vector<float>{0.5f}, {1, 1});
  REQUIRE(predict.run() == GLIA_OK);
  CHECK(predict.output<float>("y")[0] == Approx(0.5f).margin(0.02));
  CHECK_FALSE(predict.has_output("scores"));
}

TEST_CASE("bad inputs and parameters give errors that name the problem") {
  std::vector<float> x;
  std::vector<int64_t> y;
  blobs(50, 10, x, y);
  {
    Harness<MlpTrain> h;
    h.input("x", x, {50, 4});
    h.input("y", std::vector<int64_t>(40, 0), {40});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("y has 40 rows but x has 50"));
  }
  {
    Harness<MlpTrain> h;
    std::vector<double> fractional(50, 0.5);
    h.input("x", x, {50, 4});
    h.input("y", fractional, {50});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("not a non-negative integer"));
  }
  {
    Harness<MlpTrain> h;
    h.param("patience", 3);
    h.input("x", x, {50, 4});
    h.input("y", y, {50});
    CHECK(h.run() == GLIA_ERR_INVALID_ARGUMENT);
    CHECK_THAT(h.error(), Catch::Contains("val_fraction"));
  }
  {
    Harness<MlpTrain> h;
    std::vector<float> nan = x;
    nan[5] = std::nanf("");
    h.input("x", nan, {50, 4});
    h.input("y", y, {50});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("NaN"));
  }
  {
    Harness<MlpTrain> h;
    h.input("x", x, {50, 4});
    h.input("y", y, {50});
    h.cancel();
    CHECK(h.run() == GLIA_ERR_CANCELLED);
  }
  Harness<MlpTrain> train;
  train.param("epochs", 1);
  train.input("x", x, {50, 4});
  train.input("y", y, {50});
  REQUIRE(train.run() == GLIA_OK);
  auto model = train.output<uint8_t>("model");
  {
    Harness<MlpPredict> h;
    h.input("model", model, {int64_t(model.size())});
    h.input("x", x, {25, 8});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("x examples have 8 values but the model takes (4)"));
  }
  {
    Harness<MlpPredict> h;
    model.resize(model.size() - 3);
    h.input("model", model, {int64_t(model.size())});
    h.input("x", x, {50, 4});
    CHECK(h.run() == GLIA_ERR_DATA);
    CHECK_THAT(h.error(), Catch::Contains("truncated"));
  }
}
