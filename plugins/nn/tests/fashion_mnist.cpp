// Trains nn.mlp.train or nn.cnn.train on the full Fashion-MNIST (Debian's dataset-fashion-mnist)
// through the operators and reports the test accuracy. Minutes, so run by hand:
//
//   nn_fashion_mnist mlp|cnn [epochs] [schedule] [train_limit] [data_dir]
//
// The settings are those of configs/fashion-mnist-{mlp,cnn}.toml.
// Exits 0 when the test accuracy reaches the bar (88% MLP, 90% CNN), 1 otherwise.
#include "ops.hpp"

#include "fashion_data.hpp"

#include <glia/testing.hpp>

#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace glia;
using namespace glia::nn_plugin;

namespace {
template <class Train>
std::vector<uint8_t> train(Train& op_harness, const FashionSplit& s, bool images) {
  if (images) op_harness.input("x", s.x, {s.n, 28, 28});
  else op_harness.input("x", s.x, {s.n, 784});
  op_harness.input("y", s.y, {s.n});
  if (op_harness.run() != GLIA_OK) throw std::runtime_error("training failed: " + op_harness.error());
  for (const auto& line : op_harness.logs()) std::printf("  %s\n", line.c_str());
  return op_harness.template output<uint8_t>("model");
}
}  // namespace

int main(int argc, char** argv) {
  const std::string kind = argc > 1 ? argv[1] : "mlp";
  const int64_t epochs = argc > 2 ? std::atoll(argv[2]) : (kind == "cnn" ? 8 : 15);
  const std::string schedule = argc > 3 ? argv[3] : "cosine";
  const int64_t limit = argc > 4 ? std::atoll(argv[4]) : 0;
  const std::string dir = argc > 5 ? argv[5] : "/usr/share/datasets/fashion-mnist";
  openblas_set_num_threads(1);  // as the host runs plugins: parallelism comes from TBB
  try {
    const FashionSplit tr = load_fashion(dir, "train", limit), te = load_fashion(dir, "t10k", 0);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<uint8_t> model;
    if (kind == "cnn") {
      testing::Harness<CnnTrain> h;
      h.seed(1);
      h.param("batch_norm", true);
      h.param("epochs", epochs);
      h.param("schedule", schedule);
      model = train(h, tr, true);
    } else {
      testing::Harness<MlpTrain> h;
      h.seed(1);
      h.param("widths", std::vector<int64_t>{256});
      h.param("epochs", epochs);
      h.param("schedule", schedule);
      model = train(h, tr, false);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<int64_t> pred;
    if (kind == "cnn") {
      testing::Harness<CnnPredict> p;
      p.input("model", model, {int64_t(model.size())});
      p.input("x", te.x, {te.n, 28, 28});
      if (p.run() != GLIA_OK) throw std::runtime_error(p.error());
      pred = p.output<int64_t>("y");
    } else {
      testing::Harness<MlpPredict> p;
      p.input("model", model, {int64_t(model.size())});
      p.input("x", te.x, {te.n, 784});
      if (p.run() != GLIA_OK) throw std::runtime_error(p.error());
      pred = p.output<int64_t>("y");
    }
    size_t ok = 0;
    for (size_t i = 0; i < pred.size(); ++i) ok += pred[i] == te.y[i];
    const double acc = double(ok) / double(pred.size());
    const double bar = kind == "cnn" ? 0.90 : 0.88;
    std::printf("%s: %lld epochs on %lld images in %.1f s, test accuracy %.4f (bar %.2f)\n", kind.c_str(),
                (long long)epochs, (long long)tr.n, seconds, acc, bar);
    return acc >= bar ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nn_fashion_mnist: %s\n", e.what());
    return 2;
  }
}
