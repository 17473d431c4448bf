// Surrogate-gradient training: the spiking layers against plain reference loops, and
// snn.train / snn.predict through the ABI trampolines.
#include <catch2/catch.hpp>

#include <glia/nn/loss.hpp>
#include <glia/nn/safetensors.hpp>
#include <glia/random.hpp>
#include <glia/testing.hpp>

#include "train/layers.hpp"
#include "train/ops.hpp"

#include <tbb/global_control.h>

#include <cmath>

using namespace glia;
using namespace glia::snn::train;
using glia::testing::Harness;

namespace {

Tensor<float> random_tensor(const Shape& s, uint64_t seed, double lo, double hi) {
  Tensor<float> t = Tensor<float>::from_shape(s);
  Rng rng(seed);
  for (size_t i = 0; i < t.size(); ++i) t.data()[i] = float(rng.uniform(lo, hi));
  return t;
}

// snnTorch's Leaky step by step in double: forward spikes and, for upstream gradients dS, the
// BPTT input gradient with the reset detached.
void reference_lif(const Tensor<float>& I, const Tensor<float>& dS, double beta, double thr,
                   Surrogate sur, double slope, std::vector<double>& S, std::vector<double>& dI) {
  const size_t N = I.shape()[0], T = I.shape()[1], H = I.shape()[2];
  S.assign(I.size(), 0);
  dI.assign(I.size(), 0);
  for (size_t n = 0; n < N; ++n)
    for (size_t h = 0; h < H; ++h) {
      std::vector<double> mem(T);
      double m = 0, s_prev = 0;
      for (size_t t = 0; t < T; ++t) {
        const size_t k = (n * T + t) * H + h;
        m = beta * m + I.data()[k] - s_prev * thr;
        mem[t] = m;
        S[k] = s_prev = m > thr ? 1 : 0;
      }
      double g = 0;
      for (size_t t = T; t-- > 0;) {
        const size_t k = (n * T + t) * H + h;
        const double u = mem[t] - thr;
        const double sg = sur == Surrogate::fast_sigmoid
                              ? 1 / std::pow(slope * std::fabs(u) + 1, 2)
                              : slope / 2 / (1 + std::pow(M_PI / 2 * slope * u, 2));
        g = dS.data()[k] * sg + beta * g;
        dI[k] = g;
      }
    }
}

// Three classes of 30 features: class k is bright on features [10k, 10k + 10).
void patterns(size_t n, uint64_t seed, std::vector<float>& x, std::vector<int64_t>& y) {
  Rng rng(seed);
  x.resize(n * 30);
  y.resize(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = int64_t(i % 3);
    for (size_t f = 0; f < 30; ++f)
      x[i * 30 + f] = float((f / 10 == i % 3 ? 0.8 : 0.1) + 0.2 * rng.uniform());
  }
}

double accuracy(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

}  // namespace

TEST_CASE("lif forward and BPTT match snnTorch's Leaky step by step", "[train]") {
  for (Surrogate sur : {Surrogate::fast_sigmoid, Surrogate::arctan}) {
    const double slope = sur == Surrogate::arctan ? 2.0 : 25.0;
    const Tensor<float> I = random_tensor({3, 40, 37}, 1, -0.5, 1.2);  // H not a vector multiple
    const Tensor<float> dS = random_tensor({3, 40, 37}, 2, -1, 1);
    Lif lif(0.85, 1.0, sur, slope);
    Tensor<float> S, dI;
    lif.forward(I, S, true);
    lif.backward(I, S, dS, &dI);
    std::vector<double> S_ref, dI_ref;
    reference_lif(I, dS, 0.85, 1.0, sur, slope, S_ref, dI_ref);
    size_t spikes = 0, mismatched = 0;
    for (size_t k = 0; k < I.size(); ++k) {
      spikes += S.data()[k] != 0;
      mismatched += S.data()[k] != S_ref[k];
      REQUIRE(dI.data()[k] == Approx(dI_ref[k]).margin(1e-5).epsilon(1e-4));
    }
    CHECK(mismatched == 0);
    CHECK(spikes > I.size() / 10);  // the test exercises resets
    CHECK(spikes < I.size());
  }
}

TEST_CASE("spike_linear: the event path equals dense products, forward and backward", "[train]") {
  const size_t N = 5, T = 7, in = 70, out = 131;  // out: two full column tiles and a tail
  Tensor<float> x = random_tensor({N, T, in}, 3, 0, 1);
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = x.data()[i] < 0.3f ? 1.0f : 0.0f;
  const Tensor<float> dy = random_tensor({N, T, out}, 4, -1, 1);
  SpikeLinear layer(in, out, 9);
  Tensor<float> y, dx;
  layer.forward(x, y, true);
  CHECK(layer.last_was_sparse());
  layer.backward(x, y, dy, &dx);
  const float* W = layer.weight.value.data();
  const size_t rows = N * T;
  for (size_t r = 0; r < rows; ++r)
    for (size_t o = 0; o < out; ++o) {
      double acc = layer.bias.value.data()[o];
      for (size_t i = 0; i < in; ++i) acc += double(x.data()[r * in + i]) * W[o * in + i];
      REQUIRE(y.data()[r * out + o] == Approx(acc).margin(1e-5));
    }
  for (size_t o = 0; o < out; ++o) {
    double db = 0;
    for (size_t r = 0; r < rows; ++r) db += dy.data()[r * out + o];
    REQUIRE(layer.bias.grad.data()[o] == Approx(db).margin(1e-4));
    for (size_t i = 0; i < in; ++i) {
      double dw = 0;
      for (size_t r = 0; r < rows; ++r) dw += double(dy.data()[r * out + o]) * x.data()[r * in + i];
      REQUIRE(layer.weight.grad.data()[o * in + i] == Approx(dw).margin(1e-4));
    }
  }
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < in; ++i) {
      double d = 0;
      for (size_t o = 0; o < out; ++o) d += double(dy.data()[r * out + o]) * W[o * in + i];
      REQUIRE(dx.data()[r * in + i] == Approx(d).margin(1e-4));
    }
  // Real-valued input goes through BLAS and gives the same products.
  Tensor<float> xr = x * 0.5f;
  Tensor<float> yr;
  layer.forward(xr, yr, true);
  CHECK_FALSE(layer.last_was_sparse());
  for (size_t r = 0; r < rows; ++r)
    for (size_t o = 0; o < out; ++o) {
      const float b = layer.bias.value.data()[o];
      REQUIRE(yr.data()[r * out + o] - b == Approx(0.5f * (y.data()[r * out + o] - b)).margin(1e-4));
    }
}

TEST_CASE("readouts: spike counts and the leaky membrane, with exact gradients", "[train]") {
  const Tensor<float> x = random_tensor({2, 6, 3}, 5, -1, 1);
  const Tensor<float> dy = random_tensor({2, 3}, 6, -1, 1);
  SpikeCount count;
  LeakyReadout leaky(0.8);
  Tensor<float> yc, yl, dxc, dxl;
  count.forward(x, yc, true);
  leaky.forward(x, yl, true);
  count.backward(x, yc, dy, &dxc);
  leaky.backward(x, yl, dy, &dxl);
  // Both are linear in x: dL/dx_k = sum_c dy_c dy_c/dx_k, checked by perturbing each input.
  for (size_t k = 0; k < x.size(); ++k) {
    Tensor<float> xp = x;
    xp.data()[k] += 1.0f;
    Tensor<float> ycp, ylp;
    count.forward(xp, ycp, true);
    leaky.forward(xp, ylp, true);
    double gc = 0, gl = 0;
    for (size_t i = 0; i < yc.size(); ++i) {
      gc += dy.data()[i] * (ycp.data()[i] - yc.data()[i]);
      gl += dy.data()[i] * (ylp.data()[i] - yl.data()[i]);
    }
    REQUIRE(dxc.data()[k] == Approx(gc).margin(1e-5));
    REQUIRE(dxl.data()[k] == Approx(gl).margin(1e-5));
  }
  // mean over t of mem_t for a constant input 1 and beta 0.8 at T = 6.
  Tensor<float> ones = xt::ones<float>({1, 6, 1}), y1;
  leaky.forward(ones, y1, true);
  double mem = 0, mean = 0;
  for (int t = 0; t < 6; ++t) mean += (mem = 0.8 * mem + 1) / 6;
  CHECK(y1(0, 0) == Approx(mean));
}

TEST_CASE("rate and latency encoders", "[train]") {
  Tensor<float> x = Tensor<float>::from_shape({2, 4});
  const float p[8] = {0, 0.25f, 0.5f, 1, 0.9f, 0.1f, 0.005f, 2};
  std::copy(p, p + 8, x.data());
  RateEncoder rate(4000, 1.0, 11);
  Tensor<float> s, s2;
  rate.forward(x, s, true);
  REQUIRE(s.shape()[1] == 4000);
  for (size_t n = 0; n < 2; ++n)
    for (size_t f = 0; f < 4; ++f) {
      double mean = 0;
      for (size_t t = 0; t < 4000; ++t) mean += s(n, t, f) / 4000.0;
      CHECK(mean == Approx(std::clamp(double(p[n * 4 + f]), 0.0, 1.0)).margin(0.03));
    }
  rate.forward(x, s2, true);  // the next call draws new spikes
  const bool differs = s != s2;
  CHECK(differs);
  RateEncoder again(4000, 1.0, 11);
  again.forward(x, s2, true);  // a fresh encoder with the seed repeats the first call
  const bool repeats = s == s2;
  CHECK(repeats);

  LatencyEncoder latency(11);
  latency.forward(x, s, true);
  for (size_t n = 0; n < 2; ++n)
    for (size_t f = 0; f < 4; ++f) {
      const double q = std::clamp(double(p[n * 4 + f]), 0.0, 1.0);
      double count = 0, when = -1;
      for (size_t t = 0; t < 11; ++t)
        if (s(n, t, f) != 0) ++count, when = double(t);
      CHECK(count == (q > 0.01 ? 1 : 0));
      if (count) CHECK(when == std::round((1 - q) * 10));
    }
}

TEST_CASE("snn.train learns spike patterns; snn.predict classifies and records a raster", "[train]") {
  std::vector<float> x, xt;
  std::vector<int64_t> y, yt;
  patterns(300, 1, x, y);
  patterns(150, 2, xt, yt);
  for (const char* readout : {"membrane", "spike_count"}) {
    for (const char* surrogate : {"fast_sigmoid", "arctan"}) {
      CAPTURE(readout, surrogate);
      Harness<Train> train;
      train.param("steps", int64_t{12});
      train.param("hidden", std::vector<int64_t>{40});
      train.param("readout", readout);
      train.param("surrogate", surrogate);
      train.param("epochs", int64_t{4});
      train.param("batch_size", int64_t{32});
      train.param("lr", 0.01);
      train.input("x", x, {300, 30});
      train.input("y", y, {300});
      REQUIRE(train.run() == GLIA_OK);
      CHECK(train.metric("train_loss") < 0.6);
      const auto model = train.output<uint8_t>("model");
      Harness<Predict> predict;
      predict.param("sample", int64_t{4});
      predict.input("model", model, {int64_t(model.size())});
      predict.input("x", xt, {150, 30});
      REQUIRE(predict.run() == GLIA_OK);
      CHECK(accuracy(predict.output<int64_t>("y"), yt) > 0.9);
      const auto spikes = predict.output<int64_t>("spikes");
      REQUIRE(spikes.size() >= 2);
      for (size_t k = 0; k < spikes.size(); k += 2) {
        CHECK(spikes[k] < 12);
        CHECK(spikes[k + 1] < 40);
      }
    }
  }
}

TEST_CASE("snn.train is bit-identical whatever the thread count; latency coding learns", "[train]") {
  std::vector<float> x;
  std::vector<int64_t> y;
  patterns(200, 3, x, y);
  std::vector<uint8_t> models[2];
  for (int threads : {1, 2}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, size_t(threads));
    Harness<Train> train;
    train.param("steps", int64_t{10});
    train.param("hidden", std::vector<int64_t>{150});  // three column tiles to split
    train.param("epochs", int64_t{2});
    train.param("batch_size", int64_t{50});
    train.param("val_fraction", 0.25);
    train.input("x", x, {200, 30});
    train.input("y", y, {200});
    REQUIRE(train.run() == GLIA_OK);
    models[threads - 1] = train.output<uint8_t>("model");
  }
  CHECK(models[0] == models[1]);

  Harness<Train> latency;
  latency.param("encoding", "latency");
  latency.param("steps", int64_t{10});
  latency.param("hidden", std::vector<int64_t>{40});
  latency.param("epochs", int64_t{5});
  latency.param("batch_size", int64_t{20});
  latency.param("lr", 0.01);
  latency.param("val_fraction", 0.25);
  latency.input("x", x, {200, 30});
  latency.input("y", y, {200});
  REQUIRE(latency.run() == GLIA_OK);
  CHECK(latency.metric("val_accuracy") > 0.9);
}

TEST_CASE("snn.train and snn.predict name bad inputs", "[train]") {
  std::vector<float> x;
  std::vector<int64_t> y;
  patterns(30, 4, x, y);
  Harness<Train> train;
  train.param("steps", int64_t{4});
  train.param("hidden", std::vector<int64_t>{8});
  train.param("epochs", int64_t{1});
  train.input("x", x, {30, 30});
  train.input("y", std::vector<int64_t>(y.begin(), y.begin() + 20), {20});
  CHECK(train.run() != GLIA_OK);
  CHECK_THAT(train.error(), Catch::Contains("y must be (N) labels"));
  train.input("y", y, {30});
  REQUIRE(train.run() == GLIA_OK);
  const auto model = train.output<uint8_t>("model");
  Harness<Predict> predict;
  predict.param("sample", int64_t{30});
  predict.input("model", model, {int64_t(model.size())});
  predict.input("x", x, {30, 30});
  CHECK(predict.run() != GLIA_OK);
  CHECK_THAT(predict.error(), Catch::Contains("sample 30"));
  predict.param("sample", int64_t{-1});
  predict.input("x", std::vector<float>(30 * 29, 0.5f), {30, 29});
  CHECK(predict.run() != GLIA_OK);
  CHECK_THAT(predict.error(), Catch::Contains("29"));
}
