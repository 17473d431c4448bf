#include <glia/nn/safetensors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace glia::nn::safetensors {
using json = nlohmann::json;

namespace {
constexpr DType kAll[] = {DType::BOOL, DType::U8,  DType::I8,  DType::I16, DType::U16,
                          DType::F16,  DType::BF16, DType::I32, DType::U32, DType::F32,
                          DType::F64,  DType::I64, DType::U64};
// Headers beyond this are refused as corrupt (the reference implementation's limit).
constexpr uint64_t kMaxHeader = 100'000'000;

[[noreturn]] void bad(const std::string& what) {
  throw std::runtime_error("safetensors: " + what);
}

DType dtype_from_name(const std::string& name) {
  for (DType d : kAll)
    if (name == dtype_name(d)) return d;
  bad("unknown dtype '" + name + "'");
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) mant <<= 1, --exp;
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

template <class S, class T>
void convert(const std::string& bytes, T* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    S v;
    std::memcpy(&v, bytes.data() + i * sizeof(S), sizeof(S));
    out[i] = static_cast<T>(v);
  }
}
}  // namespace

const char* dtype_name(DType d) {
  switch (d) {
    case DType::BOOL: return "BOOL";
    case DType::U8: return "U8";
    case DType::I8: return "I8";
    case DType::I16: return "I16";
    case DType::U16: return "U16";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::U32: return "U32";
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::U64: return "U64";
  }
  return "?";
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::BOOL: case DType::U8: case DType::I8: return 1;
    case DType::I16: case DType::U16: case DType::F16: case DType::BF16: return 2;
    case DType::I32: case DType::U32: case DType::F32: return 4;
    case DType::F64: case DType::I64: case DType::U64: return 8;
  }
  return 0;
}

size_t TensorData::numel() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string serialize(const File& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name == "__metadata__") bad("a tensor cannot be named __metadata__");
    if (t.bytes.size() != t.numel() * dtype_size(t.dtype))
      bad("tensor '" + name + "' has " + std::to_string(t.bytes.size()) + " bytes for " +
          std::to_string(t.numel()) + " elements of " + dtype_name(t.dtype));
    header[name] = {{"dtype", dtype_name(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::string out(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out += text;
  for (const auto& [name, t] : file.tensors) out += t.bytes;
  return out;
}

File parse(std::string_view bytes) {
  if (bytes.size() < 8) bad("file is truncated: " + std::to_string(bytes.size()) + " bytes, no header length");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxHeader) bad("header length " + std::to_string(n) + " is implausible (corrupt file?)");
  if (8 + n > bytes.size())
    bad("file is truncated: header of " + std::to_string(n) + " bytes but only " +
        std::to_string(bytes.size() - 8) + " follow");
  json header;
  try {
    header = json::parse(bytes.substr(8, n));
  } catch (const json::exception& e) {
    bad(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) bad("header is not a JSON object");
  const std::string_view data = bytes.substr(8 + n);
  File file;
  struct Span { uint64_t begin, end; std::string name; };
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) bad("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) bad("__metadata__ value of '" + k + "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      bad(where + " needs dtype, shape and data_offsets");
    TensorData t;
    if (!entry["dtype"].is_string()) bad(where + ": dtype is not a string");
    t.dtype = dtype_from_name(entry["dtype"].get<std::string>());
    if (!entry["shape"].is_array()) bad(where + ": shape is not an array");
    for (const json& d : entry["shape"]) {
      if (!d.is_number_unsigned()) bad(where + ": shape has a non-integer or negative dimension");
      t.shape.push_back(d.get<int64_t>());
    }
    const json& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(where + ": data_offsets must be two non-negative integers");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) bad(where + ": data_offsets are reversed");
    if (end > data.size())
      bad("file is truncated: " + where + " ends at byte " + std::to_string(end) + " of the data but only " +
          std::to_string(data.size()) + " are present");
    if (end - begin != t.numel() * dtype_size(t.dtype))
      bad(where + ": shape and dtype need " + std::to_string(t.numel() * dtype_size(t.dtype)) +
          " bytes but data_offsets span " + std::to_string(end - begin));
    t.bytes.assign(data.substr(begin, end - begin));
    spans.push_back({begin, end, name});
    file.tensors.emplace(name, std::move(t));
  }
  // The tensors must tile the data exactly: no gaps, no overlaps, nothing left over.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const Span& s : spans) {
    if (s.begin != expect)
      bad("tensor '" + s.name + "' starts at byte " + std::to_string(s.begin) + ", expected " +
          std::to_string(expect) + " (overlapping or non-contiguous data)");
    expect = s.end;
  }
  if (expect != data.size())
    bad("data section has " + std::to_string(data.size()) + " bytes but the tensors cover " +
        std::to_string(expect));
  return file;
}

File read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "' for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("error reading '" + path + "'");
  try {
    return parse(bytes);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

void write_file(const std::string& path, const File& file) {
  const std::string bytes = serialize(file);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("error writing '" + path + "'");
}

template <class T>
TensorData from_tensor(const Tensor<T>& t) {
  TensorData d;
  d.dtype = std::is_same_v<T, float> ? DType::F32 : DType::F64;
  for (size_t s : t.shape()) d.shape.push_back(int64_t(s));
  d.bytes.assign(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(T));
  return d;
}

template <class T>
Tensor<T> to_tensor(const TensorData& d) {
  Shape shape;
  for (int64_t s : d.shape) shape.push_back(size_t(s));
  Tensor<T> t = Tensor<T>::from_shape(shape);
  const size_t n = d.numel();
  if (d.bytes.size() != n * dtype_size(d.dtype)) bad("tensor data does not match its shape");
  T* out = t.data();
  switch (d.dtype) {
    case DType::F32: convert<float>(d.bytes, out, n); break;
    case DType::F64: convert<double>(d.bytes, out, n); break;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, d.bytes.data() + 2 * i, 2);
        out[i] = T(half_to_float(h));
      }
      break;
    case DType::BF16:  // the top half of a float32
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, d.bytes.data() + 2 * i, 2);
        out[i] = T(std::bit_cast<float>(uint32_t(h) << 16));
      }
      break;
    case DType::BOOL: case DType::U8: convert<uint8_t>(d.bytes, out, n); break;
    case DType::I8: convert<int8_t>(d.bytes, out, n); break;
    case DType::I16: convert<int16_t>(d.bytes, out, n); break;
    case DType::U16: convert<uint16_t>(d.bytes, out, n); break;
    case DType::I32: convert<int32_t>(d.bytes, out, n); break;
    case DType::U32: convert<uint32_t>(d.bytes, out, n); break;
    case DType::I64: convert<int64_t>(d.bytes, out, n); break;
    case DType::U64: convert<uint64_t>(d.bytes, out, n); break;
  }
  return t;
}

template TensorData from_tensor<float>(const Tensor<float>&);
template TensorData from_tensor<double>(const Tensor<double>&);
template Tensor<float> to_tensor<float>(const TensorData&);
template Tensor<double> to_tensor<double>(const TensorData&);

}  // namespace glia::nn::safetensors
