// make_layer: builds a layer from the JSON its config() wrote (architecture metadata).
#include "init.hpp"

#include <glia/nn/layers.hpp>

#include <map>
#include <mutex>

namespace glia::nn {
using json = nlohmann::json;

namespace {
size_t count_arg(const json& j, const char* key, const std::string& type) {
  if (!j.contains(key)) detail::fail(type, std::string("missing argument '") + key + "'");
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    detail::fail(type, std::string("argument '") + key + "' must be a non-negative integer");
  return v.get<size_t>();
}
double real_arg(const json& j, const char* key, double def) {
  if (!j.contains(key)) return def;
  if (!j.at(key).is_number()) throw std::invalid_argument(std::string("argument '") + key + "' must be a number");
  return j.at(key).get<double>();
}
bool bool_arg(const json& j, const char* key, bool def) {
  return j.contains(key) ? j.at(key).get<bool>() : def;
}

template <class T>
std::map<std::string, LayerFactory<T>>& registry() {
  static std::map<std::string, LayerFactory<T>> factories;
  return factories;
}
std::mutex registry_mutex;
}  // namespace

template <class T>
void register_layer(const std::string& type, LayerFactory<T> factory) {
  std::lock_guard lock(registry_mutex);
  registry<T>()[type] = std::move(factory);
}

template <class T>
std::unique_ptr<Layer<T>> make_layer(const std::string& config_json, uint64_t seed) {
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::exception& e) {
    throw std::invalid_argument("layer config is not valid JSON: " + std::string(e.what()));
  }
  if (!j.is_object() || !j.contains("type") || !j.at("type").is_string())
    throw std::invalid_argument("layer config needs a string \"type\": " + config_json);
  const std::string type = j.at("type").get<std::string>();
  try {
    if (type == "linear")
      return std::make_unique<Linear<T>>(count_arg(j, "in_features", type),
                                         count_arg(j, "out_features", type),
                                         bool_arg(j, "bias", true), seed);
    if (type == "relu" || type == "gelu" || type == "silu" || type == "tanh" || type == "sigmoid")
      return std::make_unique<Elementwise<T>>(activation_from_name(type));
    if (type == "softmax") return std::make_unique<Softmax<T>>();
    if (type == "flatten") return std::make_unique<Flatten<T>>();
    if (type == "conv2d")
      return std::make_unique<Conv2d<T>>(
          count_arg(j, "in_channels", type), count_arg(j, "out_channels", type),
          count_arg(j, "kernel_size", type), j.contains("stride") ? count_arg(j, "stride", type) : 1,
          j.contains("padding") ? count_arg(j, "padding", type) : 0, bool_arg(j, "bias", true), seed);
    if (type == "maxpool2d" || type == "avgpool2d")
      return std::make_unique<Pool2d<T>>(type == "maxpool2d" ? PoolKind::max : PoolKind::average,
                                         count_arg(j, "kernel_size", type),
                                         j.contains("stride") ? count_arg(j, "stride", type) : 0);
    if (type == "batchnorm1d" || type == "batchnorm2d")
      return std::make_unique<BatchNorm<T>>(count_arg(j, "num_features", type),
                                            real_arg(j, "eps", 1e-5), real_arg(j, "momentum", 0.1),
                                            type == "batchnorm2d");
    if (type == "layernorm")
      return std::make_unique<LayerNorm<T>>(count_arg(j, "normalized_shape", type),
                                            real_arg(j, "eps", 1e-5));
    if (type == "dropout") return std::make_unique<Dropout<T>>(real_arg(j, "p", 0.5), seed);
    if (type == "embedding")
      return std::make_unique<Embedding<T>>(count_arg(j, "num_embeddings", type),
                                            count_arg(j, "embedding_dim", type), seed);
    if (type == "causal_self_attention")
      return std::make_unique<CausalSelfAttention<T>>(count_arg(j, "dim", type),
                                                      count_arg(j, "heads", type), seed);
  } catch (const json::exception& e) {
    throw std::invalid_argument(type + ": bad argument: " + e.what());
  }
  LayerFactory<T> factory;
  {
    std::lock_guard lock(registry_mutex);
    if (auto it = registry<T>().find(type); it != registry<T>().end()) factory = it->second;
  }
  if (factory) return factory(config_json, seed);
  throw std::invalid_argument("unknown layer type '" + type + "'");
}

template std::unique_ptr<Layer<float>> make_layer<float>(const std::string&, uint64_t);
template std::unique_ptr<Layer<double>> make_layer<double>(const std::string&, uint64_t);
template void register_layer<float>(const std::string&, LayerFactory<float>);
template void register_layer<double>(const std::string&, LayerFactory<double>);

}  // namespace glia::nn
