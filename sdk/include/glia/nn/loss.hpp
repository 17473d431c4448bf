// glia::nn losses. Each returns the mean loss over the batch (in double) and, when grad is not
// null, writes dLoss/dinput into it (same shape as the input), so one call does forward and
// backward, as llm.c's fused cross-entropy does.
#pragma once

#include <glia/nn/tensor.hpp>

#include <type_traits>

namespace glia::nn {

// Mean squared error: mean over all elements of (pred - target)^2 (torch.nn.MSELoss()).
template <class T>
double mse_loss(const Tensor<T>& pred, const Tensor<T>& target, std::type_identity_t<Tensor<T>>* grad = nullptr);

// Softmax cross-entropy from logits (N, C) and class labels in [0, C), mean over N
// (torch.nn.CrossEntropyLoss()). Throws std::invalid_argument on a label out of range.
template <class T>
double cross_entropy_loss(const Tensor<T>& logits, const int64_t* labels, std::type_identity_t<Tensor<T>>* grad = nullptr);

// Binary cross-entropy from logits and targets in [0, 1], mean over all elements, computed in
// the stable form max(z,0) - z y + log(1 + exp(-|z|)) (torch.nn.BCEWithLogitsLoss()).
template <class T>
double binary_cross_entropy_loss(const Tensor<T>& logits, const Tensor<T>& target, std::type_identity_t<Tensor<T>>* grad = nullptr);

// KL(p || q) with q given as log-probabilities (N, C) and p as probabilities (N, C):
// sum p (log p - log q) / N (torch.nn.KLDivLoss(reduction="batchmean")). Terms with p = 0 add 0.
template <class T>
double kl_div_loss(const Tensor<T>& log_q, const Tensor<T>& p, std::type_identity_t<Tensor<T>>* grad = nullptr);

}  // namespace glia::nn
