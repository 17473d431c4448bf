// For operators that train with glia::nn: runs the math and turns the standard exceptions the
// library throws into glia errors, so each failure reaches the host with the right status.
#pragma once

#include <glia/nn/train.hpp>
#include <glia/plugin.hpp>

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

}  // namespace glia::nn
