// Kolmogorov-Arnold networks (Liu et al. 2024, arXiv 2404.19756) in pykan's formulation:
// each edge i -> o of a layer computes
//   phi_oi(x) = mask_oi * (scale_base_oi * silu(x) + scale_sp_oi * sum_m coef_oim B_m(x)),
// node o sums its incoming edges and adds bias_o (pykan's node_bias). Edges locked to a
// symbolic function (kan.symbolic) compute a*f(b*x+c)+d in place of the spline.
//
// Speed comes from local support: for an input x only the k+1 B-spline bases of its knot span
// are non-zero (bspline.hpp), so per sample and input the layer reads k+2 rows of the fused
// weight W[i, m, o] (m = 0: mask*scale_base for silu(x); then mask*scale_sp*coef_j), a cost
// independent of G ("gathered" product, as FlashKAN). Backward is written out: dW sums dY over
// the samples of each input grouped by knot span (then chained into coef / scales), and dx comes
// from silu' and the spline's B' (degree k-1 bases). Forward and dx run over fixed row blocks,
// dW over inputs (each input's sums in a fixed sample order), so results do not depend on the
// thread count.
#pragma once

#include "bspline.hpp"

#include <glia/nn/tensor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace glia::kan {

// The functions kan.symbolic fits to an edge (a subset of pykan's SYMBOLIC_LIB).
enum class Fn : int32_t { none = -1, x, x2, x3, x4, inv, sqrt, exp, log, sin, tanh, abs, sigmoid, zero };
inline constexpr int kFnCount = 13;
const char* fn_name(Fn f);
int fn_complexity(Fn f);
double fn_eval(Fn f, double u);        // with pykan's guards: sqrt/log of |u|, 1/u clamped
double fn_slope(Fn f, double u);       // d f / d u

template <class T>
struct Layer {
  size_t in = 0, out = 0;
  int grid = 0, order = 0;
  std::vector<T> knots;     // [in, grid + 2 order + 1]
  std::vector<T> mask;      // [in, out]: 1, or 0 for a pruned (or symbolic) spline edge
  std::vector<Fn> symbolic; // [in, out]: Fn::none, or the function the edge is locked to
  size_t coef = 0, scale_base = 0, scale_sp = 0, bias = 0;  // offsets into Model::params
  size_t affine = 0;                                        // offset into Model::affine, [in, out, 4]

  size_t bases() const { return static_cast<size_t>(grid + order); }
  size_t n_knots() const { return static_cast<size_t>(grid + 2 * order + 1); }
  size_t features() const { return in * (bases() + 1); }
  const T* knots_of(size_t i) const { return knots.data() + i * n_knots(); }
  bool has_symbolic() const;
};

struct InitOptions {
  double noise_scale = 0.3;        // pykan MultKAN default
  double scale_base_mu = 0.0;
  double scale_base_sigma = 1.0;
  double scale_sp = 1.0;
  double grid_lo = -1.0, grid_hi = 1.0;
};

template <class T>
struct Model {
  std::vector<size_t> widths;
  int grid = 0, order = 0;
  std::vector<Layer<T>> layers;
  // Per layer: coef [in, bases, out], scale_base [in, out], scale_sp [in, out], bias [out].
  nn::Parameter<T> params;
  // Symbolic edges' (a, b, c, d) of a*f(b*x+c)+d, per layer [in, out, 4].
  nn::Parameter<T> affine;

  size_t depth() const { return layers.size(); }
  T* coef(size_t l) { return params.value.data() + layers[l].coef; }
  T* scale_base(size_t l) { return params.value.data() + layers[l].scale_base; }
  T* scale_sp(size_t l) { return params.value.data() + layers[l].scale_sp; }
  T* bias(size_t l) { return params.value.data() + layers[l].bias; }
  const T* coef(size_t l) const { return params.value.data() + layers[l].coef; }
  const T* scale_base(size_t l) const { return params.value.data() + layers[l].scale_base; }
  const T* scale_sp(size_t l) const { return params.value.data() + layers[l].scale_sp; }
  const T* bias(size_t l) const { return params.value.data() + layers[l].bias; }
  T* affine_of(size_t l, size_t i, size_t o) { return affine.value.data() + layers[l].affine + (i * layers[l].out + o) * 4; }
  const T* affine_of(size_t l, size_t i, size_t o) const { return affine.value.data() + layers[l].affine + (i * layers[l].out + o) * 4; }
  bool has_symbolic() const;
};

// Allocates a model with uniform grids on [grid_lo, grid_hi] and all parameters zero.
template <class T>
Model<T> empty_model(const std::vector<size_t>& widths, int grid, int order, double grid_lo = -1,
                     double grid_hi = 1);
// pykan's initialisation: coef fitted by least squares to uniform noise (U-1/2)*noise/G at the
// grid points, scale_base = mu/sqrt(in) + sigma*U(-1,1)/sqrt(in), scale_sp = scale_sp/sqrt(in).
template <class T>
Model<T> init_model(const std::vector<size_t>& widths, int grid, int order, const InitOptions& opt,
                    uint64_t seed);
// The same model in another precision.
template <class To, class From>
Model<To> convert(const Model<From>& m);

// Scratch for one batch; reuse across steps to keep the loop allocation-free.
template <class T>
struct Workspace {
  size_t batch = 0;
  std::vector<std::vector<T>> act;         // act[l]: [batch, widths[l]]; act[0] = the input
  std::vector<std::vector<T>> spacing;     // [in]: knot spacing of uniform grids, else 0
  std::vector<std::vector<T>> origin;      // [in]: first knot
  std::vector<bool> uniform;               // every input of the layer has a uniform grid
  std::vector<std::vector<int32_t>> span;  // [batch, in]: knot span p; its bases are W rows 1+p..
  std::vector<std::vector<T>> basis;       // [batch, k+2, in]: silu(x), then the k+1 bases
  std::vector<std::vector<T>> slope;       // [batch, k+2, in]: their derivatives (backward)
  std::vector<std::vector<T>> weights;     // fused W [in, rows, out padded] (kan.cpp)
  std::vector<std::vector<T>> grad_act;    // dLoss/dact[l]
  std::vector<T> grad_out;                 // dLoss/dact[l+1] with padded rows
  std::vector<std::vector<T>> grad_weights;  // dLoss/dW of one input per task
  std::vector<std::vector<int32_t>> group_start, group_order;  // samples grouped by span (dW)
  std::vector<std::vector<T>> group_feat;
};

// Forward pass over x [batch, widths[0]]; returns act.back() [batch, widths.back()].
template <class T>
const std::vector<T>& forward(const Model<T>& m, const T* x, size_t batch, Workspace<T>& ws);
// Backward pass after forward: ws.grad_act.back() holds dLoss/dOutput on entry (set by the
// caller); parameter gradients are ADDED to m.params.grad and m.affine.grad. dLoss/dinput is
// computed only when input_grad (layer 0's input is data, usually not needed).
template <class T>
void backward(Model<T>& m, Workspace<T>& ws, bool input_grad = false);

// pykan's sparsity regulariser (reg_metric 'edge_forward_spline_n'): per layer, with
// v_oi = std_b(phi_oi(x_bi)) / (std_b(x_bi) + 0.1),
//   reg = sum_l lamb_l1 * sum v + lamb_entropy * (row entropy + column entropy).
struct Regularizer {
  double lamb = 0;          // overall weight; 0 disables
  double lamb_l1 = 1;
  double lamb_entropy = 2;
};
// Returns reg (unweighted by lamb) over the batch in ws (after forward). When with_grad, adds
// lamb * dreg/d(parameters) to m.params.grad and lamb * dreg/d(act[l]) to ws.grad_act[l] for
// l >= 1, and then must run BEFORE backward() (which propagates grad_act down). Per edge it
// evaluates phi for every sample: O(batch * in * out * (k+1)).
template <class T>
double regularization(Model<T>& m, Workspace<T>& ws, const Regularizer& reg, bool with_grad);

// Per-edge values phi_oi(x) for scalar x (plots, symbolic fits, importance).
template <class T>
double edge_value(const Model<T>& m, size_t l, size_t i, size_t o, double x);
// The spline part only, sum_m coef B_m(x) (no scales), as pykan's coef2curve.
template <class T>
double spline_value(const Model<T>& m, size_t l, size_t i, size_t o, double x);

// Grid update from samples x [n, widths[0]] (pykan update_grid_from_samples): per layer and
// input, knots at sample quantiles blended with uniform knots by grid_eps, then the spline
// coefficients are refitted by least squares so every edge keeps its function.
void update_grid(Model<double>& m, const double* x, size_t n, double grid_eps);
// Grid extension (pykan refine): a model with `grid` intervals whose knots interpolate the
// old ones and whose coefficients are fitted to the old splines on the samples x.
Model<double> refine(const Model<double>& m, int grid, const double* x, size_t n);

// Edge and node importance as pykan's attribute(): from the standard deviations over x of each
// edge's output and each node's sum, propagated back from the outputs (score 1).
struct Importance {
  std::vector<std::vector<double>> edge;  // [l][i * out + o]
  std::vector<std::vector<double>> node;  // [l][node], l = 0..depth
};
Importance importance(const Model<double>& m, const double* x, size_t n);
// A smaller model without the hidden nodes whose score is at most node_th and with edges at or
// under edge_th masked (pykan prune). kept[l] lists the surviving nodes of layer l.
Model<double> prune(const Model<double>& m, const double* x, size_t n, double node_th, double edge_th,
                    std::vector<std::vector<size_t>>* kept = nullptr);

// safetensors bytes: tensors + __metadata__ {"kan": JSON of widths, grid, k, symbolic edges,
// plus the caller's extra JSON object (task, names, ranges)}.
std::string save_model(const Model<double>& m, const std::string& extra_json);
Model<double> load_model(const std::string& bytes, std::string* extra_json = nullptr);

}  // namespace glia::kan
