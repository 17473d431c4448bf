// Symbolic regression of KAN edges, as pykan's suggest_symbolic / auto_symbolic: every edge's
// learned function y = phi(x) on the training inputs is fitted by y ~ a*f(b*x+c)+d for each f of
// the library. (b, c) come from a 101x101 grid search over [-10, 10]^2 of the squared correlation
// between f(b*x+c) and y, zoomed three times around the best cell; (a, d) then by linear least
// squares. The chosen f minimises weight_simple*complexity + (1-weight_simple)*log2(1+1e-5-R^2).
#pragma once

#include "kan.hpp"

#include <string>
#include <vector>

namespace glia::kan {

struct SymbolicFit {
  Fn fn = Fn::zero;
  double a = 0, b = 1, c = 0, d = 0;
  double r2 = 0;
};

struct SymbolicOptions {
  std::vector<Fn> library;        // empty: all functions
  double weight_simple = 0.8;
  double range = 10;              // (b, c) searched in [-range, range]
  int grid_number = 101;
  int iterations = 3;
  size_t max_samples = 256;       // samples used by the grid search (evenly spaced in x order)
};

// Fits one function to (x, y).
SymbolicFit fit_function(Fn f, const std::vector<double>& x, const std::vector<double>& y,
                         const SymbolicOptions& opt);
// The best function for one edge and all candidates' fits (pykan suggest_symbolic).
SymbolicFit suggest(const std::vector<double>& x, const std::vector<double>& y, const SymbolicOptions& opt,
                    std::vector<SymbolicFit>* all = nullptr);

struct EdgeFit {
  size_t layer, in, out;
  SymbolicFit fit;
};
// Fits every unmasked edge of m on the layer inputs produced by x [n, widths[0]] (edges masked
// by pruning get '0'). Runs edges in parallel; the result does not depend on the thread count.
std::vector<EdgeFit> fit_edges(const Model<double>& m, const double* x, size_t n, const SymbolicOptions& opt);
// Locks the edges to their fits: mask 0 for the spline, symbolic function and affine params set.
void lock_edges(Model<double>& m, const std::vector<EdgeFit>& fits);

// The network as formulas of the input names, one per output, constants printed with `digits`
// significant digits; terms whose function is 0 are left out.
std::vector<std::string> formula(const Model<double>& m, const std::vector<std::string>& input_names, int digits = 4);

}  // namespace glia::kan
