#include "layers.hpp"

#include <glia/random.hpp>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numbers>
#include <stdexcept>

// The hot loops are compiled for AVX-512, AVX2 and baseline x86-64 and picked at load time. The
// target compiles without FMA contraction, so every clone rounds alike.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GLIA_SNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GLIA_SNN_CLONES
#endif

namespace glia::snn::train {
using json = nlohmann::json;

namespace {

// Sixteen floats (one AVX-512 register, two AVX2 ones); the unaligned alias loads and stores
// rows of W^T, dy and dW^T at any column.
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), __may_alias__));
// Output columns one pass of the event loops keeps in registers: 4 vectors.
constexpr size_t kTile = 64;
constexpr size_t kVecs = kTile / 16;
// Examples per parallel task in the per-example (time-loop) kernels.
constexpr size_t kExampleBlock = 4;

[[noreturn]] void bad_input(const std::string& layer, const std::string& what) {
  throw std::invalid_argument(layer + ": " + what);
}

// (N, T, F) of a time-major layer input, checking the rank.
void check_rank3(const std::string& layer, const Shape& s) {
  if (s.size() != 3) bad_input(layer, "needs input (N, T, features), got " + nn::shape_string(s));
}

Shape shape_of(const Tensor<float>& t) { return Shape(t.shape().begin(), t.shape().end()); }

inline v16 load(const float* p) { return *reinterpret_cast<const v16u*>(p); }
inline void store(float* p, v16 v) { *reinterpret_cast<v16u*>(p) = v; }

// W^T and dW^T are kept tile-major: tile j holds columns [64 j, 64 j + 64) of every input row,
// contiguous ((tiles, in, 64), zero-padded past `out`), so the rows a loop touches stay within
// few pages. Inputs are visited 64 at a time (one word of spike bits), whose 16 KB of a tile
// stay in L1 while a block of rows adds them.
static_assert(nn::kRowBlock == 64, "the event loops keep 64 rows' or inputs' spikes in a word");

// Rows [r0, r1) (at most kRowBlock): y[r, :] = b + sum over the spikes i of row r of W^T[i, :],
// in increasing i. bits holds each row's spikes, `words` 64-bit words a row. Even and odd spikes
// of a word go to two accumulator sets, so that the adds of one spike need not wait for those
// of the previous one.
GLIA_SNN_CLONES
void event_forward(const uint64_t* bits, size_t words, size_t r0, size_t r1, const float* wt,
                   const float* b, size_t in, size_t out, float* y) {
  alignas(64) float part[nn::kRowBlock * kTile];  // partial sums of the block's rows, one tile
  const size_t tiles = (out + kTile - 1) / kTile;
  for (size_t tile = 0; tile < tiles; ++tile) {
    const size_t o0 = tile * kTile, width = std::min(kTile, out - o0);
    for (size_t r = r0; r < r1; ++r) {
      float* p = part + (r - r0) * kTile;
      std::memcpy(p, b + o0, width * sizeof(float));
      std::fill(p + width, p + kTile, 0.0f);
    }
    for (size_t word = 0; word < words; ++word) {
      const float* w = wt + (tile * in + 64 * word) * kTile;
      for (size_t r = r0; r < r1; ++r) {
        uint64_t m = bits[r * words + word];
        if (!m) continue;
        float* p = part + (r - r0) * kTile;
        v16 a[kVecs], c[kVecs];
#pragma GCC unroll 4
        for (size_t k = 0; k < kVecs; ++k) a[k] = load(p + 16 * k), c[k] = v16{};
        while (m) {
          const float* w0 = w + size_t(__builtin_ctzll(m)) * kTile;
          m &= m - 1;
#pragma GCC unroll 4
          for (size_t k = 0; k < kVecs; ++k) a[k] += load(w0 + 16 * k);
          if (!m) break;
          const float* w1 = w + size_t(__builtin_ctzll(m)) * kTile;
          m &= m - 1;
#pragma GCC unroll 4
          for (size_t k = 0; k < kVecs; ++k) c[k] += load(w1 + 16 * k);
        }
#pragma GCC unroll 4
        for (size_t k = 0; k < kVecs; ++k) store(p + 16 * k, a[k] + c[k]);
      }
    }
    for (size_t r = r0; r < r1; ++r)
      std::memcpy(y + r * out + o0, part + (r - r0) * kTile, width * sizeof(float));
  }
}

// Tile `tile` of dW^T (tile-major, see above) and of db. masks[b * in + i] has bit j set when
// row 64 b + j spiked on input i, so dW^T[i, :] += (sum of those rows of dy), one row block after
// the other: the sum stays in registers and dW^T is written once per block, not once per spike.
// One task owns one tile: no races, a fixed order whatever the thread count.
GLIA_SNN_CLONES
void event_backward(const uint64_t* masks, size_t rows, const float* dy, size_t in, size_t out,
                    size_t tile, float* dwt, float* db) {
  alignas(64) float g[nn::kRowBlock * kTile] = {};  // dy of a block of rows, zero-padded
  const size_t o0 = tile * kTile, width = std::min(kTile, out - o0);
  float* d = dwt + tile * in * kTile;
  v16 bsum[kVecs] = {};
  for (size_t r0 = 0; r0 < rows; r0 += nn::kRowBlock) {
    const size_t r1 = std::min(rows, r0 + nn::kRowBlock);
    for (size_t r = r0; r < r1; ++r) {
      float* gr = g + (r - r0) * kTile;
      std::memcpy(gr, dy + r * out + o0, width * sizeof(float));
#pragma GCC unroll 4
      for (size_t k = 0; k < kVecs; ++k) bsum[k] += load(gr + 16 * k);
    }
    const uint64_t* m = masks + (r0 / nn::kRowBlock) * in;
    for (size_t i = 0; i < in; ++i) {
      uint64_t bits = m[i];
      if (!bits) continue;
      v16 a[kVecs] = {}, c[kVecs] = {};  // even and odd spikes: independent add chains
      while (bits) {
        const float* g0 = g + size_t(__builtin_ctzll(bits)) * kTile;
        bits &= bits - 1;
#pragma GCC unroll 4
        for (size_t k = 0; k < kVecs; ++k) a[k] += load(g0 + 16 * k);
        if (!bits) break;
        const float* g1 = g + size_t(__builtin_ctzll(bits)) * kTile;
        bits &= bits - 1;
#pragma GCC unroll 4
        for (size_t k = 0; k < kVecs; ++k) c[k] += load(g1 + 16 * k);
      }
      float* dr = d + i * kTile;
#pragma GCC unroll 4
      for (size_t k = 0; k < kVecs; ++k) store(dr + 16 * k, load(dr + 16 * k) + (a[k] + c[k]));
    }
  }
  alignas(64) float total[kTile];
#pragma GCC unroll 4
  for (size_t k = 0; k < kVecs; ++k) store(total + 16 * k, bsum[k]);
  for (size_t k = 0; k < width; ++k) db[o0 + k] += total[k];
}

// Rows [r0, r1) of x (rows, in) as spike bits: bit j of bits[r * words + w] is x[r, 64 w + j] != 0.
// Returns false when some value is neither 0 nor 1. The AVX2 version tests 8 floats at a time.
bool spike_bits_generic(const float* x, size_t r0, size_t r1, size_t in, uint64_t* bits) {
  const size_t words = (in + 63) / 64;
  bool ok = true;
  for (size_t r = r0; r < r1; ++r) {
    const float* xr = x + r * in;
    uint64_t* br = bits + r * words;
    std::fill(br, br + words, 0);
    for (size_t i = 0; i < in; ++i) {
      br[i / 64] |= uint64_t(xr[i] != 0) << (i % 64);
      ok &= xr[i] == 0 || xr[i] == 1;
    }
  }
  return ok;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) bool spike_bits_avx2(const float* x, size_t r0, size_t r1,
                                                       size_t in, uint64_t* bits) {
  const size_t words = (in + 63) / 64;
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  unsigned bad = 0;  // lanes that were neither 0 nor 1
  bool ok = true;
  for (size_t r = r0; r < r1; ++r) {
    const float* xr = x + r * in;
    uint64_t* br = bits + r * words;
    std::fill(br, br + words, 0);
    size_t i = 0;
    for (; i + 8 <= in; i += 8) {  // 8 divides 64: a group never straddles two words
      const __m256 v = _mm256_loadu_ps(xr + i);
      const __m256 binary = _mm256_or_ps(_mm256_cmp_ps(v, zero, _CMP_EQ_OQ),
                                         _mm256_cmp_ps(v, one, _CMP_EQ_OQ));
      bad |= unsigned(_mm256_movemask_ps(binary)) ^ 0xffu;
      br[i / 64] |= uint64_t(unsigned(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ)))) << (i % 64);
    }
    for (; i < in; ++i) {
      br[i / 64] |= uint64_t(xr[i] != 0) << (i % 64);
      ok &= xr[i] == 0 || xr[i] == 1;
    }
  }
  return ok && !bad;
}
#endif

// All rows of x as spike bits (see above), row blocks in parallel; false when x is not 0/1.
bool spike_bits(const float* x, size_t rows, size_t in, std::vector<uint64_t>& bits) {
  bits.resize(rows * ((in + 63) / 64));
  auto* kernel = spike_bits_generic;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx2")) kernel = spike_bits_avx2;
#endif
  std::atomic<bool> binary{true};
  nn::parallel_blocks(rows, nn::kRowBlock, [&](size_t r0, size_t r1) {
    if (!kernel(x, r0, r1, in, bits.data())) binary = false;
  });
  return binary;
}

// ---- LIF kernels ----------------------------------------------------------------------------

// One example: currents I (T, H) -> spikes S (T, H); the membrane after each step (before the
// threshold test) goes to mem (T, H) when not null. v (H) is scratch.
GLIA_SNN_CLONES
void lif_forward(const float* I, float* S, float* mem, size_t T, size_t H, float beta, float thr,
                 float* v) {
  std::fill(v, v + H, 0.0f);
  for (size_t t = 0; t < T; ++t) {
    const float* it = I + t * H;
    float* st = S + t * H;
    const float* prev = t ? st - H : nullptr;  // S_{t-1} drives the (detached) reset
    for (size_t h = 0; h < H; ++h) {
      // snnTorch's order: (beta mem + I) - reset * threshold.
      float m = beta * v[h] + it[h];
      if (t) m = m - prev[h] * thr;
      v[h] = m;
      st[h] = m > thr ? 1.0f : 0.0f;
    }
    if (mem) std::memcpy(mem + t * H, v, H * sizeof(float));
  }
}

// One example, backward through time: dI (T, H) from dS (T, H) and the membrane trace.
template <Surrogate kind>
GLIA_SNN_CLONES void lif_backward(const float* dS, const float* mem, float* dI, size_t T, size_t H,
                                  float beta, float thr, float slope, float* g) {
  std::fill(g, g + H, 0.0f);
  const float k = kind == Surrogate::arctan ? float(std::numbers::pi / 2) * slope : slope;
  for (size_t t = T; t-- > 0;) {
    const float* ds = dS + t * H;
    const float* mt = mem + t * H;
    float* di = dI + t * H;
    for (size_t h = 0; h < H; ++h) {
      const float u = mt[h] - thr;
      float sg;
      if constexpr (kind == Surrogate::fast_sigmoid) {
        const float d = k * std::fabs(u) + 1.0f;
        sg = 1.0f / (d * d);
      } else {
        const float a = k * u;
        sg = 0.5f * slope / (1.0f + a * a);
      }
      g[h] = ds[h] * sg + beta * g[h];
      di[h] = g[h];
    }
  }
}

// Parses a registered layer's JSON config.
json parse_config(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument("layer config is not valid JSON: " + std::string(e.what()));
  }
}
size_t count_of(const json& j, const char* key, const std::string& type) {
  if (!j.contains(key) || !j.at(key).is_number_integer() || j.at(key).get<int64_t>() < 1)
    throw std::invalid_argument(type + ": argument '" + key + "' must be a positive integer");
  return j.at(key).get<size_t>();
}
double real_of(const json& j, const char* key, double def, const std::string& type) {
  if (!j.contains(key)) return def;
  if (!j.at(key).is_number()) throw std::invalid_argument(type + ": argument '" + key + "' must be a number");
  return j.at(key).get<double>();
}

}  // namespace

Surrogate surrogate_from_name(const std::string& name) {
  if (name == "fast_sigmoid") return Surrogate::fast_sigmoid;
  if (name == "arctan") return Surrogate::arctan;
  throw std::invalid_argument("unknown surrogate '" + name + "' (fast_sigmoid, arctan)");
}
const char* surrogate_name(Surrogate s) { return s == Surrogate::arctan ? "arctan" : "fast_sigmoid"; }

// ---- encoders -------------------------------------------------------------------------------

namespace {
Shape encoded_shape(const std::string& layer, const Shape& in, size_t steps) {
  if (in.size() < 2) bad_input(layer, "needs input (N, features...), got " + nn::shape_string(in));
  size_t f = 1;
  for (size_t d = 1; d < in.size(); ++d) f *= in[d];
  return {in[0], steps, f};
}
}  // namespace

RateEncoder::RateEncoder(size_t steps, double gain, uint64_t seed)
    : steps_(steps), gain_(gain), seed_(seed) {
  if (steps == 0) throw std::invalid_argument("rate_encoder: steps must be positive");
  if (!(gain > 0)) throw std::invalid_argument("rate_encoder: gain must be positive");
}
std::string RateEncoder::config() const {
  return json{{"type", type()}, {"steps", steps_}, {"gain", gain_}}.dump();
}
Shape RateEncoder::output_shape(const Shape& in) const { return encoded_shape(type(), in, steps_); }

void RateEncoder::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  const Shape out = output_shape(shape_of(x));
  nn::ensure_shape(y, out);
  const size_t N = out[0], T = out[1], F = out[2];
  const uint64_t call_seed = derive_seed(seed_, calls_++);
  nn::parallel_blocks(N, kExampleBlock, [&](size_t n0, size_t n1) {
    std::vector<uint64_t> level(F);  // spike when a 32-bit uniform draw is below p * 2^32
    for (size_t n = n0; n < n1; ++n) {
      for (size_t f = 0; f < F; ++f) {
        const double p = std::clamp(gain_ * double(x.data()[n * F + f]), 0.0, 1.0);
        level[f] = uint64_t(std::llround(p * 0x1p32));
      }
      Rng rng = Rng::stream(call_seed, n);
      float* yn = y.data() + n * T * F;
      for (size_t t = 0; t < T; ++t) {
        float* row = yn + t * F;
        for (size_t f = 0; f < F; f += 2) {  // two 32-bit draws per 64-bit number
          const uint64_t r = rng.next();
          row[f] = (r & 0xffffffffu) < level[f] ? 1.0f : 0.0f;
          if (f + 1 < F) row[f + 1] = (r >> 32) < level[f + 1] ? 1.0f : 0.0f;
        }
      }
    }
  });
}

// Encoders sit at the model input: nothing upstream learns, so the input gradient is zero.
void RateEncoder::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>&,
                           Tensor<float>* dx) {
  if (dx) *dx = xt::zeros<float>(x.shape());
}

LatencyEncoder::LatencyEncoder(size_t steps, double gain, double threshold)
    : steps_(steps), gain_(gain), threshold_(threshold) {
  if (steps == 0) throw std::invalid_argument("latency_encoder: steps must be positive");
  if (!(gain > 0)) throw std::invalid_argument("latency_encoder: gain must be positive");
  if (!(threshold >= 0 && threshold < 1))
    throw std::invalid_argument("latency_encoder: threshold must be in [0, 1)");
}
std::string LatencyEncoder::config() const {
  return json{{"type", type()}, {"steps", steps_}, {"gain", gain_}, {"threshold", threshold_}}.dump();
}
Shape LatencyEncoder::output_shape(const Shape& in) const { return encoded_shape(type(), in, steps_); }

void LatencyEncoder::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  const Shape out = output_shape(shape_of(x));
  nn::ensure_shape(y, out);
  const size_t N = out[0], T = out[1], F = out[2];
  std::fill(y.data(), y.data() + y.size(), 0.0f);
  for (size_t n = 0; n < N; ++n)
    for (size_t f = 0; f < F; ++f) {
      const double p = std::clamp(gain_ * double(x.data()[n * F + f]), 0.0, 1.0);
      if (p <= threshold_) continue;
      const auto t = size_t(std::llround((1.0 - p) * double(T - 1)));
      y.data()[(n * T + t) * F + f] = 1.0f;
    }
}

void LatencyEncoder::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>&,
                              Tensor<float>* dx) {
  if (dx) *dx = xt::zeros<float>(x.shape());
}

// ---- spike_linear ---------------------------------------------------------------------------

SpikeLinear::SpikeLinear(size_t in_features, size_t out_features, uint64_t seed)
    : in_(in_features), out_(out_features) {
  if (in_ == 0 || out_ == 0) throw std::invalid_argument("spike_linear: features must be positive");
  if (in_ > UINT32_MAX) throw std::invalid_argument("spike_linear: in_features is too large");
  reset(seed);
}

std::string SpikeLinear::config() const {
  return json{{"type", type()}, {"in_features", in_}, {"out_features", out_}}.dump();
}

// PyTorch's nn.Linear initialisation, taken from glia::nn's Linear.
void SpikeLinear::reset(uint64_t seed) {
  nn::Linear<float> init(in_, out_, true, seed);
  weight = {"weight", init.weight.value, xt::zeros<float>({out_, in_})};
  bias = {"bias", init.bias.value, xt::zeros<float>({out_})};
}

Shape SpikeLinear::output_shape(const Shape& in) const {
  if (in.size() < 2 || in.back() != in_)
    bad_input(type(), "expects input (..., " + std::to_string(in_) + "), got " + nn::shape_string(in));
  Shape out = in;
  out.back() = out_;
  return out;
}

void SpikeLinear::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  nn::ensure_shape(y, output_shape(shape_of(x)));
  const size_t rows = x.size() / in_;
  sparse_ = spike_bits(x.data(), rows, in_, bits_);
  if (!sparse_) {
    for (size_t r = 0; r < rows; ++r)
      std::memcpy(y.data() + r * out_, bias.value.data(), out_ * sizeof(float));
    nn::parallel_gemm<float>(false, true, rows, out_, in_, 1.0f, x.data(), in_,
                             weight.value.data(), in_, 1.0f, y.data(), out_);
    return;
  }
  const size_t tiles = (out_ + kTile - 1) / kTile, words = (in_ + 63) / 64;
  wt_.assign(tiles * in_ * kTile, 0.0f);
  const float* w = weight.value.data();
  nn::parallel_blocks(out_, kTile, [&](size_t o0, size_t o1) {  // one tile per task
    for (size_t o = o0; o < o1; ++o)
      for (size_t i = 0; i < in_; ++i) wt_[((o / kTile) * in_ + i) * kTile + o % kTile] = w[o * in_ + i];
  });
  nn::parallel_blocks(rows, nn::kRowBlock, [&](size_t r0, size_t r1) {
    event_forward(bits_.data(), words, r0, r1, wt_.data(), bias.value.data(), in_, out_, y.data());
  });
}

void SpikeLinear::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>& dy,
                           Tensor<float>* dx) {
  const size_t rows = x.size() / in_;
  if (dy.size() != rows * out_)
    bad_input(type(), "gradient " + nn::shape_string(dy) + " does not match the output");
  float* gw = weight.grad.data();
  if (sparse_) {
    // dW^T tile-major as W^T in forward, one tile per task; then added, transposed, to the grad.
    // It reuses the W^T buffer (forward rebuilds that) rather than fault in fresh pages.
    const size_t tiles = (out_ + kTile - 1) / kTile;
    std::vector<float>& dwt = wt_;
    dwt.assign(tiles * in_ * kTile, 0.0f);
    const size_t blocks = (rows + nn::kRowBlock - 1) / nn::kRowBlock, words = (in_ + 63) / 64;
    std::vector<uint64_t> masks(blocks * in_, 0);
    nn::parallel_blocks(blocks, 1, [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b)
        for (size_t r = b * nn::kRowBlock; r < std::min(rows, (b + 1) * nn::kRowBlock); ++r)
          for (size_t w = 0; w < words; ++w)
            for (uint64_t m = bits_[r * words + w]; m; m &= m - 1)
              masks[b * in_ + 64 * w + size_t(__builtin_ctzll(m))] |= uint64_t(1) << (r % nn::kRowBlock);
    });
    nn::parallel_blocks(tiles, 1, [&](size_t t0, size_t t1) {
      for (size_t t = t0; t < t1; ++t)
        event_backward(masks.data(), rows, dy.data(), in_, out_, t, dwt.data(), bias.grad.data());
    });
    nn::parallel_blocks(out_, nn::kRowBlock, [&](size_t o0, size_t o1) {
      for (size_t o = o0; o < o1; ++o)
        for (size_t i = 0; i < in_; ++i) gw[o * in_ + i] += dwt[((o / kTile) * in_ + i) * kTile + o % kTile];
    });
  } else {
    nn::parallel_gemm<float>(true, false, out_, in_, rows, 1.0f, dy.data(), out_, x.data(), in_,
                             1.0f, gw, in_);
    float* gb = bias.grad.data();
    for (size_t r = 0; r < rows; ++r)
      for (size_t o = 0; o < out_; ++o) gb[o] += dy.data()[r * out_ + o];
  }
  if (!dx) return;
  nn::ensure_shape(*dx, shape_of(x));
  nn::parallel_gemm<float>(false, false, rows, in_, out_, 1.0f, dy.data(), out_,
                           weight.value.data(), in_, 0.0f, dx->data(), in_);
}

// ---- lif ------------------------------------------------------------------------------------

Lif::Lif(double beta, double threshold, Surrogate surrogate, double slope)
    : beta_(float(beta)), threshold_(float(threshold)), slope_(float(slope)), surrogate_(surrogate) {
  if (!(beta >= 0 && beta <= 1)) throw std::invalid_argument("lif: beta must be in [0, 1]");
  if (!(threshold > 0)) throw std::invalid_argument("lif: threshold must be positive");
  if (!(slope > 0)) throw std::invalid_argument("lif: slope must be positive");
}

std::string Lif::config() const {
  return json{{"type", type()}, {"beta", beta_}, {"threshold", threshold_},
              {"surrogate", surrogate_name(surrogate_)}, {"slope", slope_}}.dump();
}

Shape Lif::output_shape(const Shape& in) const {
  check_rank3(type(), in);
  return in;
}

void Lif::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  const Shape s = output_shape(shape_of(x));
  nn::ensure_shape(y, s);
  const size_t T = s[1], H = s[2];
  nn::parallel_blocks(s[0], kExampleBlock, [&](size_t n0, size_t n1) {
    std::vector<float> v(H);
    for (size_t n = n0; n < n1; ++n)
      lif_forward(x.data() + n * T * H, y.data() + n * T * H, nullptr, T, H, beta_, threshold_, v.data());
  });
}

void Lif::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>& dy,
                   Tensor<float>* dx) {
  if (!dx) return;  // no parameters: only the input gradient to compute
  const Shape s = shape_of(x);
  nn::ensure_shape(*dx, s);
  const size_t T = s[1], H = s[2];
  nn::parallel_blocks(s[0], kExampleBlock, [&](size_t n0, size_t n1) {
    std::vector<float> spikes(T * H), mem(T * H), v(H);
    for (size_t n = n0; n < n1; ++n) {
      // Recompute the membrane trace (cheaper than keeping (N, T, H) of it between calls).
      lif_forward(x.data() + n * T * H, spikes.data(), mem.data(), T, H, beta_, threshold_, v.data());
      if (surrogate_ == Surrogate::fast_sigmoid)
        lif_backward<Surrogate::fast_sigmoid>(dy.data() + n * T * H, mem.data(), dx->data() + n * T * H,
                                              T, H, beta_, threshold_, slope_, v.data());
      else
        lif_backward<Surrogate::arctan>(dy.data() + n * T * H, mem.data(), dx->data() + n * T * H,
                                        T, H, beta_, threshold_, slope_, v.data());
    }
  });
}

// ---- readouts -------------------------------------------------------------------------------

Shape SpikeCount::output_shape(const Shape& in) const {
  check_rank3(type(), in);
  return {in[0], in[2]};
}

void SpikeCount::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  const Shape s = shape_of(x);
  nn::ensure_shape(y, output_shape(s));
  const size_t T = s[1], C = s[2];
  for (size_t n = 0; n < s[0]; ++n) {
    float* yn = y.data() + n * C;
    std::fill(yn, yn + C, 0.0f);
    for (size_t t = 0; t < T; ++t)
      for (size_t c = 0; c < C; ++c) yn[c] += x.data()[(n * T + t) * C + c];
  }
}

void SpikeCount::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>& dy,
                          Tensor<float>* dx) {
  if (!dx) return;
  const Shape s = shape_of(x);
  nn::ensure_shape(*dx, s);
  const size_t T = s[1], C = s[2];
  for (size_t n = 0; n < s[0]; ++n)
    for (size_t t = 0; t < T; ++t)
      std::memcpy(dx->data() + (n * T + t) * C, dy.data() + n * C, C * sizeof(float));
}

std::string LeakyReadout::config() const { return json{{"type", type()}, {"beta", beta_}}.dump(); }

Shape LeakyReadout::output_shape(const Shape& in) const {
  check_rank3(type(), in);
  return {in[0], in[2]};
}

void LeakyReadout::forward(const Tensor<float>& x, Tensor<float>& y, bool) {
  const Shape s = shape_of(x);
  nn::ensure_shape(y, output_shape(s));
  const size_t T = s[1], C = s[2];
  std::vector<float> mem(C);
  for (size_t n = 0; n < s[0]; ++n) {
    float* yn = y.data() + n * C;
    std::fill(yn, yn + C, 0.0f);
    std::fill(mem.begin(), mem.end(), 0.0f);
    for (size_t t = 0; t < T; ++t)
      for (size_t c = 0; c < C; ++c) {
        mem[c] = beta_ * mem[c] + x.data()[(n * T + t) * C + c];
        yn[c] += mem[c];
      }
    for (size_t c = 0; c < C; ++c) yn[c] /= float(T);
  }
}

// y = (1/T) sum_t mem_t and mem_t = sum_{s<=t} beta^(t-s) I_s, so dL/dI_t = sum_{s>=t}
// beta^(s-t) dy / T, accumulated backwards in time.
void LeakyReadout::backward(const Tensor<float>& x, const Tensor<float>&, const Tensor<float>& dy,
                            Tensor<float>* dx) {
  if (!dx) return;
  const Shape s = shape_of(x);
  nn::ensure_shape(*dx, s);
  const size_t T = s[1], C = s[2];
  std::vector<float> g(C);
  for (size_t n = 0; n < s[0]; ++n) {
    std::fill(g.begin(), g.end(), 0.0f);
    for (size_t t = T; t-- > 0;)
      for (size_t c = 0; c < C; ++c) {
        g[c] = dy.data()[n * C + c] / float(T) + beta_ * g[c];
        dx->data()[(n * T + t) * C + c] = g[c];
      }
  }
}

// ---- registration ---------------------------------------------------------------------------

void register_layers() {
  static std::once_flag once;
  std::call_once(once, [] {
    nn::register_layer<float>("rate_encoder", [](const std::string& c, uint64_t seed) {
      const json j = parse_config(c);
      return std::make_unique<RateEncoder>(count_of(j, "steps", "rate_encoder"),
                                           real_of(j, "gain", 1.0, "rate_encoder"), seed);
    });
    nn::register_layer<float>("latency_encoder", [](const std::string& c, uint64_t) {
      const json j = parse_config(c);
      return std::make_unique<LatencyEncoder>(count_of(j, "steps", "latency_encoder"),
                                              real_of(j, "gain", 1.0, "latency_encoder"),
                                              real_of(j, "threshold", 0.01, "latency_encoder"));
    });
    nn::register_layer<float>("spike_linear", [](const std::string& c, uint64_t seed) {
      const json j = parse_config(c);
      return std::make_unique<SpikeLinear>(count_of(j, "in_features", "spike_linear"),
                                           count_of(j, "out_features", "spike_linear"), seed);
    });
    nn::register_layer<float>("lif", [](const std::string& c, uint64_t) {
      const json j = parse_config(c);
      const std::string sur = j.contains("surrogate") && j.at("surrogate").is_string()
                                  ? j.at("surrogate").get<std::string>() : "fast_sigmoid";
      return std::make_unique<Lif>(real_of(j, "beta", 0.9, "lif"), real_of(j, "threshold", 1.0, "lif"),
                                   surrogate_from_name(sur), real_of(j, "slope", 25.0, "lif"));
    });
    nn::register_layer<float>("spike_count", [](const std::string&, uint64_t) {
      return std::make_unique<SpikeCount>();
    });
    nn::register_layer<float>("leaky_readout", [](const std::string& c, uint64_t) {
      return std::make_unique<LeakyReadout>(real_of(parse_config(c), "beta", 0.9, "leaky_readout"));
    });
  });
}

}  // namespace glia::snn::train
