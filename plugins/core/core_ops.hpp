// The operators of glia-core: thin bindings of the plain core library onto glia/plugin.hpp.
// Definitions live in ops_io.cpp, ops_data.cpp and ops_metrics.cpp; core_plugin.cpp exports them.
#pragma once

#include "errors.hpp"
#include "csv.hpp"
#include "synthetic.hpp"

#include <glia/plugin.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace glia::core {

// Runs f, turning a CoreError from the plain library into the glia::Error of the same kind.
template <class F>
decltype(auto) translate_errors(F&& f) {
  try {
    return f();
  } catch (const CoreError& e) {
    switch (e.kind()) {
      case ErrorKind::config: throw glia::config_error(e.what());
      case ErrorKind::data: throw glia::data_error(e.what());
      case ErrorKind::io: throw glia::io_error(e.what());
      case ErrorKind::numeric: throw glia::numeric_error(e.what());
    }
    throw;
  }
}

// Calls f.template operator()<T>() with T the C++ type of a GLIA_DTYPE_* bit.
template <class F>
decltype(auto) with_dtype(uint32_t bit, F&& f) {
  switch (bit) {
    case dtype::f32: return f.template operator()<float>();
    case dtype::f64: return f.template operator()<double>();
    case dtype::i32: return f.template operator()<int32_t>();
    case dtype::i64: return f.template operator()<int64_t>();
    case dtype::u8: return f.template operator()<uint8_t>();
    default: throw glia::data_error("unsupported dtype");
  }
}

// A C-contiguous copy of an input's bytes in its own dtype, whatever its strides.
std::vector<unsigned char> contiguous_bytes(const TensorRef& t);

// Class labels from an integer input, or a floating-point one holding integer values; (N) or
// (N, 1).
std::vector<int64_t> read_labels(const TensorRef& t);

struct ReadCsv {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string path;
  CsvOptions options;
};

struct ReadNpy {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string path;
};

struct WriteNpy {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string path;
};

struct ReadIdx {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  std::string path;
  int64_t limit = 0;
  bool flatten = false;
};

struct Split {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  double test_fraction = 0.25;
  bool stratify = false;
  bool shuffle = true;
};

struct Standardize {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
};

struct OneHot {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  int64_t classes = 0;
};

struct Synthetic {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  SyntheticSpec spec;
};

struct RegressionMetrics {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
};

struct ClassificationMetrics {
  static Descriptor describe();
  void configure(const Params& p);
  void run(Call& call);
  int64_t classes = 0;
};

}  // namespace glia::core
