#include <glia/nn/loss.hpp>

#include <cmath>
#include <stdexcept>

namespace glia::nn {

namespace {
template <class T>
void check_same_shape(const char* loss, const Tensor<T>& a, const Tensor<T>& b) {
  if (a.shape() != b.shape())
    throw std::invalid_argument(std::string(loss) + ": input " + shape_string(a) +
                                " and target " + shape_string(b) + " differ in shape");
}
template <class T>
void check_rows(const char* loss, const Tensor<T>& a) {
  if (a.dimension() != 2 || a.shape()[0] == 0 || a.shape()[1] == 0)
    throw std::invalid_argument(std::string(loss) + ": expected a non-empty (N, C) input, got " +
                                shape_string(a));
}
}  // namespace

template <class T>
double mse_loss(const Tensor<T>& pred, const Tensor<T>& target, std::type_identity_t<Tensor<T>>* grad) {
  check_same_shape("mse_loss", pred, target);
  const size_t n = pred.size();
  if (grad) ensure_shape(*grad, Shape(pred.shape().begin(), pred.shape().end()));
  double sum = 0;
  const T g_scale = T(2.0 / n);
  for (size_t i = 0; i < n; ++i) {
    const T d = pred.data()[i] - target.data()[i];
    sum += double(d) * d;
    if (grad) grad->data()[i] = g_scale * d;
  }
  return sum / n;
}

template <class T>
double cross_entropy_loss(const Tensor<T>& logits, const int64_t* labels, std::type_identity_t<Tensor<T>>* grad) {
  check_rows("cross_entropy_loss", logits);
  const size_t N = logits.shape()[0], C = logits.shape()[1];
  if (grad) ensure_shape(*grad, {N, C});
  double total = 0;
  for (size_t r = 0; r < N; ++r) {
    if (labels[r] < 0 || labels[r] >= int64_t(C))
      throw std::invalid_argument("cross_entropy_loss: label " + std::to_string(labels[r]) +
                                  " of row " + std::to_string(r) + " is outside [0, " +
                                  std::to_string(C) + ")");
    const T* z = logits.data() + r * C;
    T m = z[0];
    for (size_t c = 1; c < C; ++c) m = std::max(m, z[c]);
    double sum = 0;
    for (size_t c = 0; c < C; ++c) sum += std::exp(double(z[c] - m));
    const double log_sum = std::log(sum) + m;
    total += log_sum - z[labels[r]];
    if (grad) {  // d/dz = (softmax(z) - onehot(label)) / N
      T* g = grad->data() + r * C;
      const T inv_n = T(1.0 / N);
      for (size_t c = 0; c < C; ++c) g[c] = T(std::exp(double(z[c]) - log_sum)) * inv_n;
      g[labels[r]] -= inv_n;
    }
  }
  return total / N;
}

template <class T>
double binary_cross_entropy_loss(const Tensor<T>& logits, const Tensor<T>& target, std::type_identity_t<Tensor<T>>* grad) {
  check_same_shape("binary_cross_entropy_loss", logits, target);
  const size_t n = logits.size();
  if (grad) ensure_shape(*grad, Shape(logits.shape().begin(), logits.shape().end()));
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double z = logits.data()[i], y = target.data()[i];
    if (!(y >= 0 && y <= 1))
      throw std::invalid_argument("binary_cross_entropy_loss: target " + std::to_string(y) +
                                  " at " + std::to_string(i) + " is outside [0, 1]");
    sum += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z)));
    if (grad) grad->data()[i] = T((1 / (1 + std::exp(-z)) - y) / n);  // (sigmoid(z) - y) / n
  }
  return sum / n;
}

template <class T>
double kl_div_loss(const Tensor<T>& log_q, const Tensor<T>& p, std::type_identity_t<Tensor<T>>* grad) {
  check_rows("kl_div_loss", log_q);
  check_same_shape("kl_div_loss", log_q, p);
  const size_t N = log_q.shape()[0], n = log_q.size();
  if (grad) ensure_shape(*grad, {N, log_q.shape()[1]});
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double pi = p.data()[i];
    if (pi < 0) throw std::invalid_argument("kl_div_loss: negative probability in the target");
    if (pi > 0) sum += pi * (std::log(pi) - double(log_q.data()[i]));
    if (grad) grad->data()[i] = T(-pi / N);
  }
  return sum / N;
}

#define GLIA_NN_LOSSES(T)                                                                 \
  template double mse_loss<T>(const Tensor<T>&, const Tensor<T>&, std::type_identity_t<Tensor<T>>*);            \
  template double cross_entropy_loss<T>(const Tensor<T>&, const int64_t*, std::type_identity_t<Tensor<T>>*);    \
  template double binary_cross_entropy_loss<T>(const Tensor<T>&, const Tensor<T>&, std::type_identity_t<Tensor<T>>*); \
  template double kl_div_loss<T>(const Tensor<T>&, const Tensor<T>&, std::type_identity_t<Tensor<T>>*);
GLIA_NN_LOSSES(float)
GLIA_NN_LOSSES(double)
#undef GLIA_NN_LOSSES

}  // namespace glia::nn
