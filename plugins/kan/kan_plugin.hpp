// The kan plugin's operators: kan.train, kan.predict, kan.prune, kan.symbolic, kan.plot.
// Models travel as BLOB ports of safetensors bytes (kan/model_io.cpp).
#pragma once

#include "symbolic.hpp"
#include "train.hpp"

#include <glia/plugin.hpp>

namespace glia::kan_plugin {

inline constexpr const char* kModelMediaType = "application/x-glia-kan+safetensors";

struct Train {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::vector<int64_t> widths, grids;
  std::string task, names;
  int grid = 3, order = 3;
  double grid_lo = -1, grid_hi = 1;
  kan::InitOptions init;
  kan::TrainOptions train;
  bool standardize_y = false;
};

struct Predict {
  static Descriptor describe();
  void configure(const Params&) {}
  void run(Call& call);
};

struct Prune {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  double node_th = 1e-2, edge_th = 3e-2;
};

struct Symbolic {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  kan::SymbolicOptions options;
  bool lock = true;
  int64_t steps = 0;
  std::string names;
};

struct Plot {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string file, names;
};

// pykan's create_dataset for its canonical formulas (symbolic-recovery checks).
struct Dataset {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string function;
  int64_t samples = 1000;
  double lo = -1, hi = 1;
};

// The two-stage screen's last step: the top predicted values among the rows a classifier accepts.
struct Screen {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  int64_t top = 10, accept = 1;
  std::string names;
};

}  // namespace glia::kan_plugin
