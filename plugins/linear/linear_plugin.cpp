// glia-linear: operator bindings over the ridge library (ridge.hpp).
#include "linear_plugin.hpp"

#include "ridge.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace glia::linear {
namespace {

// Runs f, turning the library's errors into glia errors of the matching kind.
template <class F>
decltype(auto) translate_errors(F&& f) {
  try {
    return f();
  } catch (const RidgeError& e) {
    switch (e.kind()) {
      case ErrorKind::config: throw config_error(e.what());
      case ErrorKind::data: throw data_error(e.what());
      case ErrorKind::numeric: throw numeric_error(e.what());
    }
    throw;
  }
}

std::vector<double> default_alphas() {
  std::vector<double> alphas;
  for (int i = 0; i <= 14; ++i) alphas.push_back(std::pow(10.0, -3.0 + 0.5 * i));
  return alphas;
}

// A 2-D input as doubles (any float dtype, any strides), checked against the expected rank.
std::vector<double> read_matrix(const Call& call, const char* port, int64_t& rows, int64_t& cols) {
  const TensorRef t = call.input(port);
  if (t.ndim() != 2)
    throw data_error(std::string("input '") + port + "' must be 2-D, got " +
                     std::to_string(t.ndim()) + "-D");
  rows = t.dim(0);
  cols = t.dim(1);
  return t.to_vector<double>();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

}  // namespace

Descriptor Ridge::describe() {
  return Descriptor("linear.ridge",
                    "Ridge regression, penalty chosen per target by k-fold cross-validation.")
      .doc("Fits y = x W + b by closed-form ridge regression for every column of y. Each "
           "candidate penalty in `alphas` is scored by the R² on held-out folds (one SVD per "
           "fold serves the whole grid); the best penalty, per target or shared, is refitted on "
           "all the data. Folds come from a seeded shuffle.")
      .citation("Hoerl & Kennard (1970), Ridge regression: biased estimation for nonorthogonal "
                "problems, Technometrics 12(1), doi:10.1080/00401706.1970.10488634; Dupré la "
                "Tour, Eickenberg, Nunez-Elizalde & Gallant (2022), Feature-space selection with "
                "banded ridge regression, NeuroImage 264, doi:10.1016/j.neuroimage.2022.119728")
      .capabilities(GLIA_CAP_DETERMINISTIC | GLIA_CAP_CANCELLABLE)
      .param_floats("alphas", default_alphas(),
                    "Candidate ridge penalties (sum of squared coefficients weight).", 0.0)
      .param_int("folds", 5, "Number of cross-validation folds.", 2)
      .param_bool("alpha_per_target", true,
                  "Choose the penalty separately for each target; false shares the one with the "
                  "best mean score.")
      .param_bool("fit_intercept", true, "Centre x and y so that an unpenalised intercept is fit.")
      .input("x", dtype::floats, 2, "N,D", "Training features.")
      .input("y", dtype::floats, -1, "N,...", "Training targets, (N) or (N,T).")
      .input("x_test", dtype::floats, 2, "M,D", "Features to predict after fitting.")
      .optional()
      .output("coef", dtype::f64, 2, "D,T", "Coefficients, one column per target.")
      .save()
      .output("intercept", dtype::f64, 1, "T", "Intercept per target.")
      .output("alpha", dtype::f64, 1, "T", "Chosen penalty per target.")
      .output("cv_r2", dtype::f64, 1, "T", "Mean cross-validated R² at the chosen penalty.")
      .output("prediction", dtype::f64, -1, "M,...",
              "Predictions for x_test, shaped like y: (M) or (M,T).")
      .optional();
}

void Ridge::configure(const Params& params) {
  options_.alphas = params.reals("alphas");
  options_.folds = params.integer("folds");
  options_.alpha_per_target = params.boolean("alpha_per_target");
  options_.fit_intercept = params.boolean("fit_intercept");
  translate_errors([&] { check_options(options_); });
}

void Ridge::run(Call& call) {
  int64_t n = 0, d = 0;
  const std::vector<double> x = read_matrix(call, "x", n, d);
  const TensorRef y_in = call.input("y");
  if (y_in.ndim() != 1 && y_in.ndim() != 2)
    throw data_error("input 'y' must be (N) or (N,T), got " + std::to_string(y_in.ndim()) + "-D");
  const bool y_is_vector = y_in.ndim() == 1;
  const int64_t t = y_is_vector ? 1 : y_in.dim(1);
  if (y_in.dim(0) != n)
    throw data_error("x has " + std::to_string(n) + " rows but y has " +
                     std::to_string(y_in.dim(0)));
  const std::vector<double> y = y_in.to_vector<double>();

  std::vector<double> x_test;
  int64_t m = 0, d_test = 0;
  if (call.has_input("x_test")) {
    x_test = read_matrix(call, "x_test", m, d_test);
    if (d_test != d)
      throw data_error("x_test has " + std::to_string(d_test) + " columns but x has " +
                       std::to_string(d));
  }

  RidgeOptions options = options_;
  options.seed = call.seed();
  options.checkpoint = [&call] { call.check_cancelled(); };
  const RidgeModel model = translate_errors(
      [&] { return fit_ridge_cv({x.data(), n, d}, {y.data(), n, t}, options); });

  std::vector<double> prediction;
  if (call.has_input("x_test"))
    prediction = translate_errors([&] {
      return predict({x_test.data(), m, d}, {model.coef.data(), d, t}, model.intercept);
    });

  std::ranges::copy(model.coef, call.output<double>("coef", {d, t}).begin());
  std::ranges::copy(model.intercept, call.output<double>("intercept", {t}).begin());
  std::ranges::copy(model.alpha, call.output<double>("alpha", {t}).begin());
  std::ranges::copy(model.cv_r2, call.output<double>("cv_r2", {t}).begin());
  if (call.has_input("x_test")) {
    const std::vector<int64_t> shape = y_is_vector ? std::vector<int64_t>{m}
                                                   : std::vector<int64_t>{m, t};
    std::ranges::copy(prediction, call.output<double>("prediction", shape).begin());
  }

  call.metric("alpha", median(model.alpha));
  call.metric("cv_r2", std::accumulate(model.cv_r2.begin(), model.cv_r2.end(), 0.0) /
                           static_cast<double>(t));
}

Descriptor Predict::describe() {
  return Descriptor("linear.predict", "Applies a linear model: y = x coef + intercept.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_bool("squeeze", true, "Return y as (M) rather than (M,1) when there is one target.")
      .input("x", dtype::floats, 2, "M,D", "Features.")
      .input("coef", dtype::floats, 2, "D,T", "Coefficients, one column per target.")
      .input("intercept", dtype::floats, 1, "T", "Intercept per target.")
      .output("y", dtype::f64, -1, "M,...", "Predictions, (M,T), or (M) when squeezed.");
}

void Predict::configure(const Params& params) { squeeze_ = params.boolean("squeeze"); }

void Predict::run(Call& call) {
  int64_t m = 0, d = 0, coef_rows = 0, t = 0;
  const std::vector<double> x = read_matrix(call, "x", m, d);
  const std::vector<double> coef = read_matrix(call, "coef", coef_rows, t);
  const TensorRef intercept_in = call.input("intercept");
  if (intercept_in.ndim() != 1)
    throw data_error("input 'intercept' must be 1-D, got " + std::to_string(intercept_in.ndim()) +
                     "-D");
  const std::vector<double> intercept = intercept_in.to_vector<double>();
  const std::vector<double> y = translate_errors(
      [&] { return predict({x.data(), m, d}, {coef.data(), coef_rows, t}, intercept); });
  const std::vector<int64_t> shape = squeeze_ && t == 1 ? std::vector<int64_t>{m}
                                                        : std::vector<int64_t>{m, t};
  std::ranges::copy(y, call.output<double>("y", shape).begin());
}

}  // namespace glia::linear

GLIA_PLUGIN("linear", "0.1.0", glia::linear::Ridge, glia::linear::Predict)
