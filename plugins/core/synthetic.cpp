#include "synthetic.hpp"

#include "errors.hpp"

#include <glia/random.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace glia::core {

namespace {

constexpr int64_t kBlock = 1024;
constexpr double kPi = std::numbers::pi;

const char* name_of(SyntheticFunction f) {
  switch (f) {
    case SyntheticFunction::linear: return "linear";
    case SyntheticFunction::friedman1: return "friedman1";
    case SyntheticFunction::sine: return "sine";
    case SyntheticFunction::blobs: return "blobs";
    case SyntheticFunction::moons: return "moons";
  }
  return "?";
}

bool is_classifier(SyntheticFunction f) {
  return f == SyntheticFunction::blobs || f == SyntheticFunction::moons;
}

double std_normal_cdf(double v) { return 0.5 * std::erfc(-v / std::numbers::sqrt2); }

// Fills row[0..d) with correlated standard normals sharing one latent factor.
void correlated_normals(Rng& rng, double corr, double* row, int64_t d) {
  const double shared = std::sqrt(corr), own = std::sqrt(1.0 - corr);
  const double z = rng.normal();
  for (int64_t j = 0; j < d; ++j) row[j] = shared * z + own * rng.normal();
}

}  // namespace

SyntheticFunction parse_synthetic_function(const std::string& name) {
  for (auto f : {SyntheticFunction::linear, SyntheticFunction::friedman1, SyntheticFunction::sine,
                 SyntheticFunction::blobs, SyntheticFunction::moons})
    if (name == name_of(f)) return f;
  throw config_failure("function: unknown generator '" + name +
                       "' (choose linear, friedman1, sine, blobs or moons)");
}

void check_synthetic(const SyntheticSpec& s) {
  const std::string fn = name_of(s.function);
  if (s.classification && !is_classifier(s.function))
    throw config_failure("function '" + fn + "' makes regression data; set task = \"regression\" "
                         "or pick blobs or moons");
  if (!s.classification && is_classifier(s.function))
    throw config_failure("function '" + fn + "' makes classification data; set task = "
                         "\"classification\" or pick linear, friedman1 or sine");
  if (s.samples < 1) throw config_failure("samples must be at least 1");
  if (s.features < 1) throw config_failure("features must be at least 1");
  if (s.informative < 1) throw config_failure("informative must be at least 1");
  if (!(s.noise >= 0) || !std::isfinite(s.noise)) throw config_failure("noise must be >= 0");
  if (!(s.correlation >= 0 && s.correlation <= 1))
    throw config_failure("correlation must lie in [0, 1]");
  if (s.function == SyntheticFunction::friedman1 && s.features < 5)
    throw config_failure("friedman1 uses 5 features; set features >= 5 (got " +
                         std::to_string(s.features) + ")");
  if (s.function == SyntheticFunction::sine && s.features < 2)
    throw config_failure("sine uses 2 features; set features >= 2");
  if (s.function == SyntheticFunction::moons && s.features < 2)
    throw config_failure("moons uses 2 features; set features >= 2");
  if (s.function == SyntheticFunction::moons && s.classes != 2)
    throw config_failure("moons makes exactly 2 classes; set classes = 2 (got " +
                         std::to_string(s.classes) + ")");
  if (s.classification && s.classes < 2) throw config_failure("classes must be at least 2");
}

SyntheticData make_synthetic(const SyntheticSpec& s) {
  check_synthetic(s);
  const int64_t n = s.samples, d = s.features, k = std::min(s.informative, s.features);
  SyntheticData out;
  out.x.assign(static_cast<size_t>(n * d), 0.0);
  if (s.classification) out.labels.assign(static_cast<size_t>(n), 0);
  else out.y.assign(static_cast<size_t>(n), 0.0);

  // Ground truth from stream 0; rows from streams 1, 2, ... one per block.
  Rng truth = Rng::stream(s.seed, 0);
  std::vector<double> centres;
  if (s.function == SyntheticFunction::linear) {
    out.coef.assign(static_cast<size_t>(d), 0.0);
    for (int64_t j = 0; j < k; ++j) {
      const double magnitude = truth.uniform(0.5, 2.0);
      out.coef[static_cast<size_t>(j)] = truth.uniform() < 0.5 ? -magnitude : magnitude;
    }
    out.intercept = truth.uniform(-1.0, 1.0);
  } else if (s.function == SyntheticFunction::blobs) {
    centres.assign(static_cast<size_t>(s.classes * d), 0.0);
    for (int64_t c = 0; c < s.classes; ++c)
      for (int64_t j = 0; j < k; ++j) centres[static_cast<size_t>(c * d + j)] = truth.uniform(-1.0, 1.0);
  }

  const int64_t blocks = (n + kBlock - 1) / kBlock;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, blocks), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t b = r.begin(); b != r.end(); ++b) {
      Rng rng = Rng::stream(s.seed, static_cast<uint64_t>(b) + 1);
      for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
        double* x = out.x.data() + i * d;
        correlated_normals(rng, s.correlation, x, d);
        switch (s.function) {
          case SyntheticFunction::linear: {
            double v = out.intercept;
            for (int64_t j = 0; j < k; ++j) v += x[j] * out.coef[static_cast<size_t>(j)];
            out.y[static_cast<size_t>(i)] = v + s.noise * rng.normal();
            break;
          }
          case SyntheticFunction::friedman1: {
            for (int64_t j = 0; j < d; ++j) x[j] = std_normal_cdf(x[j]);
            out.y[static_cast<size_t>(i)] = 10 * std::sin(kPi * x[0] * x[1]) +
                                            20 * (x[2] - 0.5) * (x[2] - 0.5) + 10 * x[3] +
                                            5 * x[4] + s.noise * rng.normal();
            break;
          }
          case SyntheticFunction::sine: {
            for (int64_t j = 0; j < d; ++j) x[j] = 2 * std_normal_cdf(x[j]) - 1;
            out.y[static_cast<size_t>(i)] =
                std::sin(kPi * x[0]) * std::cos(kPi * x[1]) + s.noise * rng.normal();
            break;
          }
          case SyntheticFunction::blobs: {
            const int64_t label = i % s.classes;
            const double* centre = centres.data() + label * d;
            for (int64_t j = 0; j < d; ++j) x[j] = centre[j] + s.noise * x[j];
            out.labels[static_cast<size_t>(i)] = label;
            break;
          }
          case SyntheticFunction::moons: {
            const int64_t label = i % 2;
            const double t = rng.uniform(0.0, kPi);
            x[0] = (label == 0 ? std::cos(t) : 1.0 - std::cos(t)) + s.noise * rng.normal();
            x[1] = (label == 0 ? std::sin(t) : 0.5 - std::sin(t)) + s.noise * rng.normal();
            out.labels[static_cast<size_t>(i)] = label;
            break;
          }
        }
      }
    }
  });
  return out;
}

}  // namespace glia::core
