#include "ops.hpp"

#include <glia/nn/loss.hpp>
#include <glia/nn/operator.hpp>
#include <glia/random.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>

namespace glia::nn_plugin {
using json = nlohmann::json;

namespace {

// ---- shared descriptor parts ----------------------------------------------------------------

Descriptor& add_training_params(Descriptor& d) {
  return d
      .param_enum("task", "classification", {"classification", "regression"},
                  "classification: integer labels y, cross-entropy loss, argmax predictions; "
                  "regression: real targets y (N) or (N,T), mean squared error.")
      .param_enum("activation", "relu", {"relu", "gelu", "silu", "tanh", "sigmoid"},
                  "Activation after each hidden layer.")
      .param_float("dropout", 0.0, "Dropout probability after each hidden activation.", 0.0, 0.95)
      .param_enum("optimizer", "adam", {"adam", "adamw", "sgd"},
                  "adam (L2 weight decay), adamw (decoupled weight decay) or sgd with momentum.")
      .param_float("lr", 1e-3, "Learning rate.", 0.0, 10.0)
      .param_float("weight_decay", 0.0, "Weight decay.", 0.0, 1.0)
      .param_float("momentum", 0.9, "SGD momentum.", 0.0, 0.999)
      .advanced()
      .param_int("epochs", 10, "Passes over the training data.", 1, 100000)
      .param_int("batch_size", 128, "Examples per minibatch.", 1, 1 << 20)
      .param_enum("schedule", "constant", {"constant", "step", "cosine"},
                  "Learning-rate schedule over epochs: constant; step (times gamma every "
                  "step_size epochs); cosine (annealed to 0 at the last epoch).")
      .param_int("step_size", 10, "Epochs between decays of the step schedule.", 1, 100000)
      .advanced()
      .param_float("gamma", 0.1, "Decay factor of the step schedule.", 0.0, 1.0)
      .advanced()
      .param_float("val_fraction", 0.0,
                   "Fraction of the examples held out for per-epoch validation metrics and "
                   "early stopping; 0 trains on everything.", 0.0, 0.9)
      .param_int("patience", 0,
                 "Stop after this many epochs without a lower validation loss and keep the best "
                 "weights; 0 disables (needs val_fraction > 0).", 0, 100000)
      .param_float("max_grad_norm", 0.0, "Clip the gradient norm to this; 0 disables.", 0.0, 1e9)
      .advanced()
      .param_int("classes", 0, "Number of classes; 0 infers max(label) + 1.", 0, 1 << 24)
      .advanced()
      .input("y", dtype::i64 | dtype::i32 | dtype::f64 | dtype::f32, -1, "N,...",
             "Class labels (N) for classification (integers, or integer-valued floats); targets "
             "(N) or (N,T) for regression.")
      .blob_output("model", kModelMediaType,
                   "The trained model: safetensors weights, architecture in the metadata.");
}

Descriptor& add_training_doc(Descriptor& d) {
  return d.capabilities(GLIA_CAP_DETERMINISTIC | GLIA_CAP_CANCELLABLE | GLIA_CAP_REPORTS_PROGRESS);
}

std::string shape_json(const nn::Shape& s) { return json(s).dump(); }

// Features as float32 (N, ...) in the given per-example shape.
nn::Tensor<float> read_features(const TensorRef& x, const nn::Shape& example_shape) {
  nn::Shape shape{size_t(x.dim(0))};
  shape.insert(shape.end(), example_shape.begin(), example_shape.end());
  nn::Tensor<float> t = nn::Tensor<float>::from_shape(shape);
  const std::vector<float> v = x.to_vector<float>();
  if (v.size() != t.size()) throw data_error("x: cannot view " + std::to_string(v.size()) +
                                             " values as " + nn::shape_string(shape));
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) throw data_error("x: value " + std::to_string(i) + " is NaN or infinite");
    t.data()[i] = v[i];
  }
  return t;
}

// Labels (classification) or targets (regression) into d; returns the class count.
int64_t read_targets(const TensorRef& y, nn::Task task, int64_t classes, nn::Dataset& d) {
  const size_t n = d.size();
  if (y.ndim() < 1 || size_t(y.dim(0)) != n)
    throw data_error("y has " + std::to_string(y.ndim() ? y.dim(0) : 0) + " rows but x has " +
                     std::to_string(n));
  if (task == nn::Task::regression) {
    const size_t per = size_t(y.size()) / std::max<size_t>(n, 1);
    d.targets = nn::Tensor<float>::from_shape({n, per});
    const std::vector<float> v = y.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) throw data_error("y: target " + std::to_string(i) + " is NaN or infinite");
      d.targets.data()[i] = v[i];
    }
    return int64_t(per);
  }
  if (y.ndim() != 1 && !(y.ndim() == 2 && y.dim(1) == 1))
    throw data_error("y: classification labels must be (N), got rank " + std::to_string(y.ndim()));
  const std::vector<double> v = y.to_vector<double>();
  d.labels.resize(n);
  int64_t max_label = -1;
  for (size_t i = 0; i < n; ++i) {
    if (!(v[i] >= 0) || v[i] != std::floor(v[i]) || v[i] > double(1 << 24))
      throw data_error("y: label " + std::to_string(v[i]) + " at row " + std::to_string(i) +
                       " is not a non-negative integer");
    d.labels[i] = int64_t(v[i]);
    max_label = std::max(max_label, d.labels[i]);
  }
  if (classes == 0) classes = max_label + 1;
  if (max_label >= classes)
    throw data_error("y: label " + std::to_string(max_label) + " is outside [0, classes = " +
                     std::to_string(classes) + ")");
  if (classes < 2) throw data_error("y: classification needs at least 2 classes, found " + std::to_string(classes));
  return classes;
}

// Trains `model` on (x, y) with the shared settings, reporting through the call, and writes the
// model output.
void train_and_output(Call& call, const TrainSettings& s, nn::Sequential<float>& model,
                      nn::Dataset& data, int64_t classes, const nn::Shape& example_shape,
                      const std::string& kind) {
  nn::Dataset train, val;
  const bool has_val = s.val_fraction > 0;
  if (has_val) std::tie(train, val) = nn::split_validation(data, s.val_fraction, call.seed());
  if (has_val) data = {};  // the split holds copies
  nn::Dataset& train_set = has_val ? train : data;

  std::unique_ptr<nn::Optimizer<float>> opt;
  if (s.optimizer == "sgd")
    opt = std::make_unique<nn::Sgd<float>>(model.parameters(), s.lr, s.momentum, s.weight_decay);
  else
    opt = std::make_unique<nn::Adam<float>>(model.parameters(), s.lr, 0.9, 0.999, 1e-8,
                                            s.weight_decay, s.optimizer == "adamw");
  nn::FitOptions fo = s.fit;
  fo.seed = derive_seed(call.seed(), 2);
  nn::FitHooks hooks;
  const bool classification = s.task == nn::Task::classification;
  hooks.on_epoch = [&](const nn::EpochReport& r) {
    const auto step = int64_t(r.epoch);
    call.metric("train_loss", r.train_loss, step);
    if (classification) call.metric("train_accuracy", r.train_accuracy, step);
    call.metric("lr", r.lr, step);
    if (r.has_validation) {
      call.metric("val_loss", r.val_loss, step);
      if (classification) call.metric("val_accuracy", r.val_accuracy, step);
    }
    call.info("epoch " + std::to_string(r.epoch + 1) + ": train_loss " + std::to_string(r.train_loss) +
              (r.has_validation ? ", val_loss " + std::to_string(r.val_loss) : std::string()) +
              " (" + std::to_string(r.seconds) + " s)");
  };
  hooks.on_progress = [&](double f) { call.progress(f); };
  hooks.cancelled = [&] { return call.cancelled(); };
  const nn::FitResult r = nn::fit(model, *opt, train_set, has_val ? &val : nullptr, s.task, fo, hooks);
  call.metric("epochs", double(r.epochs_run));
  const nn::EpochReport& last = r.history.back();
  call.metric("train_loss", last.train_loss);
  if (has_val) {
    const nn::Evaluation e = nn::evaluate(model, val, s.task);  // the kept (best) weights
    call.metric("val_loss", e.loss);
    if (classification) call.metric("val_accuracy", e.accuracy);
  }
  const std::string bytes = nn::save_model(
      model, {{"glia.nn.kind", kind},
              {"glia.nn.task", classification ? "classification" : "regression"},
              {"glia.nn.outputs", std::to_string(classes)},
              {"glia.nn.input_shape", shape_json(example_shape)}});
  call.output_blob("model", bytes);
}

json hidden_block(const std::string& activation) { return {{"type", activation}}; }

}  // namespace

void TrainSettings::read(const Params& p) {
  task = p.string("task") == "regression" ? nn::Task::regression : nn::Task::classification;
  activation = p.string("activation");
  dropout = p.real("dropout");
  optimizer = p.string("optimizer");
  lr = p.real("lr");
  weight_decay = p.real("weight_decay");
  momentum = p.real("momentum");
  fit.epochs = size_t(p.integer("epochs"));
  fit.batch_size = size_t(p.integer("batch_size"));
  if (fit.epochs == 0) throw config_error("epochs must be at least 1");
  if (fit.batch_size == 0) throw config_error("batch_size must be at least 1");
  fit.schedule.kind = nn::schedule_from_name(p.string("schedule"));
  fit.schedule.step_size = size_t(p.integer("step_size"));
  fit.schedule.gamma = p.real("gamma");
  fit.max_grad_norm = p.real("max_grad_norm");
  fit.patience = size_t(p.integer("patience"));
  val_fraction = p.real("val_fraction");
  if (!(val_fraction >= 0 && val_fraction < 1)) throw config_error("val_fraction must be in [0, 1)");
  if (fit.patience > 0 && val_fraction == 0)
    throw config_error("patience (early stopping) needs a validation split: set val_fraction > 0");
  if (dropout < 0 || dropout >= 1) throw config_error("dropout must be in [0, 1)");
  classes = p.integer("classes");
  if (classes == 1) throw config_error("classes must be 0 (infer) or at least 2");
}

// ---- nn.mlp.train ---------------------------------------------------------------------------

Descriptor MlpTrain::describe() {
  Descriptor d("nn.mlp.train", "Trains a multilayer perceptron classifier or regressor.");
  d.doc("Linear layers of the given hidden widths, each followed by the activation (and dropout), "
        "then a linear output layer: one logit per class (softmax cross-entropy) or one output per "
        "regression target (mean squared error). Inputs of rank > 2 are flattened per example. "
        "Reports train_loss, train_accuracy, lr and, with val_fraction, val_loss and val_accuracy "
        "per epoch. Deterministic for a seed whatever the thread count.")
      .citation("Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors, Nature 323");
  add_training_doc(d);
  d.param_ints("widths", {256}, "Hidden layer widths, input to output; [] is a linear model.", 1, 1 << 20)
      .input("x", dtype::floats, -1, "N,...", "Features (N, D); (N, d1, d2, ...) is flattened.");
  return add_training_params(d);
}

void MlpTrain::configure(const Params& p) {
  settings.read(p);
  widths = p.integers("widths");
  for (int64_t w : widths)
    if (w < 1) throw config_error("widths: every hidden width must be at least 1");
}

void MlpTrain::run(Call& call) {
  nn::with_glia_errors([&] {
    const TensorRef x = call.input("x");
    if (x.ndim() < 2 || x.dim(0) < 1) throw data_error("x must be (N, D) with N >= 1, got rank " + std::to_string(x.ndim()));
    const size_t features = size_t(x.size() / x.dim(0));
    nn::Dataset data;
    data.x = read_features(x, {features});
    const int64_t outputs = read_targets(call.input("y"), settings.task, settings.classes, data);
    json arch = json::array();
    size_t in = features;
    for (int64_t w : widths) {
      arch.push_back({{"type", "linear"}, {"in_features", in}, {"out_features", w}});
      arch.push_back(hidden_block(settings.activation));
      if (settings.dropout > 0) arch.push_back({{"type", "dropout"}, {"p", settings.dropout}});
      in = size_t(w);
    }
    arch.push_back({{"type", "linear"}, {"in_features", in}, {"out_features", outputs}});
    auto model = nn::Sequential<float>::from_architecture(arch.dump(), derive_seed(call.seed(), 1));
    call.info("mlp with " + std::to_string(model.parameter_count()) + " parameters, " +
              std::to_string(data.size()) + " examples");
    train_and_output(call, settings, model, data, outputs, {features}, "mlp");
  });
}

// ---- nn.cnn.train ---------------------------------------------------------------------------

Descriptor CnnTrain::describe() {
  Descriptor d("nn.cnn.train", "Trains a small convolutional network on images (N,C,H,W).");
  d.doc("For each entry of channels: conv2d (kernel_size, same padding), optional batch norm, the "
        "activation and 2x2 max pooling; then flatten, hidden linear layers with the activation "
        "(and dropout) and a linear output layer. Images (N,H,W) are one channel; flat rows "
        "(N,D) need image_shape. Metrics and determinism as nn.mlp.train.")
      .citation("LeCun, Bottou, Bengio & Haffner (1998), Gradient-based learning applied to document recognition, Proc. IEEE 86(11)");
  add_training_doc(d);
  d.param_ints("channels", {32, 64}, "Output channels of each conv block.", 1, 1 << 16)
      .param_int("kernel_size", 3, "Odd convolution kernel size.", 1, 31)
      .param_ints("hidden", {128}, "Widths of the hidden linear layers after the conv blocks.", 1, 1 << 20)
      .param_bool("batch_norm", false, "Batch normalisation after each convolution.")
      .param_ints("image_shape", {}, "[C, H, W] (or [H, W]) of flat (N, D) inputs; [] otherwise.", 1, 1 << 16)
      .advanced()
      .input("x", dtype::floats, -1, "N,...", "Images (N, C, H, W) or (N, H, W), or (N, D) with image_shape.");
  return add_training_params(d);
}

void CnnTrain::configure(const Params& p) {
  settings.read(p);
  channels = p.integers("channels");
  hidden = p.integers("hidden");
  kernel_size = p.integer("kernel_size");
  batch_norm = p.boolean("batch_norm");
  image_shape = p.integers("image_shape");
  if (channels.empty()) throw config_error("channels: give at least one conv block");
  if (kernel_size % 2 == 0) throw config_error("kernel_size must be odd (same padding)");
  if (!image_shape.empty() && image_shape.size() != 2 && image_shape.size() != 3)
    throw config_error("image_shape must be [H, W] or [C, H, W]");
}

// The per-example image shape (C, H, W) of x.
static nn::Shape image_shape_of(const TensorRef& x, const std::vector<int64_t>& declared) {
  if (x.ndim() == 4) return {size_t(x.dim(1)), size_t(x.dim(2)), size_t(x.dim(3))};
  if (x.ndim() == 3) return {1, size_t(x.dim(1)), size_t(x.dim(2))};
  if (x.ndim() == 2 && !declared.empty()) {
    nn::Shape s(declared.begin(), declared.end());
    if (s.size() == 2) s.insert(s.begin(), 1);
    if (size_t(x.dim(1)) != s[0] * s[1] * s[2])
      throw data_error("x rows have " + std::to_string(x.dim(1)) + " values, image_shape " +
                       nn::shape_string(s) + " needs " + std::to_string(s[0] * s[1] * s[2]));
    return s;
  }
  throw data_error("x must be images (N, C, H, W) or (N, H, W), or (N, D) with image_shape; got rank " +
                   std::to_string(x.ndim()));
}

void CnnTrain::run(Call& call) {
  nn::with_glia_errors([&] {
    const TensorRef x = call.input("x");
    const nn::Shape image = image_shape_of(x, image_shape);
    nn::Dataset data;
    data.x = read_features(x, image);
    const int64_t outputs = read_targets(call.input("y"), settings.task, settings.classes, data);
    json arch = json::array();
    size_t c = image[0], h = image[1], w = image[2];
    for (int64_t out : channels) {
      if (h < 2 || w < 2)
        throw data_error("images " + nn::shape_string(image) + " are too small for " +
                         std::to_string(channels.size()) + " conv blocks with 2x2 pooling");
      arch.push_back({{"type", "conv2d"}, {"in_channels", c}, {"out_channels", out},
                      {"kernel_size", kernel_size}, {"padding", kernel_size / 2}});
      if (batch_norm) arch.push_back({{"type", "batchnorm2d"}, {"num_features", out}});
      arch.push_back(hidden_block(settings.activation));
      arch.push_back({{"type", "maxpool2d"}, {"kernel_size", 2}});
      c = size_t(out), h /= 2, w /= 2;
    }
    arch.push_back({{"type", "flatten"}});
    size_t in = c * h * w;
    for (int64_t width : hidden) {
      arch.push_back({{"type", "linear"}, {"in_features", in}, {"out_features", width}});
      arch.push_back(hidden_block(settings.activation));
      if (settings.dropout > 0) arch.push_back({{"type", "dropout"}, {"p", settings.dropout}});
      in = size_t(width);
    }
    arch.push_back({{"type", "linear"}, {"in_features", in}, {"out_features", outputs}});
    auto model = nn::Sequential<float>::from_architecture(arch.dump(), derive_seed(call.seed(), 1));
    call.info("cnn with " + std::to_string(model.parameter_count()) + " parameters, " +
              std::to_string(data.size()) + " images " + nn::shape_string(image));
    train_and_output(call, settings, model, data, outputs, image, "cnn");
  });
}

// ---- nn.mlp.predict / nn.cnn.predict --------------------------------------------------------

template <bool Images>
Descriptor Predict<Images>::describe() {
  Descriptor d(Images ? "nn.cnn.predict" : "nn.mlp.predict",
               Images ? "Applies a model trained by nn.cnn.train to images."
                      : "Applies a model trained by nn.mlp.train.");
  d.doc("Classification models output the argmax class y (N) and softmax probabilities scores "
        "(N, C); regression models output y (N) or (N, T) as float32. Any glia::nn safetensors "
        "checkpoint works, including one written by PyTorch with the architecture in its metadata.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_int("batch_size", 256, "Examples per forward pass.", 1, 1 << 20)
      .advanced()
      .blob_input("model", kModelMediaType, "The trained model.")
      .input("x", dtype::floats, -1, "N,...",
             Images ? "Images (N, C, H, W), (N, H, W) or flat (N, C*H*W)." : "Features (N, D) or (N, d1, ...).")
      .output("y", dtype::i64 | dtype::f32, -1, "N,...", "Predicted classes (int64) or values (float32).")
      .save()
      .output("scores", dtype::f32, 2, "N,C", "Class probabilities (classification only).")
      .optional();
  return d;
}

template <bool Images>
void Predict<Images>::configure(const Params& p) {
  batch_size = size_t(p.integer("batch_size"));
  if (batch_size == 0) throw config_error("batch_size must be at least 1");
}

template <bool Images>
void Predict<Images>::run(Call& call) {
  nn::with_glia_errors([&] {
    std::map<std::string, std::string> meta;
    nn::Sequential<float> model;
    try {
      model = nn::load_model(call.input_blob("model"), &meta);
    } catch (const std::exception& e) {
      throw data_error(std::string("model: ") + e.what());
    }
    const TensorRef x = call.input("x");
    if (x.ndim() < 2 || x.dim(0) < 1) throw data_error("x must have a batch dimension and examples");
    // The example shape the model was trained on; x may hold the same values flat or nested.
    nn::Shape example;
    if (auto it = meta.find("glia.nn.input_shape"); it != meta.end()) {
      example = json::parse(it->second).get<nn::Shape>();
    } else {
      example.assign(x.shape().begin() + 1, x.shape().end());
    }
    size_t per = 1;
    for (size_t d : example) per *= d;
    if (size_t(x.size() / x.dim(0)) != per)
      throw data_error("x examples have " + std::to_string(x.size() / x.dim(0)) +
                       " values but the model takes " + nn::shape_string(example));
    const nn::Tensor<float> features = read_features(x, example);
    const nn::Tensor<float> out = nn::predict(model, features, batch_size);
    const bool classification = meta.count("glia.nn.task") ? meta["glia.nn.task"] == "classification" : true;
    const size_t n = out.shape()[0], k = out.size() / n;
    if (!classification) {
      std::vector<int64_t> shape{int64_t(n)};
      if (k > 1) shape.push_back(int64_t(k));
      auto y = call.output<float>("y", shape);
      std::copy(out.data(), out.data() + out.size(), y.data());
      return;
    }
    nn::write_class_predictions(call, out.data(), n, k);
  });
}

template struct Predict<false>;
template struct Predict<true>;

}  // namespace glia::nn_plugin
