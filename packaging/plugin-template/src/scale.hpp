// The @name@.scale operator: y = factor * x, elementwise; reports the mean of y.
#pragma once

#include <glia/plugin.hpp>

#include <vector>

namespace @name@_plugin {

struct Scale {
  static glia::Descriptor describe() {
    return glia::Descriptor("@name@.scale", "Multiplies a matrix by a factor.")
        .doc("y = factor * x, elementwise. Reports the mean of y as the metric 'mean'.")
        .version("0.1.0")
        .capabilities(GLIA_CAP_DETERMINISTIC)
        .param_float("factor", 2.0, "The factor.", -1e6, 1e6)
        .input("x", glia::dtype::floats, 2, "N,D", "Any matrix, float32 or float64.")
        .output("y", glia::dtype::f64, 2, "N,D", "x times factor, float64.");
  }

  // Called once with every parameter, defaults filled in and range-checked by the host.
  void configure(const glia::Params& params) { factor = params.real("factor"); }

  // May run on any worker thread; reads inputs, allocates outputs through the host.
  void run(glia::Call& call) {
    const glia::TensorRef x = call.input("x");
    const std::vector<double> values = x.to_vector<double>();
    auto y = call.output<double>("y", x.shape());
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      y[static_cast<int64_t>(i)] = factor * values[i];
      sum += y[static_cast<int64_t>(i)];
    }
    call.metric("mean", values.empty() ? 0.0 : sum / static_cast<double>(values.size()));
  }

  double factor = 2.0;
};

}  // namespace @name@_plugin
