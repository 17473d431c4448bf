// metrics.regression, metrics.classification.
#include "core_ops.hpp"
#include "metrics.hpp"

namespace glia::core {

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + ")";
}

// (N) and (N,1) describe the same single target.
std::vector<int64_t> target_shape(const TensorRef& t) {
  std::vector<int64_t> s = t.shape();
  if (s.size() == 2 && s[1] == 1) s.pop_back();
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// metrics.regression

Descriptor RegressionMetrics::describe() {
  return Descriptor("metrics.regression", "Scores regression predictions: MSE, RMSE, MAE and R^2.")
      .doc("Reports the metrics mse, rmse, mae and r2. For (N,T) targets each is the mean over "
           "the T targets of that target's score (rmse: mean of per-target RMSEs). r2 = 1 - "
           "SS_res / SS_tot; for a constant target it is 1 when the prediction is exact, else 0.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .input("y_true", dtype::floats, -1, "N,...", "True targets, (N) or (N,T).")
      .input("y_pred", dtype::floats, -1, "N,...", "Predictions, same shape as y_true ((N,1) matches (N)).")
      .output("scores", dtype::f64, 1, "4", "[mse, rmse, mae, r2].");
}

void RegressionMetrics::configure(const Params&) {}

void RegressionMetrics::run(Call& call) {
  const TensorRef yt = call.input("y_true"), yp = call.input("y_pred");
  const auto st = target_shape(yt), sp = target_shape(yp);
  if (st.empty() || st.size() > 2)
    throw data_error("input 'y_true' must be (N) or (N,T); got " + shape_text(yt.shape()));
  if (st != sp)
    throw data_error("y_pred has shape " + shape_text(yp.shape()) + ", y_true " + shape_text(yt.shape()));
  const int64_t n = st[0], t = st.size() == 2 ? st[1] : 1;
  const std::vector<double> a = yt.to_vector<double>(), b = yp.to_vector<double>();
  const RegressionScores s = translate_errors([&] { return regression_scores(a.data(), b.data(), n, t); });
  call.metric("mse", s.mse);
  call.metric("rmse", s.rmse);
  call.metric("mae", s.mae);
  call.metric("r2", s.r2);
  auto out = call.output<double>("scores", {4});
  out[0] = s.mse;
  out[1] = s.rmse;
  out[2] = s.mae;
  out[3] = s.r2;
}

// ---------------------------------------------------------------------------------------------
// metrics.classification

Descriptor ClassificationMetrics::describe() {
  return Descriptor("metrics.classification", "Scores class predictions: accuracy, macro F1, confusion matrix.")
      .doc("Reports accuracy and macro_f1 (mean F1 over the classes that occur in y_true or "
           "y_pred), and for binary problems also f1, the F1 score of class 1. y_pred may hold "
           "labels (N) or per-class scores/probabilities (N,C), reduced by argmax.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_int("classes", 0, "Number of classes C; 0 infers max(label) + 1 (or C from scores).", 0)
      .input("y_true", dtype::numeric, 1, "N", "True class labels (int, or integer-valued float).")
      .input("y_pred", dtype::numeric, -1, "N,...", "Predicted labels (N), or scores (N,C) reduced by argmax.")
      .output("confusion", dtype::i64, 2, "C,C", "Counts: row = true class, column = predicted class.")
      .save();
}

void ClassificationMetrics::configure(const Params& p) {
  classes = p.integer("classes");
  if (classes < 0) throw config_error("classes must be >= 0 (0 infers them)");
}

void ClassificationMetrics::run(Call& call) {
  const std::vector<int64_t> truth = read_labels(call.input("y_true"));
  const TensorRef yp = call.input("y_pred");
  std::vector<int64_t> pred;
  int64_t c = classes;
  if (yp.ndim() == 2 && yp.dim(1) > 1) {
    if (classes > 0 && yp.dim(1) != classes)
      throw data_error("y_pred has " + std::to_string(yp.dim(1)) + " score columns, classes = " +
                       std::to_string(classes));
    c = yp.dim(1);
    const std::vector<double> scores = yp.to_vector<double>();
    pred = translate_errors([&] { return argmax_rows(scores.data(), yp.dim(0), yp.dim(1)); });
  } else {
    pred = read_labels(yp);
  }
  if (pred.size() != truth.size())
    throw data_error("y_pred has " + std::to_string(pred.size()) + " rows, y_true " + std::to_string(truth.size()));
  const ClassificationScores s = translate_errors([&] { return classification_scores(truth, pred, c); });
  call.metric("accuracy", s.accuracy);
  call.metric("macro_f1", s.macro_f1);
  if (s.classes == 2) call.metric("f1", s.f1);
  auto confusion = call.output<int64_t>("confusion", {s.classes, s.classes});
  std::copy(s.confusion.begin(), s.confusion.end(), confusion.begin());
}

}  // namespace glia::core
