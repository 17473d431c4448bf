#include "kan_plugin.hpp"

#include "plot.hpp"

#include <nlohmann/json.hpp>

#include <glia/nn/operator.hpp>
#include <glia/random.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace glia::kan_plugin {

using nlohmann::json;

namespace {

std::vector<double> read_x(const TensorRef& x, size_t width, const std::string& what) {
  if (x.ndim() != 2) throw data_error("input '" + x.name() + "' must be (N, D), got rank " + std::to_string(x.ndim()));
  if (size_t(x.dim(1)) != width)
    throw data_error("input '" + x.name() + "' has " + std::to_string(x.dim(1)) + " columns but " + what +
                     " has " + std::to_string(width) + " inputs");
  std::vector<double> v = x.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw data_error("input '" + x.name() + "': value at row " + std::to_string(i / width) + " is NaN or infinite");
  return v;
}

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto a = item.find_first_not_of(' '), b = item.find_last_not_of(' ');
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
  }
  return out;
}

// Input names: the parameter's, else the model's, else x1..xD.
std::vector<std::string> input_names(const std::string& param, const json& extra, size_t d) {
  std::vector<std::string> names = split_names(param);
  if (names.empty() && extra.contains("names")) names = extra["names"].get<std::vector<std::string>>();
  if (names.empty())
    for (size_t i = 0; i < d; ++i) names.push_back("x" + std::to_string(i + 1));
  if (names.size() != d)
    throw config_error("names: " + std::to_string(names.size()) + " names for " + std::to_string(d) + " inputs");
  return names;
}

kan::Loss loss_of(const json& extra) {
  const std::string l = extra.value("loss", "mse");
  if (l == "cross_entropy") return kan::Loss::cross_entropy;
  if (l == "bce") return kan::Loss::binary_cross_entropy;
  return kan::Loss::mse;
}

// Targets for the model's task: standardised regression targets or class labels.
kan::Data make_data(std::vector<double> x, const TensorRef* y, const kan::Model<double>& m, const json& extra) {
  kan::Data d;
  const size_t width = m.widths[0], outputs = m.widths.back();
  d.n = x.size() / width;
  d.x = std::move(x);
  if (!y) return d;
  if (y->ndim() < 1 || size_t(y->dim(0)) != d.n)
    throw data_error("input '" + y->name() + "' has " + std::to_string(y->ndim() ? y->dim(0) : 0) +
                     " rows but x has " + std::to_string(d.n));
  const std::vector<double> v = y->to_vector<double>();
  if (extra.value("task", "regression") == "regression") {
    if (v.size() != d.n * outputs)
      throw data_error("input '" + y->name() + "' has " + std::to_string(v.size() / std::max<size_t>(d.n, 1)) +
                       " targets per row but the model has " + std::to_string(outputs) + " outputs");
    const auto mean = extra.value("y_mean", std::vector<double>(outputs, 0.0));
    const auto scale = extra.value("y_scale", std::vector<double>(outputs, 1.0));
    d.targets.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) throw data_error("input '" + y->name() + "': target " + std::to_string(i) + " is NaN or infinite");
      d.targets[i] = (v[i] - mean[i % outputs]) / scale[i % outputs];
    }
    return d;
  }
  const int64_t classes = extra.value("classes", int64_t(2));
  if (v.size() != d.n) throw data_error("input '" + y->name() + "': class labels must be (N)");
  for (size_t i = 0; i < d.n; ++i) {
    if (!(v[i] >= 0) || v[i] != std::floor(v[i]) || v[i] >= double(classes))
      throw data_error("input '" + y->name() + "': label " + std::to_string(v[i]) + " at row " + std::to_string(i) +
                       " is not a class in [0, " + std::to_string(classes) + ")");
    d.labels.push_back(int64_t(v[i]));
  }
  return d;
}

struct LoadedModel {
  kan::Model<double> model;
  json extra;
};

LoadedModel load(const Call& call, const std::string& port) {
  LoadedModel r;
  nn::with_glia_errors([&] {
    std::string extra;
    r.model = kan::load_model(call.input_blob(port), &extra);
    r.extra = json::parse(extra);
  });
  return r;
}

void output_model(const Call& call, const std::string& port, const kan::Model<double>& m, const json& extra) {
  call.output_blob(port, kan::save_model(m, extra.dump()));
}

// Writes text to dir/name atomically (tmp + rename).
void write_artifact(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name, tmp = dir / (name + ".tmp");
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f) throw io_error("could not write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
}

std::vector<kan::Fn> parse_library(const std::string& s) {
  std::vector<kan::Fn> lib;
  for (const std::string& name : split_names(s)) {
    bool found = false;
    for (int f = 0; f < kan::kFnCount; ++f)
      if (name == kan::fn_name(static_cast<kan::Fn>(f))) {
        lib.push_back(static_cast<kan::Fn>(f));
        found = true;
      }
    if (!found)
      throw config_error("library: unknown function '" + name +
                         "' (choose from x, x^2, x^3, x^4, 1/x, sqrt, exp, log, sin, tanh, abs, sigmoid, 0)");
  }
  return lib;
}

size_t edge_count(const kan::Model<double>& m) {
  size_t n = 0;
  for (const auto& L : m.layers)
    for (size_t e = 0; e < L.in * L.out; ++e) n += L.mask[e] != 0 || L.symbolic[e] != kan::Fn::none;
  return n;
}

}  // namespace

// ---- kan.train ------------------------------------------------------------------------------

Descriptor Train::describe() {
  return Descriptor("kan.train", "Trains a Kolmogorov-Arnold network (pykan's model) for regression or classification.")
      .doc("Each edge computes w_b*silu(x) + w_s*sum_m c_m B_m(x) with order-k B-splines on G intervals; nodes "
           "sum their edges. Initialised and trained as pykan's MultKAN.fit: full-batch L-BFGS (each step runs "
           "up to lbfgs_iterations iterations with a strong-Wolfe line search) or Adam, grid updates from the "
           "training inputs, and the sparsity regulariser lamb*(lamb_l1*L1 + lamb_entropy*entropy) of the "
           "edges' activation scales. grids = [3, 5, 10] trains `steps` steps per grid, extending the grid "
           "(least-squares refit) in between. Regression minimises MSE; classification softmax "
           "cross-entropy, or binary cross-entropy of one logit when the last width is 1. Reports "
           "train_loss, val_loss and reg per step.")
      .citation("Liu et al., KAN: Kolmogorov-Arnold Networks, arXiv:2404.19756 (2024); pykan 0.2.8")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_ints("widths", {0, 5, 1}, "Layer widths, input to output, e.g. [81, 8, 1]; 0 as the first entry takes "
                  "the width of x.", 0, 1 << 16)
      .param_enum("task", "regression", {"regression", "classification"}, "Regression (MSE) or classification.")
      .param_int("grid", 3, "Grid intervals G (the first stage when grids is set).", 1, 1000)
      .param_ints("grids", {}, "Grid extension schedule, e.g. [3, 5, 10]; [] trains at `grid` only.", 1, 1000)
      .param_int("k", 3, "B-spline order.", 1, 5)
      .param_floats("grid_range", {-1.0, 1.0}, "Initial grid range [lo, hi].")
      .param_float("noise_scale", 0.3, "Spline noise at initialisation.", 0.0, 100.0)
      .param_float("scale_base_mu", 0.0, "Mean of the base branch scale (times 1/sqrt(fan_in)).", -100.0, 100.0)
      .param_float("scale_base_sigma", 1.0, "Spread of the base branch scale (times 1/sqrt(fan_in)).", 0.0, 100.0)
      .param_enum("optimizer", "lbfgs", {"lbfgs", "adam"}, "L-BFGS (full batch, pykan's default) or Adam.")
      .param_int("steps", 100, "Optimizer steps (per grid of the schedule).", 0, 10000000)
      .param_float("lr", 1.0, "Adam learning rate, or L-BFGS initial step.", 0.0, 100.0)
      .param_int("lbfgs_iterations", 20, "L-BFGS iterations per step (torch's max_iter).", 1, 100000)
      .param_int("batch", 0, "Adam minibatch size; 0 uses the full batch.", 0, 1 << 30)
      .param_float("lamb", 0.0, "Weight of the sparsity regulariser; 0 disables it.", 0.0, 1e6)
      .param_float("lamb_l1", 1.0, "L1 weight inside the regulariser.", 0.0, 1e6)
      .param_float("lamb_entropy", 2.0, "Entropy weight inside the regulariser.", 0.0, 1e6)
      .param_bool("update_grid", true, "Update the grids from the training inputs during training.")
      .param_int("grid_update_num", 10, "Number of grid updates before stop_grid_update_step.", 1, 100000)
      .param_int("stop_grid_update_step", 50, "No grid updates from this step on.", 0, 10000000)
      .param_float("grid_eps", 0.02, "Blend of uniform (1) and sample-quantile (0) knots in grid updates.", 0.0, 1.0)
      .param_bool("train_bias", false, "Also train a bias per node (pykan's node_bias, frozen by default).")
      .param_bool("standardize_y", false, "Regression: train on standardised targets (predict undoes it).")
      .param_string("names", "", "Comma-separated input names for formulas and plots; empty: x1, x2, ...")
      .input("x", dtype::floats, 2, "N,D", "Training inputs.")
      .input("y", dtype::numeric, -1, "N,...", "Regression targets (N) or (N,T), or class labels (N).")
      .input("x_val", dtype::floats, 2, "M,D", "Validation inputs (val_loss per step).").optional()
      .input("y_val", dtype::numeric, -1, "M,...", "Validation targets or labels.").optional()
      .blob_input("init", kModelMediaType, "A model to continue training (widths, grid and k from it).").optional()
      .blob_output("model", kModelMediaType, "The trained model (safetensors: weights, grids, metadata).");
}

void Train::configure(const Params& p) {
  widths = p.integers("widths");
  grids = p.integers("grids");
  task = p.string("task");
  names = p.string("names");
  grid = int(p.integer("grid"));
  order = int(p.integer("k"));
  const auto range = p.reals("grid_range");
  if (range.size() != 2 || !(range[1] > range[0])) throw config_error("grid_range must be [lo, hi] with lo < hi");
  grid_lo = range[0];
  grid_hi = range[1];
  init.noise_scale = p.real("noise_scale");
  init.scale_base_mu = p.real("scale_base_mu");
  init.scale_base_sigma = p.real("scale_base_sigma");
  init.grid_lo = grid_lo;
  init.grid_hi = grid_hi;
  train.optimizer = p.string("optimizer");
  train.steps = size_t(p.integer("steps"));
  train.lr = p.real("lr");
  train.lbfgs_iterations = size_t(p.integer("lbfgs_iterations"));
  train.batch = size_t(p.integer("batch"));
  train.reg.lamb = p.real("lamb");
  train.reg.lamb_l1 = p.real("lamb_l1");
  train.reg.lamb_entropy = p.real("lamb_entropy");
  train.update_grid = p.boolean("update_grid");
  train.grid_update_num = size_t(p.integer("grid_update_num"));
  train.stop_grid_update_step = size_t(p.integer("stop_grid_update_step"));
  train.grid_eps = p.real("grid_eps");
  train.train_bias = p.boolean("train_bias");
  standardize_y = p.boolean("standardize_y");
  if (widths.size() < 2) throw config_error("widths needs at least an input and an output width, e.g. [2, 5, 1]");
  for (size_t l = 1; l < widths.size(); ++l)
    if (widths[l] < 1) throw config_error("widths: every width after the first must be at least 1");
  if (!(train.lr > 0)) throw config_error("lr must be positive");
  if (standardize_y && task != "regression") throw config_error("standardize_y applies to regression only");
  if (!grids.empty()) grid = int(grids[0]);
}

void Train::run(Call& call) {
  const TensorRef x = call.input("x");
  if (x.ndim() != 2 || x.dim(0) < 2) throw data_error("input 'x' must be (N, D) with N >= 2");
  const size_t d = size_t(x.dim(1));
  json extra;
  kan::Model<double> model;
  const bool resume = call.has_input("init");
  if (resume) {
    LoadedModel loaded = load(call, "init");
    model = std::move(loaded.model);
    extra = loaded.extra;
    if (!grids.empty() && grids[0] != model.grid)
      throw config_error("grids: the schedule starts at " + std::to_string(grids[0]) + " but the init model has grid " +
                         std::to_string(model.grid));
  } else {
    std::vector<size_t> w(widths.begin(), widths.end());
    if (w[0] == 0) w[0] = d;
    if (w[0] != d)
      throw config_error("widths: the first width is " + std::to_string(w[0]) + " but x has " + std::to_string(d) + " columns");
    extra["task"] = task;
    const TensorRef y = call.input("y");
    if (task == "classification") {
      const std::vector<double> v = y.to_vector<double>();
      double max_label = 0;
      for (double label : v) max_label = std::max(max_label, label);
      const int64_t classes = std::max<int64_t>(2, int64_t(max_label) + 1);
      if (w.back() != 1 && w.back() != size_t(classes))
        throw config_error("widths: a classifier ends in 1 (binary, one logit) or in the class count " +
                           std::to_string(classes) + ", not " + std::to_string(w.back()));
      if (w.back() == 1 && classes != 2)
        throw config_error("widths: one output logit needs 2 classes, y has " + std::to_string(classes));
      extra["classes"] = classes;
      extra["loss"] = w.back() == 1 ? "bce" : "cross_entropy";
    } else {
      extra["loss"] = "mse";
      const size_t outputs = size_t(y.size() / std::max<int64_t>(1, y.dim(0)));
      if (w.back() != outputs)
        throw config_error("widths: the last width is " + std::to_string(w.back()) + " but y has " +
                           std::to_string(outputs) + " targets per row");
      std::vector<double> mean(outputs, 0.0), scale(outputs, 1.0);
      if (standardize_y) {
        const std::vector<double> v = y.to_vector<double>();
        const size_t n = v.size() / outputs;
        for (size_t t = 0; t < outputs; ++t) {
          double s = 0, s2 = 0;
          for (size_t b = 0; b < n; ++b) s += v[b * outputs + t];
          mean[t] = s / n;
          for (size_t b = 0; b < n; ++b) s2 += (v[b * outputs + t] - mean[t]) * (v[b * outputs + t] - mean[t]);
          scale[t] = s2 > 0 ? std::sqrt(s2 / n) : 1.0;
        }
      }
      extra["y_mean"] = mean;
      extra["y_scale"] = scale;
    }
    nn::with_glia_errors([&] { model = kan::init_model<double>(w, grid, order, init, call.seed()); });
  }
  extra["names"] = input_names(names, extra, d);

  const TensorRef y = call.input("y");
  const kan::Data data = make_data(read_x(x, model.widths[0], "the model"), &y, model, extra);
  kan::Data val;
  const bool has_val = call.has_input("x_val");
  if (has_val != call.has_input("y_val")) throw config_error("x_val and y_val must be connected together");
  if (has_val) {
    const TensorRef yv = call.input("y_val");
    val = make_data(read_x(call.input("x_val"), model.widths[0], "the model"), &yv, model, extra);
  }
  kan::TrainOptions opt = train;
  opt.loss = loss_of(extra);
  opt.seed = call.seed();

  std::vector<int64_t> schedule = grids.empty() ? std::vector<int64_t>{model.grid} : grids;
  const size_t total = schedule.size() * std::max<size_t>(opt.steps, 1);
  size_t global_step = 0;
  nn::with_glia_errors([&] {
    for (size_t stage = 0; stage < schedule.size(); ++stage) {
      if (stage > 0) {
        model = kan::refine(model, int(schedule[stage]), data.x.data(), data.n);
        call.info("grid extended to " + std::to_string(schedule[stage]));
      }
      kan::train(model, data, has_val ? &val : nullptr, opt, [&](const kan::StepReport& r) {
        call.metric("train_loss", r.train_loss, int64_t(global_step));
        if (has_val) call.metric("val_loss", r.val_loss, int64_t(global_step));
        if (opt.reg.lamb > 0) call.metric("reg", r.reg, int64_t(global_step));
        ++global_step;
        call.progress(double(global_step) / double(total), "loss " + std::to_string(r.train_loss));
        return !call.cancelled();
      });
      call.check_cancelled();
    }
  });
  kan::Workspace<double> ws;
  call.metric("final_train_loss", kan::data_loss(model, data, opt.loss, ws, false));
  if (has_val) call.metric("final_val_loss", kan::data_loss(model, val, opt.loss, ws, false));
  call.metric("parameters", double(edge_count(model) * (model.grid + model.order + 2)));
  output_model(call, "model", model, extra);
}

// ---- kan.predict ----------------------------------------------------------------------------

Descriptor Predict::describe() {
  return Descriptor("kan.predict", "Applies a trained KAN: regression values or class labels and probabilities.")
      .doc("Loads a model written by kan.train / kan.prune / kan.symbolic (possibly in another run). "
           "Regression: y (N) or (N,T) in the original target units. Classification: y holds the "
           "predicted labels (N, int64) and scores the class probabilities (N,C).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .blob_input("model", kModelMediaType, "The trained model.")
      .input("x", dtype::floats, 2, "N,D", "Inputs.")
      .output("y", dtype::f64 | dtype::i64, -1, "N,...", "Predictions: values (float64) or labels (int64).")
      .output("scores", dtype::f64, 2, "N,C", "Class probabilities (classification only).").optional();
}

void Predict::run(Call& call) {
  LoadedModel loaded = load(call, "model");
  const kan::Model<double>& m = loaded.model;
  const std::vector<double> x = read_x(call.input("x"), m.widths[0], "the model");
  const size_t n = x.size() / m.widths[0], out = m.widths.back();
  kan::Workspace<double> ws;
  std::vector<double> z;
  nn::with_glia_errors([&] { z = kan::forward(m, x.data(), n, ws); });
  if (loaded.extra.value("task", "regression") == "regression") {
    const auto mean = loaded.extra.value("y_mean", std::vector<double>(out, 0.0));
    const auto scale = loaded.extra.value("y_scale", std::vector<double>(out, 1.0));
    auto y = call.output<double>("y", out == 1 ? std::vector<int64_t>{int64_t(n)} : std::vector<int64_t>{int64_t(n), int64_t(out)});
    for (size_t i = 0; i < z.size(); ++i) y[i] = z[i] * scale[i % out] + mean[i % out];
    return;
  }
  const size_t classes = out == 1 ? 2 : out;
  auto y = call.output<int64_t>("y", {int64_t(n)});
  auto scores = call.output<double>("scores", {int64_t(n), int64_t(classes)});
  for (size_t b = 0; b < n; ++b) {
    double* s = scores.data() + b * classes;
    if (out == 1) {
      s[1] = 1.0 / (1.0 + std::exp(-z[b]));
      s[0] = 1.0 - s[1];
    } else {
      const double* zb = z.data() + b * out;
      const double mx = *std::max_element(zb, zb + out);
      double sum = 0;
      for (size_t c = 0; c < out; ++c) sum += s[c] = std::exp(zb[c] - mx);
      for (size_t c = 0; c < out; ++c) s[c] /= sum;
    }
    y[b] = int64_t(std::max_element(s, s + classes) - s);
  }
}

// ---- kan.prune ------------------------------------------------------------------------------

Descriptor Prune::describe() {
  return Descriptor("kan.prune", "Removes KAN hidden nodes and edges whose importance is below a threshold.")
      .doc("Importance as pykan's attribute(): each edge's scale is the standard deviation of its output on "
           "x; output nodes score 1 and pass their score back to their edges in proportion to the edges' "
           "scales. Hidden nodes whose incoming and outgoing scores are under node_th are removed (a smaller "
           "model), edges under edge_th are masked. Reports the widths and edge count kept.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_float("node_th", 1e-2, "Node importance threshold.", 0.0, 1e9)
      .param_float("edge_th", 3e-2, "Edge importance threshold.", 0.0, 1e9)
      .blob_input("model", kModelMediaType, "The model to prune.")
      .input("x", dtype::floats, 2, "N,D", "Inputs the importances are measured on (the training inputs).")
      .blob_output("model", kModelMediaType, "The pruned model.");
}

void Prune::configure(const Params& p) {
  node_th = p.real("node_th");
  edge_th = p.real("edge_th");
}

void Prune::run(Call& call) {
  LoadedModel loaded = load(call, "model");
  const std::vector<double> x = read_x(call.input("x"), loaded.model.widths[0], "the model");
  const size_t n = x.size() / loaded.model.widths[0];
  kan::Model<double> pruned;
  nn::with_glia_errors([&] { pruned = kan::prune(loaded.model, x.data(), n, node_th, edge_th); });
  std::string widths;
  for (size_t w : pruned.widths) widths += (widths.empty() ? "" : ", ") + std::to_string(w);
  call.info("pruned to widths [" + widths + "], " + std::to_string(edge_count(pruned)) + " edges");
  for (size_t l = 1; l + 1 < pruned.widths.size(); ++l)
    call.metric("width_" + std::to_string(l), double(pruned.widths[l]));
  call.metric("edges", double(edge_count(pruned)));
  output_model(call, "model", pruned, loaded.extra);
}

// ---- kan.symbolic ---------------------------------------------------------------------------

Descriptor Symbolic::describe() {
  return Descriptor("kan.symbolic", "Fits every KAN edge with a symbolic function a*f(b*x+c)+d and prints the formula.")
      .doc("For each edge, on the layer inputs x produces, fits each library function (x, x^2, x^3, x^4, 1/x, "
           "sqrt, exp, log, sin, tanh, abs, sigmoid, 0) as pykan's suggest_symbolic: (b, c) by a zoomed grid "
           "search of the correlation, (a, d) by least squares, the winner by weight_simple*complexity + "
           "(1-weight_simple)*log2(1+1e-5-R^2). Reports r2.<layer>.<in>.<out> and logs each fit. With lock the "
           "edges are replaced by their fits; with steps > 0 (and y connected) the model is then retrained "
           "(L-BFGS), which tunes the affine parameters. The whole network is printed as a formula in the "
           "input names and written to formula.txt in the stage folder.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_bool("lock", true, "Replace the edges by their symbolic fits.")
      .param_int("steps", 0, "L-BFGS steps retraining the locked model (needs y).", 0, 100000)
      .param_string("library", "", "Comma-separated function names to try; empty: all.")
      .param_float("weight_simple", 0.8, "Weight of simplicity against fit quality.", 0.0, 1.0)
      .param_float("range", 10.0, "Search range of b and c: [-range, range].", 0.0, 1e6)
      .param_int("samples", 256, "Samples used by the grid search (evenly spaced in x order).", 2, 1 << 24)
      .param_string("names", "", "Comma-separated input names; empty: the model's, else x1, x2, ...")
      .blob_input("model", kModelMediaType, "The trained model.")
      .input("x", dtype::floats, 2, "N,D", "Inputs the edges are fitted on (the training inputs).")
      .input("y", dtype::numeric, -1, "N,...", "Targets for retraining (steps > 0).").optional()
      .blob_output("model", kModelMediaType, "The model, with edges locked when lock is set.");
}

void Symbolic::configure(const Params& p) {
  lock = p.boolean("lock");
  steps = p.integer("steps");
  options.library = parse_library(p.string("library"));
  options.weight_simple = p.real("weight_simple");
  options.range = p.real("range");
  options.max_samples = size_t(p.integer("samples"));
  names = p.string("names");
  if (steps > 0 && !lock) throw config_error("steps > 0 retrains locked edges: set lock = true");
}

void Symbolic::run(Call& call) {
  LoadedModel loaded = load(call, "model");
  kan::Model<double>& m = loaded.model;
  const std::vector<double> x = read_x(call.input("x"), m.widths[0], "the model");
  const size_t n = x.size() / m.widths[0];
  if (steps > 0 && !call.has_input("y")) throw config_error("steps > 0 needs input 'y' to retrain");
  std::vector<kan::EdgeFit> fits;
  nn::with_glia_errors([&] { fits = kan::fit_edges(m, x.data(), n, options); });
  for (const auto& f : fits) {
    const std::string edge = std::to_string(f.layer) + "." + std::to_string(f.in) + "." + std::to_string(f.out);
    call.metric("r2." + edge, f.fit.r2);
    std::ostringstream line;
    line << "edge (" << edge << "): " << kan::fn_name(f.fit.fn) << "  a=" << f.fit.a << " b=" << f.fit.b
         << " c=" << f.fit.c << " d=" << f.fit.d << "  R^2=" << f.fit.r2;
    call.info(line.str());
  }
  if (lock) kan::lock_edges(m, fits);
  if (steps > 0) {
    const TensorRef y = call.input("y");
    const kan::Data data = make_data(x, &y, m, loaded.extra);
    kan::TrainOptions opt;
    opt.steps = size_t(steps);
    opt.update_grid = false;
    opt.loss = loss_of(loaded.extra);
    nn::with_glia_errors([&] { kan::train(m, data, nullptr, opt, [&](const kan::StepReport& r) {
      call.metric("train_loss", r.train_loss, int64_t(r.step));
      return !call.cancelled();
    }); });
    call.check_cancelled();
  }
  const auto names_list = input_names(names, loaded.extra, m.widths[0]);
  const auto formulas = kan::formula(m, names_list);
  std::string text;
  for (size_t o = 0; o < formulas.size(); ++o) {
    text += "y" + std::to_string(o + 1) + " = " + formulas[o] + "\n";
    call.info("formula: y" + std::to_string(o + 1) + " = " + formulas[o]);
  }
  if (call.raw()->artifact_dir) write_artifact(call.artifact_dir(), "formula.txt", text);
  output_model(call, "model", m, loaded.extra);
}

// ---- kan.plot -------------------------------------------------------------------------------

Descriptor Plot::describe() {
  return Descriptor("kan.plot", "Draws every KAN edge's learned function in one SVG in the run folder.")
      .doc("One panel per edge, a row of panels per layer, each over the range its input takes on x (or "
           "the grid range without x). Symbolic edges are drawn in red with their function's name, masked "
           "edges faded.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_string("file", "kan.svg", "File name inside the stage folder.")
      .param_string("names", "", "Comma-separated input names; empty: the model's, else x1, x2, ...")
      .blob_input("model", kModelMediaType, "The model to draw.")
      .input("x", dtype::floats, 2, "N,D", "Inputs that set each edge's range.").optional();
}

void Plot::configure(const Params& p) {
  file = p.string("file");
  names = p.string("names");
  if (file.empty() || file.find('/') != std::string::npos || file.find("..") != std::string::npos)
    throw config_error("file must be a plain file name, got '" + file + "'");
}

void Plot::run(Call& call) {
  LoadedModel loaded = load(call, "model");
  const kan::Model<double>& m = loaded.model;
  std::vector<double> x;
  if (call.has_input("x")) x = read_x(call.input("x"), m.widths[0], "the model");
  const size_t n = x.size() / m.widths[0];
  const auto ranges = kan::input_ranges(m, x.empty() ? nullptr : x.data(), n);
  const std::string svg = kan::plot_svg(m, ranges, input_names(names, loaded.extra, m.widths[0]));
  write_artifact(call.artifact_dir(), file, svg);
  call.info("wrote " + (call.artifact_dir() / file).string());
}

// ---- kan.dataset ----------------------------------------------------------------------------

Descriptor Dataset::describe() {
  return Descriptor("kan.dataset", "Samples pykan's canonical test functions on a box (create_dataset).")
      .doc("x ~ U(lo, hi)^D from the stage seed, y = f(x). exp_sin_sq: exp(sin(pi x1) + x2^2) (D = 2), the "
           "formula of pykan's hellokan tutorial; sin_sq: sin(pi x1) + x2^2 (D = 2); "
           "xy: x1 * x2 (D = 2).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_enum("function", "exp_sin_sq", {"exp_sin_sq", "sin_sq", "xy"}, "The function.")
      .param_int("samples", 1000, "Rows N.", 1, 1 << 30)
      .param_floats("range", {-1.0, 1.0}, "The box [lo, hi] of every input.")
      .output("x", dtype::f64, 2, "N,D", "Inputs.")
      .output("y", dtype::f64, 1, "N", "f(x).");
}

void Dataset::configure(const Params& p) {
  function = p.string("function");
  samples = p.integer("samples");
  const auto r = p.reals("range");
  if (r.size() != 2 || !(r[1] > r[0])) throw config_error("range must be [lo, hi] with lo < hi");
  lo = r[0];
  hi = r[1];
}

void Dataset::run(Call& call) {
  Rng rng = Rng::stream(call.seed(), 0);
  auto x = call.output<double>("x", {samples, 2});
  auto y = call.output<double>("y", {samples});
  for (int64_t b = 0; b < samples; ++b) {
    const double u = rng.uniform(lo, hi), v = rng.uniform(lo, hi);
    x[2 * b] = u;
    x[2 * b + 1] = v;
    if (function == "exp_sin_sq") y[b] = std::exp(std::sin(std::numbers::pi * u) + v * v);
    else if (function == "sin_sq") y[b] = std::sin(std::numbers::pi * u) + v * v;
    else y[b] = u * v;
  }
}

// ---- kan.screen -----------------------------------------------------------------------------

Descriptor Screen::describe() {
  return Descriptor("kan.screen", "Lists the rows a classifier accepts with the highest predicted values.")
      .doc("The last step of the KAN paper's two-stage screen: among the candidate rows whose predicted "
           "class equals accept (e.g. HEA), the top rows by predicted value (e.g. bulk modulus). Logs a "
           "table with each row's composition (the non-zero columns, named by names) and writes it to "
           "top.csv in the stage folder; reports top_1.. top_K and accepted.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_int("top", 10, "How many rows to list.", 1, 1 << 20)
      .param_int("accept", 1, "The class label that passes the screen.", 0, 1 << 24)
      .param_string("names", "", "Comma-separated column names of x (for the compositions); empty: c1, c2, ...")
      .input("x", dtype::floats, 2, "N,D", "Candidate rows.")
      .input("label", dtype::ints, 1, "N", "Predicted class per row.")
      .input("value", dtype::floats, 1, "N", "Predicted value per row.")
      .output("index", dtype::i64, 1, "K", "Rows of x listed, best first.").save()
      .output("top", dtype::f64, 1, "K", "Their predicted values.").save();
}

void Screen::configure(const Params& p) {
  top = p.integer("top");
  accept = p.integer("accept");
  names = p.string("names");
}

void Screen::run(Call& call) {
  const TensorRef xr = call.input("x");
  if (xr.ndim() != 2) throw data_error("input 'x' must be (N, D)");
  const size_t n = size_t(xr.dim(0)), d = size_t(xr.dim(1));
  const std::vector<double> x = xr.to_vector<double>();
  const std::vector<int64_t> label = call.input("label").to_vector<int64_t>();
  const std::vector<double> value = call.input("value").to_vector<double>();
  if (label.size() != n || value.size() != n)
    throw data_error("inputs 'label' and 'value' must have one entry per row of x (" + std::to_string(n) + ")");
  std::vector<std::string> cols = split_names(names);
  if (cols.empty())
    for (size_t j = 0; j < d; ++j) cols.push_back("c" + std::to_string(j + 1));
  if (cols.size() != d) throw config_error("names: " + std::to_string(cols.size()) + " names for " + std::to_string(d) + " columns");
  std::vector<size_t> rows;
  for (size_t b = 0; b < n; ++b)
    if (label[b] == accept) rows.push_back(b);
  std::stable_sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return value[a] > value[b]; });
  rows.resize(std::min<size_t>(rows.size(), size_t(top)));
  auto index = call.output<int64_t>("index", {int64_t(rows.size())});
  auto best = call.output<double>("top", {int64_t(rows.size())});
  std::string table = "rank,row,value,composition\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    index[r] = int64_t(rows[r]);
    best[r] = value[rows[r]];
    std::ostringstream comp;
    for (size_t j = 0; j < d; ++j)
      if (x[rows[r] * d + j] != 0) comp << cols[j] << x[rows[r] * d + j];
    std::ostringstream line;
    line << r + 1 << "," << rows[r] << "," << value[rows[r]] << "," << comp.str();
    table += line.str() + "\n";
    call.info("#" + std::to_string(r + 1) + "  " + comp.str() + "  " + std::to_string(value[rows[r]]));
    call.metric("top_" + std::to_string(r + 1), value[rows[r]]);
  }
  call.metric("accepted", double(std::count(label.begin(), label.end(), accept)));
  if (call.raw()->artifact_dir) write_artifact(call.artifact_dir(), "top.csv", table);
}

}  // namespace glia::kan_plugin

GLIA_PLUGIN("kan", "0.1.0", glia::kan_plugin::Train, glia::kan_plugin::Predict, glia::kan_plugin::Prune,
            glia::kan_plugin::Symbolic, glia::kan_plugin::Plot, glia::kan_plugin::Dataset,
            glia::kan_plugin::Screen)
