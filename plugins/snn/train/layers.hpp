// Surrogate-gradient spiking layers for glia::nn (float32). They plug into nn::Sequential, so a
// spiking classifier trains with glia::nn's fit(), optimizers, losses and checkpoints:
//
//   rate_encoder / latency_encoder   (N, F)      -> (N, T, F)  0/1 input spikes
//   spike_linear                     (N, T, in)  -> (N, T, out) synaptic currents
//   lif                              (N, T, H)   -> (N, T, H)  0/1 spikes, BPTT with a surrogate
//   spike_count                      (N, T, C)   -> (N, C)     spikes summed over time (logits)
//   leaky_readout                    (N, T, C)   -> (N, C)     mean membrane of a leaky integrator
//
// The LIF neuron follows snnTorch's Leaky with subtract reset:
//   mem_t = beta * mem_{t-1} + I_t - threshold * S_{t-1},   S_t = H(mem_t - threshold),
// the reset term detached from the graph, so backward through time is
//   g_t = dL/dS_t * surrogate(mem_t - threshold) + beta * g_{t+1},   dL/dI_t = g_t.
// Backward recomputes mem from the kept input currents instead of storing it.
#pragma once

#include <glia/nn/layers.hpp>

namespace glia::snn::train {

using nn::Shape;
using nn::Tensor;

enum class Surrogate {
  fast_sigmoid,  // dS/dU = 1 / (slope |U| + 1)^2 (Zenke & Ganguli 2018; snnTorch default slope 25)
  arctan         // dS/dU = (slope / 2) / (1 + (pi/2 slope U)^2) (Fang et al. 2021; snnTorch slope 2)
};
Surrogate surrogate_from_name(const std::string& name);  // throws std::invalid_argument
const char* surrogate_name(Surrogate s);

// Bernoulli rate code: at each of `steps` steps input f spikes with probability clamp(gain x_f,
// 0, 1). Call k of forward draws example n from Rng stream (derive_seed(seed, k), n).
class RateEncoder final : public nn::Layer<float> {
 public:
  RateEncoder(size_t steps, double gain = 1.0, uint64_t seed = 0);
  std::string type() const override { return "rate_encoder"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&,
                Tensor<float>* dx) override;
  void reset(uint64_t seed) override { seed_ = seed, calls_ = 0; }

 private:
  size_t steps_;
  double gain_;
  uint64_t seed_, calls_ = 0;
};

// Latency code: one spike per input, at step round((1 - p) (steps - 1)) with p = clamp(gain x,
// 0, 1): bright inputs fire first; inputs with p <= threshold stay silent. Deterministic.
class LatencyEncoder final : public nn::Layer<float> {
 public:
  LatencyEncoder(size_t steps, double gain = 1.0, double threshold = 0.01);
  std::string type() const override { return "latency_encoder"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&,
                Tensor<float>* dx) override;

 private:
  size_t steps_;
  double gain_, threshold_;
};

// y = x W^T + b over the last dimension, as nn::Linear (same parameter names and layout), but
// event-driven when x holds only 0 and 1 (spikes): each output row is the bias plus the columns
// of W of the active inputs, and dW gathers dy rows the same way, so the cost scales with the
// spike count instead of rows x in x out. Other inputs go through BLAS.
class SpikeLinear final : public nn::Layer<float> {
 public:
  SpikeLinear(size_t in_features, size_t out_features, uint64_t seed = 0);
  std::string type() const override { return "spike_linear"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>& x, const Tensor<float>& y, const Tensor<float>& dy,
                Tensor<float>* dx) override;
  std::vector<nn::Parameter<float>*> parameters() override { return {&weight, &bias}; }
  void reset(uint64_t seed) override;
  nn::Parameter<float> weight, bias;
  // Whether the last forward took the event-driven path (tests, benchmarks).
  bool last_was_sparse() const { return sparse_; }

 private:
  size_t in_, out_;
  bool sparse_ = false;
  std::vector<float> wt_;           // W^T (in, out) in forward, dW^T scratch in backward
  std::vector<uint64_t> bits_;      // each row's spikes, ceil(in / 64) words a row
};

// Leaky integrate-and-fire neurons over time (see the top of this file). Input (N, T, H).
class Lif final : public nn::Layer<float> {
 public:
  Lif(double beta = 0.9, double threshold = 1.0, Surrogate surrogate = Surrogate::fast_sigmoid,
      double slope = 25.0);
  std::string type() const override { return "lif"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>& x, const Tensor<float>& y, const Tensor<float>& dy,
                Tensor<float>* dx) override;

 private:
  float beta_, threshold_, slope_;
  Surrogate surrogate_;
};

// Spike counts over time as logits: y[n, c] = sum_t x[n, t, c].
class SpikeCount final : public nn::Layer<float> {
 public:
  std::string type() const override { return "spike_count"; }
  std::string config() const override { return R"({"type":"spike_count"})"; }
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>& x, const Tensor<float>& y, const Tensor<float>& dy,
                Tensor<float>* dx) override;
};

// Membrane readout: a non-spiking leaky integrator mem_t = beta mem_{t-1} + I_t per output,
// y = mean over t of mem_t (logits that every step contributes to).
class LeakyReadout final : public nn::Layer<float> {
 public:
  explicit LeakyReadout(double beta = 0.9) : beta_(float(beta)) {}
  std::string type() const override { return "leaky_readout"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<float>& x, Tensor<float>& y, bool training) override;
  void backward(const Tensor<float>& x, const Tensor<float>& y, const Tensor<float>& dy,
                Tensor<float>* dx) override;

 private:
  float beta_;
};

// Registers the layer types above with nn::make_layer (so nn::load_model rebuilds spiking
// models). Idempotent; call before loading a checkpoint.
void register_layers();

}  // namespace glia::snn::train
