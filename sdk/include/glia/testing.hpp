// A test harness that drives one operator class through the real C ABI trampolines, without a
// host or a shared library: set parameters and inputs, run, read outputs, metrics and errors.
//
//   glia::testing::Harness<Scale> h;
//   h.param("factor", 3.0);
//   h.input("x", {1.0, 2.0}, {2});
//   REQUIRE(h.run() == GLIA_OK);
//   auto y = h.output<double>("y");          // std::vector<double>
//
// Parameters are not range-checked here (the host does that); configure() is called by run().
#pragma once

#include <glia/plugin.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace glia::testing {

struct Metric {
  std::string name;
  double value;
  int64_t step;
};

class OwnedTensor {
 public:
  OwnedTensor() = default;
  OwnedTensor(DLDataType dtype, std::vector<int64_t> shape) : shape_(std::move(shape)) {
    int64_t n = 1;
    for (int64_t d : shape_) n *= d;
    bytes_.assign(static_cast<size_t>(n) * (dtype.bits / 8) + 1, 0);
    t_.data = bytes_.data();
    t_.device = {kDLCPU, 0};
    t_.ndim = static_cast<int>(shape_.size());
    t_.dtype = dtype;
    t_.shape = shape_.data();
    t_.strides = nullptr;
    t_.byte_offset = 0;
  }
  OwnedTensor(const OwnedTensor&) = delete;
  OwnedTensor& operator=(const OwnedTensor&) = delete;
  DLTensor* dl() { return &t_; }
  const std::vector<int64_t>& shape() const { return shape_; }

 private:
  std::vector<int64_t> shape_;
  std::vector<unsigned char> bytes_;
  DLTensor t_{};
};

template <class Op>
class Harness {
 public:
  Harness() : desc_(detail::descriptor_of<Op>()), op_(detail::create_instance<Op>()) {
    call_.host = nullptr;
    call_.host_data = this;
    call_.seed = 42;
    call_.stage = "test";
    call_.artifact_dir = nullptr;
    call_.is_cancelled = [](const glia_call* c) -> int32_t { return self(c)->cancelled_ ? 1 : 0; };
    call_.progress = [](const glia_call*, double, const char*) {};
    call_.log = [](const glia_call* c, int32_t, const char* m) { self(c)->logs_.push_back(m); };
    call_.set_error = [](const glia_call* c, glia_status s, const char* m) {
      self(c)->error_status_ = s;
      self(c)->error_ = m ? m : "";
    };
    call_.alloc_output = [](const glia_call* c, uint32_t port, DLDataType dtype, int32_t ndim,
                            const int64_t* shape, DLTensor** out) -> glia_status {
      return self(c)->alloc(port, dtype, ndim, shape, out);
    };
    call_.report_metric = [](const glia_call* c, const char* name, double v, int64_t step) {
      self(c)->metrics_.push_back({name, v, step});
    };
    for (uint32_t i = 0; i < desc_->n_params; ++i) values_.push_back(desc_->params[i].default_value);
  }
  ~Harness() { op_->destroy(op_); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void seed(uint64_t s) { call_.seed = s; }
  void artifact_dir(const std::string& dir) {
    artifact_dir_ = dir;
    call_.artifact_dir = artifact_dir_.c_str();
  }
  void cancel() { cancelled_ = true; }

  void param(const std::string& name, bool v) { slot(name).as.i = v ? 1 : 0; }
  void param(const std::string& name, int v) { param(name, static_cast<int64_t>(v)); }
  void param(const std::string& name, int64_t v) { slot(name).as.i = v; }
  void param(const std::string& name, double v) { slot(name).as.f = v; }
  void param(const std::string& name, const char* v) { param(name, std::string(v)); }
  void param(const std::string& name, const std::string& v) {
    strings_.push_back(std::make_unique<std::string>(v));
    slot(name).as.s = strings_.back()->c_str();
  }
  void param(const std::string& name, const std::vector<int64_t>& v) {
    int_lists_.push_back(std::make_unique<std::vector<int64_t>>(v));
    slot(name).count = static_cast<uint32_t>(v.size());
    slot(name).as.ints = int_lists_.back()->data();
  }
  void param(const std::string& name, const std::vector<double>& v) {
    float_lists_.push_back(std::make_unique<std::vector<double>>(v));
    slot(name).count = static_cast<uint32_t>(v.size());
    slot(name).as.floats = float_lists_.back()->data();
  }

  // Sets input `name` to a C-contiguous tensor of T with the given shape.
  template <class T>
  void input(const std::string& name, const std::vector<T>& values, std::vector<int64_t> shape) {
    auto t = std::make_unique<OwnedTensor>(dl_type_of<T>(), std::move(shape));
    std::memcpy(t->dl()->data, values.data(), values.size() * sizeof(T));
    inputs_[name] = std::move(t);
  }

  // configure() then run(); returns the status. error() holds the message on failure.
  glia_status run() {
    outputs_.clear();
    metrics_.clear();
    error_.clear();
    error_status_ = GLIA_OK;
    glia_status s = op_->configure(op_, values_.data(), static_cast<uint32_t>(values_.size()), &call_);
    if (s != GLIA_OK) return s;
    std::vector<const DLTensor*> in;
    for (uint32_t i = 0; i < desc_->n_ports; ++i) {
      if (desc_->ports[i].direction != GLIA_PORT_IN) continue;
      auto it = inputs_.find(desc_->ports[i].name);
      in.push_back(it == inputs_.end() ? nullptr : it->second->dl());
    }
    return op_->run(op_, &call_, in.data(), static_cast<uint32_t>(in.size()));
  }

  bool has_output(const std::string& name) const { return outputs_.count(name) > 0; }
  std::vector<int64_t> output_shape(const std::string& name) const {
    return outputs_.at(name)->shape();
  }
  // The output converted to T.
  template <class T>
  std::vector<T> output(const std::string& name) const {
    return TensorRef(outputs_.at(name)->dl(), name).to_vector<T>();
  }
  const std::vector<Metric>& metrics() const { return metrics_; }
  // The last value reported under `name`; throws if never reported.
  double metric(const std::string& name) const {
    for (auto it = metrics_.rbegin(); it != metrics_.rend(); ++it)
      if (it->name == name) return it->value;
    throw std::runtime_error("metric '" + name + "' was not reported");
  }
  const std::string& error() const { return error_; }
  glia_status error_status() const { return error_status_; }
  const std::vector<std::string>& logs() const { return logs_; }

 private:
  static Harness* self(const glia_call* c) { return static_cast<Harness*>(c->host_data); }

  glia_value& slot(const std::string& name) {
    for (uint32_t i = 0; i < desc_->n_params; ++i)
      if (name == desc_->params[i].name) return values_[i];
    throw std::runtime_error("operator has no parameter '" + name + "'");
  }

  glia_status alloc(uint32_t port, DLDataType dtype, int32_t ndim, const int64_t* shape,
                    DLTensor** out) {
    if (port >= desc_->n_ports || desc_->ports[port].direction != GLIA_PORT_OUT) {
      error_ = "alloc_output: port index is not an output";
      return GLIA_ERR_INVALID_ARGUMENT;
    }
    if (!(dtype_bit(dtype) & desc_->ports[port].dtypes)) {
      error_ = "alloc_output: dtype not declared for port";
      return GLIA_ERR_INVALID_ARGUMENT;
    }
    const std::string name = desc_->ports[port].name;
    if (outputs_.count(name)) {
      error_ = "alloc_output: port allocated twice";
      return GLIA_ERR_INVALID_ARGUMENT;
    }
    auto t = std::make_unique<OwnedTensor>(dtype, std::vector<int64_t>(shape, shape + ndim));
    *out = t->dl();
    outputs_[name] = std::move(t);
    return GLIA_OK;
  }

  const glia_operator_descriptor* desc_;
  const glia_operator* op_;
  glia_call call_{};
  std::vector<glia_value> values_;
  std::vector<std::unique_ptr<std::string>> strings_;
  std::vector<std::unique_ptr<std::vector<int64_t>>> int_lists_;
  std::vector<std::unique_ptr<std::vector<double>>> float_lists_;
  std::map<std::string, std::unique_ptr<OwnedTensor>> inputs_;
  std::map<std::string, std::unique_ptr<OwnedTensor>> outputs_;
  std::vector<Metric> metrics_;
  std::vector<std::string> logs_;
  std::string error_;
  glia_status error_status_ = GLIA_OK;
  std::string artifact_dir_;
  bool cancelled_ = false;
};

}  // namespace glia::testing
