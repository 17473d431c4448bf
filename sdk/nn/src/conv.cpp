// Conv2d (im2col + GEMM), max / average pooling, batch normalisation.
#include "init.hpp"

#include <glia/nn/layers.hpp>

#include <cstring>
#include <limits>

namespace glia::nn {
using detail::fail;
using detail::shape_of;
using json = nlohmann::json;

// Samples per conv task: fixed, so weight-gradient partial sums are the same for any thread count.
constexpr size_t kConvBlock = 8;

// Sum of v[0..n) in a fixed order over 8 interleaved lanes: vectorises, and never depends on
// the thread count.
template <class T>
static T lane_sum(const T* v, size_t n) {
  T lanes[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) lanes[j] += v[i + j];
  for (; i < n; ++i) lanes[i % 8] += v[i];
  T sum = 0;
  for (T l : lanes) sum += l;
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Conv2d

template <class T>
Conv2d<T>::Conv2d(size_t in_channels, size_t out_channels, size_t kernel_size, size_t stride,
                  size_t padding, bool bias, uint64_t seed)
    : in_(in_channels), out_(out_channels), k_(kernel_size), stride_(stride), pad_(padding),
      has_bias_(bias) {
  if (in_ == 0 || out_ == 0 || k_ == 0 || stride_ == 0)
    fail("conv2d", "channels, kernel_size and stride must be positive");
  weight = detail::make_parameter<T>("weight", {out_, in_, k_, k_});
  if (has_bias_) this->bias = detail::make_parameter<T>("bias", {out_});
  reset(seed);
}

template <class T>
void Conv2d<T>::reset(uint64_t seed) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_ * k_ * k_));
  detail::fill_uniform(weight.value, bound, derive_seed(seed, 0));
  if (has_bias_) detail::fill_uniform(bias.value, bound, derive_seed(seed, 1));
}

template <class T>
std::string Conv2d<T>::config() const {
  return json{{"type", "conv2d"}, {"in_channels", in_}, {"out_channels", out_},
              {"kernel_size", k_}, {"stride", stride_}, {"padding", pad_}, {"bias", has_bias_}}
      .dump();
}

template <class T>
Shape Conv2d<T>::output_shape(const Shape& in) const {
  if (in.size() != 4 || in[1] != in_)
    fail("conv2d", "expected input (N, " + std::to_string(in_) + ", H, W), got " + shape_string(in));
  if (in[2] + 2 * pad_ < k_ || in[3] + 2 * pad_ < k_)
    fail("conv2d", "input " + shape_string(in) + " is smaller than the kernel");
  return {in[0], out_, (in[2] + 2 * pad_ - k_) / stride_ + 1, (in[3] + 2 * pad_ - k_) / stride_ + 1};
}

template <class T>
std::vector<Parameter<T>*> Conv2d<T>::parameters() {
  if (has_bias_) return {&weight, &bias};
  return {&weight};
}

// The output columns [lo, hi) whose input column ow*s + kj - p falls inside the image: the
// loops below then run without bounds checks (and vectorise for stride 1).
static void valid_columns(size_t W, size_t Wo, size_t s, size_t p, size_t kj, size_t& lo, size_t& hi) {
  const ptrdiff_t shift = ptrdiff_t(kj) - ptrdiff_t(p);  // input column of ow = 0
  lo = shift >= 0 ? 0 : size_t((-shift + ptrdiff_t(s) - 1) / ptrdiff_t(s));
  const ptrdiff_t last = ptrdiff_t(W) - 1 - shift;  // ow*s <= last
  hi = last < 0 ? 0 : std::min(Wo, size_t(last) / s + 1);
  lo = std::min(lo, hi);
}

// col (C*k*k, Ho*Wo): row (c,ki,kj) holds the input pixel each output position sees there.
template <class T>
static void im2col(const T* x, size_t C, size_t H, size_t W, size_t k, size_t s, size_t p,
                   size_t Ho, size_t Wo, T* col) {
  for (size_t c = 0; c < C; ++c)
    for (size_t ki = 0; ki < k; ++ki)
      for (size_t kj = 0; kj < k; ++kj) {
        T* row = col + ((c * k + ki) * k + kj) * Ho * Wo;
        size_t lo, hi;
        valid_columns(W, Wo, s, p, kj, lo, hi);
        for (size_t oh = 0; oh < Ho; ++oh) {
          const ptrdiff_t ih = ptrdiff_t(oh * s + ki) - ptrdiff_t(p);
          T* out = row + oh * Wo;
          if (ih < 0 || ih >= ptrdiff_t(H)) {
            std::fill(out, out + Wo, T(0));
            continue;
          }
          const T* in = x + (c * H + size_t(ih)) * W;
          const ptrdiff_t shift = ptrdiff_t(kj) - ptrdiff_t(p);
          std::fill(out, out + lo, T(0));
          if (s == 1)
            std::copy(in + ptrdiff_t(lo) + shift, in + ptrdiff_t(hi) + shift, out + lo);
          else
            for (size_t ow = lo; ow < hi; ++ow) out[ow] = in[ptrdiff_t(ow * s) + shift];
          std::fill(out + hi, out + Wo, T(0));
        }
      }
}

// The adjoint of im2col: adds each col entry back onto the pixel it came from.
template <class T>
static void col2im_add(const T* col, size_t C, size_t H, size_t W, size_t k, size_t s, size_t p,
                       size_t Ho, size_t Wo, T* x) {
  for (size_t c = 0; c < C; ++c)
    for (size_t ki = 0; ki < k; ++ki)
      for (size_t kj = 0; kj < k; ++kj) {
        const T* row = col + ((c * k + ki) * k + kj) * Ho * Wo;
        size_t lo, hi;
        valid_columns(W, Wo, s, p, kj, lo, hi);
        for (size_t oh = 0; oh < Ho; ++oh) {
          const ptrdiff_t ih = ptrdiff_t(oh * s + ki) - ptrdiff_t(p);
          if (ih < 0 || ih >= ptrdiff_t(H)) continue;
          T* out = x + (c * H + size_t(ih)) * W;
          const ptrdiff_t shift = ptrdiff_t(kj) - ptrdiff_t(p);
          if (s == 1) {
            T* dst = out + shift;
            const T* src = row + oh * Wo;
            for (size_t ow = lo; ow < hi; ++ow) dst[ow] += src[ow];
          } else {
            for (size_t ow = lo; ow < hi; ++ow) out[ptrdiff_t(ow * s) + shift] += row[oh * Wo + ow];
          }
        }
      }
}

template <class T>
void Conv2d<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  const Shape os = output_shape(shape_of(x));
  ensure_shape(y, os);
  const size_t N = os[0], H = x.shape()[2], W = x.shape()[3], Ho = os[2], Wo = os[3];
  const size_t ckk = in_ * k_ * k_, plane = Ho * Wo;
  parallel_blocks(N, kConvBlock, [&](size_t n0, size_t n1) {
    std::vector<T> col(ckk * plane);
    for (size_t n = n0; n < n1; ++n) {
      im2col(x.data() + n * in_ * H * W, in_, H, W, k_, stride_, pad_, Ho, Wo, col.data());
      T* yn = y.data() + n * out_ * plane;
      for (size_t o = 0; o < out_; ++o)
        std::fill(yn + o * plane, yn + (o + 1) * plane, has_bias_ ? bias.value.data()[o] : T(0));
      // y_n (O, HoWo) += W (O, CKK) col (CKK, HoWo)
      gemm(false, false, out_, plane, ckk, T(1), weight.value.data(), ckk, col.data(), plane, T(1),
           yn, plane);
    }
  });
}

template <class T>
void Conv2d<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  const size_t N = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  const size_t Ho = dy.shape()[2], Wo = dy.shape()[3];
  const size_t ckk = in_ * k_ * k_, plane = Ho * Wo, wsize = out_ * ckk;
  if (dx) ensure_shape(*dx, shape_of(x));
  const size_t blocks = (N + kConvBlock - 1) / kConvBlock;
  // Per block: partial dW then db; summed in block order below.
  std::vector<T> partial(blocks * (wsize + out_), T(0));
  parallel_blocks(N, kConvBlock, [&](size_t n0, size_t n1) {
    T* dw = partial.data() + (n0 / kConvBlock) * (wsize + out_);
    T* db = dw + wsize;
    std::vector<T> col(ckk * plane);
    for (size_t n = n0; n < n1; ++n) {
      const T* xn = x.data() + n * in_ * H * W;
      const T* dyn = dy.data() + n * out_ * plane;
      im2col(xn, in_, H, W, k_, stride_, pad_, Ho, Wo, col.data());
      // dW (O, CKK) += dy_n (O, HoWo) col^T (HoWo, CKK)
      gemm(false, true, out_, ckk, plane, T(1), dyn, plane, col.data(), plane, T(1), dw, ckk);
      for (size_t o = 0; o < out_; ++o) db[o] += lane_sum(dyn + o * plane, plane);
      if (dx) {
        // dcol (CKK, HoWo) = W^T (CKK, O) dy_n (O, HoWo), then scattered back onto the image
        gemm(true, false, ckk, plane, out_, T(1), weight.value.data(), ckk, dyn, plane, T(0),
             col.data(), plane);
        T* dxn = dx->data() + n * in_ * H * W;
        std::fill(dxn, dxn + in_ * H * W, T(0));
        col2im_add(col.data(), in_, H, W, k_, stride_, pad_, Ho, Wo, dxn);
      }
    }
  });
  for (size_t b = 0; b < blocks; ++b) {
    const T* dw = partial.data() + b * (wsize + out_);
    for (size_t i = 0; i < wsize; ++i) weight.grad.data()[i] += dw[i];
    if (has_bias_)
      for (size_t o = 0; o < out_; ++o) bias.grad.data()[o] += dw[wsize + o];
  }
}

// ---------------------------------------------------------------------------------------------
// Pool2d

template <class T>
Pool2d<T>::Pool2d(PoolKind kind, size_t kernel_size, size_t stride)
    : kind_(kind), k_(kernel_size), stride_(stride ? stride : kernel_size) {
  if (k_ == 0) fail(type(), "kernel_size must be positive");
}

template <class T>
std::string Pool2d<T>::config() const {
  return json{{"type", type()}, {"kernel_size", k_}, {"stride", stride_}}.dump();
}

template <class T>
Shape Pool2d<T>::output_shape(const Shape& in) const {
  if (in.size() != 4) fail(type(), "expected input (N, C, H, W), got " + shape_string(in));
  if (in[2] < k_ || in[3] < k_)
    fail(type(), "input " + shape_string(in) + " is smaller than the kernel");
  return {in[0], in[1], (in[2] - k_) / stride_ + 1, (in[3] - k_) / stride_ + 1};
}

template <class T>
void Pool2d<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool) {
  const Shape os = output_shape(shape_of(x));
  ensure_shape(y, os);
  const size_t planes = os[0] * os[1], H = x.shape()[2], W = x.shape()[3], Ho = os[2], Wo = os[3];
  if (kind_ == PoolKind::max) argmax_.resize(y.size());
  const T inv_area = T(1) / T(k_ * k_);
  parallel_blocks(planes, 16, [&](size_t p0, size_t p1) {
    for (size_t pl = p0; pl < p1; ++pl) {
      const T* in = x.data() + pl * H * W;
      T* out = y.data() + pl * Ho * Wo;
      for (size_t oh = 0; oh < Ho; ++oh)
        for (size_t ow = 0; ow < Wo; ++ow) {
          const size_t o = oh * Wo + ow;
          if (kind_ == PoolKind::max) {
            T best = -std::numeric_limits<T>::infinity();
            uint32_t where = uint32_t(oh * stride_ * W + ow * stride_);
            for (size_t ki = 0; ki < k_; ++ki)
              for (size_t kj = 0; kj < k_; ++kj) {
                const size_t i = (oh * stride_ + ki) * W + ow * stride_ + kj;
                if (in[i] > best) best = in[i], where = uint32_t(i);
              }
            out[o] = best;
            argmax_[pl * Ho * Wo + o] = where;
          } else {
            T sum = 0;
            for (size_t ki = 0; ki < k_; ++ki)
              for (size_t kj = 0; kj < k_; ++kj) sum += in[(oh * stride_ + ki) * W + ow * stride_ + kj];
            out[o] = sum * inv_area;
          }
        }
    }
  });
}

template <class T>
void Pool2d<T>::backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>* dx) {
  if (!dx) return;
  ensure_shape(*dx, shape_of(x));
  const size_t planes = y.shape()[0] * y.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const size_t Ho = y.shape()[2], Wo = y.shape()[3];
  const T inv_area = T(1) / T(k_ * k_);
  parallel_blocks(planes, 16, [&](size_t p0, size_t p1) {
    for (size_t pl = p0; pl < p1; ++pl) {
      T* d = dx->data() + pl * H * W;
      const T* g = dy.data() + pl * Ho * Wo;
      std::fill(d, d + H * W, T(0));
      for (size_t oh = 0; oh < Ho; ++oh)
        for (size_t ow = 0; ow < Wo; ++ow) {
          const size_t o = oh * Wo + ow;
          if (kind_ == PoolKind::max) {
            d[argmax_[pl * Ho * Wo + o]] += g[o];  // the gradient goes to the window's winner
          } else {
            for (size_t ki = 0; ki < k_; ++ki)
              for (size_t kj = 0; kj < k_; ++kj)
                d[(oh * stride_ + ki) * W + ow * stride_ + kj] += g[o] * inv_area;
          }
        }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// BatchNorm

template <class T>
BatchNorm<T>::BatchNorm(size_t num_features, double eps, double momentum, bool spatial)
    : c_(num_features), eps_(eps), momentum_(momentum), spatial_(spatial) {
  if (c_ == 0) fail(type(), "num_features must be positive");
  weight = detail::make_parameter<T>("weight", {c_});
  bias = detail::make_parameter<T>("bias", {c_});
  running_mean = Tensor<T>::from_shape({c_});
  running_var = Tensor<T>::from_shape({c_});
  num_batches_tracked = Tensor<T>::from_shape(Shape{});
  reset(0);
}

template <class T>
void BatchNorm<T>::reset(uint64_t) {
  weight.value.fill(T(1));
  bias.value.fill(T(0));
  running_mean.fill(T(0));
  running_var.fill(T(1));
  num_batches_tracked.fill(T(0));
}

template <class T>
std::string BatchNorm<T>::config() const {
  return json{{"type", type()}, {"num_features", c_}, {"eps", eps_}, {"momentum", momentum_}}.dump();
}

template <class T>
Shape BatchNorm<T>::output_shape(const Shape& in) const {
  const size_t rank = spatial_ ? 4 : 2;
  if (in.size() != rank || in[1] != c_)
    fail(type(), std::string("expected input (N, ") + std::to_string(c_) + (spatial_ ? ", H, W)" : ")") +
                     ", got " + shape_string(in));
  return in;
}

template <class T>
std::vector<Parameter<T>*> BatchNorm<T>::parameters() {
  return {&weight, &bias};
}

template <class T>
std::vector<StateEntry<T>> BatchNorm<T>::state() {
  return {{"weight", &weight.value}, {"bias", &bias.value}, {"running_mean", &running_mean},
          {"running_var", &running_var}, {"num_batches_tracked", &num_batches_tracked}};
}

template <class T>
void BatchNorm<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool training) {
  ensure_shape(y, output_shape(shape_of(x)));
  const size_t N = x.shape()[0], hw = x.size() / (N * c_), count = N * hw;
  if (training && count < 2) fail(type(), "training needs more than one value per channel");
  mean_.resize(c_);
  rstd_.resize(c_);
  last_training_ = training;
  parallel_blocks(c_, 1, [&](size_t c, size_t) {  // channels are independent
    double m, var;
    if (training) {
      double sum = 0, sq = 0;
      for (size_t n = 0; n < N; ++n)
        for (size_t i = 0; i < hw; ++i) sum += x.data()[(n * c_ + c) * hw + i];
      m = sum / count;
      for (size_t n = 0; n < N; ++n)
        for (size_t i = 0; i < hw; ++i) {
          const double d = x.data()[(n * c_ + c) * hw + i] - m;
          sq += d * d;
        }
      var = sq / count;
      running_mean.data()[c] = T((1 - momentum_) * running_mean.data()[c] + momentum_ * m);
      running_var.data()[c] =
          T((1 - momentum_) * running_var.data()[c] + momentum_ * var * count / (count - 1));
    } else {
      m = running_mean.data()[c];
      var = running_var.data()[c];
    }
    mean_[c] = T(m);
    rstd_[c] = T(1 / std::sqrt(var + eps_));
    const T scale = rstd_[c] * weight.value.data()[c], shift = bias.value.data()[c];
    for (size_t n = 0; n < N; ++n)
      for (size_t i = 0; i < hw; ++i) {
        const size_t j = (n * c_ + c) * hw + i;
        y.data()[j] = (x.data()[j] - mean_[c]) * scale + shift;
      }
  });
  if (training) num_batches_tracked.data()[0] += T(1);
}

template <class T>
void BatchNorm<T>::backward(const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& dy, Tensor<T>* dx) {
  const size_t N = x.shape()[0], hw = x.size() / (N * c_), count = N * hw;
  if (dx) ensure_shape(*dx, shape_of(x));
  parallel_blocks(c_, 1, [&](size_t c, size_t) {
    const T w = weight.value.data()[c];
    double sum_g = 0, sum_g_xhat = 0;
    for (size_t n = 0; n < N; ++n)
      for (size_t i = 0; i < hw; ++i) {
        const size_t j = (n * c_ + c) * hw + i;
        sum_g += dy.data()[j];
        sum_g_xhat += dy.data()[j] * (x.data()[j] - mean_[c]) * rstd_[c];
      }
    weight.grad.data()[c] += T(sum_g_xhat);
    bias.grad.data()[c] += T(sum_g);
    if (!dx) return;
    // Training: the batch statistics depend on x too, which subtracts the mean gradient and the
    // component along xhat. Evaluation: a fixed affine map.
    const T mean_g = last_training_ ? T(sum_g / count) : T(0);
    const T mean_g_xhat = last_training_ ? T(sum_g_xhat / count) : T(0);
    for (size_t n = 0; n < N; ++n)
      for (size_t i = 0; i < hw; ++i) {
        const size_t j = (n * c_ + c) * hw + i;
        const T xhat = (x.data()[j] - mean_[c]) * rstd_[c];
        dx->data()[j] = w * rstd_[c] * (dy.data()[j] - mean_g - xhat * mean_g_xhat);
      }
  });
}

template class Conv2d<float>;
template class Conv2d<double>;
template class Pool2d<float>;
template class Pool2d<double>;
template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace glia::nn
