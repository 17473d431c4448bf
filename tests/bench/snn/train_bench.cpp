// One surrogate-gradient BPTT step of a 784-H-10 LIF network (snnTorch's Leaky: beta 0.9,
// threshold 1, subtract reset, fast-sigmoid surrogate), input a rate-coded Fashion-MNIST batch,
// loss cross-entropy of the output spike counts. Prints the median forward and forward+backward
// times as one JSON line; tests/bench/snn/run_train_bench.sh runs it beside snntorch_bench.py.
//
//   snn_train_bench [threads=1] [steps=100] [batch=128] [hidden=1000] [repeats=7] [images.gz]
#include "layers.hpp"

#include <glia/nn/loss.hpp>
#include <glia/nn/model.hpp>

#include <tbb/global_control.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace glia;
using namespace glia::snn::train;

namespace {
// The first n images of an IDX3 file as (n, rows*cols) floats in [0, 1].
nn::Tensor<float> read_images(const char* path, size_t n) {
  gzFile f = gzopen(path, "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", path);
    std::exit(2);
  }
  unsigned char header[16];
  gzread(f, header, 16);
  const size_t pixels = size_t(header[11]) * header[15];
  std::vector<unsigned char> buf(n * pixels);
  if (gzread(f, buf.data(), unsigned(buf.size())) != int(buf.size())) {
    std::fprintf(stderr, "%s: short read\n", path);
    std::exit(2);
  }
  gzclose(f);
  nn::Tensor<float> x = nn::Tensor<float>::from_shape({n, pixels});
  for (size_t i = 0; i < buf.size(); ++i) x.data()[i] = float(buf[i]) / 255.0f;
  return x;
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const size_t T = argc > 2 ? size_t(std::atol(argv[2])) : 100;
  const size_t B = argc > 3 ? size_t(std::atol(argv[3])) : 128;
  const size_t H = argc > 4 ? size_t(std::atol(argv[4])) : 1000;
  const int repeats = argc > 5 ? std::atoi(argv[5]) : 7;
  const char* path = argc > 6 ? argv[6] : "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, size_t(threads));

  const nn::Tensor<float> images = read_images(path, B);
  std::vector<int64_t> labels(B);
  for (size_t i = 0; i < B; ++i) labels[i] = int64_t(i % 10);
  // Input spikes (B, T, 784), encoded once outside the timed region (as the torch script does).
  RateEncoder encoder(T, 1.0, 7);
  nn::Tensor<float> spikes;
  encoder.forward(images, spikes, true);
  double density = 0;
  for (size_t i = 0; i < spikes.size(); ++i) density += spikes.data()[i];
  density /= double(spikes.size());

  nn::Sequential<float> model;
  model.add(std::make_unique<SpikeLinear>(images.shape()[1], H, 1));
  model.add(std::make_unique<Lif>(0.9, 1.0, Surrogate::fast_sigmoid, 25.0));
  model.add(std::make_unique<SpikeLinear>(H, 10, 2));
  model.add(std::make_unique<Lif>(0.9, 1.0, Surrogate::fast_sigmoid, 25.0));
  model.add(std::make_unique<SpikeCount>());

  using clock = std::chrono::steady_clock;
  std::vector<double> fwd, fwdbwd;
  nn::Tensor<float> grad;
  double loss = 0, hidden_rate = 0;
  for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up
    auto t0 = clock::now();
    model.forward(spikes, true);
    const double f = std::chrono::duration<double>(clock::now() - t0).count();
    for (auto* p : model.parameters()) p->grad.fill(0);
    t0 = clock::now();
    const nn::Tensor<float>& out = model.forward(spikes, true);
    loss = nn::cross_entropy_loss(out, labels.data(), &grad);
    model.backward(grad);
    const double fb = std::chrono::duration<double>(clock::now() - t0).count();
    if (r) fwd.push_back(f), fwdbwd.push_back(fb);
  }
  {
    nn::Tensor<float> cur, hid;
    model.layer(0).forward(spikes, cur, false);
    model.layer(1).forward(cur, hid, false);
    for (size_t i = 0; i < hid.size(); ++i) hidden_rate += hid.data()[i];
    hidden_rate /= double(hid.size());
  }
  std::printf("{\"impl\": \"glia\", \"threads\": %d, \"steps\": %zu, \"batch\": %zu, \"hidden\": %zu, "
              "\"input_density\": %.4f, \"hidden_rate\": %.4f, \"loss\": %.4f, "
              "\"forward_s\": %.4f, \"forward_backward_s\": %.4f}\n",
              threads, T, B, H, density, hidden_rate, loss, median(fwd), median(fwdbwd));
}
