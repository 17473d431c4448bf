// Training throughput of glia::nn on Fashion-MNIST-shaped data, the glia side of run.sh
// (torch_bench.py is the PyTorch side, doing the same work):
//
//   OPENBLAS_NUM_THREADS=1 nn_bench mlp|cnn THREADS [BATCHES]
//
// Trains with Adam (lr 1e-3) at batch 128 over BATCHES minibatches of seeded random data
// (shuffled, gathered, forward, cross-entropy, backward, step), after one warm-up pass, and
// prints one JSON line with samples/s.
#include <glia/nn/train.hpp>
#include <glia/random.hpp>

#include <cblas.h>
#include <tbb/global_control.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace glia::nn;

int main(int argc, char** argv) {
  openblas_set_num_threads(1);  // as the host runs plugins: parallelism comes from TBB
  const std::string kind = argc > 1 ? argv[1] : "mlp";
  const size_t threads = argc > 2 ? size_t(std::atoi(argv[2])) : 1;
  const size_t batches = argc > 3 ? size_t(std::atoi(argv[3])) : (kind == "cnn" ? 30 : 300);
  const size_t batch = 128, n = batch * batches;
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);

  const char* mlp = R"([{"type":"linear","in_features":784,"out_features":256},{"type":"relu"},
                        {"type":"linear","in_features":256,"out_features":10}])";
  // The default architecture of nn.cnn.train (channels [32, 64], hidden [128]).
  const char* cnn = R"([{"type":"conv2d","in_channels":1,"out_channels":32,"kernel_size":3,"padding":1},
      {"type":"relu"},{"type":"maxpool2d","kernel_size":2},
      {"type":"conv2d","in_channels":32,"out_channels":64,"kernel_size":3,"padding":1},
      {"type":"relu"},{"type":"maxpool2d","kernel_size":2},{"type":"flatten"},
      {"type":"linear","in_features":3136,"out_features":128},{"type":"relu"},
      {"type":"linear","in_features":128,"out_features":10}])";
  auto model = Sequential<float>::from_architecture(kind == "cnn" ? cnn : mlp, 1);

  Dataset data;
  data.x = kind == "cnn" ? Tensor<float>::from_shape({n, 1, 28, 28}) : Tensor<float>::from_shape({n, 784});
  data.labels.resize(n);
  glia::Rng rng(3);
  for (float& v : data.x) v = float(rng.uniform());
  for (auto& l : data.labels) l = int64_t(rng.below(10));

  Adam<float> adam(model.parameters(), 1e-3);
  FitOptions opt;
  opt.epochs = 1;
  opt.batch_size = batch;
  fit(model, adam, data, nullptr, Task::classification, opt);  // warm-up: buffers, caches, pools
  opt.seed = 1;
  const auto t0 = std::chrono::steady_clock::now();
  fit(model, adam, data, nullptr, Task::classification, opt);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"impl\": \"glia\", \"model\": \"%s\", \"threads\": %zu, \"samples_per_s\": %.1f}\n",
              kind.c_str(), threads, double(n) / s);
  return 0;
}
