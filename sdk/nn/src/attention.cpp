// Multi-head causal self-attention (the llm.c / GPT-2 formulation, written as plain loops).
#include "init.hpp"

#include <glia/nn/layers.hpp>

#include <cmath>
#include <limits>

namespace glia::nn {
using detail::fail;
using detail::shape_of;
using json = nlohmann::json;

template <class T>
CausalSelfAttention<T>::CausalSelfAttention(size_t dim, size_t heads, uint64_t seed)
    : dim_(dim), heads_(heads), qkv_(dim, 3 * dim, true, derive_seed(seed, 0)),
      proj_(dim, dim, true, derive_seed(seed, 1)) {
  if (heads_ == 0 || dim_ % heads_ != 0)
    fail("causal_self_attention", "dim (" + std::to_string(dim_) + ") must be a multiple of heads (" +
                                      std::to_string(heads_) + ")");
  qkv_.weight.name = "qkv.weight";
  qkv_.bias.name = "qkv.bias";
  proj_.weight.name = "proj.weight";
  proj_.bias.name = "proj.bias";
}

template <class T>
void CausalSelfAttention<T>::reset(uint64_t seed) {
  qkv_.reset(derive_seed(seed, 0));
  proj_.reset(derive_seed(seed, 1));
}

template <class T>
std::string CausalSelfAttention<T>::config() const {
  return json{{"type", "causal_self_attention"}, {"dim", dim_}, {"heads", heads_}}.dump();
}

template <class T>
Shape CausalSelfAttention<T>::output_shape(const Shape& in) const {
  if (in.size() != 3 || in[2] != dim_)
    fail("causal_self_attention",
         "expected input (B, T, " + std::to_string(dim_) + "), got " + shape_string(in));
  return in;
}

template <class T>
std::vector<Parameter<T>*> CausalSelfAttention<T>::parameters() {
  return {&qkv_.weight, &qkv_.bias, &proj_.weight, &proj_.bias};
}

template <class T>
void CausalSelfAttention<T>::forward(const Tensor<T>& x, Tensor<T>& y, bool training) {
  output_shape(shape_of(x));
  const size_t B = x.shape()[0], Tn = x.shape()[1], C = dim_, H = heads_, hd = C / H;
  const T scale = T(1 / std::sqrt(double(hd)));
  qkv_.forward(x, qkv_out_, training);  // (B, T, 3C): q | k | v, head h at columns h*hd
  ensure_shape(att_, {B, H, Tn, Tn});
  ensure_shape(head_out_, {B, Tn, C});
  const T* qkv = qkv_out_.data();
  parallel_blocks(B * H, 1, [&](size_t bh, size_t) {
    const size_t b = bh / H, h = bh % H;
    for (size_t t = 0; t < Tn; ++t) {
      const T* q = qkv + (b * Tn + t) * 3 * C + h * hd;
      T* att = att_.data() + ((b * H + h) * Tn + t) * Tn;
      // scores of the keys at or before t, then a stable softmax over them
      T maxv = -std::numeric_limits<T>::infinity();
      for (size_t t2 = 0; t2 <= t; ++t2) {
        const T* k = qkv + (b * Tn + t2) * 3 * C + C + h * hd;
        T dot = 0;
        for (size_t i = 0; i < hd; ++i) dot += q[i] * k[i];
        att[t2] = dot * scale;
        maxv = std::max(maxv, att[t2]);
      }
      T sum = 0;
      for (size_t t2 = 0; t2 <= t; ++t2) sum += (att[t2] = std::exp(att[t2] - maxv));
      for (size_t t2 = 0; t2 <= t; ++t2) att[t2] /= sum;
      for (size_t t2 = t + 1; t2 < Tn; ++t2) att[t2] = 0;  // masked: the future
      T* out = head_out_.data() + (b * Tn + t) * C + h * hd;
      std::fill(out, out + hd, T(0));
      for (size_t t2 = 0; t2 <= t; ++t2) {
        const T* v = qkv + (b * Tn + t2) * 3 * C + 2 * C + h * hd;
        for (size_t i = 0; i < hd; ++i) out[i] += att[t2] * v[i];
      }
    }
  });
  proj_.forward(head_out_, y, training);
}

template <class T>
void CausalSelfAttention<T>::backward(const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy,
                                      Tensor<T>* dx) {
  const size_t B = x.shape()[0], Tn = x.shape()[1], C = dim_, H = heads_, hd = C / H;
  const T scale = T(1 / std::sqrt(double(hd)));
  proj_.backward(head_out_, y, dy, &dhead_out_);
  ensure_shape(dqkv_, {B, Tn, 3 * C});
  dqkv_.fill(T(0));
  const T* qkv = qkv_out_.data();
  // Each (batch, head) writes only its own columns of dqkv: tasks never share an output.
  parallel_blocks(B * H, 1, [&](size_t bh, size_t) {
    const size_t b = bh / H, h = bh % H;
    std::vector<T> datt(Tn);
    for (size_t t = 0; t < Tn; ++t) {
      const T* att = att_.data() + ((b * H + h) * Tn + t) * Tn;
      const T* dout = dhead_out_.data() + (b * Tn + t) * C + h * hd;
      // out_t = sum_t2 att[t2] v_t2
      for (size_t t2 = 0; t2 <= t; ++t2) {
        const T* v = qkv + (b * Tn + t2) * 3 * C + 2 * C + h * hd;
        T* dv = dqkv_.data() + (b * Tn + t2) * 3 * C + 2 * C + h * hd;
        T dot = 0;
        for (size_t i = 0; i < hd; ++i) {
          dot += dout[i] * v[i];
          dv[i] += att[t2] * dout[i];
        }
        datt[t2] = dot;
      }
      // softmax backward: dpre = att * (datt - <att, datt>)
      T inner = 0;
      for (size_t t2 = 0; t2 <= t; ++t2) inner += att[t2] * datt[t2];
      const T* q = qkv + (b * Tn + t) * 3 * C + h * hd;
      T* dq = dqkv_.data() + (b * Tn + t) * 3 * C + h * hd;
      for (size_t t2 = 0; t2 <= t; ++t2) {
        const T dpre = att[t2] * (datt[t2] - inner) * scale;
        const T* k = qkv + (b * Tn + t2) * 3 * C + C + h * hd;
        T* dk = dqkv_.data() + (b * Tn + t2) * 3 * C + C + h * hd;
        for (size_t i = 0; i < hd; ++i) {
          dq[i] += dpre * k[i];
          dk[i] += dpre * q[i];
        }
      }
    }
  });
  qkv_.backward(x, qkv_out_, dqkv_, dx);
}

template class CausalSelfAttention<float>;
template class CausalSelfAttention<double>;

}  // namespace glia::nn
