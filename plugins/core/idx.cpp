#include "idx.hpp"

#include "errors.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

namespace glia::core {

namespace {

size_t type_size(idx_type t) {
  switch (t) {
    case idx_type::u8: case idx_type::i8: return 1;
    case idx_type::i16: return 2;
    case idx_type::i32: case idx_type::f32: return 4;
    case idx_type::f64: return 8;
  }
  return 1;
}

bool known_type(uint8_t t) {
  return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
}

std::string hex(unsigned v, int digits) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return "0x" + s;
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

class GzReader {
 public:
  explicit GzReader(const std::filesystem::path& path) : source_(path.string()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw io_failure("cannot read '" + source_ + "': it is a folder");
    errno = 0;
    f_.reset(gzopen(path.c_str(), "rb"));
    if (!f_) throw io_failure("cannot open '" + source_ + "': " + std::strerror(errno ? errno : ENOENT));
    gzbuffer(f_.get(), 1 << 18);
  }
  // Reads up to n bytes; returns how many were read before the end of the data.
  size_t read(unsigned char* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(f_.get(), out + got, chunk);
      if (r < 0) {
        int code = 0;
        const char* msg = gzerror(f_.get(), &code);
        throw io_failure("cannot read '" + source_ + "': " + (msg ? msg : "zlib error"));
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
  // zlib reports a gzip stream cut short as Z_BUF_ERROR once the data runs out.
  bool stream_cut_short() {
    int code = 0;
    gzerror(f_.get(), &code);
    return code == Z_BUF_ERROR;
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::unique_ptr<gzFile_s, GzCloser> f_;
};

uint32_t big_endian_u32(const unsigned char* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

int64_t IdxArray::size() const noexcept {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

IdxArray read_idx(const std::filesystem::path& path, int64_t limit) {
  GzReader in(path);
  const std::string& source = in.source();
  unsigned char magic[4];
  if (in.read(magic, 4) < 4) throw data_failure(source + ": too short to be an IDX file");
  if (magic[0] != 0 || magic[1] != 0 || !known_type(magic[2]) || magic[3] == 0)
    throw data_failure(source + ": not an IDX file (magic " + hex(big_endian_u32(magic), 8) +
                       "; expected 0x0000TTNN with element type TT in 08,09,0b,0c,0d,0e and "
                       "rank NN >= 1)");
  IdxArray a;
  a.type = static_cast<idx_type>(magic[2]);
  const int rank = magic[3];
  std::vector<unsigned char> dim_bytes(static_cast<size_t>(rank) * 4);
  if (in.read(dim_bytes.data(), dim_bytes.size()) < dim_bytes.size())
    throw data_failure(source + ": truncated IDX header (" + std::to_string(rank) + " dims expected)");
  uint64_t per_item = type_size(a.type);
  for (int d = 0; d < rank; ++d) {
    a.dims.push_back(big_endian_u32(dim_bytes.data() + 4 * d));
    if (d > 0) per_item *= static_cast<uint64_t>(a.dims.back());
  }
  const int64_t stored_items = a.dims[0];
  if (limit > 0 && limit < a.dims[0]) a.dims[0] = limit;

  const uint64_t nbytes = per_item * static_cast<uint64_t>(a.dims[0]);
  if (per_item > (uint64_t{1} << 40) || nbytes > (uint64_t{1} << 40))
    throw data_failure(source + ": IDX dims are implausibly large");
  a.bytes.resize(static_cast<size_t>(nbytes));
  const size_t got = in.read(a.bytes.data(), a.bytes.size());
  if (got < a.bytes.size()) {
    const std::string why = in.stream_cut_short() ? " (the gzip stream ends early)" : "";
    throw data_failure(source + ": truncated IDX data: header announces " +
                       std::to_string(stored_items) + " items of " + std::to_string(per_item) +
                       " bytes, " + std::to_string(got / std::max<uint64_t>(per_item, 1)) +
                       " items could be read" + why);
  }
  const size_t item = type_size(a.type);
  if (item > 1 && std::endian::native == std::endian::little)
    for (size_t off = 0; off < a.bytes.size(); off += item)
      std::reverse(a.bytes.begin() + static_cast<std::ptrdiff_t>(off),
                   a.bytes.begin() + static_cast<std::ptrdiff_t>(off + item));
  return a;
}

namespace {
template <class Out, class F>
void convert(const IdxArray& a, Out* out, F&& f) {
  const size_t n = static_cast<size_t>(a.size());
  const unsigned char* b = a.bytes.data();
  switch (a.type) {
    case idx_type::u8: for (size_t i = 0; i < n; ++i) out[i] = f(b[i]); break;
    case idx_type::i8:
      for (size_t i = 0; i < n; ++i) out[i] = f(static_cast<int8_t>(b[i]));
      break;
    case idx_type::i16: {
      for (size_t i = 0; i < n; ++i) {
        int16_t v;
        std::memcpy(&v, b + 2 * i, 2);
        out[i] = f(v);
      }
      break;
    }
    case idx_type::i32: {
      for (size_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, b + 4 * i, 4);
        out[i] = f(v);
      }
      break;
    }
    case idx_type::f32: {
      for (size_t i = 0; i < n; ++i) {
        float v;
        std::memcpy(&v, b + 4 * i, 4);
        out[i] = f(v);
      }
      break;
    }
    case idx_type::f64: {
      for (size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, b + 8 * i, 8);
        out[i] = f(v);
      }
      break;
    }
  }
}
}  // namespace

void idx_to_float(const IdxArray& a, bool scale_u8, float* out) {
  if (a.type == idx_type::u8 && scale_u8) {
    const size_t n = a.bytes.size();
    const unsigned char* b = a.bytes.data();
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(b[i]) / 255.0f;
    return;
  }
  convert(a, out, [](auto v) { return static_cast<float>(v); });
}

void idx_to_int64(const IdxArray& a, int64_t* out) {
  if (a.type == idx_type::f32 || a.type == idx_type::f64)
    throw data_failure("IDX file holds floating-point values, not integer labels");
  convert(a, out, [](auto v) { return static_cast<int64_t>(v); });
}

}  // namespace glia::core
