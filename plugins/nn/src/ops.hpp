// The nn plugin's operators: nn.mlp.train / nn.mlp.predict and nn.cnn.train / nn.cnn.predict.
// Models travel as BLOB ports holding safetensors bytes with the architecture in __metadata__.
#pragma once

#include <glia/nn/optim.hpp>
#include <glia/nn/train.hpp>
#include <glia/plugin.hpp>

namespace glia::nn_plugin {

inline constexpr const char* kModelMediaType = "application/x-glia-nn+safetensors";

// Settings shared by both trainers (optimizer, schedule, loop).
struct TrainSettings {
  nn::Task task = nn::Task::classification;
  std::string optimizer;
  double lr = 1e-3, weight_decay = 0, momentum = 0.9;
  std::string activation;
  double dropout = 0;
  int64_t classes = 0;
  double val_fraction = 0;
  nn::FitOptions fit;
  void read(const Params& p);
};

struct MlpTrain {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  TrainSettings settings;
  std::vector<int64_t> widths;
};

struct CnnTrain {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  TrainSettings settings;
  std::vector<int64_t> channels, hidden, image_shape;
  int64_t kernel_size = 3;
  bool batch_norm = false;
};

// nn.mlp.predict and nn.cnn.predict differ only in the input shapes they accept.
template <bool Images>
struct Predict {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  size_t batch_size = 256;
};
using MlpPredict = Predict<false>;
using CnnPredict = Predict<true>;

}  // namespace glia::nn_plugin
