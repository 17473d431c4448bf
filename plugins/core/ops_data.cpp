// data.split, data.standardize, data.one_hot, data.synthetic.
#include "core_ops.hpp"
#include "labels.hpp"
#include "split.hpp"
#include "standardize.hpp"

#include <cstring>

namespace glia::core {

std::vector<int64_t> read_labels(const TensorRef& t) {
  if (t.ndim() != 1 && !(t.ndim() == 2 && t.dim(1) == 1))
    throw data_error("input '" + t.name() + "' must hold one class label per row, (N) or (N,1); got rank " +
                     std::to_string(t.ndim()));
  if (t.dtype() == dtype::f32 || t.dtype() == dtype::f64)
    return translate_errors([&] { return labels_from_doubles(t.to_vector<double>(), "input '" + t.name() + "'"); });
  return t.to_vector<int64_t>();
}

// ---------------------------------------------------------------------------------------------
// data.split

Descriptor Split::describe() {
  return Descriptor("data.split", "Splits rows into a train and a test set.")
      .doc("The test set takes ceil(test_fraction * N) rows (at least 1, at most N-1). Shuffled "
           "with the stage seed; without shuffle the last rows form the test set. With stratify "
           "every class keeps its share in both sets (largest-remainder rounding). Outputs keep "
           "the input dtypes and trailing dims.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_float("test_fraction", 0.25, "Fraction of the rows that go to the test set, strictly between 0 and 1.", 0.0, 1.0)
      .param_bool("stratify", false, "Keep class proportions in both sets; needs y to hold class labels.")
      .param_bool("shuffle", true, "Shuffle the rows (seeded) before splitting.")
      .input("x", dtype::numeric, -1, "N,...", "Rows to split (any dtype, rank >= 1).")
      .input("y", dtype::numeric, -1, "N,...", "Targets or labels split along with x.")
      .optional()
      .output("x_train", dtype::numeric, -1, "M,...", "Training rows of x.")
      .output("x_test", dtype::numeric, -1, "K,...", "Test rows of x.")
      .output("y_train", dtype::numeric, -1, "M,...", "Training rows of y; only when y is connected.")
      .optional()
      .output("y_test", dtype::numeric, -1, "K,...", "Test rows of y; only when y is connected.")
      .optional();
}

void Split::configure(const Params& p) {
  test_fraction = p.real("test_fraction");
  if (!(test_fraction > 0.0 && test_fraction < 1.0))
    throw config_error("test_fraction must lie strictly between 0 and 1 (got " + std::to_string(test_fraction) + ")");
  stratify = p.boolean("stratify");
  shuffle = p.boolean("shuffle");
}

namespace {

// Copies the listed rows of `t` into output port `port` (same dtype, first dim = rows.size()).
void gather_rows(Call& call, const TensorRef& t, const std::vector<unsigned char>& bytes,
                 const std::vector<int64_t>& rows, const char* port) {
  std::vector<int64_t> shape = t.shape();
  const int64_t n = shape[0];
  shape[0] = static_cast<int64_t>(rows.size());
  with_dtype(t.dtype(), [&]<class T>() {
    auto out = call.output<T>(port, shape);
    const size_t row_bytes = n ? bytes.size() / static_cast<size_t>(n) : 0;
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    for (size_t i = 0; i < rows.size(); ++i)
      std::memcpy(dst + i * row_bytes, bytes.data() + static_cast<size_t>(rows[i]) * row_bytes, row_bytes);
  });
}

}  // namespace

void Split::run(Call& call) {
  const TensorRef x = call.input("x");
  if (x.ndim() < 1) throw data_error("input 'x' must have at least one dim (rows)");
  const int64_t n = x.dim(0);
  const bool has_y = call.has_input("y");
  if (stratify && !has_y) throw config_error("stratify = true needs input 'y' (class labels)");
  std::vector<int64_t> strata;
  if (has_y) {
    const TensorRef y = call.input("y");
    if (y.ndim() < 1 || y.dim(0) != n)
      throw data_error("input 'y' has " + std::to_string(y.ndim() ? y.dim(0) : 0) + " rows, x has " + std::to_string(n));
    if (stratify) strata = read_labels(y);
  }
  const SplitIndices s = translate_errors([&] { return split_indices(n, test_fraction, shuffle, call.seed(), strata); });
  const auto x_bytes = contiguous_bytes(x);
  gather_rows(call, x, x_bytes, s.train, "x_train");
  gather_rows(call, x, x_bytes, s.test, "x_test");
  if (has_y) {
    const TensorRef y = call.input("y");
    const auto y_bytes = contiguous_bytes(y);
    gather_rows(call, y, y_bytes, s.train, "y_train");
    gather_rows(call, y, y_bytes, s.test, "y_test");
  }
}

// ---------------------------------------------------------------------------------------------
// data.standardize

Descriptor Standardize::describe() {
  return Descriptor("data.standardize", "Standardises columns to zero mean and unit variance, fitted on the training set.")
      .doc("mean and scale (population standard deviation) are fitted on x_train and applied to "
           "x_train and x_test: z = (x - mean) / scale. A constant column gets scale 1 (it becomes "
           "all zeros). NaN or Inf is a data error.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .input("x_train", dtype::f64, 2, "N,D", "Training features; the statistics are fitted on them.")
      .input("x_test", dtype::f64, 2, "M,D", "Further features transformed with the training statistics.")
      .optional()
      .output("x_train", dtype::f64, 2, "N,D", "Standardised training features.")
      .output("x_test", dtype::f64, 2, "M,D", "Standardised x_test; only when x_test is connected.")
      .optional()
      .output("mean", dtype::f64, 1, "D", "Per-column mean of x_train.")
      .output("scale", dtype::f64, 1, "D", "Per-column standard deviation of x_train (1 for constant columns).");
}

void Standardize::configure(const Params&) {}

void Standardize::run(Call& call) {
  const TensorRef train = call.input("x_train");
  if (train.ndim() != 2) throw data_error("input 'x_train' must be (N,D); got rank " + std::to_string(train.ndim()));
  const int64_t n = train.dim(0), d = train.dim(1);
  const std::vector<double> xt = train.to_vector<double>();
  const Standardizer s = translate_errors([&] { return fit_standardizer(xt.data(), n, d, "input 'x_train'"); });
  auto out = call.output<double>("x_train", {n, d});
  translate_errors([&] { apply_standardizer(s, xt.data(), n, out.data(), "input 'x_train'"); });
  if (call.has_input("x_test")) {
    const TensorRef test = call.input("x_test");
    if (test.ndim() != 2 || test.dim(1) != d)
      throw data_error("input 'x_test' must be (M," + std::to_string(d) + ") like x_train; got rank " +
                       std::to_string(test.ndim()) + (test.ndim() == 2 ? " with " + std::to_string(test.dim(1)) + " columns" : ""));
    const std::vector<double> xs = test.to_vector<double>();
    auto out_test = call.output<double>("x_test", {test.dim(0), d});
    translate_errors([&] { apply_standardizer(s, xs.data(), test.dim(0), out_test.data(), "input 'x_test'"); });
  }
  auto mean = call.output<double>("mean", {d});
  auto scale = call.output<double>("scale", {d});
  std::copy(s.mean.begin(), s.mean.end(), mean.begin());
  std::copy(s.scale.begin(), s.scale.end(), scale.begin());
}

// ---------------------------------------------------------------------------------------------
// data.one_hot

Descriptor OneHot::describe() {
  return Descriptor("data.one_hot", "Encodes class labels as one-hot rows.")
      .doc("Row i of the output holds 1 in column y[i] and 0 elsewhere. Labels must be integers "
           "(int or integer-valued float) in [0, classes).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_int("classes", 0, "Number of classes C; 0 infers max(y) + 1.", 0)
      .input("y", dtype::numeric, 1, "N", "Class labels.")
      .output("y", dtype::f64, 2, "N,C", "One-hot matrix.");
}

void OneHot::configure(const Params& p) {
  classes = p.integer("classes");
  if (classes < 0) throw config_error("classes must be >= 0 (0 infers them from the labels)");
}

void OneHot::run(Call& call) {
  const std::vector<int64_t> labels = read_labels(call.input("y"));
  const std::string what = "input 'y'";
  translate_errors([&] {
    check_label_range(labels, classes, what);
    const int64_t c = classes > 0 ? classes : std::max<int64_t>(infer_classes(labels), 1);
    const std::vector<double> m = one_hot(labels, c, what);
    auto out = call.output<double>("y", {static_cast<int64_t>(labels.size()), c});
    std::copy(m.begin(), m.end(), out.begin());
  });
}

// ---------------------------------------------------------------------------------------------
// data.synthetic

Descriptor Synthetic::describe() {
  return Descriptor("data.synthetic", "Generates seeded data sets with known ground truth.")
      .doc("Features start as correlated standard normals g (a shared latent factor gives any two "
           "features correlation `correlation`); uniform features are their Gaussian copula. "
           "eps is a standard normal draw. Same seed, same data, whatever the thread count.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_enum("task", "regression", {"regression", "classification"},
                  "regression: y is float64; classification: y holds int64 class labels.")
      .param_enum("function", "linear", {"linear", "friedman1", "sine", "blobs", "moons"},
                  "Generator. Regression: linear: x = g, y = x.w + b + noise*eps, w_j = +-U(0.5,2) "
                  "for the first `informative` features and 0 after, b ~ U(-1,1) (w on port coef, "
                  "b on port intercept). friedman1: x ~ U(0,1), y = 10 sin(pi x0 x1) + "
                  "20 (x2-0.5)^2 + 10 x3 + 5 x4 + noise*eps (needs features >= 5). sine: "
                  "x ~ U(-1,1), y = sin(pi x0) cos(pi x1) + noise*eps (features >= 2). "
                  "Classification: blobs: label = i mod classes, x = centre[label] + noise*g with "
                  "centres ~ U(-1,1) on the first `informative` features and 0 after. moons: "
                  "label = i mod 2, t ~ U(0,pi), (x0,x1) = (cos t, sin t) or (1 - cos t, 0.5 - sin t) "
                  "plus noise*eps; further features are g (needs features >= 2, classes = 2).")
      .param_int("samples", 1000, "Number of rows N.", 1)
      .param_int("features", 10, "Number of feature columns D.", 1)
      .param_int("informative", 5, "Features that carry signal (linear coefficients, blob centres); capped at features.", 1)
      .param_int("classes", 2, "Number of classes (classification).", 2)
      .param_float("noise", 0.1, "Standard deviation of the noise: on y for regression, within clusters for blobs, on the points for moons.", 0.0)
      .param_float("correlation", 0.0, "Correlation between any two features through a shared latent factor, in [0, 1].", 0.0, 1.0)
      .output("x", dtype::f64, 2, "N,D", "Features.")
      .output("y", dtype::f64 | dtype::i64, 1, "N", "Targets (float64) or class labels (int64).")
      .output("coef", dtype::f64, 1, "D", "linear only: the true coefficients w.")
      .optional()
      .output("intercept", dtype::f64, 1, "1", "linear only: the true intercept b.")
      .optional();
}

void Synthetic::configure(const Params& p) {
  spec.classification = p.string("task") == "classification";
  spec.samples = p.integer("samples");
  spec.features = p.integer("features");
  spec.informative = p.integer("informative");
  spec.classes = p.integer("classes");
  spec.noise = p.real("noise");
  spec.correlation = p.real("correlation");
  translate_errors([&] {
    spec.function = parse_synthetic_function(p.string("function"));
    check_synthetic(spec);
  });
}

void Synthetic::run(Call& call) {
  spec.seed = call.seed();
  const SyntheticData data = translate_errors([&] { return make_synthetic(spec); });
  auto x = call.output<double>("x", {spec.samples, spec.features});
  std::copy(data.x.begin(), data.x.end(), x.begin());
  if (spec.classification) {
    auto y = call.output<int64_t>("y", {spec.samples});
    std::copy(data.labels.begin(), data.labels.end(), y.begin());
  } else {
    auto y = call.output<double>("y", {spec.samples});
    std::copy(data.y.begin(), data.y.end(), y.begin());
  }
  if (spec.function == SyntheticFunction::linear) {
    auto coef = call.output<double>("coef", {spec.features});
    std::copy(data.coef.begin(), data.coef.end(), coef.begin());
    call.output<double>("intercept", {1})[0] = data.intercept;
  }
}

}  // namespace glia::core
