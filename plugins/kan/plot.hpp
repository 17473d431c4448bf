// kan.plot's figure: one SVG with every edge's learned function phi(x) over its input range,
// one row of panels per layer (pykan's plot(), as small multiples).
#pragma once

#include "kan.hpp"

#include <string>
#include <vector>

namespace glia::kan {

// ranges[l][i] = {lo, hi} of layer l's input i (from data, or the grid when no data);
// names: the input names for the first row's labels.
std::vector<std::vector<std::pair<double, double>>> input_ranges(const Model<double>& m, const double* x, size_t n);
std::string plot_svg(const Model<double>& m, const std::vector<std::vector<std::pair<double, double>>>& ranges,
                     const std::vector<std::string>& names, size_t points = 101);

}  // namespace glia::kan
