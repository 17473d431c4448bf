#include "kan_plugin.hpp"

#include <glia/testing.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

using glia::testing::Harness;
using namespace glia::kan_plugin;

namespace {
struct Table {
  std::vector<double> x, y;
  size_t n;
};
Table regression(size_t n) {
  Table t{{}, {}, n};
  for (size_t b = 0; b < n; ++b) {
    const double u = -1 + 2.0 * b / (n - 1), v = std::cos(3.0 * b);
    t.x.push_back(u);
    t.x.push_back(v);
    t.y.push_back(10 + 5 * (u * u + 0.5 * v));
  }
  return t;
}
std::string blob(const Harness<Train>& h) {
  const auto bytes = h.output<uint8_t>("model");
  return std::string(bytes.begin(), bytes.end());
}
}  // namespace

TEST_CASE("kan.train -> kan.predict regression with standardised targets") {
  const Table t = regression(120);
  Harness<Train> train;
  train.param("widths", std::vector<int64_t>{0, 3, 1});
  train.param("steps", int64_t(15));
  train.param("standardize_y", true);
  train.input("x", t.x, {int64_t(t.n), 2});
  train.input("y", t.y, {int64_t(t.n)});
  REQUIRE(train.run() == GLIA_OK);
  CHECK(train.metric("final_train_loss") < 1e-3);
  CHECK(train.metrics().size() >= 15);
  const std::string model = blob(train);

  Harness<Predict> predict;
  predict.input("model", std::vector<uint8_t>(model.begin(), model.end()), {int64_t(model.size())});
  predict.input("x", t.x, {int64_t(t.n), 2});
  REQUIRE(predict.run() == GLIA_OK);
  const auto y = predict.output<double>("y");
  double mse = 0;
  for (size_t b = 0; b < t.n; ++b) mse += (y[b] - t.y[b]) * (y[b] - t.y[b]) / t.n;
  CHECK(mse < 0.05);
}

TEST_CASE("kan.train classification -> predict labels and probabilities; symbolic, prune, plot run") {
  const size_t n = 100;
  std::vector<double> x, y;
  for (size_t b = 0; b < n; ++b) {
    const double u = -1 + 2.0 * b / (n - 1), v = std::sin(7.0 * b);
    x.push_back(u);
    x.push_back(v);
    y.push_back(u + 0.3 * v > 0 ? 1 : 0);
  }
  Harness<Train> train;
  train.param("widths", std::vector<int64_t>{2, 2, 1});
  train.param("task", "classification");
  train.param("steps", int64_t(10));
  train.input("x", x, {int64_t(n), 2});
  train.input("y", y, {int64_t(n)});
  REQUIRE(train.run() == GLIA_OK);
  const std::string model = blob(train);
  const std::vector<uint8_t> bytes(model.begin(), model.end());

  Harness<Predict> predict;
  predict.input("model", bytes, {int64_t(bytes.size())});
  predict.input("x", x, {int64_t(n), 2});
  REQUIRE(predict.run() == GLIA_OK);
  const auto labels = predict.output<int64_t>("y");
  const auto scores = predict.output<double>("scores");
  size_t correct = 0;
  for (size_t b = 0; b < n; ++b) {
    correct += labels[b] == int64_t(y[b]);
    CHECK(scores[2 * b] + scores[2 * b + 1] == Approx(1.0));
  }
  CHECK(correct >= 95);

  const auto dir = std::filesystem::temp_directory_path() / "glia-kan-test-artifacts";
  std::filesystem::remove_all(dir);
  Harness<Symbolic> sym;
  sym.artifact_dir(dir.string());
  sym.param("names", "u, v");
  sym.param("samples", int64_t(64));
  sym.input("model", bytes, {int64_t(bytes.size())});
  sym.input("x", x, {int64_t(n), 2});
  REQUIRE(sym.run() == GLIA_OK);
  std::ifstream formula(dir / "formula.txt");
  std::string line;
  std::getline(formula, line);
  CHECK(line.rfind("y1 = ", 0) == 0);
  CHECK(line.find('u') != std::string::npos);

  Harness<Prune> prune;
  prune.input("model", bytes, {int64_t(bytes.size())});
  prune.input("x", x, {int64_t(n), 2});
  REQUIRE(prune.run() == GLIA_OK);
  CHECK(prune.metric("edges") >= 1);

  Harness<Plot> plot;
  plot.artifact_dir(dir.string());
  plot.input("model", bytes, {int64_t(bytes.size())});
  REQUIRE(plot.run() == GLIA_OK);
  std::ifstream svg(dir / "kan.svg");
  std::string head;
  std::getline(svg, head);
  CHECK(head.rfind("<svg", 0) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad inputs give errors that name the parameter or input") {
  const Table t = regression(20);
  Harness<Train> train;
  train.param("widths", std::vector<int64_t>{3, 2, 1});
  train.input("x", t.x, {int64_t(t.n), 2});
  train.input("y", t.y, {int64_t(t.n)});
  CHECK(train.run() == GLIA_ERR_INVALID_ARGUMENT);
  CHECK_THAT(train.error(), Catch::Contains("widths"));

  Harness<Train> nan_input;
  std::vector<double> x = t.x;
  x[5] = std::nan("");
  nan_input.param("widths", std::vector<int64_t>{0, 2, 1});
  nan_input.input("x", x, {int64_t(t.n), 2});
  nan_input.input("y", t.y, {int64_t(t.n)});
  CHECK(nan_input.run() == GLIA_ERR_DATA);
  CHECK_THAT(nan_input.error(), Catch::Contains("'x'"));

  Harness<Predict> predict;
  predict.input("model", std::vector<uint8_t>{1, 2, 3}, {3});
  predict.input("x", t.x, {int64_t(t.n), 2});
  CHECK(predict.run() == GLIA_ERR_DATA);

  Harness<Symbolic> sym;
  sym.param("library", "sin, cosh");
  CHECK(sym.run() == GLIA_ERR_INVALID_ARGUMENT);
  CHECK_THAT(sym.error(), Catch::Contains("cosh"));
}
