// A reduced Fashion-MNIST run through the operators (the full one is nn_fashion_mnist): 10,000
// training images, 2 epochs. Skipped with a warning when the dataset is not installed.
#include "fashion_data.hpp"
#include "ops.hpp"

#include <glia/testing.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace glia;
using namespace glia::nn_plugin;

TEST_CASE("reduced Fashion-MNIST: the MLP and the CNN learn the real data") {
  if (!std::filesystem::exists(std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: skipped");
    return;
  }
  const FashionSplit train = load_fashion(kFashionDir, "train", 10000);
  const FashionSplit test = load_fashion(kFashionDir, "t10k", 2000);
  auto accuracy = [&](const std::vector<int64_t>& pred) {
    size_t ok = 0;
    for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == test.y[i];
    return double(ok) / double(pred.size());
  };

  testing::Harness<MlpTrain> mlp;
  mlp.param("epochs", 2);
  mlp.input("x", train.x, {train.n, 784});
  mlp.input("y", train.y, {train.n});
  REQUIRE(mlp.run() == GLIA_OK);
  const auto mlp_model = mlp.output<uint8_t>("model");
  testing::Harness<MlpPredict> mlp_predict;
  mlp_predict.input("model", mlp_model, {int64_t(mlp_model.size())});
  mlp_predict.input("x", test.x, {test.n, 784});
  REQUIRE(mlp_predict.run() == GLIA_OK);
  const double mlp_accuracy = accuracy(mlp_predict.output<int64_t>("y"));
  INFO("MLP test accuracy " << mlp_accuracy);
  CHECK(mlp_accuracy > 0.78);

  testing::Harness<CnnTrain> cnn;  // a narrow net keeps this test within seconds
  cnn.param("channels", std::vector<int64_t>{8, 16});
  cnn.param("hidden", std::vector<int64_t>{64});
  cnn.param("epochs", 2);
  cnn.param("lr", 0.003);
  cnn.input("x", train.x, {train.n, 28, 28});
  cnn.input("y", train.y, {train.n});
  REQUIRE(cnn.run() == GLIA_OK);
  const auto cnn_model = cnn.output<uint8_t>("model");
  testing::Harness<CnnPredict> cnn_predict;
  cnn_predict.input("model", cnn_model, {int64_t(cnn_model.size())});
  cnn_predict.input("x", test.x, {test.n, 1, 28, 28});
  REQUIRE(cnn_predict.run() == GLIA_OK);
  const double cnn_accuracy = accuracy(cnn_predict.output<int64_t>("y"));
  INFO("CNN test accuracy " << cnn_accuracy);
  CHECK(cnn_accuracy > 0.80);
}
