// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
// then the raw little-endian tensor data, contiguous and in offset order.
#pragma once

#include <glia/nn/tensor.hpp>

#include <map>
#include <string_view>

namespace glia::nn::safetensors {

enum class DType { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };
const char* dtype_name(DType d);
size_t dtype_size(DType d);

struct TensorData {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian, row-major
  size_t numel() const;
};

struct File {
  std::map<std::string, std::string> metadata;
  std::map<std::string, TensorData> tensors;
};

std::string serialize(const File& file);
// Parses and validates: throws std::runtime_error saying what is wrong for a truncated file, a
// bad header, an unknown dtype, offsets that do not match the shape or do not tile the data.
File parse(std::string_view bytes);
File read_file(const std::string& path);   // + std::runtime_error naming the path on I/O errors
void write_file(const std::string& path, const File& file);

// Tensor conversions. to_tensor converts any floating or integer dtype to T.
template <class T>
TensorData from_tensor(const Tensor<T>& t);
template <class T>
Tensor<T> to_tensor(const TensorData& data);

}  // namespace glia::nn::safetensors
