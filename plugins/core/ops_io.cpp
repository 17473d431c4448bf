// io.read_csv, io.read_npy, io.write_npy, io.read_idx.
#include "core_ops.hpp"
#include "idx.hpp"
#include "npy.hpp"

#include <cstring>

namespace glia::core {

namespace {

npy_dtype npy_of(uint32_t bit) {
  switch (bit) {
    case dtype::f32: return npy_dtype::f32;
    case dtype::f64: return npy_dtype::f64;
    case dtype::i32: return npy_dtype::i32;
    case dtype::i64: return npy_dtype::i64;
    case dtype::u8: return npy_dtype::u8;
    default: throw data_error("unsupported dtype");
  }
}

uint32_t bit_of(npy_dtype t) {
  switch (t) {
    case npy_dtype::f32: return dtype::f32;
    case npy_dtype::f64: return dtype::f64;
    case npy_dtype::i32: return dtype::i32;
    case npy_dtype::i64: return dtype::i64;
    case npy_dtype::u8: return dtype::u8;
  }
  return 0;
}

}  // namespace

std::vector<unsigned char> contiguous_bytes(const TensorRef& t) {
  return with_dtype(t.dtype(), [&]<class T>() {
    std::vector<unsigned char> out(static_cast<size_t>(t.size()) * sizeof(T));
    if (out.empty()) return out;
    if (t.contiguous()) std::memcpy(out.data(), t.data<T>(), out.size());
    else {
      const std::vector<T> v = t.to_vector<T>();
      std::memcpy(out.data(), v.data(), out.size());
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// io.read_csv

Descriptor ReadCsv::describe() {
  return Descriptor("io.read_csv", "Reads a numeric CSV table with a header row into features x and targets y.")
      .doc("The first row names the columns. Every kept cell must be a finite number; text columns "
           "must be dropped (drop) or left out (columns). Handles CRLF line ends, quoted fields, "
           "a UTF-8 byte-order mark and blank lines. Errors name <file>:<line> and the column.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_path("path", "", "The CSV file (relative to the pipeline file's folder).")
      .required()
      .param_string("target", "",
                    "Name of the target column, or several comma-separated for a multi-output "
                    "target; empty: no y output.")
      .param_string("columns", "",
                    "Comma-separated feature columns to keep, in this order; empty: every column "
                    "that is neither a target nor dropped, in file order.")
      .param_string("drop", "", "Comma-separated columns to skip, e.g. text or id columns.")
      .output("x", dtype::f64, 2, "N,D", "Features: one row per data line, one column per feature.")
      .output("y", dtype::f64, -1, "N,...",
              "Targets: (N) for one target column, (N,T) for T of them. Not produced when target "
              "is empty.")
      .optional();
}

void ReadCsv::configure(const Params& p) {
  path = p.string("path");
  if (path.empty()) throw config_error("path: no CSV file given");
  options.target = split_names(p.string("target"));
  options.columns = split_names(p.string("columns"));
  options.drop = split_names(p.string("drop"));
  translate_errors([&] { check_csv_options(options); });
}

void ReadCsv::run(Call& call) {
  const CsvTable t = translate_errors([&] { return read_csv(path, options); });
  const auto n = t.rows;
  const auto d = static_cast<int64_t>(t.feature_names.size());
  auto x = call.output<double>("x", {n, d});
  std::memcpy(x.data(), t.x.data(), t.x.size() * sizeof(double));
  if (!t.target_names.empty()) {
    const auto targets = static_cast<int64_t>(t.target_names.size());
    auto y = call.output<double>("y", targets == 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{n, targets});
    std::memcpy(y.data(), t.y.data(), t.y.size() * sizeof(double));
  }
  call.info("read " + std::to_string(n) + " rows, " + std::to_string(d) + " features from " + path);
}

// ---------------------------------------------------------------------------------------------
// io.read_npy

Descriptor ReadNpy::describe() {
  return Descriptor("io.read_npy", "Reads a numpy .npy array file.")
      .doc("NPY format 1.0 to 3.0; dtype float32, float64, int32, int64 or uint8, any byte order, "
           "any rank, C or Fortran order (the output is always C order, in the file's dtype).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_path("path", "", "The .npy file (relative to the pipeline file's folder).")
      .required()
      .output("x", dtype::numeric, -1, nullptr, "The array, with the file's dtype and shape.");
}

void ReadNpy::configure(const Params& p) {
  path = p.string("path");
  if (path.empty()) throw config_error("path: no .npy file given");
}

void ReadNpy::run(Call& call) {
  const npy_array a = translate_errors([&] { return read_npy(path); });
  with_dtype(bit_of(a.dtype), [&]<class T>() {
    auto x = call.output<T>("x", a.shape);
    if (!a.bytes.empty()) std::memcpy(x.data(), a.bytes.data(), a.bytes.size());
  });
}

// ---------------------------------------------------------------------------------------------
// io.write_npy

Descriptor WriteNpy::describe() {
  return Descriptor("io.write_npy", "Writes a tensor to a numpy .npy file.")
      .doc("NPY format 1.0, little-endian, C order, in the tensor's own dtype; np.load reads it. "
           "The file is written atomically (a temporary file renamed into place).")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_string("path", "",
                    "Output file. A relative path lands in the stage's artifact folder of the run "
                    "(folders created as needed); an absolute path is used as given and its folder "
                    "must exist.")
      .required()
      .input("x", dtype::numeric, -1, nullptr, "The tensor to save (any dtype, any rank).");
}

void WriteNpy::configure(const Params& p) {
  path = p.string("path");
  if (path.empty()) throw config_error("path: no output file given");
}

void WriteNpy::run(Call& call) {
  const TensorRef x = call.input("x");
  std::filesystem::path target(path);
  if (target.is_relative()) {
    target = call.artifact_dir() / target;
    std::filesystem::create_directories(target.parent_path());
  }
  const std::vector<unsigned char> bytes = contiguous_bytes(x);
  const std::vector<int64_t> shape = x.shape();
  translate_errors([&] { write_npy(target, bytes.data(), npy_of(x.dtype()), shape); });
  call.info("wrote " + target.string());
}

// ---------------------------------------------------------------------------------------------
// io.read_idx

Descriptor ReadIdx::describe() {
  return Descriptor("io.read_idx", "Reads an IDX file (MNIST, Fashion-MNIST), gzip-compressed or plain.")
      .doc("An IDX file of rank >= 2 (images) goes to x as float32, uint8 values scaled into "
           "[0, 1] and other types converted as they are; a rank-1 file of integers (labels) goes "
           "to y as int64. Debian's dataset-fashion-mnist ships them under "
           "/usr/share/datasets/fashion-mnist/.")
      .capabilities(GLIA_CAP_DETERMINISTIC)
      .param_path("path", "", "The IDX file, .gz or uncompressed.")
      .required()
      .param_int("limit", 0, "Read only the first `limit` items; 0 reads them all.", 0)
      .param_bool("flatten", false, "Images as (N, H*W) rows instead of (N, H, W).")
      .output("x", dtype::f32, -1, "N,...",
              "Images (N, H, W), or (N, H*W) with flatten; produced for files of rank >= 2.")
      .optional()
      .output("y", dtype::i64, 1, "N", "Labels (N); produced for rank-1 files.")
      .optional();
}

void ReadIdx::configure(const Params& p) {
  path = p.string("path");
  if (path.empty()) throw config_error("path: no IDX file given");
  limit = p.integer("limit");
  if (limit < 0) throw config_error("limit must be >= 0 (0 reads every item)");
  flatten = p.boolean("flatten");
}

void ReadIdx::run(Call& call) {
  translate_errors([&] {
    const IdxArray a = read_idx(path, limit);
    if (a.dims.size() == 1) {
      if (a.type == idx_type::f32 || a.type == idx_type::f64)
        throw data_failure(path + ": a rank-1 IDX file of floating-point values is not a label file");
      auto y = call.output<int64_t>("y", a.dims);
      idx_to_int64(a, y.data());
      call.info("read " + std::to_string(a.dims[0]) + " labels from " + path);
      return;
    }
    std::vector<int64_t> shape = a.dims;
    if (flatten) {
      int64_t per_item = 1;
      for (size_t i = 1; i < a.dims.size(); ++i) per_item *= a.dims[i];
      shape = {a.dims[0], per_item};
    }
    auto x = call.output<float>("x", shape);
    idx_to_float(a, true, x.data());
    call.info("read " + std::to_string(a.dims[0]) + " items from " + path);
  });
}

}  // namespace glia::core
