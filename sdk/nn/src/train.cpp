#include <glia/nn/loss.hpp>
#include <glia/nn/train.hpp>

#include <glia/random.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>

namespace glia::nn {

std::vector<size_t> shuffled_indices(size_t n, uint64_t seed, size_t epoch) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t(0));
  Rng rng = Rng::stream(seed, epoch);
  rng.shuffle(idx.begin(), idx.end());
  return idx;
}

namespace {
size_t row_size(const Tensor<float>& t) {
  return t.dimension() && t.shape()[0] ? t.size() / t.shape()[0] : 0;
}
void gather_rows(const Tensor<float>& src, std::span<const size_t> idx, Tensor<float>& dst) {
  Shape shape(src.shape().begin(), src.shape().end());
  shape[0] = idx.size();
  ensure_shape(dst, shape);
  const size_t row = row_size(src);
  for (size_t i = 0; i < idx.size(); ++i)
    std::memcpy(dst.data() + i * row, src.data() + idx[i] * row, row * sizeof(float));
}
void check_dataset(const Dataset& d, Task task, const char* what) {
  if (d.x.dimension() < 2) throw std::invalid_argument(std::string(what) + ": x needs shape (N, ...)");
  if (task == Task::classification && d.labels.size() != d.size())
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(d.size()) + " examples but " +
                                std::to_string(d.labels.size()) + " labels");
  if (task == Task::regression && (d.targets.dimension() == 0 || d.targets.shape()[0] != d.size()))
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(d.size()) +
                                " examples but targets " + shape_string(d.targets));
}
double loss_of(Task task, const Tensor<float>& out, const Dataset& batch, Tensor<float>* grad) {
  if (task == Task::classification) return cross_entropy_loss(out, batch.labels.data(), grad);
  return mse_loss(out, batch.targets, grad);
}
size_t count_correct(const Tensor<float>& logits, const std::vector<int64_t>& labels) {
  const size_t N = logits.shape()[0], C = logits.shape()[1];
  size_t correct = 0;
  for (size_t r = 0; r < N; ++r) {
    const float* z = logits.data() + r * C;
    correct += int64_t(std::max_element(z, z + C) - z) == labels[r];
  }
  return correct;
}
}  // namespace

void gather(const Dataset& data, std::span<const size_t> idx, Dataset& batch) {
  gather_rows(data.x, idx, batch.x);
  if (!data.labels.empty()) {
    batch.labels.resize(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) batch.labels[i] = data.labels[idx[i]];
  }
  if (data.targets.dimension()) gather_rows(data.targets, idx, batch.targets);
}

std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction, uint64_t seed) {
  if (!(fraction > 0 && fraction < 1))
    throw std::invalid_argument("validation fraction must be in (0, 1)");
  const size_t n = data.size(), n_val = size_t(std::llround(fraction * double(n)));
  if (n_val == 0 || n_val == n)
    throw std::invalid_argument("validation fraction " + std::to_string(fraction) + " of " +
                                std::to_string(n) + " examples leaves an empty split");
  const auto idx = shuffled_indices(n, derive_seed(seed, 0x5A11D), 0);
  std::pair<Dataset, Dataset> out;
  gather(data, std::span(idx).subspan(n_val), out.first);
  gather(data, std::span(idx).first(n_val), out.second);
  return out;
}

Tensor<float> predict(Sequential<float>& model, const Tensor<float>& x, size_t batch_size) {
  if (x.dimension() < 1 || x.shape()[0] == 0) throw std::invalid_argument("predict: no examples");
  const size_t n = x.shape()[0];
  Shape in(x.shape().begin(), x.shape().end());
  Shape out_shape = model.output_shape(in);
  Tensor<float> out = Tensor<float>::from_shape(out_shape);
  const size_t out_row = out.size() / n;
  std::vector<size_t> idx;
  Tensor<float> xb;
  for (size_t b0 = 0; b0 < n; b0 += batch_size) {
    const size_t b1 = std::min(n, b0 + batch_size);
    idx.resize(b1 - b0);
    std::iota(idx.begin(), idx.end(), b0);
    gather_rows(x, idx, xb);
    const Tensor<float>& y = model.forward(xb, false);
    std::memcpy(out.data() + b0 * out_row, y.data(), y.size() * sizeof(float));
  }
  return out;
}

Evaluation evaluate(Sequential<float>& model, const Dataset& data, Task task, size_t batch_size) {
  check_dataset(data, task, "evaluate");
  Evaluation e;
  const Tensor<float> out = predict(model, data.x, batch_size);
  e.loss = loss_of(task, out, data, nullptr);
  if (task == Task::classification) e.accuracy = double(count_correct(out, data.labels)) / data.size();
  return e;
}

FitResult fit(Sequential<float>& model, Optimizer<float>& opt, const Dataset& train,
              const Dataset* validation, Task task, const FitOptions& options,
              const FitHooks& hooks) {
  check_dataset(train, task, "training data");
  if (validation) check_dataset(*validation, task, "validation data");
  if (options.batch_size == 0) throw std::invalid_argument("batch_size must be positive");
  const size_t n = train.size();
  const size_t batches = (n + options.batch_size - 1) / options.batch_size;
  const double base_lr = opt.lr();
  FitResult result;
  std::vector<Tensor<float>> best_state;
  size_t epochs_since_best = 0;
  Dataset batch;
  Tensor<float> dout;
  for (size_t epoch = 0; epoch < options.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    EpochReport report;
    report.epoch = epoch;
    report.lr = options.schedule.lr_at(base_lr, epoch, options.epochs);
    opt.set_lr(report.lr);
    const auto order = shuffled_indices(n, options.seed, epoch);
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t b = 0; b < batches; ++b) {
      if (hooks.cancelled && hooks.cancelled()) throw Cancelled();
      const size_t b0 = b * options.batch_size, b1 = std::min(n, b0 + options.batch_size);
      gather(train, std::span(order).subspan(b0, b1 - b0), batch);
      opt.zero_grad();
      const Tensor<float>& out = model.forward(batch.x, true);
      const double loss = loss_of(task, out, batch, &dout);
      if (!std::isfinite(loss))
        throw std::domain_error("training diverged: loss is " + std::to_string(loss) + " at epoch " +
                                std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) +
                                " (lower the learning rate?)");
      loss_sum += loss * double(b1 - b0);
      if (task == Task::classification) correct += count_correct(out, batch.labels);
      model.backward(dout);
      if (options.max_grad_norm > 0) clip_grad_norm(opt.parameters(), options.max_grad_norm);
      opt.step();
      if (hooks.on_progress) hooks.on_progress((epoch + double(b + 1) / batches) / options.epochs);
    }
    report.train_loss = loss_sum / n;
    report.train_accuracy = double(correct) / n;
    if (validation) {
      const Evaluation v = evaluate(model, *validation, task, 256);
      report.has_validation = true;
      report.val_loss = v.loss;
      report.val_accuracy = v.accuracy;
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.history.push_back(report);
    result.epochs_run = epoch + 1;
    if (hooks.on_epoch) hooks.on_epoch(report);
    if (validation && options.patience > 0) {
      if (epoch == 0 || report.val_loss < result.best_val_loss) {
        result.best_val_loss = report.val_loss;
        result.best_epoch = epoch;
        epochs_since_best = 0;
        if (options.restore_best) {
          best_state.clear();
          for (auto& e : model.state()) best_state.push_back(*e.tensor);
        }
      } else if (++epochs_since_best >= options.patience) {
        result.stopped_early = true;
        break;
      }
    }
  }
  if (!best_state.empty() && result.best_epoch + 1 != result.epochs_run) {
    auto state = model.state();
    for (size_t i = 0; i < state.size(); ++i) *state[i].tensor = best_state[i];
  }
  return result;
}

}  // namespace glia::nn
