#include "kan.hpp"

#include <glia/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <type_traits>

namespace glia::kan {

namespace {

template <class T>
T silu(T x) {
  return x / (T(1) + std::exp(-x));
}
template <class T>
T silu_slope(T x) {
  const T s = T(1) / (T(1) + std::exp(-x));
  return s * (T(1) + x * (T(1) - s));
}

// Layout of the flat parameter vector: per layer coef, scale_base, scale_sp, bias.
template <class T>
void assign_offsets(Model<T>& m) {
  size_t offset = 0, affine = 0;
  for (auto& L : m.layers) {
    L.coef = offset;
    offset += L.in * L.bases() * L.out;
    L.scale_base = offset;
    offset += L.in * L.out;
    L.scale_sp = offset;
    offset += L.in * L.out;
    L.bias = offset;
    offset += L.out;
    L.affine = affine;
    affine += L.in * L.out * 4;
  }
  m.params.name = "kan";
  m.params.value = nn::Tensor<T>::from_shape({offset});
  m.params.value.fill(T(0));
  m.params.grad = nn::Tensor<T>::from_shape({offset});
  m.params.grad.fill(T(0));
  m.affine.name = "affine";
  m.affine.value = nn::Tensor<T>::from_shape({affine});
  m.affine.value.fill(T(0));
  m.affine.grad = nn::Tensor<T>::from_shape({affine});
  m.affine.grad.fill(T(0));
}

// Calls f(std::integral_constant<int, k>) so that the kernels see the order as a constant.
template <class F>
void with_order(int k, F&& f) {
  switch (k) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
  }
  throw std::invalid_argument("k must be in [1, 5]");
}

// Fused weights and activations are padded to whole vectors of kLanes: kernels then run over
// full vectors with no tails. Vec is a GCC vector, so every ISA clone adds in the same order.
template <class T>
inline constexpr size_t kLanes = 64 / sizeof(T);
template <class T>
struct VecOf {
  typedef T type __attribute__((vector_size(64), aligned(sizeof(T))));  // loads need not be aligned
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
[[gnu::always_inline]] inline Vec<T>& vec_at(T* p) {
  return *reinterpret_cast<Vec<T>*>(p);
}
template <class T>
[[gnu::always_inline]] inline const Vec<T>& vec_at(const T* p) {
  return *reinterpret_cast<const Vec<T>*>(p);
}
inline size_t padded(size_t n, size_t lanes) { return (n + lanes - 1) / lanes * lanes; }

// exp(x) for float in a form the compiler vectorises (Cephes expf: 2^n * poly(r), within 2 ulp);
// double keeps libm. Only silu uses it.
template <class T>
[[gnu::always_inline]] inline T exp_vec(T x) {
  if constexpr (std::is_same_v<T, float>) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return y * scale;
  } else {
    return std::exp(x);
  }
}

// Layout of the fused weights W[i, q, o] (o padded to kLanes): q = 0 is mask*scale_base (for
// silu(x)), q = 1 + K + j is mask*scale_sp*coef_j, and K zero rows on either side let a knot
// span p in [0, n_knots - 2] read its K+1 rows 1+p..1+p+K without clamping.
template <class T>
size_t weight_rows(const Layer<T>& L) {
  return L.bases() + 2 * static_cast<size_t>(L.order) + 1;
}

// Local bases of all inputs of one sample x[0, in). Without Slope: span[i] = p (the knot span,
// whose bases are rows 1+p.. of W) and planes f[r * in + i]: r = 0 silu(x), r = 1+s the s-th
// local basis. With Slope: s[r * in + i] = silu'(x), then the bases' slopes. Outside the knots
// every basis (and slope) is 0. Planes over i keep the uniform-grid loop vectorisable.
template <int K, bool Slope, class T>
[[gnu::always_inline]] inline void sample_bases(const Layer<T>& L, const T* __restrict lo, const T* __restrict h,
                                                bool uniform, const T* __restrict x, int32_t* __restrict span,
                                                T* __restrict f) {
  const size_t in = L.in;
  const int n = static_cast<int>(L.n_knots());
  // Input i's entries from its bases (N) or their slopes; written out in each loop below so
  // the uniform one keeps its restrict pointers and vectorises.
#define KAN_PUT_ENTRIES(i, xi, p, inside, N, slope)                                   \
  {                                                                                   \
    const T sig = T(1) / (T(1) + exp_vec(-(xi)));                                     \
    if constexpr (Slope) {                                                            \
      f[i] = sig * (T(1) + (xi) * (T(1) - sig));                                      \
      _Pragma("GCC unroll 8") for (int r = 0; r <= K; ++r) f[(1 + r) * in + i] = (inside) ? slope[r] : T(0); \
    } else {                                                                          \
      span[i] = p;                                                                    \
      f[i] = (xi) * sig;                                                              \
      _Pragma("GCC unroll 8") for (int r = 0; r <= K; ++r) f[(1 + r) * in + i] = (inside) ? N[r] : T(0); \
    }                                                                                 \
  }
  if (uniform) {
    for (size_t i = 0; i < in; ++i) {
      const T xi = x[i];
      const T u = (xi - lo[i]) / h[i];
      const bool inside = (u >= T(0)) & (u < T(n - 1));  // no branch
      const int p = std::min(static_cast<int>(inside ? u : T(0)), n - 2);
      T N[K + 1], lower[K + 1], slope[K + 1];
      cardinal_bases(K, (inside ? u : T(0)) - T(p), N, lower);
      if constexpr (Slope) {
#pragma GCC unroll 8
        for (int r = 0; r <= K; ++r) slope[r] = ((r >= 1 ? lower[r - 1] : T(0)) - (r < K ? lower[r] : T(0))) / h[i];
      }
      KAN_PUT_ENTRIES(i, xi, p, inside, N, slope)
    }
    return;
  }
  LocalBasis<T> b;
  for (size_t i = 0; i < in; ++i) {
    local_basis(L.knots_of(i), n, K, x[i], b, Slope);
    KAN_PUT_ENTRIES(i, x[i], b.inside ? b.first + K : 0, b.inside, b.value, b.slope)
  }
#undef KAN_PUT_ENTRIES
}

// Fused weights of inputs [i0, i1); pad rows and columns are written as 0 too.
template <class T>
void fuse_weights(const Model<T>& m, size_t l, size_t i0, size_t i1, T* W) {
  const Layer<T>& L = m.layers[l];
  const size_t nb = L.bases(), out = L.out, ow = padded(out, kLanes<T>), R = weight_rows(L);
  const T* coef = m.coef(l);
  const T* sb = m.scale_base(l);
  const T* sp = m.scale_sp(l);
  for (size_t i = i0; i < i1; ++i) {
    T* w = W + i * R * ow;
    std::fill(w + ow, w + (1 + L.order) * ow, T(0));
    std::fill(w + (1 + L.order + nb) * ow, w + R * ow, T(0));
    const T* mask = L.mask.data() + i * out;
    for (size_t o = 0; o < out; ++o) w[o] = mask[o] * sb[i * out + o];
    std::fill(w + out, w + ow, T(0));
    for (size_t j = 0; j < nb; ++j) {
      T* wj = w + (1 + L.order + j) * ow;
      for (size_t o = 0; o < out; ++o) wj[o] = mask[o] * sp[i * out + o] * coef[(i * nb + j) * out + o];
      std::fill(wj + out, wj + ow, T(0));
    }
  }
}

// The plugin is built for baseline x86-64; its hot kernels are also compiled for AVX2 and
// AVX-512 and picked at load time (ifunc). The library is built with -ffp-contract=off, so the
// wider variants round exactly as the baseline one: results do not depend on the machine's ISA
// (training runs such as pykan's prune-then-symbolic workflow are sensitive to the last bit).
#if defined(__x86_64__) && defined(__linux__)
#define KAN_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KAN_KERNEL
#endif

// Inputs per task in the gathered product and its gradient: their weight rows (a few KB each)
// stay in cache while the samples stream past.
constexpr size_t kInputBlock = 32;

// Forward of rows [b0, b1) of layer l: local bases of every input, then
// Y[b, :] = bias + silu(x_bi) W[i, 0, :] + sum_r B_r(x_bi) W[i, 1 + span + r, :] over i.
template <int K, class T>
KAN_KERNEL void forward_rows(const Model<T>& m, size_t l, Workspace<T>& ws, size_t b0, size_t b1) {
  const Layer<T>& L = m.layers[l];
  const size_t in = L.in, out = L.out, ow = padded(out, kLanes<T>), row = weight_rows(L) * ow;
  constexpr size_t F = K + 2;
  const T* x = ws.act[l].data();
  const T* W = ws.weights[l].data();
  int32_t* span = ws.span[l].data();
  T* basis = ws.basis[l].data();
  T* Y = ws.act[l + 1].data();
  for (size_t b = b0; b < b1; ++b)
    sample_bases<K, false>(L, ws.origin[l].data(), ws.spacing[l].data(), ws.uniform[l], x + b * in, span + b * in,
                           basis + b * F * in);
  for (size_t b = b0; b < b1; ++b) std::copy(m.bias(l), m.bias(l) + out, Y + b * out);
  // Inputs outer: input i's rows stay in L1 while the block's samples pass, and consecutive
  // updates go to different output rows, so they do not wait on each other's stores.
  for (size_t i = 0; i < in; ++i) {
    const T* __restrict w0 = W + i * row;
    for (size_t b = b0; b < b1; ++b) {
      const T* f = basis + b * F * in + i;
      const T* __restrict wj = w0 + (1 + span[b * in + i]) * ow;
      T* __restrict y = Y + b * out;
      for (size_t o = 0; o < out; ++o) {
        T acc = y[o] + f[0] * w0[o];
        for (int r = 0; r <= K; ++r) acc += f[(1 + r) * in] * wj[r * ow + o];
        y[o] = acc;
      }
    }
  }
}

// dW of inputs [i0, i1), then chained into their parameter gradients. Per input the samples
// are grouped by knot span, so each group's K+1 rows (and the silu row) sum in registers and
// reach memory once; sums run over the samples in group order, whatever the thread count.
template <int K, class T>
KAN_KERNEL void weight_grad_inputs(Model<T>& m, size_t l, Workspace<T>& ws, size_t i0, size_t i1) {
  using V = Vec<T>;
  constexpr size_t F = K + 2, lanes = kLanes<T>;
  const Layer<T>& L = m.layers[l];
  const size_t in = L.in, out = L.out, nb = L.bases(), ow = padded(out, lanes), batch = ws.batch;
  const size_t spans = L.n_knots() - 1, row = weight_rows(L) * ow;
  const T* dY = ws.grad_out.data();  // [batch, ow], pad columns 0
  const int32_t* span = ws.span[l].data();
  const T* basis = ws.basis[l].data();
  const T* coef = m.coef(l);
  const T* sp = m.scale_sp(l);
  T* grad = m.params.grad.data();
  T* g_coef = grad + L.coef;
  T* g_sb = grad + L.scale_base;
  T* g_sp = grad + L.scale_sp;
  // Task scratch (stays in L1): input i's dW, and per sample in group order its dY row and K+2
  // features.
  const size_t task = i0 / kInputBlock;
  T* dw = ws.grad_weights[l].data() + task * row;
  int32_t* start = ws.group_start[l].data() + task * (spans + 1);
  int32_t* order = ws.group_order[l].data() + task * batch;
  T* feat = ws.group_feat[l].data() + task * batch * F;
  for (size_t i = i0; i < i1; ++i) {
    std::fill(start, start + spans + 1, 0);
    for (size_t b = 0; b < batch; ++b) ++start[span[b * in + i] + 1];
    for (size_t p = 0; p < spans; ++p) start[p + 1] += start[p];
    for (size_t b = 0; b < batch; ++b) {
      const int32_t a = start[span[b * in + i]]++;
      order[a] = static_cast<int32_t>(b);
      for (size_t r = 0; r < F; ++r) feat[a * F + r] = basis[(b * F + r) * in + i];
    }
    // start[p] is now the end of group p.
    std::fill(dw, dw + row, T(0));
    for (size_t o = 0; o < ow; o += lanes) {
      V silu = {};
      size_t a = 0;
      for (size_t p = 0; p < spans; ++p) {
        if (a == size_t(start[p])) continue;
        V acc[K + 1] = {};
        for (; a < size_t(start[p]); ++a) {
          const T* fa = feat + a * F;
          const V d = vec_at(dY + order[a] * ow + o);
          silu += fa[0] * d;
          for (int r = 0; r <= K; ++r) acc[r] += fa[1 + r] * d;
        }
        for (int r = 0; r <= K; ++r) vec_at(dw + (1 + p + r) * ow + o) += acc[r];
      }
      vec_at(dw + o) = silu;
    }
    const T* mask = L.mask.data() + i * out;
    for (size_t o = 0; o < out; ++o) g_sb[i * out + o] += mask[o] * dw[o];
    for (size_t j = 0; j < nb; ++j)
      for (size_t o = 0; o < out; ++o) {
        const size_t e = i * out + o, c = (i * nb + j) * out + o;
        const T g = mask[o] * dw[(1 + K + j) * ow + o];
        g_coef[c] += g * sp[e];
        g_sp[e] += g * coef[c];
      }
  }
}

// dLoss/dx of rows [b0, b1): dx_bi = sum_o dY_bo (silu'(x) W[i,0,o] + sum_r B'_r(x) W[i,1+span+r,o]),
// plus the symbolic edges' a*b*f'(b*x+c). The sum over o runs in vector lanes, then across them.
template <int K, class T>
KAN_KERNEL void input_grad_rows(const Model<T>& m, size_t l, Workspace<T>& ws, size_t b0, size_t b1) {
  using V = Vec<T>;
  constexpr size_t F = K + 2, lanes = kLanes<T>;
  const Layer<T>& L = m.layers[l];
  const size_t in = L.in, out = L.out, ow = padded(out, lanes), row = weight_rows(L) * ow;
  const bool symbolic = L.has_symbolic();
  const T* x = ws.act[l].data();
  const T* W = ws.weights[l].data();
  const T* dY = ws.grad_out.data();
  const int32_t* span = ws.span[l].data();
  T* slope = ws.slope[l].data();
  T* dX = ws.grad_act[l].data();
  for (size_t b = b0; b < b1; ++b) {
    T* s = slope + b * F * in;
    sample_bases<K, true>(L, ws.origin[l].data(), ws.spacing[l].data(), ws.uniform[l], x + b * in,
                          static_cast<int32_t*>(nullptr), s);
    const T* dy = dY + b * ow;
    for (size_t i = 0; i < in; ++i) {
      const T* w0 = W + i * row;
      const T* wj = w0 + (1 + span[b * in + i]) * ow;
      V acc = {};
      for (size_t o = 0; o < ow; o += lanes) {
        V d = s[i] * vec_at(w0 + o);
        for (int r = 0; r <= K; ++r) d += s[(1 + r) * in + i] * vec_at(wj + r * ow + o);
        acc += vec_at(dy + o) * d;
      }
      T g = 0;
      for (size_t k = 0; k < lanes; ++k) g += acc[k];
      if (symbolic)
        for (size_t o = 0; o < out; ++o) {
          const Fn f = L.symbolic[i * out + o];
          if (f == Fn::none) continue;
          const T* p = m.affine_of(l, i, o);
          g += dy[o] * p[0] * p[1] * T(fn_slope(f, double(p[1] * x[b * in + i] + p[2])));
        }
      dX[b * in + i] += g;
    }
  }
}

template <class T>
void ensure_workspace(const Model<T>& m, size_t batch, Workspace<T>& ws) {
  const size_t depth = m.depth();
  ws.batch = batch;
  ws.act.resize(depth + 1);
  ws.grad_act.resize(depth + 1);
  for (auto* v : {&ws.spacing, &ws.origin, &ws.basis, &ws.slope, &ws.weights, &ws.grad_weights, &ws.group_feat})
    v->resize(depth);
  for (auto* v : {&ws.span, &ws.group_start, &ws.group_order}) v->resize(depth);
  ws.uniform.resize(depth);
  for (size_t l = 0; l <= depth; ++l) {
    ws.act[l].resize(batch * m.widths[l]);
    ws.grad_act[l].assign(batch * m.widths[l], T(0));  // backward and the regulariser add into it
  }
  size_t widest = 0;
  for (size_t l = 0; l < depth; ++l) {
    const Layer<T>& L = m.layers[l];
    const size_t F = L.order + 2, rows = weight_rows(L) * padded(L.out, kLanes<T>);
    const size_t blocks = (L.in + kInputBlock - 1) / kInputBlock;
    ws.spacing[l].resize(L.in);
    ws.origin[l].resize(L.in);
    ws.span[l].resize(batch * L.in);
    ws.basis[l].resize(batch * L.in * F);
    ws.slope[l].resize(batch * L.in * F);
    ws.weights[l].resize(L.in * rows);
    ws.grad_weights[l].resize(blocks * rows);
    ws.group_start[l].resize(blocks * L.n_knots());
    ws.group_order[l].resize(blocks * batch);
    ws.group_feat[l].resize(blocks * batch * F);
    widest = std::max(widest, padded(L.out, kLanes<T>));
  }
  ws.grad_out.resize(batch * widest);
}

}  // namespace

const char* fn_name(Fn f) {
  static const char* names[] = {"x", "x^2", "x^3", "x^4", "1/x", "sqrt", "exp", "log", "sin", "tanh", "abs", "sigmoid", "0"};
  return f == Fn::none ? "spline" : names[static_cast<int>(f)];
}

// pykan's SYMBOLIC_LIB complexities.
int fn_complexity(Fn f) {
  static const int c[] = {1, 2, 3, 3, 2, 2, 2, 2, 2, 3, 3, 4, 0};
  return f == Fn::none ? 0 : c[static_cast<int>(f)];
}

double fn_eval(Fn f, double u) {
  switch (f) {
    case Fn::x: return u;
    case Fn::x2: return u * u;
    case Fn::x3: return u * u * u;
    case Fn::x4: return u * u * u * u;
    case Fn::inv: return std::abs(u) < 1e-4 ? 1e4 * u * 1e4 : 1.0 / u;  // linear through 0 near the pole
    case Fn::sqrt: return u > 0 ? std::sqrt(u) : 0.0;
    case Fn::exp: return std::exp(std::min(u, 700.0));
    case Fn::log: return u > 1e-300 ? std::log(u) : std::log(1e-300);
    case Fn::sin: return std::sin(u);
    case Fn::tanh: return std::tanh(u);
    case Fn::abs: return std::abs(u);
    case Fn::sigmoid: return 1.0 / (1.0 + std::exp(-u));
    case Fn::zero: return 0.0;
    case Fn::none: break;
  }
  return 0.0;
}

double fn_slope(Fn f, double u) {
  switch (f) {
    case Fn::x: return 1;
    case Fn::x2: return 2 * u;
    case Fn::x3: return 3 * u * u;
    case Fn::x4: return 4 * u * u * u;
    case Fn::inv: return std::abs(u) < 1e-4 ? 1e8 : -1.0 / (u * u);
    case Fn::sqrt: return u > 1e-12 ? 0.5 / std::sqrt(u) : 0.0;
    case Fn::exp: return std::exp(std::min(u, 700.0));
    case Fn::log: return u > 1e-300 ? 1.0 / u : 0.0;
    case Fn::sin: return std::cos(u);
    case Fn::tanh: { const double t = std::tanh(u); return 1 - t * t; }
    case Fn::abs: return u > 0 ? 1.0 : (u < 0 ? -1.0 : 0.0);
    case Fn::sigmoid: { const double s = 1.0 / (1.0 + std::exp(-u)); return s * (1 - s); }
    case Fn::zero: return 0.0;
    case Fn::none: break;
  }
  return 0.0;
}

template <class T>
bool Layer<T>::has_symbolic() const {
  return std::any_of(symbolic.begin(), symbolic.end(), [](Fn f) { return f != Fn::none; });
}

template <class T>
bool Model<T>::has_symbolic() const {
  return std::any_of(layers.begin(), layers.end(), [](const Layer<T>& L) { return L.has_symbolic(); });
}

template <class T>
Model<T> empty_model(const std::vector<size_t>& widths, int grid, int order, double grid_lo, double grid_hi) {
  if (widths.size() < 2) throw std::invalid_argument("widths needs at least an input and an output width");
  if (std::any_of(widths.begin(), widths.end(), [](size_t w) { return w == 0; }))
    throw std::invalid_argument("widths must be positive");
  if (grid < 1) throw std::invalid_argument("grid must be at least 1");
  if (order < 1 || order > kMaxOrder) throw std::invalid_argument("k must be in [1, 5]");
  if (!(grid_hi > grid_lo)) throw std::invalid_argument("grid_range must be increasing");
  Model<T> m;
  m.widths = widths;
  m.grid = grid;
  m.order = order;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    Layer<T> L;
    L.in = widths[l];
    L.out = widths[l + 1];
    L.grid = grid;
    L.order = order;
    const auto knots = uniform_knots<T>(T(grid_lo), T(grid_hi), grid, order);
    for (size_t i = 0; i < L.in; ++i) L.knots.insert(L.knots.end(), knots.begin(), knots.end());
    L.mask.assign(L.in * L.out, T(1));
    L.symbolic.assign(L.in * L.out, Fn::none);
    m.layers.push_back(std::move(L));
  }
  assign_offsets(m);
  return m;
}

template <class T>
Model<T> init_model(const std::vector<size_t>& widths, int grid, int order, const InitOptions& opt,
                    uint64_t seed) {
  Model<T> m = empty_model<T>(widths, grid, order, opt.grid_lo, opt.grid_hi);
  for (size_t l = 0; l < m.depth(); ++l) {
    Layer<T>& L = m.layers[l];
    Rng rng = Rng::stream(seed, l);
    const size_t nb = L.bases(), out = L.out;
    // Noise at the G+1 grid points, fitted by least squares (min-norm: G+1 points, G+k bases).
    std::vector<double> points(grid + 1), knots(L.n_knots());
    for (int g = 0; g <= grid; ++g) points[g] = opt.grid_lo + (opt.grid_hi - opt.grid_lo) * g / grid;
    const auto uk = uniform_knots<double>(opt.grid_lo, opt.grid_hi, grid, order);
    for (size_t i = 0; i < L.in; ++i) {
      std::vector<double> noise((grid + 1) * out);
      for (auto& v : noise) v = (rng.uniform() - 0.5) * opt.noise_scale / grid;
      const auto c = fit_spline(uk, order, points, noise, out);
      for (size_t j = 0; j < nb; ++j)
        for (size_t o = 0; o < out; ++o) m.coef(l)[(i * nb + j) * out + o] = T(c[j * out + o]);
    }
    const double root = std::sqrt(static_cast<double>(L.in));
    for (size_t e = 0; e < L.in * out; ++e) {
      m.scale_base(l)[e] = T(opt.scale_base_mu / root + opt.scale_base_sigma * (rng.uniform() * 2 - 1) / root);
      m.scale_sp(l)[e] = T(opt.scale_sp / root);
    }
  }
  return m;
}

template <class To, class From>
Model<To> convert(const Model<From>& m) {
  Model<To> r = empty_model<To>(m.widths, m.grid, m.order);
  for (size_t l = 0; l < m.depth(); ++l) {
    r.layers[l].knots.assign(m.layers[l].knots.begin(), m.layers[l].knots.end());
    r.layers[l].mask.assign(m.layers[l].mask.begin(), m.layers[l].mask.end());
    r.layers[l].symbolic = m.layers[l].symbolic;
  }
  std::copy(m.params.value.begin(), m.params.value.end(), r.params.value.begin());
  std::copy(m.affine.value.begin(), m.affine.value.end(), r.affine.value.begin());
  return r;
}

template <class T>
const std::vector<T>& forward(const Model<T>& m, const T* x, size_t batch, Workspace<T>& ws) {
  ensure_workspace(m, batch, ws);
  std::copy(x, x + batch * m.widths[0], ws.act[0].begin());
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<T>& L = m.layers[l];
    const int n = static_cast<int>(L.n_knots());
    ws.uniform[l] = true;
    for (size_t i = 0; i < L.in; ++i) {
      ws.spacing[l][i] = uniform_spacing(L.knots_of(i), n);
      ws.origin[l][i] = L.knots_of(i)[0];
      ws.uniform[l] = ws.uniform[l] && ws.spacing[l][i] > 0;
    }
    nn::parallel_blocks(L.in, kInputBlock, [&](size_t i0, size_t i1) { fuse_weights(m, l, i0, i1, ws.weights[l].data()); });
    with_order(L.order, [&](auto K) {
      nn::parallel_blocks(batch, nn::kRowBlock, [&](size_t b0, size_t b1) { forward_rows<K()>(m, l, ws, b0, b1); });
    });
    if (!L.has_symbolic()) continue;
    const T* in = ws.act[l].data();
    T* Y = ws.act[l + 1].data();
    nn::parallel_blocks(batch, nn::kRowBlock, [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b)
        for (size_t i = 0; i < L.in; ++i)
          for (size_t o = 0; o < L.out; ++o) {
            const Fn f = L.symbolic[i * L.out + o];
            if (f == Fn::none) continue;
            const T* p = m.affine_of(l, i, o);
            Y[b * L.out + o] += p[0] * T(fn_eval(f, double(p[1] * in[b * L.in + i] + p[2]))) + p[3];
          }
    });
  }
  return ws.act.back();
}

template <class T>
void backward(Model<T>& m, Workspace<T>& ws, bool input_grad) {
  const size_t batch = ws.batch;
  T* grad = m.params.grad.data();
  for (size_t l = m.depth(); l-- > 0;) {
    const Layer<T>& L = m.layers[l];
    const size_t out = L.out;
    const T* dY = ws.grad_act[l + 1].data();
    // dY with rows padded to whole vectors (pad columns 0) for the vector kernels.
    const size_t ow = padded(out, kLanes<T>);
    for (size_t b = 0; b < batch; ++b) {
      std::copy(dY + b * out, dY + (b + 1) * out, ws.grad_out.data() + b * ow);
      std::fill(ws.grad_out.data() + b * ow + out, ws.grad_out.data() + (b + 1) * ow, T(0));
    }
    with_order(L.order, [&](auto K) {
      // Parallel over inputs: each input's gradients are its own, whatever the split.
      nn::parallel_blocks(L.in, kInputBlock, [&](size_t i0, size_t i1) { weight_grad_inputs<K()>(m, l, ws, i0, i1); });
    });
    T* g_bias = grad + L.bias;
    for (size_t b = 0; b < batch; ++b)
      for (size_t o = 0; o < out; ++o) g_bias[o] += dY[b * out + o];

    if (L.has_symbolic()) {
      // Affine parameters of locked edges: serial over the batch, in order (deterministic).
      const T* x = ws.act[l].data();
      T* g_aff = m.affine.grad.data() + L.affine;
      for (size_t b = 0; b < batch; ++b)
        for (size_t i = 0; i < L.in; ++i)
          for (size_t o = 0; o < out; ++o) {
            const Fn f = L.symbolic[i * out + o];
            if (f == Fn::none) continue;
            const T* p = m.affine_of(l, i, o);
            const double u = double(p[1] * x[b * L.in + i] + p[2]);
            const T g = dY[b * out + o], fu = T(fn_eval(f, u)), slope = T(fn_slope(f, u));
            T* ga = g_aff + (i * out + o) * 4;
            ga[0] += g * fu;
            ga[1] += g * p[0] * slope * x[b * L.in + i];
            ga[2] += g * p[0] * slope;
            ga[3] += g;
          }
    }
    if (l == 0 && !input_grad) break;
    with_order(L.order, [&](auto K) {
      nn::parallel_blocks(batch, nn::kRowBlock, [&](size_t b0, size_t b1) { input_grad_rows<K()>(m, l, ws, b0, b1); });
    });
  }
}

template <class T>
double regularization(Model<T>& m, Workspace<T>& ws, const Regularizer& reg, bool with_grad) {
  const size_t batch = ws.batch;
  if (batch < 2) return 0.0;
  double total = 0;
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<T>& L = m.layers[l];
    const size_t in = L.in, out = L.out, nb = L.bases();
    const int n = static_cast<int>(L.n_knots());
    const T* x = ws.act[l].data();
    const T* coef = m.coef(l);
    const T* sb = m.scale_base(l);
    const T* sp = m.scale_sp(l);
    // phi[(i * out + o) * batch + b], in double for the statistics.
    std::vector<double> phi(in * out * batch), x_mean(in), x_std(in);
    LocalBasis<T> basis;
    for (size_t i = 0; i < in; ++i) {
      double s = 0, s2 = 0;
      for (size_t b = 0; b < batch; ++b) s += x[b * in + i];
      x_mean[i] = s / batch;
      for (size_t b = 0; b < batch; ++b) s2 += (x[b * in + i] - x_mean[i]) * (x[b * in + i] - x_mean[i]);
      x_std[i] = std::sqrt(s2 / (batch - 1));
      for (size_t b = 0; b < batch; ++b) {
        const T xi = x[b * in + i];
        local_basis(L.knots_of(i), n, L.order, xi, basis, false);
        const double base = double(silu(xi));
        for (size_t o = 0; o < out; ++o) {
          const size_t e = i * out + o;
          double spline = 0;
          if (basis.inside)
            for (int r = 0; r <= L.order; ++r) {
              const int j = basis.first + r;
              if (j >= 0 && j < static_cast<int>(nb)) spline += double(coef[(i * nb + j) * out + o]) * basis.value[r];
            }
          phi[e * batch + b] = double(L.mask[e]) * (double(sb[e]) * base + double(sp[e]) * spline);
        }
      }
    }
    std::vector<double> v(in * out), phi_mean(in * out), phi_std(in * out);
    for (size_t e = 0; e < in * out; ++e) {
      const double* p = phi.data() + e * batch;
      double s = 0, s2 = 0;
      for (size_t b = 0; b < batch; ++b) s += p[b];
      phi_mean[e] = s / batch;
      for (size_t b = 0; b < batch; ++b) s2 += (p[b] - phi_mean[e]) * (p[b] - phi_mean[e]);
      phi_std[e] = std::sqrt(s2 / (batch - 1));
      v[e] = phi_std[e] / (x_std[e / out] + 0.1);
    }
    // l1 + entropies over rows (for each output, across inputs) and columns (for each input).
    constexpr double eps = 1e-4, ln2 = 0.69314718055994530942;
    std::vector<double> row_sum(out, 0.0), col_sum(in, 0.0);
    double l1 = 0;
    for (size_t i = 0; i < in; ++i)
      for (size_t o = 0; o < out; ++o) {
        row_sum[o] += v[i * out + o];
        col_sum[i] += v[i * out + o];
        l1 += v[i * out + o];
      }
    double h_row = 0, h_col = 0;
    std::vector<double> q_row(in * out), q_col(in * out);
    for (size_t i = 0; i < in; ++i)
      for (size_t o = 0; o < out; ++o) {
        const size_t e = i * out + o;
        const double pr = v[e] / (row_sum[o] + 1), pc = v[e] / (col_sum[i] + 1);
        h_row -= pr * std::log2(pr + eps) / out;
        h_col -= pc * std::log2(pc + eps) / in;
        q_row[e] = -(std::log2(pr + eps) + pr / ((pr + eps) * ln2)) / out;  // dH_row/dp
        q_col[e] = -(std::log2(pc + eps) + pc / ((pc + eps) * ln2)) / in;
      }
    total += reg.lamb_l1 * l1 + reg.lamb_entropy * (h_row + h_col);
    if (!with_grad) continue;

    // dreg/dv through p = v / (sum + 1).
    std::vector<double> qv_row(out, 0.0), qv_col(in, 0.0);
    for (size_t i = 0; i < in; ++i)
      for (size_t o = 0; o < out; ++o) {
        const size_t e = i * out + o;
        qv_row[o] += q_row[e] * v[e];
        qv_col[i] += q_col[e] * v[e];
      }
    std::vector<double> dv(in * out);
    for (size_t i = 0; i < in; ++i)
      for (size_t o = 0; o < out; ++o) {
        const size_t e = i * out + o;
        const double r1 = row_sum[o] + 1, c1 = col_sum[i] + 1;
        const double dh_row = q_row[e] / r1 - qv_row[o] / (r1 * r1);
        const double dh_col = q_col[e] / c1 - qv_col[i] / (c1 * c1);
        dv[e] = reg.lamb * (reg.lamb_l1 + reg.lamb_entropy * (dh_row + dh_col));
      }
    // dv/dphi and dv/dx (through std(x)), then phi's parameter and input derivatives.
    T* grad = m.params.grad.data();
    T* dX = ws.grad_act[l].data();
    for (size_t i = 0; i < in; ++i) {
      double d_xstd = 0;  // dreg/dstd(x_i)
      for (size_t o = 0; o < out; ++o) {
        const size_t e = i * out + o;
        d_xstd -= dv[e] * phi_std[e] / ((x_std[i] + 0.1) * (x_std[i] + 0.1));
      }
      for (size_t b = 0; b < batch; ++b) {
        const T xi = x[b * in + i];
        local_basis(L.knots_of(i), n, L.order, xi, basis, true);
        const double base = double(silu(xi)), base_slope = double(silu_slope(xi));
        double dx = x_std[i] > 0 ? d_xstd * (xi - x_mean[i]) / ((batch - 1) * x_std[i]) : 0.0;
        for (size_t o = 0; o < out; ++o) {
          const size_t e = i * out + o;
          if (L.mask[e] == 0 || phi_std[e] <= 0) continue;
          const double g = dv[e] / (x_std[i] + 0.1) * (phi[e * batch + b] - phi_mean[e]) /
                           ((batch - 1) * phi_std[e]) * double(L.mask[e]);
          double spline = 0, spline_slope = 0;
          if (basis.inside)
            for (int r = 0; r <= L.order; ++r) {
              const int j = basis.first + r;
              if (j < 0 || j >= static_cast<int>(nb)) continue;
              const size_t c = (i * nb + j) * out + o;
              spline += double(coef[c]) * basis.value[r];
              spline_slope += double(coef[c]) * basis.slope[r];
              grad[L.coef + c] += T(g * double(sp[e]) * basis.value[r]);
            }
          grad[L.scale_base + e] += T(g * base);
          grad[L.scale_sp + e] += T(g * spline);
          dx += g * (double(sb[e]) * base_slope + double(sp[e]) * spline_slope);
        }
        if (l > 0) dX[b * in + i] += T(dx);
      }
    }
  }
  return total;
}

template <class T>
double spline_value(const Model<T>& m, size_t l, size_t i, size_t o, double x) {
  const Layer<T>& L = m.layers[l];
  LocalBasis<T> basis;
  local_basis(L.knots_of(i), static_cast<int>(L.n_knots()), L.order, T(x), basis, false);
  double s = 0;
  if (basis.inside)
    for (int r = 0; r <= L.order; ++r) {
      const int j = basis.first + r;
      if (j >= 0 && j < static_cast<int>(L.bases()))
        s += double(m.coef(l)[(i * L.bases() + j) * L.out + o]) * basis.value[r];
    }
  return s;
}

template <class T>
double edge_value(const Model<T>& m, size_t l, size_t i, size_t o, double x) {
  const Layer<T>& L = m.layers[l];
  const size_t e = i * L.out + o;
  const Fn f = L.symbolic[e];
  if (f != Fn::none) {
    const T* p = m.affine_of(l, i, o);
    return double(p[0]) * fn_eval(f, double(p[1]) * x + double(p[2])) + double(p[3]);
  }
  return double(L.mask[e]) * (double(m.scale_base(l)[e]) * silu(x) + double(m.scale_sp(l)[e]) * spline_value(m, l, i, o, x));
}

namespace {

// Knots for one input from sorted samples: quantiles blended with uniform (pykan get_grid).
std::vector<double> sample_knots(const std::vector<double>& sorted, int grid, int order, double grid_eps) {
  const size_t n = sorted.size();
  std::vector<double> points(grid + 1);
  const double lo = sorted.front(), hi = sorted.back();
  for (int g = 0; g <= grid; ++g) {
    const double adaptive = g == grid ? hi : sorted[static_cast<size_t>(double(n) / grid * g)];
    const double uniform = lo + (hi - lo) / grid * g;
    points[g] = grid_eps * uniform + (1 - grid_eps) * adaptive;
  }
  return extend_knots(points, order);
}

// Refits layer l's coefficients so that its splines on `samples` [n, in] equal `values`
// [in][n * out] under the layer's (new) knots.
void refit_layer(Model<double>& m, size_t l, const std::vector<std::vector<double>>& samples,
                 const std::vector<std::vector<double>>& values) {
  Layer<double>& L = m.layers[l];
  const size_t nb = L.bases();
  for (size_t i = 0; i < L.in; ++i) {
    const std::vector<double> knots(L.knots_of(i), L.knots_of(i) + L.n_knots());
    const auto c = fit_spline(knots, L.order, samples[i], values[i], L.out);
    for (size_t j = 0; j < nb; ++j)
      for (size_t o = 0; o < L.out; ++o) m.coef(l)[(i * nb + j) * L.out + o] = c[j * L.out + o];
  }
}

// Sorted samples of each input of layer l, and the layer's current spline values on them.
void layer_samples(const Model<double>& m, size_t l, const std::vector<double>& act, size_t n,
                   std::vector<std::vector<double>>& samples, std::vector<std::vector<double>>& values) {
  const Layer<double>& L = m.layers[l];
  samples.assign(L.in, std::vector<double>(n));
  values.assign(L.in, std::vector<double>(n * L.out));
  for (size_t i = 0; i < L.in; ++i) {
    for (size_t b = 0; b < n; ++b) samples[i][b] = act[b * L.in + i];
    std::sort(samples[i].begin(), samples[i].end());
    for (size_t b = 0; b < n; ++b)
      for (size_t o = 0; o < L.out; ++o) values[i][b * L.out + o] = spline_value(m, l, i, o, samples[i][b]);
  }
}

}  // namespace

void update_grid(Model<double>& m, const double* x, size_t n, double grid_eps) {
  if (n < 2) throw std::invalid_argument("grid update needs at least 2 samples");
  Workspace<double> ws;
  std::vector<std::vector<double>> samples, values;
  for (size_t l = 0; l < m.depth(); ++l) {
    forward(m, x, n, ws);  // earlier layers changed knots: their outputs are (nearly) the same
    layer_samples(m, l, ws.act[l], n, samples, values);
    Layer<double>& L = m.layers[l];
    for (size_t i = 0; i < L.in; ++i) {
      const auto knots = sample_knots(samples[i], L.grid, L.order, grid_eps);
      std::copy(knots.begin(), knots.end(), L.knots.begin() + i * L.n_knots());
    }
    refit_layer(m, l, samples, values);
  }
}

Model<double> refine(const Model<double>& m, int grid, const double* x, size_t n) {
  Model<double> r = empty_model<double>(m.widths, grid, m.order);
  std::copy(m.params.value.begin(), m.params.value.end(), r.params.value.begin());  // overwritten below
  Workspace<double> ws;
  forward(m, x, n, ws);
  std::vector<std::vector<double>> samples, values;
  for (size_t l = 0; l < m.depth(); ++l) {
    const Layer<double>& P = m.layers[l];
    Layer<double>& L = r.layers[l];
    L.mask = P.mask;
    L.symbolic = P.symbolic;
    // New grid points interpolate the parent's linearly (pykan initialize_grid_from_parent).
    for (size_t i = 0; i < L.in; ++i) {
      const double* pk = P.knots_of(i) + P.order;  // the parent's G+1 grid points
      std::vector<double> points(grid + 1);
      for (int g = 0; g <= grid; ++g) {
        const double u = double(g) / grid * P.grid;
        const int j = std::min(static_cast<int>(u), P.grid - 1);
        points[g] = pk[j] + (u - j) * (pk[j + 1] - pk[j]);
      }
      const auto knots = extend_knots(points, L.order);
      std::copy(knots.begin(), knots.end(), L.knots.begin() + i * L.n_knots());
    }
    layer_samples(m, l, ws.act[l], n, samples, values);
    for (size_t e = 0; e < L.in * L.out; ++e) {
      r.scale_base(l)[e] = m.scale_base(l)[e];
      r.scale_sp(l)[e] = m.scale_sp(l)[e];
    }
    std::copy(m.bias(l), m.bias(l) + L.out, r.bias(l));
    refit_layer(r, l, samples, values);
  }
  std::copy(m.affine.value.begin(), m.affine.value.end(), r.affine.value.begin());
  return r;
}

Importance importance(const Model<double>& m, const double* x, size_t n) {
  Workspace<double> ws;
  forward(m, x, n, ws);
  const size_t depth = m.depth();
  Importance imp;
  imp.edge.resize(depth);
  imp.node.resize(depth + 1);
  // Edge scale: std over samples of the edge's output (pykan edge_actscale); node scale: std of
  // the node's summed output (pykan subnode_actscale).
  auto std_of = [n](const std::vector<double>& v) {
    double s = 0, s2 = 0;
    for (double a : v) s += a;
    for (double a : v) s2 += (a - s / n) * (a - s / n);
    return n > 1 ? std::sqrt(s2 / (n - 1)) : 0.0;
  };
  std::vector<std::vector<double>> scale(depth), node_scale(depth);
  for (size_t l = 0; l < depth; ++l) {
    const Layer<double>& L = m.layers[l];
    scale[l].assign(L.in * L.out, 0.0);
    node_scale[l].assign(L.out, 0.0);
    std::vector<double> v(n);
    for (size_t i = 0; i < L.in; ++i)
      for (size_t o = 0; o < L.out; ++o) {
        for (size_t b = 0; b < n; ++b) v[b] = edge_value(m, l, i, o, ws.act[l][b * L.in + i]);
        scale[l][i * L.out + o] = std_of(v);
      }
    for (size_t o = 0; o < L.out; ++o) {
      for (size_t b = 0; b < n; ++b) v[b] = ws.act[l + 1][b * L.out + o];
      node_scale[l][o] = std_of(v);
    }
  }
  // pykan attribute(): output nodes score 1; an edge scores its target's score times the edge's
  // scale over the target's scale (+1e-4); a node scores the sum of its outgoing edges.
  imp.node[depth].assign(m.widths[depth], 1.0);
  for (size_t l = depth; l-- > 0;) {
    const Layer<double>& L = m.layers[l];
    imp.edge[l].assign(L.in * L.out, 0.0);
    imp.node[l].assign(L.in, 0.0);
    for (size_t o = 0; o < L.out; ++o)
      for (size_t i = 0; i < L.in; ++i) {
        const double e = imp.node[l + 1][o] * scale[l][i * L.out + o] / (node_scale[l][o] + 1e-4);
        imp.edge[l][i * L.out + o] = e;
        imp.node[l][i] += e;
      }
  }
  return imp;
}

Model<double> prune(const Model<double>& m, const double* x, size_t n, double node_th, double edge_th,
                    std::vector<std::vector<size_t>>* kept_out) {
  const Importance imp = importance(m, x, n);
  const size_t depth = m.depth();
  std::vector<std::vector<size_t>> kept(depth + 1);
  for (size_t l = 0; l <= depth; ++l)
    for (size_t j = 0; j < m.widths[l]; ++j) {
      bool keep = l == 0 || l == depth;
      if (!keep) keep = imp.node[l][j] > node_th;  // pykan prune_node: the node's attribution score
      if (keep) kept[l].push_back(j);
    }
  std::vector<size_t> widths(depth + 1);
  for (size_t l = 0; l <= depth; ++l) widths[l] = std::max<size_t>(kept[l].size(), 1);
  for (size_t l = 1; l < depth; ++l)
    if (kept[l].empty()) kept[l].push_back(0);  // keep the network connected: at least one node
  Model<double> r = empty_model<double>(widths, m.grid, m.order);
  for (size_t l = 0; l < depth; ++l) {
    const Layer<double>& P = m.layers[l];
    Layer<double>& L = r.layers[l];
    const size_t nb = P.bases();
    for (size_t a = 0; a < kept[l].size(); ++a) {
      const size_t i = kept[l][a];
      std::copy(P.knots_of(i), P.knots_of(i) + P.n_knots(), L.knots.begin() + a * L.n_knots());
      for (size_t c = 0; c < kept[l + 1].size(); ++c) {
        const size_t o = kept[l + 1][c], pe = i * P.out + o, e = a * L.out + c;
        L.mask[e] = imp.edge[l][pe] > edge_th ? P.mask[pe] : 0.0;
        L.symbolic[e] = P.symbolic[pe];
        r.scale_base(l)[e] = m.scale_base(l)[pe];
        r.scale_sp(l)[e] = m.scale_sp(l)[pe];
        for (size_t j = 0; j < nb; ++j) r.coef(l)[(a * nb + j) * L.out + c] = m.coef(l)[(i * nb + j) * P.out + o];
        std::copy(m.affine_of(l, i, o), m.affine_of(l, i, o) + 4, r.affine_of(l, a, c));
        if (L.symbolic[e] != Fn::none && !(imp.edge[l][pe] > edge_th)) L.symbolic[e] = Fn::none;
      }
    }
    for (size_t c = 0; c < kept[l + 1].size(); ++c) r.bias(l)[c] = m.bias(l)[kept[l + 1][c]];
  }
  // A removed hidden node's constant output feeds the next layer through its edges; pykan drops
  // it, and so do we (the threshold makes it negligible).
  if (kept_out) *kept_out = kept;
  return r;
}

template struct Layer<float>;
template struct Layer<double>;
template struct Model<float>;
template struct Model<double>;
template Model<float> empty_model<float>(const std::vector<size_t>&, int, int, double, double);
template Model<double> empty_model<double>(const std::vector<size_t>&, int, int, double, double);
template Model<float> init_model<float>(const std::vector<size_t>&, int, int, const InitOptions&, uint64_t);
template Model<double> init_model<double>(const std::vector<size_t>&, int, int, const InitOptions&, uint64_t);
template Model<float> convert<float, double>(const Model<double>&);
template Model<double> convert<double, float>(const Model<float>&);
template Model<double> convert<double, double>(const Model<double>&);
template const std::vector<float>& forward<float>(const Model<float>&, const float*, size_t, Workspace<float>&);
template const std::vector<double>& forward<double>(const Model<double>&, const double*, size_t, Workspace<double>&);
template void backward<float>(Model<float>&, Workspace<float>&, bool);
template void backward<double>(Model<double>&, Workspace<double>&, bool);
template double regularization<float>(Model<float>&, Workspace<float>&, const Regularizer&, bool);
template double regularization<double>(Model<double>&, Workspace<double>&, const Regularizer&, bool);
template double edge_value<double>(const Model<double>&, size_t, size_t, size_t, double);
template double edge_value<float>(const Model<float>&, size_t, size_t, size_t, double);
template double spline_value<double>(const Model<double>&, size_t, size_t, size_t, double);

}  // namespace glia::kan
