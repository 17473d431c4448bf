// glia::nn layers. Each layer has an explicit forward and backward (llm.c style):
//
//   forward(x, y, training)      y = f(x); may keep what backward needs (masks, statistics)
//   backward(x, y, dy, dx)       given dL/dy, ADDS dL/dparameter to each parameter's grad and
//                                writes dL/dx into *dx (skipped when dx is null)
//
// x and y are the tensors of the matching forward call; the caller keeps them (Sequential does).
// Shapes follow PyTorch: Linear (N,in)->(N,out) (also (N,T,in)), Conv2d (N,C,H,W), and so do
// parameter names and layouts, so that checkpoints load into torch modules.
#pragma once

#include <glia/nn/tensor.hpp>

#include <functional>
#include <memory>

namespace glia::nn {

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  // The layer's type name ("linear", "relu", ...), the key of the architecture metadata.
  virtual std::string type() const = 0;
  // A JSON object with "type" and the constructor arguments (PyTorch's names).
  virtual std::string config() const = 0;
  // The output shape for an input shape; throws std::invalid_argument naming the problem.
  virtual Shape output_shape(const Shape& input) const = 0;
  virtual void forward(const Tensor<T>& x, Tensor<T>& y, bool training) = 0;
  virtual void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                        Tensor<T>* dx) = 0;
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  // Parameters then buffers, as stored in checkpoints.
  virtual std::vector<StateEntry<T>> state();
  // (Re)initialises the parameters from a seed (PyTorch's default schemes).
  virtual void reset(uint64_t /*seed*/) {}
};

// y = x W^T + b over the last dimension. W is (out, in).
template <class T>
class Linear final : public Layer<T> {
 public:
  Linear(size_t in_features, size_t out_features, bool bias = true, uint64_t seed = 0);
  std::string type() const override { return "linear"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset(uint64_t seed) override;
  Parameter<T> weight, bias;

 private:
  size_t in_, out_;
  bool has_bias_;
};

enum class Activation { relu, gelu, silu, tanh, sigmoid };
Activation activation_from_name(const std::string& name);  // throws std::invalid_argument
const char* activation_name(Activation a);

// Elementwise activation. GELU is the exact (erf) form, as torch.nn.GELU().
template <class T>
class Elementwise final : public Layer<T> {
 public:
  explicit Elementwise(Activation kind) : kind_(kind) {}
  std::string type() const override { return activation_name(kind_); }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  Activation kind() const { return kind_; }

 private:
  Activation kind_;
};

// Softmax over the last dimension.
template <class T>
class Softmax final : public Layer<T> {
 public:
  std::string type() const override { return "softmax"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
};

// (N, d1, d2, ...) -> (N, d1*d2*...).
template <class T>
class Flatten final : public Layer<T> {
 public:
  std::string type() const override { return "flatten"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
};

// 2-D convolution on (N,C,H,W) by im2col + GEMM. W is (out, in, k, k).
template <class T>
class Conv2d final : public Layer<T> {
 public:
  Conv2d(size_t in_channels, size_t out_channels, size_t kernel_size, size_t stride = 1,
         size_t padding = 0, bool bias = true, uint64_t seed = 0);
  std::string type() const override { return "conv2d"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset(uint64_t seed) override;
  Parameter<T> weight, bias;

 private:
  size_t in_, out_, k_, stride_, pad_;
  bool has_bias_;
};

enum class PoolKind { max, average };

// Max or average pooling on (N,C,H,W), no padding (PyTorch's floor mode).
template <class T>
class Pool2d final : public Layer<T> {
 public:
  Pool2d(PoolKind kind, size_t kernel_size, size_t stride = 0);  // stride 0: = kernel_size
  std::string type() const override { return kind_ == PoolKind::max ? "maxpool2d" : "avgpool2d"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;

 private:
  PoolKind kind_;
  size_t k_, stride_;
  std::vector<uint32_t> argmax_;  // max pooling: flat input index of each output's winner
};

// Batch normalisation over the channel dimension of (N,C) or (N,C,H,W). Training uses batch
// statistics and updates running_mean / running_var (unbiased variance, as PyTorch); evaluation
// uses the running statistics.
template <class T>
class BatchNorm final : public Layer<T> {
 public:
  explicit BatchNorm(size_t num_features, double eps = 1e-5, double momentum = 0.1,
                     bool spatial = false);
  std::string type() const override { return spatial_ ? "batchnorm2d" : "batchnorm1d"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override;
  std::vector<StateEntry<T>> state() override;
  void reset(uint64_t seed) override;
  Parameter<T> weight, bias;
  Tensor<T> running_mean, running_var, num_batches_tracked;

 private:
  size_t c_;
  double eps_, momentum_;
  bool spatial_;
  bool last_training_ = false;
  std::vector<T> mean_, rstd_;  // statistics of the last forward, per channel
};

// Layer normalisation over the last dimension, with elementwise affine weight and bias.
template <class T>
class LayerNorm final : public Layer<T> {
 public:
  explicit LayerNorm(size_t dim, double eps = 1e-5);
  std::string type() const override { return "layernorm"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset(uint64_t seed) override;
  Parameter<T> weight, bias;

 private:
  size_t dim_;
  double eps_;
  std::vector<T> mean_, rstd_;  // per row, from the last forward
};

// Inverted dropout: in training, zeroes each element with probability p and scales the rest by
// 1/(1-p); identity in evaluation. The mask of call k comes from Rng streams (seed, k, block).
template <class T>
class Dropout final : public Layer<T> {
 public:
  explicit Dropout(double p, uint64_t seed = 0);
  std::string type() const override { return "dropout"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  void reset(uint64_t seed) override { seed_ = seed; calls_ = 0; }

 private:
  double p_;
  uint64_t seed_;
  uint64_t calls_ = 0;
  std::vector<uint8_t> keep_;
};

// Looks up rows of a (num, dim) table. The input holds integer ids stored as T, any shape S;
// the output is S + (dim). No gradient flows to the ids.
template <class T>
class Embedding final : public Layer<T> {
 public:
  Embedding(size_t num_embeddings, size_t embedding_dim, uint64_t seed = 0);
  std::string type() const override { return "embedding"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override { return {&weight}; }
  void reset(uint64_t seed) override;
  Parameter<T> weight;

 private:
  size_t num_, dim_;
};

// Multi-head causal self-attention on (B,T,C) (GPT-2 / llm.c layout): qkv = x Wqkv^T + bqkv,
// per head softmax(q k^T / sqrt(hd)) with a causal mask, then y = att_out Wproj^T + bproj.
template <class T>
class CausalSelfAttention final : public Layer<T> {
 public:
  CausalSelfAttention(size_t dim, size_t heads, uint64_t seed = 0);
  std::string type() const override { return "causal_self_attention"; }
  std::string config() const override;
  Shape output_shape(const Shape& input) const override;
  void forward(const Tensor<T>& x, Tensor<T>& y, bool training) override;
  void backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                Tensor<T>* dx) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset(uint64_t seed) override;

 private:
  size_t dim_, heads_;
  Linear<T> qkv_, proj_;
  Tensor<T> qkv_out_, att_, head_out_;  // activations kept for backward
  Tensor<T> dqkv_, dhead_out_;
};

// Builds a layer from its config() JSON. Throws std::invalid_argument on an unknown type or a
// missing / bad argument.
template <class T>
std::unique_ptr<Layer<T>> make_layer(const std::string& config_json, uint64_t seed = 0);

// Adds a layer type that make_layer (and so from_architecture and load_model) can build: a
// library with its own layers (e.g. spiking ones) registers them before loading a checkpoint.
// The factory gets the config JSON and the seed; registering a type again replaces the factory.
template <class T>
using LayerFactory = std::function<std::unique_ptr<Layer<T>>(const std::string& config_json, uint64_t seed)>;
template <class T>
void register_layer(const std::string& type, LayerFactory<T> factory);

}  // namespace glia::nn
