#include "standardize.hpp"

#include "errors.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace glia::core {

namespace {

constexpr int64_t kBlock = 2048;

int64_t block_count(int64_t n) { return (n + kBlock - 1) / kBlock; }

// Runs f(block, first_row, end_row) over fixed blocks of rows in parallel.
template <class F>
void for_blocks(int64_t n, F&& f) {
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, block_count(n)), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t b = r.begin(); b != r.end(); ++b) f(b, b * kBlock, std::min(n, (b + 1) * kBlock));
  });
}

struct BadCell {
  int64_t row, col;
};

[[noreturn]] void throw_bad(const std::string& what, const BadCell& c, double v) {
  throw data_failure(what + ": value " + std::to_string(v) + " at row " + std::to_string(c.row) +
                     ", column " + std::to_string(c.col) + " is not finite");
}

// The first non-finite cell in row-major order, if any.
std::optional<BadCell> find_non_finite(const double* x, int64_t n, int64_t d) {
  std::vector<std::optional<BadCell>> per_block(static_cast<size_t>(block_count(n)));
  for_blocks(n, [&](int64_t b, int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const double* row = x + i * d;
      double acc = 0;
      for (int64_t j = 0; j < d; ++j) acc += row[j] * 0.0;  // NaN iff a cell is NaN or Inf
      if (acc == 0.0) continue;
      for (int64_t j = 0; j < d; ++j)
        if (!std::isfinite(row[j])) {
          per_block[static_cast<size_t>(b)] = BadCell{i, j};
          return;
        }
    }
  });
  for (const auto& c : per_block)
    if (c) return c;
  return std::nullopt;
}

}  // namespace

Standardizer fit_standardizer(const double* x, int64_t n, int64_t d, const std::string& what) {
  if (n <= 0) throw data_failure(what + ": no rows to fit on");
  if (auto bad = find_non_finite(x, n, d)) throw_bad(what, *bad, x[bad->row * d + bad->col]);

  const auto nb = static_cast<size_t>(block_count(n));
  const auto du = static_cast<size_t>(d);
  std::vector<double> part(nb * du, 0.0);
  std::vector<char> varies(nb * du, 0);
  // Pass 1: column sums per block, and whether the column differs from row 0 within the block.
  for_blocks(n, [&](int64_t b, int64_t r0, int64_t r1) {
    double* sum = part.data() + static_cast<size_t>(b) * du;
    char* var = varies.data() + static_cast<size_t>(b) * du;
    for (int64_t i = r0; i < r1; ++i) {
      const double* row = x + i * d;
      for (int64_t j = 0; j < d; ++j) {
        sum[j] += row[j];
        var[j] |= row[j] != x[j];
      }
    }
  });
  Standardizer s;
  s.mean.assign(du, 0.0);
  s.scale.assign(du, 1.0);
  std::vector<char> constant(du, 1);
  for (size_t b = 0; b < nb; ++b)
    for (size_t j = 0; j < du; ++j) {
      s.mean[j] += part[b * du + j];
      if (varies[b * du + j]) constant[j] = 0;
    }
  for (size_t j = 0; j < du; ++j) s.mean[j] = constant[j] ? x[j] : s.mean[j] / static_cast<double>(n);

  // Pass 2: squared deviations about the mean (two passes keep the variance accurate).
  std::fill(part.begin(), part.end(), 0.0);
  for_blocks(n, [&](int64_t b, int64_t r0, int64_t r1) {
    double* ss = part.data() + static_cast<size_t>(b) * du;
    for (int64_t i = r0; i < r1; ++i) {
      const double* row = x + i * d;
      for (int64_t j = 0; j < d; ++j) {
        const double dev = row[j] - s.mean[static_cast<size_t>(j)];
        ss[j] += dev * dev;
      }
    }
  });
  std::vector<double> var(du, 0.0);
  for (size_t b = 0; b < nb; ++b)
    for (size_t j = 0; j < du; ++j) var[j] += part[b * du + j];
  for (size_t j = 0; j < du; ++j) {
    const double sd = std::sqrt(var[j] / static_cast<double>(n));
    if (!constant[j] && sd > 0) s.scale[j] = sd;
  }
  return s;
}

void apply_standardizer(const Standardizer& s, const double* x, int64_t n, double* out,
                        const std::string& what) {
  const auto d = static_cast<int64_t>(s.mean.size());
  if (auto bad = find_non_finite(x, n, d)) throw_bad(what, *bad, x[bad->row * d + bad->col]);
  const double* mean = s.mean.data();
  const double* scale = s.scale.data();
  for_blocks(n, [&](int64_t, int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const double* row = x + i * d;
      double* o = out + i * d;
      for (int64_t j = 0; j < d; ++j) o[j] = (row[j] - mean[j]) / scale[j];
    }
  });
}

}  // namespace glia::core
