#include "npy.hpp"

#include "errors.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

namespace glia::core {

static_assert(std::endian::native == std::endian::little, "NPY code assumes a little-endian host");

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

const char* descr_of(npy_dtype dtype) {
  switch (dtype) {
    case npy_dtype::f32: return "<f4";
    case npy_dtype::f64: return "<f8";
    case npy_dtype::i32: return "<i4";
    case npy_dtype::i64: return "<i8";
    case npy_dtype::u8: return "|u1";
  }
  return "?";
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Element count of `shape`, or -1 when a dim is negative or the count overflows.
int64_t element_count(std::span<const int64_t> shape, std::size_t itemsize) {
  int64_t n = 1;
  const int64_t limit = std::numeric_limits<int64_t>::max() / static_cast<int64_t>(itemsize);
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > limit / d) return -1;
    n *= d;
  }
  return n;
}

struct Header {
  npy_dtype dtype;
  bool big_endian = false;
  bool fortran = false;
  std::vector<int64_t> shape;
  std::size_t data_offset = 0;
};

// A parser for the Python dict literal numpy writes: {'descr': '<f8', 'fortran_order': False,
// 'shape': (3, 4), }
class DictParser {
 public:
  DictParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  Header parse() {
    Header h{};
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (peek() == '[') fail("structured dtypes are not supported");
        parse_descr(quoted(), h);
        have_descr = true;
      } else if (key == "fortran_order") {
        if (s_.substr(pos_, 4) == "True") h.fortran = true, pos_ += 4;
        else if (s_.substr(pos_, 5) == "False") h.fortran = false, pos_ += 5;
        else fail("fortran_order is neither True nor False");
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    if (!have_descr || !have_order || !have_shape)
      fail("header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw data_failure(source_ + ": malformed NPY header: " + why);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string quoted() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> dims;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      int64_t v = 0;
      bool any = false;
      while (peek() >= '0' && peek() <= '9') {
        const int digit = peek() - '0';
        if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
        v = v * 10 + digit;
        any = true;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix
      if (!any) fail("shape holds something other than non-negative integers");
      dims.push_back(v);
      skip_space();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') fail("expected ',' or ')' in shape");
    }
    ++pos_;
    return dims;
  }
  void parse_descr(const std::string& d, Header& h) {
    std::string_view t = d;
    if (!t.empty() && (t[0] == '<' || t[0] == '>' || t[0] == '|' || t[0] == '=')) {
      h.big_endian = t[0] == '>';
      t.remove_prefix(1);
    }
    if (t == "f4") h.dtype = npy_dtype::f32;
    else if (t == "f8") h.dtype = npy_dtype::f64;
    else if (t == "i4") h.dtype = npy_dtype::i32;
    else if (t == "i8") h.dtype = npy_dtype::i64;
    else if (t == "u1") h.dtype = npy_dtype::u8;
    else
      throw data_failure(source_ + ": unsupported NPY dtype '" + d +
                         "' (glia reads float32, float64, int32, int64 and uint8)");
    if (t == "u1") h.big_endian = false;
  }

  std::string_view s_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

// Parses the preamble (magic, version, header length) and the header dict at the start of
// `head`, which must hold at least the whole header.
Header parse_header(std::span<const unsigned char> head, const std::string& source) {
  if (head.size() < 10 || std::memcmp(head.data(), kMagic, 6) != 0)
    throw data_failure(source + ": not an NPY file (bad magic; expected \\x93NUMPY)");
  const unsigned major = head[6];
  std::size_t len = 0, start = 0;
  if (major == 1) {
    len = head[8] | (static_cast<std::size_t>(head[9]) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (head.size() < 12) throw data_failure(source + ": truncated NPY header");
    len = head[8] | (static_cast<std::size_t>(head[9]) << 8) |
          (static_cast<std::size_t>(head[10]) << 16) | (static_cast<std::size_t>(head[11]) << 24);
    start = 12;
  } else {
    throw data_failure(source + ": unsupported NPY format version " + std::to_string(major) + "." +
                       std::to_string(head[7]));
  }
  if (head.size() < start + len) throw data_failure(source + ": truncated NPY header");
  std::string_view text(reinterpret_cast<const char*>(head.data() + start), len);
  Header h = DictParser(text, source).parse();
  h.data_offset = start + len;
  return h;
}

// Turns the raw data of `h` in `a.bytes` into C order, little-endian.
void normalise(const Header& h, npy_array& a) {
  const std::size_t item = npy_itemsize(a.dtype);
  if (h.big_endian && item > 1) {
    for (std::size_t off = 0; off < a.bytes.size(); off += item)
      std::reverse(a.bytes.begin() + off, a.bytes.begin() + off + item);
  }
  if (!h.fortran || a.shape.size() < 2) return;
  // Fortran order: element (i0..ik) sits at i0 + d0*(i1 + d1*(i2 ...)). Walk the C-order
  // multi-index and follow the Fortran offset incrementally.
  const std::size_t nd = a.shape.size();
  std::vector<int64_t> fstride(nd), idx(nd, 0);
  int64_t acc = 1;
  for (std::size_t d = 0; d < nd; ++d) fstride[d] = acc, acc *= a.shape[d];
  std::vector<unsigned char> out(a.bytes.size());
  const int64_t n = a.size();
  int64_t src = 0;
  for (int64_t flat = 0; flat < n; ++flat) {
    std::memcpy(out.data() + flat * item, a.bytes.data() + src * item, item);
    for (std::size_t d = nd; d-- > 0;) {
      if (++idx[d] < a.shape[d]) {
        src += fstride[d];
        break;
      }
      src -= fstride[d] * (a.shape[d] - 1);
      idx[d] = 0;
    }
  }
  a.bytes.swap(out);
}

std::size_t checked_data_bytes(const Header& h, const std::string& source) {
  const int64_t n = element_count(h.shape, npy_itemsize(h.dtype));
  if (n < 0) throw data_failure(source + ": NPY shape " + shape_text(h.shape) + " is too large");
  return static_cast<std::size_t>(n) * npy_itemsize(h.dtype);
}

std::string truncated(const std::string& source, const Header& h, std::size_t expected,
                      std::size_t found) {
  return source + ": truncated NPY data: shape " + shape_text(h.shape) + " of " +
         npy_dtype_name(h.dtype) + " needs " + std::to_string(expected) + " bytes, the file holds " +
         std::to_string(found);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

std::size_t npy_itemsize(npy_dtype dtype) noexcept {
  switch (dtype) {
    case npy_dtype::f32: return 4;
    case npy_dtype::f64: return 8;
    case npy_dtype::i32: return 4;
    case npy_dtype::i64: return 8;
    case npy_dtype::u8: return 1;
  }
  return 1;
}

const char* npy_dtype_name(npy_dtype dtype) noexcept {
  switch (dtype) {
    case npy_dtype::f32: return "float32";
    case npy_dtype::f64: return "float64";
    case npy_dtype::i32: return "int32";
    case npy_dtype::i64: return "int64";
    case npy_dtype::u8: return "uint8";
  }
  return "unknown";
}

int64_t npy_array::size() const noexcept {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string npy_header(npy_dtype dtype, std::span<const int64_t> shape) {
  std::string dict = std::string("{'descr': '") + descr_of(dtype) +
                     "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // Pad with spaces and a final newline so that magic + version + length + dict is a
  // multiple of 64 bytes.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  if (dict.size() > 0xFFFF) throw data_failure("NPY header too long for format v1.0");
  std::string out(reinterpret_cast<const char*>(kMagic), 6);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xFF));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict;
}

void write_npy(const std::filesystem::path& path, const void* data, npy_dtype dtype,
               std::span<const int64_t> shape) {
  const int64_t n = element_count(shape, npy_itemsize(dtype));
  if (n < 0) throw data_failure("cannot write '" + path.string() + "': invalid shape " + shape_text(shape));
  const std::string header = npy_header(dtype, shape);
  const std::size_t nbytes = static_cast<std::size_t>(n) * npy_itemsize(dtype);

  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(tmp.c_str(), "wb"));
  if (!f) throw io_failure("cannot write '" + path.string() + "': " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), f.get()) == header.size();
  if (ok && nbytes) ok = std::fwrite(data, 1, nbytes, f.get()) == nbytes;
  const int write_errno = errno;
  const bool closed = std::fclose(f.release()) == 0;
  if (!ok || !closed) {
    std::filesystem::remove(tmp);
    throw io_failure("cannot write '" + path.string() + "': " +
                     std::strerror(ok ? errno : write_errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw io_failure("cannot write '" + path.string() + "': " + ec.message());
  }
}

npy_array parse_npy(std::span<const unsigned char> file, const std::string& source) {
  const Header h = parse_header(file, source);
  const std::size_t expected = checked_data_bytes(h, source);
  const std::size_t found = file.size() - h.data_offset;
  if (found < expected) throw data_failure(truncated(source, h, expected, found));
  if (found > expected)
    throw data_failure(source + ": " + std::to_string(found - expected) +
                       " unexpected bytes after the NPY data");
  npy_array a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(h.data_offset), file.end());
  normalise(h, a);
  return a;
}

npy_array read_npy(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw io_failure("cannot open '" + source + "': " + std::strerror(errno));
  if (std::filesystem::is_directory(path)) throw io_failure("cannot read '" + source + "': it is a folder");
  std::error_code ec;
  const auto file_size = static_cast<std::size_t>(std::filesystem::file_size(path, ec));
  if (ec) throw io_failure("cannot read '" + source + "': " + ec.message());

  // Preamble first, then the header, then the data straight into the array.
  std::vector<unsigned char> head(std::min<std::size_t>(file_size, 12));
  if (std::fread(head.data(), 1, head.size(), f.get()) != head.size())
    throw io_failure("cannot read '" + source + "': " + std::strerror(errno));
  if (head.size() < 10 || std::memcmp(head.data(), kMagic, 6) != 0)
    throw data_failure(source + ": not an NPY file (bad magic; expected \\x93NUMPY)");
  const std::size_t len_bytes = head[6] == 1 ? 2 : 4;
  std::size_t hlen = head[8] | (static_cast<std::size_t>(head[9]) << 8);
  if (len_bytes == 4 && head.size() == 12)
    hlen |= (static_cast<std::size_t>(head[10]) << 16) | (static_cast<std::size_t>(head[11]) << 24);
  const std::size_t header_total = std::min(file_size, 8 + len_bytes + hlen);
  head.resize(header_total);
  if (header_total > 12 &&
      std::fread(head.data() + 12, 1, header_total - 12, f.get()) != header_total - 12)
    throw io_failure("cannot read '" + source + "': " + std::strerror(errno));
  const Header h = parse_header(head, source);
  if (std::fseek(f.get(), static_cast<long>(h.data_offset), SEEK_SET) != 0)
    throw io_failure("cannot read '" + source + "': " + std::strerror(errno));

  const std::size_t expected = checked_data_bytes(h, source);
  const std::size_t found = file_size - h.data_offset;
  if (found < expected) throw data_failure(truncated(source, h, expected, found));
  if (found > expected)
    throw data_failure(source + ": " + std::to_string(found - expected) +
                       " unexpected bytes after the NPY data");
  npy_array a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  a.bytes.resize(expected);
  if (expected && std::fread(a.bytes.data(), 1, expected, f.get()) != expected)
    throw io_failure("cannot read '" + source + "': " + std::strerror(errno));
  normalise(h, a);
  return a;
}

}  // namespace glia::core
