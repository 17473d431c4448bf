// xtensor views over glia tensors, without copies. Kept apart from plugin.hpp so that plugins
// that do not use xtensor do not pay for its templates.
#pragma once

#include <glia/plugin.hpp>
#include <xtensor/xadapt.hpp>

namespace glia {

// A read-only xtensor adaptor over an input of exactly type T (any strides).
template <class T>
auto xview(const TensorRef& t) {
  if (t.dtype() != dtype_bit(dl_type_of<T>()))
    throw data_error("input '" + t.name() + "' is " + dtype_name(t.dtype()) + ", expected " +
                     dtype_name(dtype_bit(dl_type_of<T>())));
  const DLTensor* raw = t.raw();
  const T* p = reinterpret_cast<const T*>(static_cast<const char*>(raw->data) + raw->byte_offset);
  std::vector<size_t> shape(raw->shape, raw->shape + raw->ndim);
  std::vector<std::ptrdiff_t> strides;
  for (int64_t s : t.strides()) strides.push_back(static_cast<std::ptrdiff_t>(s));
  return xt::adapt(p, static_cast<size_t>(t.size()), xt::no_ownership(), shape, strides);
}

// A writable xtensor adaptor over a host-allocated output.
template <class T>
auto xview(OutTensor<T>& t) {
  std::vector<size_t> shape;
  for (int64_t d : t.shape()) shape.push_back(static_cast<size_t>(d));
  return xt::adapt(t.data(), static_cast<size_t>(t.size()), xt::no_ownership(), shape);
}

}  // namespace glia
