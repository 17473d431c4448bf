// Train/test splitting of row indices: plain, shuffled, or stratified by class label.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace glia::core {

struct SplitIndices {
  std::vector<int64_t> train;
  std::vector<int64_t> test;
};

// Test rows: ceil(fraction * n), kept within [1, n - 1]. Data error when n < 2.
int64_t test_count(int64_t n, double fraction);

// Without shuffle the last rows form the test set and both sets keep file order. With shuffle a
// seeded permutation (glia::Rng) decides. With strata (one label per row) every class gets its
// share of the test set by largest remainder, at least one row in each set; classes with a single
// row, or more classes than test (or train) rows, are data errors.
SplitIndices split_indices(int64_t n, double fraction, bool shuffle, uint64_t seed,
                           std::span<const int64_t> strata = {});

}  // namespace glia::core
