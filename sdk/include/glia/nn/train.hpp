// glia::nn training utilities: datasets, seeded minibatch shuffling, evaluation and prediction in
// batches, and fit(): a training loop with per-epoch reports, early stopping, progress and
// cancellation hooks (an operator binds them to its glia::Call).
#pragma once

#include <glia/nn/model.hpp>
#include <glia/nn/optim.hpp>

#include <functional>
#include <span>
#include <stdexcept>

namespace glia::nn {

enum class Task { classification, regression };

// Examples along the first dimension of x; labels (classification) or targets (regression,
// (N, outputs)).
struct Dataset {
  Tensor<float> x;
  std::vector<int64_t> labels;
  Tensor<float> targets;
  size_t size() const { return x.dimension() ? x.shape()[0] : 0; }
};

// The permutation of [0, n) for one epoch: depends only on (seed, epoch).
std::vector<size_t> shuffled_indices(size_t n, uint64_t seed, size_t epoch);
// Copies the examples idx of data into x / labels / targets (resized).
void gather(const Dataset& data, std::span<const size_t> idx, Dataset& batch);
// Splits off a seeded random fraction of the examples as a validation set.
std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction, uint64_t seed);

// Model outputs (logits for classification) for x, in batches, evaluation mode.
Tensor<float> predict(Sequential<float>& model, const Tensor<float>& x, size_t batch_size = 256);

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // classification only
};
Evaluation evaluate(Sequential<float>& model, const Dataset& data, Task task, size_t batch_size = 256);

struct FitOptions {
  size_t epochs = 10;
  size_t batch_size = 128;
  uint64_t seed = 0;        // shuffling
  Schedule schedule;        // applied to the optimizer's initial lr, per epoch
  double max_grad_norm = 0; // 0: no clipping
  size_t patience = 0;      // early stopping on validation loss; 0: off
  bool restore_best = true; // with patience: keep the weights of the best validation epoch
};

struct EpochReport {
  size_t epoch = 0;  // 0-based
  double lr = 0;
  double train_loss = 0;
  double train_accuracy = 0;  // classification; from the training-mode outputs of the epoch
  bool has_validation = false;
  double val_loss = 0;
  double val_accuracy = 0;
  double seconds = 0;
};

struct FitHooks {
  std::function<void(const EpochReport&)> on_epoch;
  std::function<void(double fraction)> on_progress;  // after each batch, in [0, 1]
  std::function<bool()> cancelled;                     // polled before each batch
};

struct FitResult {
  size_t epochs_run = 0;
  size_t best_epoch = 0;
  double best_val_loss = 0;
  bool stopped_early = false;
  std::vector<EpochReport> history;
};

// Thrown by fit() when hooks.cancelled() returns true.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("training cancelled") {}
};

// Trains model on train with opt. Throws std::invalid_argument for inconsistent data,
// std::domain_error when the loss becomes NaN/Inf, Cancelled on cancellation. Bit-identical
// for a given seed whatever the TBB thread count.
FitResult fit(Sequential<float>& model, Optimizer<float>& opt, const Dataset& train,
              const Dataset* validation, Task task, const FitOptions& options,
              const FitHooks& hooks = {});

}  // namespace glia::nn
