// snn.train / snn.predict: surrogate-gradient spiking classifiers over glia::nn. The model is
// an nn::Sequential of the layers in layers.hpp and travels as a glia::nn safetensors BLOB.
#pragma once

#include <glia/nn/train.hpp>
#include <glia/plugin.hpp>

namespace glia::snn::train {

inline constexpr const char* kModelMediaType = "application/x-glia-nn+safetensors";

struct Train {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);

  std::string encoding, readout, surrogate, optimizer;
  int64_t steps = 25, classes = 0;
  std::vector<int64_t> hidden;
  double gain = 1, beta = 0.9, threshold = 1, slope = 25, lr = 5e-4, weight_decay = 0;
  double val_fraction = 0;
  nn::FitOptions fit;
};

struct Predict {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);

  size_t batch_size = 256;
  int64_t sample = -1;
};

}  // namespace glia::snn::train
