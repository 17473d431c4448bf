#include <glia/nn/model.hpp>
#include <glia/random.hpp>

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace glia::nn {
using json = nlohmann::json;

template <class T>
Sequential<T> Sequential<T>::from_architecture(const std::string& text, uint64_t seed) {
  json arch;
  try {
    arch = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument("architecture is not valid JSON: " + std::string(e.what()));
  }
  if (!arch.is_array() || arch.empty())
    throw std::invalid_argument("architecture must be a non-empty JSON array of layers");
  Sequential model;
  for (size_t i = 0; i < arch.size(); ++i) {
    try {
      model.add(make_layer<T>(arch[i].dump(), derive_seed(seed, i)));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("architecture layer " + std::to_string(i) + ": " + e.what());
    }
  }
  return model;
}

template <class T>
void Sequential<T>::add(std::unique_ptr<Layer<T>> layer) {
  layers_.push_back(std::move(layer));
  outputs_.resize(layers_.size());
  grads_.resize(layers_.size());
}

template <class T>
const Tensor<T>& Sequential<T>::forward(const Tensor<T>& x, bool training) {
  if (layers_.empty()) throw std::logic_error("Sequential::forward on an empty model");
  input_ = &x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      layers_[i]->forward(i ? outputs_[i - 1] : x, outputs_[i], training);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("layer " + std::to_string(i) + " " + e.what());
    }
  }
  return outputs_.back();
}

template <class T>
void Sequential<T>::backward(const Tensor<T>& dy, Tensor<T>* dx) {
  if (!input_) throw std::logic_error("Sequential::backward without a forward");
  if (dy.shape() != outputs_.back().shape())
    throw std::invalid_argument("Sequential::backward: gradient " + shape_string(dy) +
                                " does not match the output " + shape_string(outputs_.back()));
  // Without dx, the leading layers that have no parameters need no backward (e.g. an input
  // encoder), and the first layer with parameters no input gradient.
  size_t first = 0;
  if (!dx)
    while (first + 1 < layers_.size() && layers_[first]->parameters().empty()) ++first;
  for (size_t i = layers_.size(); i-- > first;) {
    const Tensor<T>& x = i ? outputs_[i - 1] : *input_;
    const Tensor<T>& g = i + 1 == layers_.size() ? dy : grads_[i];
    Tensor<T>* gx = i > first ? &grads_[i - 1] : dx;
    layers_[i]->backward(x, outputs_[i], g, gx);
  }
}

template <class T>
std::vector<Parameter<T>*> Sequential<T>::parameters() {
  std::vector<Parameter<T>*> out;
  for (auto& l : layers_)
    for (Parameter<T>* p : l->parameters()) out.push_back(p);
  return out;
}

template <class T>
size_t Sequential<T>::parameter_count() {
  size_t n = 0;
  for (Parameter<T>* p : parameters()) n += p->value.size();
  return n;
}

template <class T>
std::vector<StateEntry<T>> Sequential<T>::state() {
  std::vector<StateEntry<T>> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    for (auto& e : layers_[i]->state()) out.push_back({std::to_string(i) + "." + e.name, e.tensor});
  return out;
}

template <class T>
std::string Sequential<T>::architecture() const {
  json arch = json::array();
  for (const auto& l : layers_) arch.push_back(json::parse(l->config()));
  return arch.dump();
}

template <class T>
Shape Sequential<T>::output_shape(const Shape& input) const {
  Shape s = input;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      s = layers_[i]->output_shape(s);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("layer " + std::to_string(i) + " " + e.what());
    }
  }
  return s;
}

template <class T>
void Sequential<T>::reset(uint64_t seed) {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->reset(derive_seed(seed, i));
}

template <class T>
void load_state(Sequential<T>& model, const safetensors::File& file) {
  auto entries = model.state();
  for (const auto& [name, data] : file.tensors) {
    const bool known = std::any_of(entries.begin(), entries.end(),
                                   [&](const StateEntry<T>& e) { return e.name == name; });
    if (!known) throw std::invalid_argument("checkpoint has tensor '" + name + "' the model does not");
  }
  for (auto& e : entries) {
    auto it = file.tensors.find(e.name);
    if (it == file.tensors.end())
      throw std::invalid_argument("checkpoint lacks tensor '" + e.name + "'");
    Tensor<T> t = safetensors::to_tensor<T>(it->second);
    if (t.shape() != e.tensor->shape())
      throw std::invalid_argument("checkpoint tensor '" + e.name + "' is " + shape_string(t) +
                                  ", the model expects " + shape_string(*e.tensor));
    *e.tensor = std::move(t);
  }
}

std::string save_model(Sequential<float>& model, std::map<std::string, std::string> metadata) {
  safetensors::File file;
  file.metadata = std::move(metadata);
  file.metadata[kArchitectureKey] = model.architecture();
  for (auto& e : model.state()) file.tensors[e.name] = safetensors::from_tensor(*e.tensor);
  return safetensors::serialize(file);
}

Sequential<float> load_model(std::string_view bytes, std::map<std::string, std::string>* metadata) {
  safetensors::File file = safetensors::parse(bytes);
  auto it = file.metadata.find(kArchitectureKey);
  if (it == file.metadata.end())
    throw std::invalid_argument(std::string("checkpoint metadata has no '") + kArchitectureKey +
                                "' entry: not a glia::nn model");
  Sequential<float> model = Sequential<float>::from_architecture(it->second, 0);
  load_state(model, file);
  if (metadata) *metadata = std::move(file.metadata);
  return model;
}

template class Sequential<float>;
template class Sequential<double>;
template void load_state<float>(Sequential<float>&, const safetensors::File&);
template void load_state<double>(Sequential<double>&, const safetensors::File&);

}  // namespace glia::nn
