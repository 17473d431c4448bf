// Header-only C++20 layer over the glia C ABI (glia/plugin.h).
//
// An operator is an ordinary class:
//
//   struct Scale {
//     static glia::Descriptor describe() {
//       return glia::Descriptor("demo.scale", "Multiplies a tensor by a factor.")
//           .param_float("factor", 2.0, "The factor.", -1e6, 1e6)
//           .input("x", glia::dtype::floats, -1, nullptr, "Any tensor.")
//           .output("y", glia::dtype::f64, -1, nullptr, "x times factor.");
//     }
//     void configure(const glia::Params& p) { factor = p.real("factor"); }
//     void run(glia::Call& call) {
//       auto x = call.input("x").to_vector<double>();
//       auto y = call.output<double>("y", call.input("x").shape());
//       for (size_t i = 0; i < x.size(); ++i) y[i] = factor * x[i];
//     }
//     double factor = 1;
//   };
//   GLIA_PLUGIN("demo", "0.1.0", Scale)
//
// Everything that crosses the ABI goes through noexcept trampolines: a glia::Error thrown by the
// operator becomes its status and message, any other exception becomes GLIA_ERR_INTERNAL.
#pragma once

#include <glia/plugin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace glia {

// An error with a glia status. Throw it from configure() or run().
class Error : public std::runtime_error {
 public:
  Error(glia_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  glia_status status() const noexcept { return status_; }

 private:
  glia_status status_;
};

// Shorthands for the common kinds: a bad parameter combination, bad input data.
inline Error config_error(const std::string& m) { return Error(GLIA_ERR_INVALID_ARGUMENT, m); }
inline Error data_error(const std::string& m) { return Error(GLIA_ERR_DATA, m); }
inline Error io_error(const std::string& m) { return Error(GLIA_ERR_IO, m); }
inline Error numeric_error(const std::string& m) { return Error(GLIA_ERR_NUMERIC, m); }

namespace dtype {
inline constexpr uint32_t f32 = GLIA_DTYPE_F32;
inline constexpr uint32_t f64 = GLIA_DTYPE_F64;
inline constexpr uint32_t i32 = GLIA_DTYPE_I32;
inline constexpr uint32_t i64 = GLIA_DTYPE_I64;
inline constexpr uint32_t u8 = GLIA_DTYPE_U8;
inline constexpr uint32_t floats = f32 | f64;
inline constexpr uint32_t ints = i32 | i64;
inline constexpr uint32_t numeric = floats | ints | u8;
}  // namespace dtype

// The GLIA_DTYPE_* bit of a DLDataType, 0 if glia does not carry it.
inline uint32_t dtype_bit(DLDataType t) noexcept {
  if (t.lanes != 1) return 0;
  if (t.code == kDLFloat && t.bits == 32) return dtype::f32;
  if (t.code == kDLFloat && t.bits == 64) return dtype::f64;
  if (t.code == kDLInt && t.bits == 32) return dtype::i32;
  if (t.code == kDLInt && t.bits == 64) return dtype::i64;
  if (t.code == kDLUInt && t.bits == 8) return dtype::u8;
  return 0;
}

inline const char* dtype_name(uint32_t bit) noexcept {
  switch (bit) {
    case dtype::f32: return "float32";
    case dtype::f64: return "float64";
    case dtype::i32: return "int32";
    case dtype::i64: return "int64";
    case dtype::u8: return "uint8";
    default: return "unknown";
  }
}

template <class T>
constexpr DLDataType dl_type_of() noexcept {
  if constexpr (std::is_same_v<T, float>) return {kDLFloat, 32, 1};
  else if constexpr (std::is_same_v<T, double>) return {kDLFloat, 64, 1};
  else if constexpr (std::is_same_v<T, int32_t>) return {kDLInt, 32, 1};
  else if constexpr (std::is_same_v<T, int64_t>) return {kDLInt, 64, 1};
  else if constexpr (std::is_same_v<T, uint8_t>) return {kDLUInt, 8, 1};
  else static_assert(sizeof(T) == 0, "glia tensors hold float, double, int32_t, int64_t or uint8_t");
}

// Builds a glia_operator_descriptor. Strings are copied; the built C structs point into this
// object, so keep it alive as long as the descriptor is used (GLIA_PLUGIN keeps it static).
class Descriptor {
 public:
  static constexpr double unbounded = std::numeric_limits<double>::quiet_NaN();

  Descriptor(std::string_view id, std::string_view summary) {
    c_.abi = GLIA_ABI_VERSION_INIT;
    c_.id = keep(id);
    c_.summary = keep(summary);
    c_.version = keep("0.1.0");
  }
  Descriptor(const Descriptor& o) { *this = o; }
  Descriptor& operator=(const Descriptor& o) {
    if (this == &o) return *this;
    // Rebuild by re-interning every string so the copy owns its storage.
    strings_.clear();
    lists_i_.clear();
    lists_f_.clear();
    choice_lists_.clear();
    c_ = o.c_;
    c_.id = keep(o.c_.id);
    c_.summary = keep(o.c_.summary);
    c_.doc = keep_or_null(o.c_.doc);
    c_.citation = keep_or_null(o.c_.citation);
    c_.version = keep(o.c_.version);
    params_ = o.params_;
    for (auto& p : params_) intern_param(p);
    ports_ = o.ports_;
    for (auto& p : ports_) {
      p.name = keep(p.name);
      p.doc = keep_or_null(p.doc);
      p.shape = keep_or_null(p.shape);
      p.media_type = keep_or_null(p.media_type);
    }
    return *this;
  }

  Descriptor& doc(std::string_view s) { c_.doc = keep(s); return *this; }
  Descriptor& citation(std::string_view s) { c_.citation = keep(s); return *this; }
  Descriptor& version(std::string_view s) { c_.version = keep(s); return *this; }
  Descriptor& capabilities(uint32_t caps) { c_.capabilities |= caps; return *this; }

  Descriptor& param_bool(std::string_view name, bool def, std::string_view doc) {
    auto& p = add_param(name, doc, GLIA_PARAM_BOOL);
    p.default_value.as.i = def ? 1 : 0;
    return *this;
  }
  Descriptor& param_int(std::string_view name, int64_t def, std::string_view doc,
                        double min = unbounded, double max = unbounded,
                        const char* unit = nullptr) {
    auto& p = add_param(name, doc, GLIA_PARAM_INT);
    p.default_value.as.i = def;
    p.min_value = min;
    p.max_value = max;
    p.unit = unit ? keep(unit) : nullptr;
    return *this;
  }
  Descriptor& param_float(std::string_view name, double def, std::string_view doc,
                          double min = unbounded, double max = unbounded,
                          const char* unit = nullptr) {
    auto& p = add_param(name, doc, GLIA_PARAM_FLOAT);
    p.default_value.as.f = def;
    p.min_value = min;
    p.max_value = max;
    p.unit = unit ? keep(unit) : nullptr;
    return *this;
  }
  Descriptor& param_string(std::string_view name, std::string_view def, std::string_view doc) {
    auto& p = add_param(name, doc, GLIA_PARAM_STRING);
    p.default_value.as.s = keep(def);
    return *this;
  }
  Descriptor& param_path(std::string_view name, std::string_view def, std::string_view doc) {
    auto& p = add_param(name, doc, GLIA_PARAM_PATH);
    p.default_value.as.s = keep(def);
    return *this;
  }
  Descriptor& param_enum(std::string_view name, std::string_view def,
                         std::initializer_list<const char*> choices, std::string_view doc) {
    auto& p = add_param(name, doc, GLIA_PARAM_ENUM);
    p.default_value.as.s = keep(def);
    auto& list = choice_lists_.emplace_back();
    for (const char* c : choices) list.push_back(keep(c));
    list.push_back(nullptr);
    p.choices = list.data();
    return *this;
  }
  Descriptor& param_ints(std::string_view name, std::vector<int64_t> def, std::string_view doc,
                         double min = unbounded, double max = unbounded) {
    auto& p = add_param(name, doc, GLIA_PARAM_INT_LIST);
    auto& list = lists_i_.emplace_back(std::move(def));
    p.default_value.count = static_cast<uint32_t>(list.size());
    p.default_value.as.ints = list.data();
    p.min_value = min;
    p.max_value = max;
    return *this;
  }
  Descriptor& param_floats(std::string_view name, std::vector<double> def, std::string_view doc,
                           double min = unbounded, double max = unbounded) {
    auto& p = add_param(name, doc, GLIA_PARAM_FLOAT_LIST);
    auto& list = lists_f_.emplace_back(std::move(def));
    p.default_value.count = static_cast<uint32_t>(list.size());
    p.default_value.as.floats = list.data();
    p.min_value = min;
    p.max_value = max;
    return *this;
  }
  // Marks the last parameter as required (its default is then only a placeholder).
  Descriptor& required() { params_.back().flags |= GLIA_PARAM_REQUIRED; return *this; }
  Descriptor& advanced() { params_.back().flags |= GLIA_PARAM_ADVANCED; return *this; }

  // ndim -1 accepts any rank; shape is symbolic ("N,D") or nullptr.
  Descriptor& input(std::string_view name, uint32_t dtypes, int32_t ndim, const char* shape,
                    std::string_view doc) {
    add_port(name, doc, GLIA_PORT_IN, dtypes, ndim, shape, nullptr);
    return *this;
  }
  Descriptor& output(std::string_view name, uint32_t dtypes, int32_t ndim, const char* shape,
                     std::string_view doc) {
    add_port(name, doc, GLIA_PORT_OUT, dtypes, ndim, shape, nullptr);
    return *this;
  }
  // A serialised model or other byte blob (1-D uint8) with a media type.
  Descriptor& blob_input(std::string_view name, const char* media_type, std::string_view doc) {
    add_port(name, doc, GLIA_PORT_IN, dtype::u8, 1, nullptr, media_type).flags |= GLIA_PORT_BLOB;
    return *this;
  }
  Descriptor& blob_output(std::string_view name, const char* media_type, std::string_view doc) {
    add_port(name, doc, GLIA_PORT_OUT, dtype::u8, 1, nullptr, media_type).flags |= GLIA_PORT_BLOB;
    return *this;
  }
  // Marks the last port optional / saved to the run folder.
  Descriptor& optional() { ports_.back().flags |= GLIA_PORT_OPTIONAL; return *this; }
  Descriptor& save() { ports_.back().flags |= GLIA_PORT_SAVE; return *this; }

  // The C descriptor; valid while this object lives and is not modified.
  const glia_operator_descriptor* c() {
    c_.n_params = static_cast<uint32_t>(params_.size());
    c_.params = params_.data();
    c_.n_ports = static_cast<uint32_t>(ports_.size());
    c_.ports = ports_.data();
    return &c_;
  }

 private:
  const char* keep(std::string_view s) { return strings_.emplace_back(s).c_str(); }
  const char* keep_or_null(const char* s) { return s ? keep(s) : nullptr; }

  void intern_param(glia_param_info& p) {
    p.name = keep(p.name);
    p.doc = keep_or_null(p.doc);
    p.unit = keep_or_null(p.unit);
    switch (p.type) {
      case GLIA_PARAM_STRING: case GLIA_PARAM_PATH: case GLIA_PARAM_ENUM:
        p.default_value.as.s = keep(p.default_value.as.s);
        break;
      case GLIA_PARAM_INT_LIST: {
        auto& l = lists_i_.emplace_back(p.default_value.as.ints,
                                        p.default_value.as.ints + p.default_value.count);
        p.default_value.as.ints = l.data();
        break;
      }
      case GLIA_PARAM_FLOAT_LIST: {
        auto& l = lists_f_.emplace_back(p.default_value.as.floats,
                                        p.default_value.as.floats + p.default_value.count);
        p.default_value.as.floats = l.data();
        break;
      }
      default: break;
    }
    if (p.choices) {
      auto& list = choice_lists_.emplace_back();
      for (auto c = p.choices; *c; ++c) list.push_back(keep(*c));
      list.push_back(nullptr);
      p.choices = list.data();
    }
  }

  glia_param_info& add_param(std::string_view name, std::string_view doc, glia_param_type type) {
    glia_param_info p{};
    p.name = keep(name);
    p.doc = keep(doc);
    p.type = type;
    p.default_value.type = type;
    p.min_value = unbounded;
    p.max_value = unbounded;
    return params_.emplace_back(p);
  }
  glia_port_info& add_port(std::string_view name, std::string_view doc, glia_port_direction dir,
                           uint32_t dtypes, int32_t ndim, const char* shape,
                           const char* media_type) {
    glia_port_info p{};
    p.name = keep(name);
    p.doc = keep(doc);
    p.direction = dir;
    p.dtypes = dtypes;
    p.ndim = ndim;
    p.shape = shape ? keep(shape) : nullptr;
    p.media_type = media_type ? keep(media_type) : nullptr;
    return ports_.emplace_back(p);
  }

  glia_operator_descriptor c_{};
  std::deque<std::string> strings_;  // deque: element addresses stay stable as it grows
  std::deque<std::vector<int64_t>> lists_i_;
  std::deque<std::vector<double>> lists_f_;
  std::deque<std::vector<const char*>> choice_lists_;
  std::vector<glia_param_info> params_;
  std::vector<glia_port_info> ports_;
};

// Parameter values handed to configure(), looked up by name.
class Params {
 public:
  Params(const glia_operator_descriptor* d, const glia_value* v, uint32_t n) : d_(d), v_(v), n_(n) {}

  bool boolean(std::string_view name) const { return at(name, GLIA_PARAM_BOOL).as.i != 0; }
  int64_t integer(std::string_view name) const { return at(name, GLIA_PARAM_INT).as.i; }
  double real(std::string_view name) const { return at(name, GLIA_PARAM_FLOAT).as.f; }
  std::string string(std::string_view name) const {
    const glia_value& v = at(name, 0);
    if (v.type != GLIA_PARAM_STRING && v.type != GLIA_PARAM_ENUM && v.type != GLIA_PARAM_PATH)
      throw Error(GLIA_ERR_INTERNAL, "parameter '" + std::string(name) + "' is not a string");
    return v.as.s ? v.as.s : "";
  }
  std::vector<int64_t> integers(std::string_view name) const {
    const glia_value& v = at(name, GLIA_PARAM_INT_LIST);
    return {v.as.ints, v.as.ints + v.count};
  }
  std::vector<double> reals(std::string_view name) const {
    const glia_value& v = at(name, GLIA_PARAM_FLOAT_LIST);
    return {v.as.floats, v.as.floats + v.count};
  }

 private:
  const glia_value& at(std::string_view name, int32_t type) const {
    for (uint32_t i = 0; i < d_->n_params && i < n_; ++i) {
      if (name == d_->params[i].name) {
        if (type != 0 && v_[i].type != type)
          throw Error(GLIA_ERR_INTERNAL, "parameter '" + std::string(name) + "' read with the wrong type");
        return v_[i];
      }
    }
    throw Error(GLIA_ERR_INTERNAL, "operator reads undeclared parameter '" + std::string(name) + "'");
  }
  const glia_operator_descriptor* d_;
  const glia_value* v_;
  uint32_t n_;
};

// A read-only view of an input tensor (CPU, possibly strided).
class TensorRef {
 public:
  explicit TensorRef(const DLTensor* t, std::string name) : t_(t), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  uint32_t dtype() const { return dtype_bit(t_->dtype); }
  int ndim() const { return t_->ndim; }
  int64_t dim(int i) const {
    if (i < 0) i += t_->ndim;
    if (i < 0 || i >= t_->ndim) throw Error(GLIA_ERR_INTERNAL, "dimension index out of range");
    return t_->shape[i];
  }
  std::vector<int64_t> shape() const { return {t_->shape, t_->shape + t_->ndim}; }
  int64_t size() const {
    int64_t n = 1;
    for (int i = 0; i < t_->ndim; ++i) n *= t_->shape[i];
    return n;
  }
  bool contiguous() const {
    if (!t_->strides) return true;
    int64_t expect = 1;
    for (int i = t_->ndim - 1; i >= 0; --i) {
      if (t_->shape[i] != 1 && t_->strides[i] != expect) return false;
      expect *= t_->shape[i];
    }
    return true;
  }
  // Row-major element strides (computed when the tensor has none).
  std::vector<int64_t> strides() const {
    std::vector<int64_t> s(t_->ndim);
    int64_t acc = 1;
    for (int i = t_->ndim - 1; i >= 0; --i) {
      s[i] = t_->strides ? t_->strides[i] : acc;
      acc *= t_->shape[i];
    }
    return s;
  }
  const DLTensor* raw() const { return t_; }

  // Pointer to the data when it is contiguous and exactly of type T; throws otherwise.
  template <class T>
  const T* data() const {
    if (dtype() != dtype_bit(dl_type_of<T>()))
      throw data_error("input '" + name_ + "' is " + dtype_name(dtype()) + ", expected " +
                       dtype_name(dtype_bit(dl_type_of<T>())));
    if (!contiguous()) throw data_error("input '" + name_ + "' is not contiguous");
    return reinterpret_cast<const T*>(static_cast<const char*>(t_->data) + t_->byte_offset);
  }

  // A contiguous row-major copy converted to T, whatever the dtype and strides.
  template <class T>
  std::vector<T> to_vector() const {
    std::vector<T> out(static_cast<size_t>(size()));
    const char* base = static_cast<const char*>(t_->data) + t_->byte_offset;
    const auto st = strides();
    std::vector<int64_t> idx(t_->ndim, 0);
    for (size_t flat = 0; flat < out.size(); ++flat) {
      int64_t off = 0;
      for (int d = 0; d < t_->ndim; ++d) off += idx[d] * st[d];
      out[flat] = load<T>(base, off);
      for (int d = t_->ndim - 1; d >= 0; --d) {
        if (++idx[d] < t_->shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }

 private:
  template <class T>
  T load(const char* base, int64_t off) const {
    switch (dtype()) {
      case dtype::f32: return static_cast<T>(reinterpret_cast<const float*>(base)[off]);
      case dtype::f64: return static_cast<T>(reinterpret_cast<const double*>(base)[off]);
      case dtype::i32: return static_cast<T>(reinterpret_cast<const int32_t*>(base)[off]);
      case dtype::i64: return static_cast<T>(reinterpret_cast<const int64_t*>(base)[off]);
      case dtype::u8: return static_cast<T>(reinterpret_cast<const uint8_t*>(base)[off]);
      default: throw data_error("input '" + name_ + "' has an unsupported dtype");
    }
  }
  const DLTensor* t_;
  std::string name_;
};

// A host-allocated, C-contiguous output tensor of T.
template <class T>
class OutTensor {
 public:
  OutTensor(DLTensor* t) : t_(t) {}
  T* data() { return static_cast<T*>(t_->data); }
  int64_t size() const {
    int64_t n = 1;
    for (int i = 0; i < t_->ndim; ++i) n *= t_->shape[i];
    return n;
  }
  std::span<T> span() { return {data(), static_cast<size_t>(size())}; }
  std::vector<int64_t> shape() const { return {t_->shape, t_->shape + t_->ndim}; }
  T& operator[](int64_t i) { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size(); }

 private:
  DLTensor* t_;
};

// What an operator sees during run(): inputs, output allocation and host services.
class Call {
 public:
  Call(glia_call* c, const glia_operator_descriptor* d, const DLTensor* const* in, uint32_t n)
      : c_(c), d_(d), in_(in), n_in_(n) {}

  uint64_t seed() const { return c_->seed; }
  std::string stage() const { return c_->stage ? c_->stage : ""; }
  // Per-stage folder for files the operator writes; created on first use.
  std::filesystem::path artifact_dir() const {
    if (!c_->artifact_dir) throw Error(GLIA_ERR_INTERNAL, "no artifact folder during validation");
    std::filesystem::path p(c_->artifact_dir);
    std::filesystem::create_directories(p);
    return p;
  }
  bool cancelled() const { return c_->is_cancelled(c_) != 0; }
  // Throws GLIA_ERR_CANCELLED when the run was cancelled; call it in long loops.
  void check_cancelled() const {
    if (cancelled()) throw Error(GLIA_ERR_CANCELLED, "cancelled");
  }
  void progress(double fraction, const std::string& msg = {}) const {
    c_->progress(c_, fraction, msg.c_str());
  }
  void log(int32_t level, const std::string& msg) const { c_->log(c_, level, msg.c_str()); }
  void info(const std::string& msg) const { log(GLIA_LOG_INFO, msg); }
  void warn(const std::string& msg) const { log(GLIA_LOG_WARNING, msg); }
  void metric(const std::string& name, double value, int64_t step = -1) const {
    c_->report_metric(c_, name.c_str(), value, step);
  }

  bool has_input(std::string_view name) const { return lookup_input(name) != nullptr; }
  TensorRef input(std::string_view name) const {
    const DLTensor* t = lookup_input(name);
    if (!t) throw config_error("input '" + std::string(name) + "' is not connected");
    return TensorRef(t, std::string(name));
  }

  template <class T>
  OutTensor<T> output(std::string_view name, const std::vector<int64_t>& shape) const {
    DLTensor* t = nullptr;
    glia_status s = c_->alloc_output(c_, port_index(name, GLIA_PORT_OUT), dl_type_of<T>(),
                                     static_cast<int32_t>(shape.size()), shape.data(), &t);
    if (s != GLIA_OK || !t)
      throw Error(s != GLIA_OK ? s : GLIA_ERR_OUT_OF_MEMORY,
                  "could not allocate output '" + std::string(name) + "'");
    return OutTensor<T>(t);
  }
  // Writes bytes into a BLOB output port.
  void output_blob(std::string_view name, const std::string& bytes) const {
    auto out = output<uint8_t>(name, {static_cast<int64_t>(bytes.size())});
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  }
  // Reads a BLOB input port as bytes.
  std::string input_blob(std::string_view name) const {
    TensorRef t = input(name);
    const uint8_t* p = t.data<uint8_t>();
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(t.size()));
  }

  glia_call* raw() const { return c_; }

 private:
  uint32_t port_index(std::string_view name, int32_t dir) const {
    for (uint32_t i = 0; i < d_->n_ports; ++i)
      if (d_->ports[i].direction == dir && name == d_->ports[i].name) return i;
    throw Error(GLIA_ERR_INTERNAL, "operator uses undeclared port '" + std::string(name) + "'");
  }
  const DLTensor* lookup_input(std::string_view name) const {
    uint32_t k = 0;
    for (uint32_t i = 0; i < d_->n_ports; ++i) {
      if (d_->ports[i].direction != GLIA_PORT_IN) continue;
      if (name == d_->ports[i].name) return k < n_in_ ? in_[k] : nullptr;
      ++k;
    }
    throw Error(GLIA_ERR_INTERNAL, "operator uses undeclared input '" + std::string(name) + "'");
  }

  glia_call* c_;
  const glia_operator_descriptor* d_;
  const DLTensor* const* in_;
  uint32_t n_in_;
};

namespace detail {

// Runs f and turns whatever it throws into a status + message on the call.
template <class F>
glia_status guarded(glia_call* call, F&& f) noexcept {
  auto fail = [call](glia_status s, const char* msg) noexcept {
    if (call && call->set_error) call->set_error(call, s, msg);
    return s;
  };
  try {
    f();
    return GLIA_OK;
  } catch (const Error& e) {
    return fail(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return fail(GLIA_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(GLIA_ERR_IO, e.what());
  } catch (const std::exception& e) {
    return fail(GLIA_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(GLIA_ERR_INTERNAL, "unknown exception");
  }
}

template <class Op>
const glia_operator_descriptor* descriptor_of() noexcept {
  static Descriptor d = Op::describe();
  static const glia_operator_descriptor* c = d.c();
  return c;
}

template <class Op>
struct Instance {
  glia_operator c{};
  Op op{};
};

template <class Op>
const glia_operator* create_instance() noexcept {
  Instance<Op>* inst = nullptr;
  try {
    inst = new Instance<Op>();
  } catch (...) {
    return nullptr;
  }
  inst->c.desc = descriptor_of<Op>();
  inst->c.data = inst;
  inst->c.configure = [](const glia_operator* o, const glia_value* v, uint32_t n,
                         glia_call* call) noexcept -> glia_status {
    auto* self = static_cast<Instance<Op>*>(o->data);
    return guarded(call, [&] { self->op.configure(Params(o->desc, v, n)); });
  };
  inst->c.run = [](const glia_operator* o, glia_call* call, const DLTensor* const* in,
                   uint32_t n) noexcept -> glia_status {
    auto* self = static_cast<Instance<Op>*>(o->data);
    return guarded(call, [&] {
      Call c(call, o->desc, in, n);
      self->op.run(c);
    });
  };
  inst->c.destroy = [](const glia_operator* o) noexcept {
    delete static_cast<Instance<Op>*>(o->data);
  };
  inst->c.get_extension = [](const glia_operator*, const char*) noexcept -> const void* {
    return nullptr;
  };
  return &inst->c;
}

struct OperatorType {
  const glia_operator_descriptor* (*descriptor)() noexcept;
  const glia_operator* (*create)() noexcept;
};

template <class... Ops>
struct PluginTable {
  static constexpr OperatorType types[] = {{&descriptor_of<Ops>, &create_instance<Ops>}...};
  static constexpr uint32_t count = sizeof...(Ops);

  static const glia_operator_factory* factory() noexcept {
    static const glia_operator_factory f = {
        [](const glia_operator_factory*) noexcept -> uint32_t { return count; },
        [](const glia_operator_factory*, uint32_t i) noexcept -> const glia_operator_descriptor* {
          if (i >= count) return nullptr;
          try {
            return types[i].descriptor();
          } catch (...) {
            return nullptr;
          }
        },
        [](const glia_operator_factory*, const glia_host*, const char* id) noexcept
            -> const glia_operator* {
          if (!id) return nullptr;
          for (const auto& t : types)
            if (std::strcmp(t.descriptor()->id, id) == 0) return t.create();
          return nullptr;
        }};
    return &f;
  }

  static const glia_plugin_entry* entry(const char* name, const char* version) noexcept {
    static std::mutex mutex;
    static int refs = 0;
    static const glia_plugin_entry e = {
        GLIA_ABI_VERSION_INIT, name, version,
        [](const char*) noexcept -> int32_t {
          std::lock_guard<std::mutex> lock(mutex);
          ++refs;
          return 0;
        },
        []() noexcept {
          std::lock_guard<std::mutex> lock(mutex);
          if (refs > 0) --refs;
        },
        [](const char* id) noexcept -> const void* {
          if (id && std::strcmp(id, GLIA_OPERATOR_FACTORY_ID) == 0) return factory();
          return nullptr;
        }};
    return &e;
  }
};

}  // namespace detail
}  // namespace glia

// Defines the plugin's entry point, exporting the listed operator classes.
#define GLIA_PLUGIN(NAME, VERSION, ...)                                                     \
  extern "C" GLIA_EXPORT const glia_plugin_entry* glia_plugin_entry_v1(void) {              \
    return ::glia::detail::PluginTable<__VA_ARGS__>::entry(NAME, VERSION);                  \
  }
