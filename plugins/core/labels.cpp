#include "labels.hpp"

#include "errors.hpp"

#include <algorithm>
#include <cmath>

namespace glia::core {

std::vector<int64_t> labels_from_doubles(std::span<const double> values, const std::string& what) {
  std::vector<int64_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    // 2^62 keeps the cast exact and far from int64 overflow.
    if (!std::isfinite(v) || v != std::trunc(v) || std::abs(v) > 0x1p62)
      throw data_failure(what + ": value " + std::to_string(v) + " at row " + std::to_string(i) +
                         " is not an integer class label");
    out[i] = static_cast<int64_t>(v);
  }
  return out;
}

void check_label_range(std::span<const int64_t> labels, int64_t classes, const std::string& what) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0)
      throw data_failure(what + ": label " + std::to_string(labels[i]) + " at row " +
                         std::to_string(i) + " is negative");
    if (classes > 0 && labels[i] >= classes)
      throw data_failure(what + ": label " + std::to_string(labels[i]) + " at row " +
                         std::to_string(i) + " is out of range for classes = " +
                         std::to_string(classes));
  }
}

int64_t infer_classes(std::span<const int64_t> labels) {
  if (labels.empty()) return 0;
  return *std::max_element(labels.begin(), labels.end()) + 1;
}

std::vector<double> one_hot(std::span<const int64_t> labels, int64_t classes, const std::string& what) {
  if (classes <= 0) throw data_failure(what + ": one-hot encoding needs at least one class");
  check_label_range(labels, classes, what);
  std::vector<double> out(labels.size() * static_cast<size_t>(classes), 0.0);
  for (size_t i = 0; i < labels.size(); ++i) out[i * static_cast<size_t>(classes) + static_cast<size_t>(labels[i])] = 1.0;
  return out;
}

}  // namespace glia::core
