// glia::nn optimizers, learning-rate schedules and gradient clipping.
//
// First-order optimizers update a list of Parameters from their accumulated grads:
//   opt.zero_grad(); ...forward, loss, backward...; opt.step();
// L-BFGS minimises a function of a flat parameter vector given by a closure (KAN's use), or the
// Parameters of a model through LbfgsOptimizer.
#pragma once

#include <glia/nn/tensor.hpp>

#include <functional>
#include <span>

namespace glia::nn {

template <class T>
class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter<T>*> params, double lr);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Parameter<T>*>& parameters() const { return params_; }

 protected:
  std::vector<Parameter<T>*> params_;
  double lr_;
};

// SGD with momentum (PyTorch's form: v = mu v + g; p -= lr v) and L2 weight decay (g += wd p).
template <class T>
class Sgd final : public Optimizer<T> {
 public:
  Sgd(std::vector<Parameter<T>*> params, double lr, double momentum = 0, double weight_decay = 0,
      bool nesterov = false);
  void step() override;

 private:
  double momentum_, weight_decay_;
  bool nesterov_;
  std::vector<std::vector<T>> velocity_;
};

// Adam (weight decay added to the gradient, as torch.optim.Adam) or AdamW (decoupled: the
// parameter shrinks by lr * wd, as torch.optim.AdamW).
template <class T>
class Adam final : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, double lr = 1e-3, double beta1 = 0.9,
       double beta2 = 0.999, double eps = 1e-8, double weight_decay = 0, bool decoupled = false);
  void step() override;
  int64_t steps() const { return t_; }

 private:
  double beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
  int64_t t_ = 0;
  std::vector<std::vector<T>> m_, v_;
};

// Learning rate as a function of the epoch (0-based): constant, step (lr * gamma^(epoch /
// step_size)) or cosine annealing from lr to min_lr over total_epochs.
struct Schedule {
  enum class Kind { constant, step, cosine } kind = Kind::constant;
  size_t step_size = 10;
  double gamma = 0.1;
  double min_lr = 0;
  double lr_at(double base_lr, size_t epoch, size_t total_epochs) const;
};
Schedule::Kind schedule_from_name(const std::string& name);  // throws std::invalid_argument

// Scales all grads so that their joint L2 norm is at most max_norm; returns the norm before
// clipping. Sums in parameter order, in double: deterministic.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm);

// ---- L-BFGS ---------------------------------------------------------------------------------

struct LbfgsOptions {
  size_t max_iterations = 100;
  size_t history = 10;
  double gradient_tolerance = 1e-7;  // stop when max |g_i| <= this
  double change_tolerance = 1e-12;   // stop when the step or the loss change is below this
  size_t max_evaluations = 0;        // 0: 1.25 * max_iterations (as torch)
  double initial_step = 1.0;
};

struct LbfgsResult {
  double loss = 0;
  size_t iterations = 0;
  size_t evaluations = 0;
  bool converged = false;   // a tolerance was met (not only the iteration budget)
  std::string reason;
};

// f(x, g) returns the loss at x and writes the gradient into g. Minimises in place over x,
// with a strong-Wolfe line search (Nocedal & Wright, algorithms 3.5-3.6, 7.4).
using Objective = std::function<double(std::span<const double> x, std::span<double> g)>;
LbfgsResult lbfgs_minimize(const Objective& f, std::vector<double>& x, const LbfgsOptions& opt = {});

// L-BFGS over a model's Parameters: closure() zeroes grads, runs forward + backward and returns
// the loss; step() runs lbfgs_minimize from the current values, leaving the best point in them.
template <class T>
class LbfgsOptimizer {
 public:
  LbfgsOptimizer(std::vector<Parameter<T>*> params, LbfgsOptions options = {});
  LbfgsResult step(const std::function<double()>& closure);

 private:
  std::vector<Parameter<T>*> params_;
  LbfgsOptions options_;
};

}  // namespace glia::nn
