// Seeded synthetic data sets with known ground truth. Rows are generated in fixed blocks, each
// from its own glia::Rng stream, so the data depend on the seed only, not on the thread count.
//
// Features start as correlated standard normals g = sqrt(c)·z + sqrt(1-c)·e (one shared latent z
// per row, so any two features correlate by c); uniform features are Phi(g) mapped onto their
// interval (a Gaussian copula). eps below is a standard normal draw.
//   linear     x = g;  y = x·w + b + noise·eps.  w_j = ±U(0.5, 2) for the first `informative`
//              features, 0 for the rest; b ~ U(-1, 1).
//   friedman1  x ~ U(0, 1);  y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise·eps.
//   sine       x ~ U(-1, 1);  y = sin(pi x0) cos(pi x1) + noise·eps.
//   blobs      label = i mod classes;  x = centre[label] + noise·g, centres ~ U(-1, 1) on the
//              first `informative` features and 0 on the rest.
//   moons      label = i mod 2;  t ~ U(0, pi);  (x0, x1) = (cos t, sin t) for class 0,
//              (1 - cos t, 0.5 - sin t) for class 1, plus noise·eps each; further features are g.
// `informative` is capped at the feature count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glia::core {

enum class SyntheticFunction { linear, friedman1, sine, blobs, moons };

struct SyntheticSpec {
  bool classification = false;
  SyntheticFunction function = SyntheticFunction::linear;
  int64_t samples = 1000;
  int64_t features = 10;
  int64_t informative = 5;
  int64_t classes = 2;
  double noise = 0.1;
  double correlation = 0.0;
  uint64_t seed = 0;
};

struct SyntheticData {
  std::vector<double> x;        // samples x features
  std::vector<double> y;        // regression targets (samples)
  std::vector<int64_t> labels;  // class labels (samples)
  std::vector<double> coef;     // linear: w (features)
  double intercept = 0;         // linear: b
};

// "linear" -> SyntheticFunction::linear ...; config error for an unknown name.
SyntheticFunction parse_synthetic_function(const std::string& name);

// Config error for a combination that cannot work (function of the other task, too few
// features or a wrong class count, negative noise, correlation outside [0, 1]).
void check_synthetic(const SyntheticSpec& spec);

SyntheticData make_synthetic(const SyntheticSpec& spec);

}  // namespace glia::core
