// NPY files (numpy's .npy format): an atomic writer (format v1.0, little-endian, C order) and a
// reader for versions 1.0-3.0 that returns C-ordered little-endian bytes whatever the file's
// order and byte order. Plain C++: no SDK dependency, so the host can compile npy.cpp in too.
// Errors are glia::core::CoreError (errors.hpp): kind io for unreadable/unwritable files, kind
// data for malformed contents or an unsupported dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace glia::core {

enum class npy_dtype { f32, f64, i32, i64, u8 };

std::size_t npy_itemsize(npy_dtype dtype) noexcept;
// numpy's name: "float32", "float64", "int32", "int64", "uint8".
const char* npy_dtype_name(npy_dtype dtype) noexcept;

struct npy_array {
  npy_dtype dtype = npy_dtype::f64;
  std::vector<int64_t> shape;        // empty for a 0-d array (one element)
  std::vector<unsigned char> bytes;  // C order, little-endian, size() * itemsize bytes
  int64_t size() const noexcept;     // number of elements
};

// The v1.0 header (magic, version, length, padded dict) for data of this dtype and shape; the
// header length is a multiple of 64 so the data that follows is aligned.
std::string npy_header(npy_dtype dtype, std::span<const int64_t> shape);

// Writes `data` (C-contiguous, native little-endian) to `path` atomically: the bytes go to
// "<path>.tmp-<pid>" which is then renamed over `path`. The parent folder must exist.
void write_npy(const std::filesystem::path& path, const void* data, npy_dtype dtype,
               std::span<const int64_t> shape);

// Reads an NPY file of dtype float32, float64, int32, int64 or uint8, any rank.
npy_array read_npy(const std::filesystem::path& path);

// Same as read_npy from bytes already in memory; `source` names them in error messages.
npy_array parse_npy(std::span<const unsigned char> file, const std::string& source);

}  // namespace glia::core
