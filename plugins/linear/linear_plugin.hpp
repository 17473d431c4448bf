// Operator classes of glia-linear, declared here so that tests can drive them through
// glia::testing::Harness.
#pragma once

#include "ridge.hpp"

#include <glia/plugin.hpp>

namespace glia::linear {

// linear.ridge: cross-validated ridge regression, optionally predicting x_test.
struct Ridge {
  static Descriptor describe();
  void configure(const Params& params);
  void run(Call& call);

 private:
  RidgeOptions options_;
};

// linear.predict: y = x coef + intercept.
struct Predict {
  static Descriptor describe();
  void configure(const Params& params);
  void run(Call& call);

 private:
  bool squeeze_ = true;
};

}  // namespace glia::linear
