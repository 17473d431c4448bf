// KAN throughput of glia's kernels, float32 as the PyTorch baseline:
//
//   kan_bench <a|b|c> <threads> <train|forward> [seconds]
//
// a: widths [8,16,1] batch 1024; b: [64,64,10] batch 256; c: [784,64,10] batch 128; all G=5, k=3.
// train: one step = forward + MSE + backward + Adam (glia::nn) on a fixed random batch.
// Prints one JSON line with samples_per_s (median of 5 timed blocks after a warm-up).
#include "kan.hpp"

#include <glia/nn/loss.hpp>
#include <glia/nn/optim.hpp>
#include <glia/random.hpp>

#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

using namespace glia::kan;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: kan_bench <a|b|c> <threads> <train|forward> [seconds]\n");
    return 64;
  }
  const char cfg = argv[1][0];
  const int threads = std::atoi(argv[2]);
  const bool train = std::strcmp(argv[3], "train") == 0;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 1.0;
  std::vector<size_t> widths;
  size_t batch = 0;
  if (cfg == 'a') widths = {8, 16, 1}, batch = 1024;
  else if (cfg == 'b') widths = {64, 64, 10}, batch = 256;
  else if (cfg == 'c') widths = {784, 64, 10}, batch = 128;
  else return 64;
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);

  Model<float> m = convert<float>(init_model<double>(widths, 5, 3, InitOptions{}, 1));
  glia::Rng rng(2);
  std::vector<float> x(batch * widths[0]);
  for (auto& v : x) v = float(rng.uniform(-1, 1));
  glia::nn::Tensor<float> target = glia::nn::Tensor<float>::from_shape({batch, widths.back()});
  for (auto& v : target) v = float(rng.uniform(-1, 1));
  glia::nn::Tensor<float> pred = glia::nn::Tensor<float>::from_shape({batch, widths.back()}), grad;
  glia::nn::Adam<float> adam({&m.params}, 1e-3);
  Workspace<float> ws;

  auto step = [&] {
    const auto& y = forward(m, x.data(), batch, ws);
    if (!train) return;
    std::copy(y.begin(), y.end(), pred.begin());
    glia::nn::mse_loss(pred, target, &grad);
    std::copy(grad.begin(), grad.end(), ws.grad_act.back().begin());
    adam.zero_grad();
    backward(m, ws);
    adam.step();
  };
  using clock = std::chrono::steady_clock;
  // Warm-up and calibration: steps per block of seconds/5.
  auto t0 = clock::now();
  size_t calib = 0;
  while (std::chrono::duration<double>(clock::now() - t0).count() < 0.2) step(), ++calib;
  const size_t per_block = std::max<size_t>(1, size_t(calib / 0.2 * seconds / 5));
  std::vector<double> rates;
  for (int block = 0; block < 5; ++block) {
    t0 = clock::now();
    for (size_t s = 0; s < per_block; ++s) step();
    rates.push_back(double(per_block * batch) / std::chrono::duration<double>(clock::now() - t0).count());
  }
  std::sort(rates.begin(), rates.end());
  std::printf("{\"impl\": \"glia\", \"cfg\": \"%c\", \"threads\": %d, \"mode\": \"%s\", \"samples_per_s\": %.1f}\n",
              cfg, threads, train ? "train" : "forward", rates[2]);
  return 0;
}
