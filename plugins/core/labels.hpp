// Class labels: validation of integer-valued label arrays and one-hot encoding. Plain C++.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace glia::core {

// Labels given as floating-point values: each must be finite and integral. `what` names the input
// in messages ("input 'y'").
std::vector<int64_t> labels_from_doubles(std::span<const double> values, const std::string& what);

// Data error unless every label is >= 0 (and < classes when classes > 0).
void check_label_range(std::span<const int64_t> labels, int64_t classes, const std::string& what);

// max(label) + 1, or 0 for no labels.
int64_t infer_classes(std::span<const int64_t> labels);

// Row i holds a 1 in column labels[i]: an (N, classes) row-major matrix. Labels must be in range.
std::vector<double> one_hot(std::span<const int64_t> labels, int64_t classes, const std::string& what);

}  // namespace glia::core
