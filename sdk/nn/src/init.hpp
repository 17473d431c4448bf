// Internal helpers shared by the layer sources.
#pragma once

#include <glia/nn/tensor.hpp>
#include <glia/random.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <stdexcept>

namespace glia::nn::detail {

// Fills t with U(-bound, bound) from one seeded stream (PyTorch's default for linear and conv
// layers uses bound = 1/sqrt(fan_in) for both weight and bias).
template <class T>
void fill_uniform(Tensor<T>& t, double bound, uint64_t seed) {
  Rng rng(seed);
  for (T& v : t) v = static_cast<T>(rng.uniform(-bound, bound));
}

template <class T>
Parameter<T> make_parameter(std::string name, const Shape& shape) {
  Parameter<T> p;
  p.name = std::move(name);
  p.value = Tensor<T>::from_shape(shape);
  p.grad = Tensor<T>::from_shape(shape);
  p.value.fill(T(0));
  p.grad.fill(T(0));
  return p;
}

inline Shape shape_of(const auto& t) { return Shape(t.shape().begin(), t.shape().end()); }

// Throws std::invalid_argument "<layer>: <message>".
[[noreturn]] inline void fail(const std::string& layer, const std::string& message) {
  throw std::invalid_argument(layer + ": " + message);
}

inline std::string dump(const nlohmann::json& j) { return j.dump(); }

}  // namespace glia::nn::detail
