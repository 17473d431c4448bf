#include "split.hpp"

#include "errors.hpp"

#include <glia/random.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

namespace glia::core {

int64_t test_count(int64_t n, double fraction) {
  if (n < 2) throw data_failure("cannot split " + std::to_string(n) + " row(s): need at least 2");
  const auto k = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n)));
  return std::clamp<int64_t>(k, 1, n - 1);
}

namespace {

// Test rows per class: proportional shares by largest remainder, each within [1, size - 1].
std::vector<int64_t> allocate_test_rows(const std::vector<int64_t>& sizes, int64_t n, int64_t n_test) {
  const size_t c = sizes.size();
  std::vector<double> ideal(c);
  std::vector<int64_t> k(c);
  int64_t total = 0;
  for (size_t i = 0; i < c; ++i) {
    ideal[i] = static_cast<double>(sizes[i]) * static_cast<double>(n_test) / static_cast<double>(n);
    k[i] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(ideal[i])), 1, sizes[i] - 1);
    total += k[i];
  }
  // Ties go to the first class so the result never depends on anything but the counts.
  while (total < n_test) {
    size_t best = c;
    for (size_t i = 0; i < c; ++i)
      if (k[i] < sizes[i] - 1 && (best == c || ideal[i] - k[i] > ideal[best] - k[best])) best = i;
    ++k[best];
    ++total;
  }
  while (total > n_test) {
    size_t best = c;
    for (size_t i = 0; i < c; ++i)
      if (k[i] > 1 && (best == c || ideal[i] - k[i] < ideal[best] - k[best])) best = i;
    --k[best];
    --total;
  }
  return k;
}

}  // namespace

SplitIndices split_indices(int64_t n, double fraction, bool shuffle, uint64_t seed,
                           std::span<const int64_t> strata) {
  const int64_t n_test = test_count(n, fraction);
  Rng rng(seed);
  SplitIndices out;
  if (strata.empty()) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    if (shuffle) {
      rng.shuffle(order.begin(), order.end());
      out.test.assign(order.begin(), order.begin() + n_test);
      out.train.assign(order.begin() + n_test, order.end());
    } else {
      out.train.assign(order.begin(), order.end() - n_test);
      out.test.assign(order.end() - n_test, order.end());
    }
    return out;
  }

  if (static_cast<int64_t>(strata.size()) != n)
    throw data_failure("stratify: " + std::to_string(strata.size()) + " labels for " +
                       std::to_string(n) + " rows");
  std::map<int64_t, std::vector<int64_t>> members;  // ordered by label: a fixed class order
  for (int64_t i = 0; i < n; ++i) members[strata[static_cast<size_t>(i)]].push_back(i);
  std::vector<int64_t> sizes;
  for (const auto& [label, rows] : members) {
    if (rows.size() < 2)
      throw data_failure("stratify: class " + std::to_string(label) +
                         " has a single row; every class needs at least 2");
    sizes.push_back(static_cast<int64_t>(rows.size()));
  }
  const auto classes = static_cast<int64_t>(sizes.size());
  if (n_test < classes || n - n_test < classes)
    throw data_failure("stratify: " + std::to_string(classes) + " classes do not fit in " +
                       std::to_string(n_test) + " test and " + std::to_string(n - n_test) +
                       " train rows; change test_fraction");
  const std::vector<int64_t> k = allocate_test_rows(sizes, n, n_test);
  size_t c = 0;
  for (auto& [label, rows] : members) {
    const auto take = static_cast<std::ptrdiff_t>(k[c++]);
    if (shuffle) {
      rng.shuffle(rows.begin(), rows.end());
      out.test.insert(out.test.end(), rows.begin(), rows.begin() + take);
      out.train.insert(out.train.end(), rows.begin() + take, rows.end());
    } else {
      out.test.insert(out.test.end(), rows.end() - take, rows.end());
      out.train.insert(out.train.end(), rows.begin(), rows.end() - take);
    }
  }
  if (shuffle) {
    rng.shuffle(out.train.begin(), out.train.end());
    rng.shuffle(out.test.begin(), out.test.end());
  } else {
    std::sort(out.train.begin(), out.train.end());
    std::sort(out.test.begin(), out.test.end());
  }
  return out;
}

}  // namespace glia::core
