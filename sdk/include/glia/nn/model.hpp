// glia::nn::Sequential: a chain of layers that keeps its activations for backward, and its
// checkpoints (safetensors with the architecture in the metadata).
#pragma once

#include <glia/nn/layers.hpp>
#include <glia/nn/safetensors.hpp>

#include <map>
#include <string_view>

namespace glia::nn {

template <class T>
class Sequential {
 public:
  Sequential() = default;
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  // Builds from an architecture() JSON array; layer i is initialised from derive_seed(seed, i).
  static Sequential from_architecture(const std::string& json, uint64_t seed = 0);

  void add(std::unique_ptr<Layer<T>> layer);
  size_t size() const { return layers_.size(); }
  Layer<T>& layer(size_t i) { return *layers_.at(i); }

  // y = layer_{n-1}(...layer_0(x)). The model keeps x's address and every activation until the
  // next forward: x must outlive the backward call. The returned tensor belongs to the model.
  const Tensor<T>& forward(const Tensor<T>& x, bool training);
  // Backpropagates dL/dy of the last forward: adds to every parameter's grad and, when dx is
  // given, writes dL/dx into it (skipping that product otherwise).
  void backward(const Tensor<T>& dy, Tensor<T>* dx = nullptr);

  std::vector<Parameter<T>*> parameters();
  size_t parameter_count();
  // Every layer's state under "<layer index>.<name>", as torch.nn.Sequential's state_dict.
  std::vector<StateEntry<T>> state();
  // A JSON array of the layers' config() objects.
  std::string architecture() const;
  // The output shape for an input shape; throws std::invalid_argument naming the layer.
  Shape output_shape(const Shape& input) const;
  // Re-initialises every layer, layer i from derive_seed(seed, i).
  void reset(uint64_t seed);

 private:
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  const Tensor<T>* input_ = nullptr;
  std::vector<Tensor<T>> outputs_;  // outputs_[i]: output of layer i
  std::vector<Tensor<T>> grads_;    // grads_[i]: dL/d outputs_[i]
};

// Copies a checkpoint's tensors into the model's state, matching names and shapes (dtypes are
// converted). Throws std::invalid_argument listing a missing, unexpected or misshapen tensor.
template <class T>
void load_state(Sequential<T>& model, const safetensors::File& file);

// The checkpoint key holding the architecture JSON.
inline constexpr const char* kArchitectureKey = "glia.nn.architecture";

// Serialises a model to safetensors bytes (float32 tensors); `metadata` is stored alongside the
// architecture.
std::string save_model(Sequential<float>& model, std::map<std::string, std::string> metadata = {});
// Rebuilds a model from save_model() bytes or any safetensors file whose metadata has the
// architecture (e.g. written by safetensors.torch.save_file). Returns the metadata too.
Sequential<float> load_model(std::string_view bytes,
                             std::map<std::string, std::string>* metadata = nullptr);

}  // namespace glia::nn
