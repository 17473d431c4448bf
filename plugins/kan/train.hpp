// Training KANs as pykan's MultKAN.fit does: full-batch L-BFGS (each step up to `lbfgs_iterations`
// iterations with a strong-Wolfe line search) or Adam, grid updates from the training inputs every
// stop_grid_update_step / grid_update_num steps until stop_grid_update_step, and the sparsity
// regulariser added to the loss. Optimizers and losses come from glia::nn.
#pragma once

#include "kan.hpp"

#include <functional>
#include <string>

namespace glia::kan {

enum class Loss { mse, cross_entropy, binary_cross_entropy };

// Inputs x [n, widths[0]]; regression targets [n, widths.back()] or class labels [n].
struct Data {
  std::vector<double> x;
  std::vector<double> targets;
  std::vector<int64_t> labels;
  size_t n = 0;
};

struct TrainOptions {
  std::string optimizer = "lbfgs";  // "lbfgs" or "adam"
  size_t steps = 100;
  double lr = 1.0;                  // Adam's learning rate; L-BFGS's initial step
  size_t lbfgs_iterations = 20;     // per step (torch.optim.LBFGS max_iter)
  size_t lbfgs_history = 10;
  size_t batch = 0;                 // Adam minibatch; 0: full batch
  Loss loss = Loss::mse;
  Regularizer reg;
  bool update_grid = true;
  size_t grid_update_num = 10;
  size_t stop_grid_update_step = 50;
  double grid_eps = 0.02;
  bool train_bias = false;          // pykan's node_bias is frozen by default
  bool train_splines = true;        // false: only the symbolic edges' affine parameters
  uint64_t seed = 0;
};

struct StepReport {
  size_t step = 0;
  double train_loss = 0;
  double val_loss = 0;       // NaN without validation data
  double reg = 0;
  bool grid_updated = false;
};

// Loss (no regulariser) of the model on data; with grad, dLoss/dOutput into ws.grad_act.back().
double data_loss(const Model<double>& m, const Data& d, Loss loss, Workspace<double>& ws, bool grad);

// Trains in place. on_step returns false to stop (cancellation). Throws std::domain_error when
// the loss or the parameters become non-finite.
void train(Model<double>& m, const Data& train_data, const Data* validation, const TrainOptions& opt,
           const std::function<bool(const StepReport&)>& on_step = {});

}  // namespace glia::kan
