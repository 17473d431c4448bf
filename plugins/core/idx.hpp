// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain: a big-endian header
// (two zero bytes, an element-type byte, a rank byte, one 32-bit size per dim) and the values.
// Plain C++ on zlib (no SDK); errors are glia::core::CoreError (errors.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace glia::core {

enum class idx_type : uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

struct IdxArray {
  idx_type type = idx_type::u8;
  std::vector<int64_t> dims;         // dims[0] counts items (images, labels)
  std::vector<unsigned char> bytes;  // the values in host byte order, C order
  int64_t size() const noexcept;     // number of values
};

// Reads the first `limit` items (all when limit <= 0). io error when the file cannot be opened
// or the gzip stream is corrupt, data error for a bad magic or truncated data.
IdxArray read_idx(const std::filesystem::path& path, int64_t limit = 0);

// The values as float; uint8 values are divided by 255 when scale_u8 (pixels into [0, 1]).
void idx_to_float(const IdxArray& a, bool scale_u8, float* out);
// The values as int64 (class labels). Data error for a floating-point array.
void idx_to_int64(const IdxArray& a, int64_t* out);

}  // namespace glia::core
