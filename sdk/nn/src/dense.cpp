// Linear, elementwise activations, softmax, flatten, dropout, embedding, layer norm.
#include "init.hpp"

#include <glia/nn/layers.hpp>

#include <cmath>
#include <cstring>
#include <numbers>

namespace glia::nn {
using detail::fail;
using detail::shape_of;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Linear

template <class T>
Linear<T>::Linear(size_t in_features, size_t out_features, bool bias, uint64_t seed)
    : in_(in_features), out_(out_features), has_bias_(bias) {
  if (in_ == 0 || out_ == 0) fail("linear", "in_features and out_features must be positive");
  weight = detail::make_parameter<T>("weight", {out_, in_});
  if (has_bias_) this->bias = detail::make_parameter<T>("bias", {out_});
  reset(seed);
}

template <class T>
void Linear<T>::reset(uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  detail::fill_uniform(weight.value, bound, derive_seed(seed, 0));
  if (has_bias_) detail::fill_uniform(bias.value, bound, derive_seed(seed, 1));
}

template <class T>
std::string Linear<T>::config() const {
  return json{{"type", "linear"}, {"in_features", in_}, {"out_features", out_}, {"bias", has_bias_}}
      .dump();
}

template <class T>
Shape Linear<T>::output_shape(const Shape& input) const {
  if (input.empty() || input.back() != in_)
    fail("linear", "expected input (..., " + std::to_string(in_) + "), got " + shape_string(input));
  Shape out = input;
  out.back() = out_;
  return out;
}

template <class T>
std::vector<Parameter<T>*> Linear<T>::parameters() {
  if (has_bias_) return {&weight, &bias};
  return {&weight};
}

template <class T>
void Linear<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, output_shape(shape_of(x)));
  const size_t rows = x.size() / in_;
  T* yp = y.data();
  // y starts as the bias and the product is added to it (beta = 1): one pass less over y.
  if (has_bias_)
    for (size_t r = 0; r < rows; ++r) std::memcpy(yp + r * out_, bias.value.data(), out_ * sizeof(T));
  parallel_gemm<T>(false, true, rows, out_, in_, T(1), x.data(), in_, weight.value.data(), in_,
                   has_bias_ ? T(1) : T(0), yp, out_);
}

template <class T>
void Linear<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  const size_t rows = x.size() / in_;
  // dW (out,in) += dy^T (out,rows) x (rows,in); split over rows of dW, so no cross-task sums.
  parallel_gemm<T>(true, false, out_, in_, rows, T(1), dy.data(), out_, x.data(), in_, T(1),
                   weight.grad.data(), in_);
  if (has_bias_) {
    // db += column sums of dy, rows in order.
    T* db = bias.grad.data();
    const T* g = dy.data();
    for (size_t r = 0; r < rows; ++r)
      for (size_t o = 0; o < out_; ++o) db[o] += g[r * out_ + o];
  }
  if (dx) {
    ensure_shape(*dx, shape_of(x));
    // dx (rows,in) = dy (rows,out) W (out,in)
    parallel_gemm<T>(false, false, rows, in_, out_, T(1), dy.data(), out_, weight.value.data(), in_,
                     T(0), dx->data(), in_);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise activations

Activation activation_from_name(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  if (name == "silu") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  throw std::invalid_argument("unknown activation '" + name +
                              "' (expected relu, gelu, silu, tanh or sigmoid)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::gelu: return "gelu";
    case Activation::silu: return "silu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
  }
  return "?";
}

template <class T>
std::string Elementwise<T>::config() const {
  return json{{"type", activation_name(kind_)}}.dump();
}

template <class T>
static T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <class T>
void Elementwise<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, shape_of(x));
  const size_t n = x.size();
  const T* in = x.data();
  T* out = y.data();
  switch (kind_) {
    case Activation::relu:
      for (size_t i = 0; i < n; ++i) out[i] = std::max(in[i], T(0));
      break;
    case Activation::gelu:  // 0.5 x (1 + erf(x / sqrt 2))
      for (size_t i = 0; i < n; ++i)
        out[i] = T(0.5) * in[i] * (T(1) + std::erf(in[i] * T(std::numbers::sqrt2 / 2)));
      break;
    case Activation::silu:
      for (size_t i = 0; i < n; ++i) out[i] = in[i] * sigmoid(in[i]);
      break;
    case Activation::tanh:
      for (size_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
      break;
    case Activation::sigmoid:
      for (size_t i = 0; i < n; ++i) out[i] = sigmoid(in[i]);
      break;
  }
}

template <class T>
void Elementwise<T>::backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                              Tensor<T>* dx) {
  if (!dx) return;
  ensure_shape(*dx, shape_of(x));
  const size_t n = x.size();
  const T* in = x.data();
  const T* out = y.data();
  const T* g = dy.data();
  T* d = dx->data();
  switch (kind_) {
    case Activation::relu:
      for (size_t i = 0; i < n; ++i) {
        const T gi = g[i];  // loaded unconditionally so that the select vectorises
        d[i] = in[i] > T(0) ? gi : T(0);
      }
      break;
    case Activation::gelu: {  // Phi(x) + x phi(x)
      const T inv_sqrt_2pi = T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
      for (size_t i = 0; i < n; ++i) {
        const T cdf = T(0.5) * (T(1) + std::erf(in[i] * T(std::numbers::sqrt2 / 2)));
        const T pdf = inv_sqrt_2pi * std::exp(T(-0.5) * in[i] * in[i]);
        d[i] = g[i] * (cdf + in[i] * pdf);
      }
      break;
    }
    case Activation::silu:  // s (1 + x (1 - s))
      for (size_t i = 0; i < n; ++i) {
        const T s = sigmoid(in[i]);
        d[i] = g[i] * s * (T(1) + in[i] * (T(1) - s));
      }
      break;
    case Activation::tanh:
      for (size_t i = 0; i < n; ++i) d[i] = g[i] * (T(1) - out[i] * out[i]);
      break;
    case Activation::sigmoid:
      for (size_t i = 0; i < n; ++i) d[i] = g[i] * out[i] * (T(1) - out[i]);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax over the last dimension

template <class T>
std::string Softmax<T>::config() const {
  return json{{"type", "softmax"}}.dump();
}

template <class T>
Shape Softmax<T>::output_shape(const Shape& input) const {
  if (input.empty() || input.back() == 0) fail("softmax", "input needs a non-empty last dimension");
  return input;
}

template <class T>
void Softmax<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, output_shape(shape_of(x)));
  const size_t d = x.shape().back(), rows = x.size() / d;
  for (size_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * d;
    T* out = y.data() + r * d;
    T m = in[0];
    for (size_t i = 1; i < d; ++i) m = std::max(m, in[i]);
    T sum = 0;
    for (size_t i = 0; i < d; ++i) sum += (out[i] = std::exp(in[i] - m));
    const T inv = T(1) / sum;
    for (size_t i = 0; i < d; ++i) out[i] *= inv;
  }
}

template <class T>
void Softmax<T>::backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>* dx) {
  if (!dx) return;
  ensure_shape(*dx, shape_of(x));
  const size_t d = x.shape().back(), rows = x.size() / d;
  for (size_t r = 0; r < rows; ++r) {
    const T* s = y.data() + r * d;
    const T* g = dy.data() + r * d;
    T* out = dx->data() + r * d;
    T dot = 0;  // dx = s * (g - <g, s>)
    for (size_t i = 0; i < d; ++i) dot += g[i] * s[i];
    for (size_t i = 0; i < d; ++i) out[i] = s[i] * (g[i] - dot);
  }
}

// ---------------------------------------------------------------------------------------------
// Flatten

template <class T>
std::string Flatten<T>::config() const {
  return json{{"type", "flatten"}}.dump();
}

template <class T>
Shape Flatten<T>::output_shape(const Shape& input) const {
  if (input.empty()) fail("flatten", "input needs a batch dimension");
  size_t d = 1;
  for (size_t i = 1; i < input.size(); ++i) d *= input[i];
  return {input[0], d};
}

template <class T>
void Flatten<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, output_shape(shape_of(x)));
  std::copy(x.data(), x.data() + x.size(), y.data());
}

template <class T>
void Flatten<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  if (!dx) return;
  ensure_shape(*dx, shape_of(x));
  std::copy(dy.data(), dy.data() + dy.size(), dx->data());
}

// ---------------------------------------------------------------------------------------------
// Dropout

template <class T>
Dropout<T>::Dropout(double p, uint64_t seed) : p_(p), seed_(seed) {
  if (!(p >= 0 && p < 1)) fail("dropout", "p must be in [0, 1), got " + std::to_string(p));
}

template <class T>
std::string Dropout<T>::config() const {
  return json{{"type", "dropout"}, {"p", p_}}.dump();
}

template <class T>
void Dropout<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool training) {
  ensure_shape(y, shape_of(x));
  const size_t n = x.size();
  if (!training || p_ == 0) {
    std::copy(x.data(), x.data() + n, y.data());
    keep_.clear();
    return;
  }
  keep_.resize(n);
  const uint64_t call_seed = derive_seed(seed_, calls_++);
  const T scale = T(1 / (1 - p_));
  constexpr size_t block = 4096;
  parallel_blocks(n, block, [&](size_t i0, size_t i1) {
    Rng rng = Rng::stream(call_seed, i0 / block);  // one stream per fixed block of elements
    for (size_t i = i0; i < i1; ++i) {
      keep_[i] = rng.uniform() >= p_;
      y.data()[i] = keep_[i] ? x.data()[i] * scale : T(0);
    }
  });
}

template <class T>
void Dropout<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  if (!dx) return;
  ensure_shape(*dx, shape_of(x));
  const size_t n = x.size();
  if (keep_.empty()) {  // evaluation mode or p = 0: identity
    std::copy(dy.data(), dy.data() + n, dx->data());
    return;
  }
  const T scale = T(1 / (1 - p_));
  for (size_t i = 0; i < n; ++i) dx->data()[i] = keep_[i] ? dy.data()[i] * scale : T(0);
}

// ---------------------------------------------------------------------------------------------
// Embedding

template <class T>
Embedding<T>::Embedding(size_t num_embeddings, size_t embedding_dim, uint64_t seed)
    : num_(num_embeddings), dim_(embedding_dim) {
  if (num_ == 0 || dim_ == 0) fail("embedding", "num_embeddings and embedding_dim must be positive");
  weight = detail::make_parameter<T>("weight", {num_, dim_});
  reset(seed);
}

template <class T>
void Embedding<T>::reset(uint64_t seed) {
  Rng rng(seed);  // N(0, 1), as torch.nn.Embedding
  for (T& v : weight.value) v = static_cast<T>(rng.normal());
}

template <class T>
std::string Embedding<T>::config() const {
  return json{{"type", "embedding"}, {"num_embeddings", num_}, {"embedding_dim", dim_}}.dump();
}

template <class T>
Shape Embedding<T>::output_shape(const Shape& input) const {
  Shape out = input;
  out.push_back(dim_);
  return out;
}

template <class T>
void Embedding<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, output_shape(shape_of(x)));
  for (size_t i = 0; i < x.size(); ++i) {
    const T id = x.data()[i];
    if (!(id >= 0 && id < T(num_) && id == std::floor(id)))
      fail("embedding", "id " + std::to_string(static_cast<double>(id)) + " at position " +
                            std::to_string(i) + " is not an integer in [0, " + std::to_string(num_) + ")");
    std::memcpy(y.data() + i * dim_, weight.value.data() + static_cast<size_t>(id) * dim_,
                dim_ * sizeof(T));
  }
}

template <class T>
void Embedding<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  // Rows in input order: repeated ids accumulate deterministically.
  for (size_t i = 0; i < x.size(); ++i) {
    T* row = weight.grad.data() + static_cast<size_t>(x.data()[i]) * dim_;
    const T* g = dy.data() + i * dim_;
    for (size_t j = 0; j < dim_; ++j) row[j] += g[j];
  }
  if (dx) {  // ids carry no gradient
    ensure_shape(*dx, shape_of(x));
    dx->fill(T(0));
  }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm over the last dimension

template <class T>
LayerNorm<T>::LayerNorm(size_t dim, double eps) : dim_(dim), eps_(eps) {
  if (dim_ == 0) fail("layernorm", "normalized_shape must be positive");
  weight = detail::make_parameter<T>("weight", {dim_});
  bias = detail::make_parameter<T>("bias", {dim_});
  reset(0);
}

template <class T>
void LayerNorm<T>::reset(uint64_t) {
  weight.value.fill(T(1));
  bias.value.fill(T(0));
}

template <class T>
std::string LayerNorm<T>::config() const {
  return json{{"type", "layernorm"}, {"normalized_shape", dim_}, {"eps", eps_}}.dump();
}

template <class T>
Shape LayerNorm<T>::output_shape(const Shape& input) const {
  if (input.empty() || input.back() != dim_)
    fail("layernorm", "expected input (..., " + std::to_string(dim_) + "), got " + shape_string(input));
  return input;
}

template <class T>
std::vector<Parameter<T>*> LayerNorm<T>::parameters() {
  return {&weight, &bias};
}

template <class T>
void LayerNorm<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  ensure_shape(y, output_shape(shape_of(x)));
  const size_t rows = x.size() / dim_;
  mean_.resize(rows);
  rstd_.resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * dim_;
    T* out = y.data() + r * dim_;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < dim_; ++i) sum += in[i];
    const double m = sum / dim_;
    for (size_t i = 0; i < dim_; ++i) sq += (in[i] - m) * (in[i] - m);
    const T rstd = T(1 / std::sqrt(sq / dim_ + eps_));
    mean_[r] = T(m);
    rstd_[r] = rstd;
    for (size_t i = 0; i < dim_; ++i)
      out[i] = (in[i] - T(m)) * rstd * weight.value.data()[i] + bias.value.data()[i];
  }
}

template <class T>
void LayerNorm<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  const size_t rows = x.size() / dim_;
  if (dx) ensure_shape(*dx, shape_of(x));
  const T* w = weight.value.data();
  for (size_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * dim_;
    const T* g = dy.data() + r * dim_;
    // dxhat = g * w;  dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (size_t i = 0; i < dim_; ++i) {
      const T xhat = (in[i] - mean_[r]) * rstd_[r];
      const T dxhat = g[i] * w[i];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat;
      weight.grad.data()[i] += g[i] * xhat;
      bias.grad.data()[i] += g[i];
    }
    mean_dxhat /= dim_;
    mean_dxhat_xhat /= dim_;
    if (!dx) continue;
    T* out = dx->data() + r * dim_;
    for (size_t i = 0; i < dim_; ++i) {
      const T xhat = (in[i] - mean_[r]) * rstd_[r];
      out[i] = rstd_[r] * (g[i] * w[i] - T(mean_dxhat) - xhat * T(mean_dxhat_xhat));
    }
  }
}

template class Linear<float>;
template class Linear<double>;
template class Elementwise<float>;
template class Elementwise<double>;
template class Softmax<float>;
template class Softmax<double>;
template class Flatten<float>;
template class Flatten<double>;
template class Dropout<float>;
template class Dropout<double>;
template class Embedding<float>;
template class Embedding<double>;
template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace glia::nn
