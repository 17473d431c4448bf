// Shared pieces of the operators that train with glia::nn: error translation and the
// classification outputs of their predict operators.
#pragma once

#include <glia/nn/train.hpp>
#include <glia/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace glia::nn {

// domain_error (NaN, divergence, singular systems) -> numeric; invalid_argument and other
// runtime_errors (bad shapes, unreadable safetensors) -> data; Cancelled -> cancelled.
template <class F>
void with_glia_errors(F&& f) {
  try {
    f();
  } catch (const glia::Error&) {
    throw;
  } catch (const Cancelled&) {
    throw glia::Error(GLIA_ERR_CANCELLED, "cancelled");
  } catch (const std::domain_error& e) {
    throw glia::numeric_error(e.what());
  } catch (const std::invalid_argument& e) {
    throw glia::data_error(e.what());
  } catch (const std::runtime_error& e) {
    throw glia::data_error(e.what());
  }
}

// Writes the "y" (int64 argmax class, (N)) and "scores" (float softmax, (N, K)) outputs from
// row-major logits (N, K).
inline void write_class_predictions(const glia::Call& call, const float* logits, size_t n, size_t k) {
  auto y = call.output<int64_t>("y", {int64_t(n)});
  auto scores = call.output<float>("scores", {int64_t(n), int64_t(k)});
  for (size_t r = 0; r < n; ++r) {
    const float* z = logits + r * k;
    float* s = scores.data() + r * k;
    const float m = *std::max_element(z, z + k);
    float sum = 0;
    for (size_t c = 0; c < k; ++c) sum += (s[c] = std::exp(z[c] - m));
    for (size_t c = 0; c < k; ++c) s[c] /= sum;
    y[int64_t(r)] = int64_t(std::max_element(z, z + k) - z);
  }
}

}  // namespace glia::nn
