#include <glia/nn/optim.hpp>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace glia::nn {

// Elements per optimizer task: large enough to amortise scheduling.
constexpr size_t kElementBlock = 1 << 15;

template <class T>
Optimizer<T>::Optimizer(std::vector<Parameter<T>*> params, double lr)
    : params_(std::move(params)), lr_(lr) {
  if (!(lr >= 0)) throw std::invalid_argument("learning rate must be non-negative");
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) std::fill(p->grad.begin(), p->grad.end(), T(0));
}

// ---- SGD ------------------------------------------------------------------------------------

template <class T>
Sgd<T>::Sgd(std::vector<Parameter<T>*> params, double lr, double momentum, double weight_decay,
            bool nesterov)
    : Optimizer<T>(std::move(params), lr), momentum_(momentum), weight_decay_(weight_decay),
      nesterov_(nesterov) {
  if (!(momentum >= 0 && momentum < 1)) throw std::invalid_argument("sgd: momentum must be in [0, 1)");
  if (!(weight_decay >= 0)) throw std::invalid_argument("sgd: weight_decay must be non-negative");
  for (Parameter<T>* p : this->params_) velocity_.emplace_back(p->value.size(), T(0));
}

template <class T>
void Sgd<T>::step() {
  const T lr = T(this->lr_), mu = T(momentum_), wd = T(weight_decay_);
  for (size_t k = 0; k < this->params_.size(); ++k) {
    T* p = this->params_[k]->value.data();
    const T* grad = this->params_[k]->grad.data();
    T* v = velocity_[k].data();
    const size_t n = velocity_[k].size();
    for (size_t i = 0; i < n; ++i) {
      const T g = grad[i] + wd * p[i];
      v[i] = mu * v[i] + g;
      p[i] -= lr * (nesterov_ ? g + mu * v[i] : v[i]);
    }
  }
}

// ---- Adam / AdamW ---------------------------------------------------------------------------

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>*> params, double lr, double beta1, double beta2, double eps,
              double weight_decay, bool decoupled)
    : Optimizer<T>(std::move(params), lr), beta1_(beta1), beta2_(beta2), eps_(eps),
      weight_decay_(weight_decay), decoupled_(decoupled) {
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1))
    throw std::invalid_argument("adam: betas must be in [0, 1)");
  if (!(eps > 0)) throw std::invalid_argument("adam: eps must be positive");
  if (!(weight_decay >= 0)) throw std::invalid_argument("adam: weight_decay must be non-negative");
  for (Parameter<T>* p : this->params_) {
    m_.emplace_back(p->value.size(), T(0));
    v_.emplace_back(p->value.size(), T(0));
  }
}

template <class T>
void Adam<T>::step() {
  ++t_;
  // torch's formulation: p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
  const double bc1 = 1 - std::pow(beta1_, double(t_)), bc2 = 1 - std::pow(beta2_, double(t_));
  const T step_size = T(this->lr_ / bc1), inv_sqrt_bc2 = T(1 / std::sqrt(bc2));
  const T b1 = T(beta1_), b2 = T(beta2_), eps = T(eps_);
  const T l2 = decoupled_ ? T(0) : T(weight_decay_);
  const T shrink = decoupled_ ? T(1 - this->lr_ * weight_decay_) : T(1);
  for (size_t k = 0; k < this->params_.size(); ++k) {
    T* __restrict p = this->params_[k]->value.data();
    const T* __restrict grad = this->params_[k]->grad.data();
    T* __restrict m = m_[k].data();
    T* __restrict v = v_[k].data();
    // Elementwise, so splitting into blocks cannot change any result. The constants are captured
    // by value: read through the closure, they could alias the stores and the loop stays scalar.
    parallel_blocks(m_[k].size(), kElementBlock, [=](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1; ++i) {  // one fused pass per parameter
        const T g = grad[i] + l2 * p[i];
        m[i] = b1 * m[i] + (T(1) - b1) * g;
        v[i] = b2 * v[i] + (T(1) - b2) * g * g;
        p[i] = shrink * p[i] - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    });
  }
}

// ---- schedules and clipping -----------------------------------------------------------------

double Schedule::lr_at(double base_lr, size_t epoch, size_t total_epochs) const {
  switch (kind) {
    case Kind::constant: return base_lr;
    case Kind::step: return base_lr * std::pow(gamma, double(epoch / std::max<size_t>(step_size, 1)));
    case Kind::cosine: {
      if (total_epochs <= 1) return base_lr;
      const double progress = double(epoch) / double(total_epochs - 1);
      return min_lr + 0.5 * (base_lr - min_lr) * (1 + std::cos(std::numbers::pi * progress));
    }
  }
  return base_lr;
}

Schedule::Kind schedule_from_name(const std::string& name) {
  if (name == "constant") return Schedule::Kind::constant;
  if (name == "step") return Schedule::Kind::step;
  if (name == "cosine") return Schedule::Kind::cosine;
  throw std::invalid_argument("unknown schedule '" + name + "' (expected constant, step or cosine)");
}

template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm) {
  double sq = 0;
  for (const Parameter<T>* p : params)
    for (const T g : p->grad) sq += double(g) * g;
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const T scale = T(max_norm / (norm + 1e-6));
    for (Parameter<T>* p : params)
      for (T& g : p->grad) g *= scale;
  }
  return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template double clip_grad_norm<float>(const std::vector<Parameter<float>*>&, double);
template double clip_grad_norm<double>(const std::vector<Parameter<double>*>&, double);

}  // namespace glia::nn
