#include "train.hpp"

#include <glia/nn/loss.hpp>
#include <glia/nn/optim.hpp>
#include <glia/nn/train.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace glia::kan {

namespace {

// Rows idx of d (all rows when idx is empty) as a contiguous Data.
Data gather_rows(const Data& d, size_t width, size_t outputs, const std::vector<size_t>& idx) {
  Data r;
  r.n = idx.size();
  r.x.resize(r.n * width);
  for (size_t a = 0; a < r.n; ++a) std::copy_n(d.x.data() + idx[a] * width, width, r.x.data() + a * width);
  if (!d.targets.empty()) {
    r.targets.resize(r.n * outputs);
    for (size_t a = 0; a < r.n; ++a)
      std::copy_n(d.targets.data() + idx[a] * outputs, outputs, r.targets.data() + a * outputs);
  }
  if (!d.labels.empty())
    for (size_t a = 0; a < r.n; ++a) r.labels.push_back(d.labels[idx[a]]);
  return r;
}

bool all_finite(const nn::Tensor<double>& t) {
  for (double v : t)
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

double data_loss(const Model<double>& m, const Data& d, Loss loss, Workspace<double>& ws, bool grad) {
  const size_t out = m.widths.back();
  const auto& y = forward(m, d.x.data(), d.n, ws);
  nn::Tensor<double> pred = nn::Tensor<double>::from_shape({d.n, out});
  std::copy(y.begin(), y.end(), pred.begin());
  nn::Tensor<double> g;
  double value = 0;
  switch (loss) {
    case Loss::mse: {
      nn::Tensor<double> target = nn::Tensor<double>::from_shape({d.n, out});
      std::copy(d.targets.begin(), d.targets.end(), target.begin());
      value = nn::mse_loss(pred, target, grad ? &g : nullptr);
      break;
    }
    case Loss::cross_entropy:
      value = nn::cross_entropy_loss(pred, d.labels.data(), grad ? &g : nullptr);
      break;
    case Loss::binary_cross_entropy: {
      nn::Tensor<double> target = nn::Tensor<double>::from_shape({d.n, out});
      for (size_t b = 0; b < d.n; ++b) target.data()[b] = double(d.labels[b]);
      value = nn::binary_cross_entropy_loss(pred, target, grad ? &g : nullptr);
      break;
    }
  }
  if (grad) std::copy(g.begin(), g.end(), ws.grad_act.back().begin());
  return value;
}

void train(Model<double>& m, const Data& train_data, const Data* validation, const TrainOptions& opt,
           const std::function<bool(const StepReport&)>& on_step) {
  const size_t P = m.params.value.size(), A = m.affine.value.size();
  const bool symbolic = m.has_symbolic();
  Workspace<double> ws, val_ws;
  const size_t grid_update_every = std::max<size_t>(1, opt.stop_grid_update_step / std::max<size_t>(1, opt.grid_update_num));

  // Objective on one batch: loss + lamb * reg; gradients into m.params.grad / m.affine.grad,
  // with frozen parts zeroed.
  double last_reg = 0;
  auto objective = [&](const Data& batch) {
    m.params.grad.fill(0.0);
    m.affine.grad.fill(0.0);
    double loss = data_loss(m, batch, opt.loss, ws, true);
    if (opt.reg.lamb > 0) {
      last_reg = regularization(m, ws, opt.reg, true);
      loss += opt.reg.lamb * last_reg;
    }
    backward(m, ws);
    if (!opt.train_splines) m.params.grad.fill(0.0);
    if (!opt.train_bias)
      for (size_t l = 0; l < m.depth(); ++l)
        std::fill_n(m.params.grad.data() + m.layers[l].bias, m.layers[l].out, 0.0);
    return loss;
  };

  std::unique_ptr<nn::Adam<double>> adam;
  if (opt.optimizer == "adam") {
    std::vector<nn::Parameter<double>*> params{&m.params};
    if (symbolic) params.push_back(&m.affine);
    adam = std::make_unique<nn::Adam<double>>(params, opt.lr);
  } else if (opt.optimizer != "lbfgs") {
    throw std::invalid_argument("optimizer must be 'lbfgs' or 'adam', not '" + opt.optimizer + "'");
  }

  for (size_t step = 0; step < opt.steps; ++step) {
    StepReport report;
    report.step = step;
    if (opt.update_grid && opt.train_splines && step % grid_update_every == 0 && step < opt.stop_grid_update_step) {
      update_grid(m, train_data.x.data(), train_data.n, opt.grid_eps);
      report.grid_updated = true;
    }
    if (adam) {
      const Data* batch = &train_data;
      Data sub;
      if (opt.batch > 0 && opt.batch < train_data.n) {
        auto idx = nn::shuffled_indices(train_data.n, opt.seed, step);
        idx.resize(opt.batch);
        sub = gather_rows(train_data, m.widths[0], m.widths.back(), idx);
        batch = &sub;
      }
      const double loss = objective(*batch);
      if (!std::isfinite(loss)) throw std::domain_error("the training loss became non-finite at step " + std::to_string(step));
      adam->step();
    } else {
      // The flat vector: spline parameters, then the symbolic edges' affine parameters.
      std::vector<double> flat(P + (symbolic ? A : 0));
      std::copy(m.params.value.begin(), m.params.value.end(), flat.begin());
      if (symbolic) std::copy(m.affine.value.begin(), m.affine.value.end(), flat.begin() + P);
      nn::Objective f = [&](std::span<const double> x, std::span<double> g) {
        std::copy(x.begin(), x.begin() + P, m.params.value.begin());
        if (symbolic) std::copy(x.begin() + P, x.end(), m.affine.value.begin());
        const double loss = objective(train_data);
        std::copy(m.params.grad.begin(), m.params.grad.end(), g.begin());
        if (symbolic) std::copy(m.affine.grad.begin(), m.affine.grad.end(), g.begin() + P);
        return std::isfinite(loss) ? loss : std::numeric_limits<double>::infinity();
      };
      nn::LbfgsOptions lo;
      lo.max_iterations = opt.lbfgs_iterations;
      lo.history = opt.lbfgs_history;
      lo.initial_step = opt.lr;
      lo.gradient_tolerance = 1e-32;  // pykan's tolerances: run the whole budget
      lo.change_tolerance = 1e-32;
      nn::lbfgs_minimize(f, flat, lo);
      std::copy(flat.begin(), flat.begin() + P, m.params.value.begin());
      if (symbolic) std::copy(flat.begin() + P, flat.end(), m.affine.value.begin());
    }
    if (!all_finite(m.params.value) || !all_finite(m.affine.value))
      throw std::domain_error("the parameters became non-finite at step " + std::to_string(step));
    report.train_loss = data_loss(m, train_data, opt.loss, ws, false);
    report.reg = opt.reg.lamb > 0 ? regularization(m, ws, opt.reg, false) : 0.0;
    report.val_loss = validation ? data_loss(m, *validation, opt.loss, val_ws, false)
                                 : std::numeric_limits<double>::quiet_NaN();
    if (on_step && !on_step(report)) break;
  }
}

}  // namespace glia::kan
