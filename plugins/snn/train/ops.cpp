#include "ops.hpp"

#include "layers.hpp"

#include <glia/nn/loss.hpp>
#include <glia/nn/operator.hpp>
#include <glia/random.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>

namespace glia::snn::train {
using json = nlohmann::json;

namespace {

// x (N, ...) as float32 (N, D), checked finite.
nn::Tensor<float> read_features(const TensorRef& x) {
  if (x.ndim() < 2 || x.dim(0) < 1)
    throw data_error("x must be (N, D) or (N, d1, d2, ...) with N >= 1, got rank " + std::to_string(x.ndim()));
  const size_t n = size_t(x.dim(0)), d = size_t(x.size()) / n;
  nn::Tensor<float> t = nn::Tensor<float>::from_shape({n, d});
  const std::vector<float> v = x.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) throw data_error("x: value " + std::to_string(i) + " is NaN or infinite");
    t.data()[i] = v[i];
  }
  return t;
}

}  // namespace

// ---- snn.train ------------------------------------------------------------------------------

Descriptor Train::describe() {
  Descriptor d("snn.train", "Trains a spiking (LIF) classifier with surrogate gradients through time.");
  d.doc("Each example x (N, D) (images are flattened) is encoded as T steps of input spikes (rate: "
        "Bernoulli with probability gain*x; latency: one spike, earlier for larger x), fed through "
        "spiking linear layers of the hidden widths, each followed by LIF neurons (snnTorch's Leaky: "
        "mem = beta mem + I - threshold S_prev, spike when mem > threshold), then an output layer "
        "read out as spike counts (a LIF output layer) or as the mean membrane potential of a "
        "non-spiking leaky integrator. Trained by backpropagation through time with a fast-sigmoid "
        "or arctan surrogate derivative, softmax cross-entropy on the readout, glia::nn's "
        "optimizers and schedules. Reports train_loss, train_accuracy, lr (and val_loss, "
        "val_accuracy) per epoch. Deterministic for a seed whatever the thread count.")
      .citation("Neftci, Mostafa & Zenke (2019), Surrogate gradient learning in spiking neural networks, "
                "IEEE Signal Process. Mag. 36(6); Eshraghian et al. (2023), Training spiking neural "
                "networks using lessons from deep learning, Proc. IEEE 111(9)")
      .capabilities(GLIA_CAP_DETERMINISTIC | GLIA_CAP_CANCELLABLE | GLIA_CAP_REPORTS_PROGRESS)
      .param_enum("encoding", "rate", {"rate", "latency"}, "How x becomes input spikes.")
      .param_int("steps", 25, "Time steps T per example.", 1, 100000)
      .param_float("gain", 1.0, "x is scaled by this into a spike probability / intensity in [0, 1].", 1e-9, 1e9)
      .advanced()
      .param_ints("hidden", {1000}, "Widths of the hidden LIF layers.", 1, 1 << 20)
      .param_enum("readout", "membrane", {"membrane", "spike_count"},
                  "Logits: mean membrane of leaky output integrators, or output spike counts.")
      .param_float("beta", 0.9, "Membrane decay per step of every LIF layer and the readout.", 0.0, 1.0)
      .param_float("threshold", 1.0, "Firing threshold.", 1e-9, 1e9)
      .param_enum("surrogate", "fast_sigmoid", {"fast_sigmoid", "arctan"},
                  "Surrogate derivative of the spike: 1/(slope|U|+1)^2 or (slope/2)/(1+(pi/2 slope U)^2).")
      .param_float("slope", 0.0, "Surrogate slope; 0 takes snnTorch's default (25 fast_sigmoid, 2 arctan).", 0.0, 1e6)
      .advanced()
      .param_enum("optimizer", "adam", {"adam", "adamw", "sgd"}, "glia::nn optimizer.")
      .param_float("lr", 5e-4, "Learning rate.", 0.0, 10.0)
      .param_float("weight_decay", 0.0, "Weight decay.", 0.0, 1.0)
      .advanced()
      .param_int("epochs", 5, "Passes over the training data.", 1, 100000)
      .param_int("batch_size", 128, "Examples per minibatch.", 1, 1 << 20)
      .param_enum("schedule", "constant", {"constant", "step", "cosine"}, "Learning-rate schedule over epochs.")
      .param_float("val_fraction", 0.0, "Fraction held out for per-epoch validation metrics; 0: none.", 0.0, 0.9)
      .param_float("max_grad_norm", 0.0, "Clip the gradient norm to this; 0 disables.", 0.0, 1e9)
      .advanced()
      .param_int("classes", 0, "Number of classes; 0 infers max(label) + 1.", 0, 1 << 24)
      .advanced()
      .input("x", dtype::floats, -1, "N,...", "Examples (N, D) or images (N, H, W), values in [0, 1/gain].")
      .input("y", dtype::ints, 1, "N", "Class labels in [0, classes).")
      .blob_output("model", kModelMediaType, "The trained network: safetensors, architecture in the metadata.");
  return d;
}

void Train::configure(const Params& p) {
  encoding = p.string("encoding");
  readout = p.string("readout");
  surrogate = p.string("surrogate");
  optimizer = p.string("optimizer");
  steps = p.integer("steps");
  gain = p.real("gain");
  hidden = p.integers("hidden");
  beta = p.real("beta");
  threshold = p.real("threshold");
  slope = p.real("slope");
  if (slope == 0) slope = surrogate == "arctan" ? 2.0 : 25.0;
  lr = p.real("lr");
  weight_decay = p.real("weight_decay");
  fit.epochs = size_t(p.integer("epochs"));
  fit.batch_size = size_t(p.integer("batch_size"));
  fit.schedule.kind = nn::schedule_from_name(p.string("schedule"));
  fit.max_grad_norm = p.real("max_grad_norm");
  val_fraction = p.real("val_fraction");
  classes = p.integer("classes");
  if (hidden.empty()) throw config_error("hidden: give at least one hidden LIF layer width");
  for (int64_t w : hidden)
    if (w < 1) throw config_error("hidden: every width must be at least 1");
  if (classes == 1) throw config_error("classes must be 0 (infer) or at least 2");
}

void Train::run(Call& call) {
  register_layers();
  nn::with_glia_errors([&] {
    nn::Dataset data;
    data.x = read_features(call.input("x"));
    const size_t n = data.size(), features = data.x.shape()[1];
    const TensorRef y = call.input("y");
    if (y.ndim() != 1 || size_t(y.dim(0)) != n)
      throw data_error("y must be (N) labels with N = " + std::to_string(n) + " (rows of x)");
    data.labels = y.to_vector<int64_t>();
    int64_t max_label = -1;
    for (size_t i = 0; i < n; ++i) {
      if (data.labels[i] < 0) throw data_error("y: label at row " + std::to_string(i) + " is negative");
      max_label = std::max(max_label, data.labels[i]);
    }
    const int64_t outputs = classes ? classes : max_label + 1;
    if (max_label >= outputs)
      throw data_error("y: label " + std::to_string(max_label) + " is outside [0, classes = " +
                       std::to_string(outputs) + ")");
    if (outputs < 2) throw data_error("y: classification needs at least 2 classes");

    json arch = json::array();
    if (encoding == "rate")
      arch.push_back({{"type", "rate_encoder"}, {"steps", steps}, {"gain", gain}});
    else
      arch.push_back({{"type", "latency_encoder"}, {"steps", steps}, {"gain", gain}});
    const json lif = {{"type", "lif"}, {"beta", beta}, {"threshold", threshold},
                      {"surrogate", surrogate}, {"slope", slope}};
    size_t in = features;
    for (int64_t w : hidden) {
      arch.push_back({{"type", "spike_linear"}, {"in_features", in}, {"out_features", w}});
      arch.push_back(lif);
      in = size_t(w);
    }
    arch.push_back({{"type", "spike_linear"}, {"in_features", in}, {"out_features", outputs}});
    if (readout == "spike_count") {
      arch.push_back(lif);
      arch.push_back({{"type", "spike_count"}});
    } else {
      arch.push_back({{"type", "leaky_readout"}, {"beta", beta}});
    }
    auto model = nn::Sequential<float>::from_architecture(arch.dump(), derive_seed(call.seed(), 1));
    call.info("snn with " + std::to_string(model.parameter_count()) + " parameters, " +
              std::to_string(n) + " examples, T = " + std::to_string(steps));

    nn::Dataset train, val;
    const bool has_val = val_fraction > 0;
    if (has_val) std::tie(train, val) = nn::split_validation(data, val_fraction, call.seed());
    std::unique_ptr<nn::Optimizer<float>> opt;
    if (optimizer == "sgd")
      opt = std::make_unique<nn::Sgd<float>>(model.parameters(), lr, 0.9, weight_decay);
    else
      opt = std::make_unique<nn::Adam<float>>(model.parameters(), lr, 0.9, 0.999, 1e-8, weight_decay,
                                              optimizer == "adamw");
    nn::FitOptions fo = fit;
    fo.seed = derive_seed(call.seed(), 2);
    nn::FitHooks hooks;
    hooks.on_epoch = [&](const nn::EpochReport& r) {
      const auto step = int64_t(r.epoch);
      call.metric("train_loss", r.train_loss, step);
      call.metric("train_accuracy", r.train_accuracy, step);
      call.metric("lr", r.lr, step);
      if (r.has_validation) {
        call.metric("val_loss", r.val_loss, step);
        call.metric("val_accuracy", r.val_accuracy, step);
      }
      call.info("epoch " + std::to_string(r.epoch + 1) + ": train_loss " + std::to_string(r.train_loss) +
                ", train_accuracy " + std::to_string(r.train_accuracy) +
                (r.has_validation ? ", val_accuracy " + std::to_string(r.val_accuracy) : std::string()) +
                " (" + std::to_string(r.seconds) + " s)");
    };
    hooks.on_progress = [&](double f) { call.progress(f); };
    hooks.cancelled = [&] { return call.cancelled(); };
    const nn::FitResult r = nn::fit(model, *opt, has_val ? train : data, has_val ? &val : nullptr,
                                    nn::Task::classification, fo, hooks);
    call.metric("epochs", double(r.epochs_run));
    call.metric("train_loss", r.history.back().train_loss);
    const std::string bytes = nn::save_model(
        model, {{"glia.nn.kind", "snn"},
                {"glia.nn.task", "classification"},
                {"glia.nn.outputs", std::to_string(outputs)},
                {"glia.nn.input_shape", json(nn::Shape{features}).dump()}});
    call.output_blob("model", bytes);
  });
}

// ---- snn.predict ----------------------------------------------------------------------------

Descriptor Predict::describe() {
  Descriptor d("snn.predict", "Classifies with a spiking network trained by snn.train.");
  d.doc("Runs the network on x in batches (evaluation mode; the rate code draws fresh spikes, "
        "seeded by the model) and outputs the argmax class y and softmax scores of the readout. "
        "With sample >= 0 it also outputs the spikes of the first hidden LIF layer for that "
        "example as (step, neuron) rows, ready for snn.raster (dt_ms = 1 per step).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_int("batch_size", 256, "Examples per forward pass.", 1, 1 << 20)
      .advanced()
      .param_int("sample", -1, "Example whose hidden-layer spikes to output; -1: none.", -1, 1e12)
      .blob_input("model", kModelMediaType, "The trained network.")
      .input("x", dtype::floats, -1, "N,...", "Examples, shaped as for snn.train.")
      .output("y", dtype::i64, 1, "N", "Predicted classes.")
      .save()
      .output("scores", dtype::f32, 2, "N,C", "Class probabilities (softmax of the readout).")
      .optional()
      .output("spikes", dtype::i64, 2, "S,2", "Hidden-layer spikes of the sample: (step, neuron) rows.")
      .optional()
      .save();
  return d;
}

void Predict::configure(const Params& p) {
  batch_size = size_t(p.integer("batch_size"));
  sample = p.integer("sample");
}

void Predict::run(Call& call) {
  register_layers();
  nn::with_glia_errors([&] {
    std::map<std::string, std::string> meta;
    nn::Sequential<float> model;
    try {
      model = nn::load_model(call.input_blob("model"), &meta);
    } catch (const std::exception& e) {
      throw data_error(std::string("model: ") + e.what());
    }
    const nn::Tensor<float> x = read_features(call.input("x"));
    const size_t n = x.shape()[0], d = x.shape()[1];
    if (sample >= int64_t(n))
      throw config_error("sample " + std::to_string(sample) + " is outside the " + std::to_string(n) + " examples");
    // The first LIF layer, whose output spikes the sample option records.
    size_t lif = model.size();
    for (size_t i = 0; i < model.size(); ++i)
      if (model.layer(i).type() == "lif") {
        lif = i;
        break;
      }
    if (sample >= 0 && lif == model.size()) throw data_error("model: has no LIF layer to record spikes from");
    nn::Tensor<float> logits;
    std::vector<int64_t> rows;  // (step, neuron) pairs of the sample
    // Layer by layer (not nn::predict) to see the hidden spikes of the sample's batch.
    std::vector<nn::Tensor<float>> acts(model.size());
    nn::Tensor<float> xb;
    for (size_t b0 = 0; b0 < n; b0 += batch_size) {
      const size_t b1 = std::min(n, b0 + batch_size);
      xb = nn::Tensor<float>::from_shape({b1 - b0, d});
      std::copy(x.data() + b0 * d, x.data() + b1 * d, xb.data());
      for (size_t i = 0; i < model.size(); ++i) model.layer(i).forward(i ? acts[i - 1] : xb, acts[i], false);
      const nn::Tensor<float>& out = acts.back();
      if (out.dimension() != 2) throw data_error("model: output is not (N, classes)");
      if (b0 == 0) logits = nn::Tensor<float>::from_shape({n, out.shape()[1]});
      std::copy(out.data(), out.data() + out.size(), logits.data() + b0 * out.shape()[1]);
      if (sample >= int64_t(b0) && sample < int64_t(b1)) {
        const nn::Tensor<float>& s = acts[lif];
        const size_t T = s.shape()[1], H = s.shape()[2];
        const float* sp = s.data() + (size_t(sample) - b0) * T * H;
        for (size_t t = 0; t < T; ++t)
          for (size_t h = 0; h < H; ++h)
            if (sp[t * H + h] != 0) rows.push_back(int64_t(t)), rows.push_back(int64_t(h));
      }
      if (call.cancelled()) throw Error(GLIA_ERR_CANCELLED, "cancelled");
    }
    const size_t k = logits.shape()[1];
    nn::write_class_predictions(call, logits.data(), n, k);
    if (sample >= 0) {
      auto sp = call.output<int64_t>("spikes", {int64_t(rows.size() / 2), 2});
      std::copy(rows.begin(), rows.end(), sp.data());
    }
  });
}

}  // namespace glia::snn::train
