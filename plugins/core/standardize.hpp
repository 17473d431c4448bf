// Per-column standardisation: z = (x - mean) / scale with the population standard deviation.
// Sums run over fixed row blocks combined in block order, so results do not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glia::core {

struct Standardizer {
  std::vector<double> mean;
  std::vector<double> scale;  // 1 for a constant column (its mean is then the value itself)
};

// Fits on an (n, d) row-major matrix; data error naming `what`, row and column for NaN/Inf, or
// when n == 0.
Standardizer fit_standardizer(const double* x, int64_t n, int64_t d, const std::string& what);

// out = (x - mean) / scale row by row; out may alias x. Data error for NaN/Inf in x.
void apply_standardizer(const Standardizer& s, const double* x, int64_t n, double* out,
                        const std::string& what);

}  // namespace glia::core
