#include "plugin_check.hpp"

#include "../host/util.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <thread>

namespace glia::cli {
namespace {

namespace fs = std::filesystem;
using namespace glia::host;

// One line per check; failures make the plugin non-conforming, warnings do not.
class Report {
 public:
  void ok(const std::string& what) { line("ok  ", what); }
  void warn(const std::string& what) { line("warn", what); ++warnings_; }
  void fail(const std::string& what) { line("FAIL", what); ++failures_; }
  int failures() const { return failures_; }
  int warnings() const { return warnings_; }

 private:
  static void line(const char* tag, const std::string& what) {
    std::printf("  %s  %s\n", tag, what.c_str());
    std::fflush(stdout);  // the parent reports a crash right after the last line printed
  }
  int failures_ = 0, warnings_ = 0;
};

bool is_semver(const std::string& v) {
  static const std::regex semver(R"([0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?)");
  return std::regex_match(v, semver);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::vector<std::string> dims;
  for (auto d : shape) dims.push_back(std::to_string(d));
  return "[" + join(dims, ",") + "]";
}

DLDataType dl_type_of_bit(uint32_t bit) {
  switch (bit) {
    case GLIA_DTYPE_F32: return {kDLFloat, 32, 1};
    case GLIA_DTYPE_F64: return {kDLFloat, 64, 1};
    case GLIA_DTYPE_I32: return {kDLInt, 32, 1};
    case GLIA_DTYPE_I64: return {kDLInt, 64, 1};
    default: return {kDLUInt, 8, 1};
  }
}

uint32_t dtype_bit_of(DLDataType t) {
  if (t.lanes != 1) return 0;
  if (t.code == kDLFloat && t.bits == 32) return GLIA_DTYPE_F32;
  if (t.code == kDLFloat && t.bits == 64) return GLIA_DTYPE_F64;
  if (t.code == kDLInt && t.bits == 32) return GLIA_DTYPE_I32;
  if (t.code == kDLInt && t.bits == 64) return GLIA_DTYPE_I64;
  if (t.code == kDLUInt && t.bits == 8) return GLIA_DTYPE_U8;
  return 0;
}

// A host-owned tensor for sample inputs and outputs.
struct SampleTensor {
  uint32_t dtype = 0;
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  DLTensor dl{};

  SampleTensor(uint32_t dtype_bit, std::vector<int64_t> dims) : dtype(dtype_bit), shape(std::move(dims)) {
    const DLDataType t = dl_type_of_bit(dtype);
    bytes.assign(static_cast<size_t>(elements()) * (t.bits / 8) + 1, 0);
    dl.data = bytes.data();
    dl.device = {kDLCPU, 0};
    dl.ndim = static_cast<int32_t>(shape.size());
    dl.dtype = t;
    dl.shape = shape.data();
  }
  int64_t elements() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  // Deterministic values: floats in [-1, 1), integers 0, 1, 2 (valid class labels and indices).
  void fill() {
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int64_t i = 0; i < elements(); ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const double u = static_cast<double>(state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
      switch (dtype) {
        case GLIA_DTYPE_F32: reinterpret_cast<float*>(bytes.data())[i] = static_cast<float>(u); break;
        case GLIA_DTYPE_F64: reinterpret_cast<double*>(bytes.data())[i] = u; break;
        case GLIA_DTYPE_I32: reinterpret_cast<int32_t*>(bytes.data())[i] = static_cast<int32_t>(i % 3); break;
        case GLIA_DTYPE_I64: reinterpret_cast<int64_t*>(bytes.data())[i] = i % 3; break;
        default: bytes[static_cast<size_t>(i)] = static_cast<unsigned char>(i % 3); break;
      }
    }
  }
  bool finite() const {
    for (int64_t i = 0; i < elements(); ++i) {
      if (dtype == GLIA_DTYPE_F32 && !std::isfinite(reinterpret_cast<const float*>(bytes.data())[i])) return false;
      if (dtype == GLIA_DTYPE_F64 && !std::isfinite(reinterpret_cast<const double*>(bytes.data())[i])) return false;
    }
    return true;
  }
};

// Sizes for the symbolic dimensions of one operator: distinct, small, shared between ports.
class ShapeBinding {
 public:
  std::optional<int64_t> find(const std::string& symbol) const {
    auto it = sizes_.find(symbol);
    return it == sizes_.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  int64_t bind_new(const std::string& symbol) {
    static constexpr int64_t sizes[] = {8, 3, 5, 4, 6, 7, 2};
    const int64_t size = sizes[sizes_.size() % std::size(sizes)];
    sizes_[symbol] = size;
    return size;
  }
  int64_t size_of(const std::string& symbol) {
    auto known = find(symbol);
    return known ? *known : bind_new(symbol);
  }
  void bind(const std::string& symbol, int64_t size) { sizes_[symbol] = size; }

 private:
  std::map<std::string, int64_t> sizes_;
};

// The sample input of a port: its preferred dtype, its declared rank, symbols bound to sizes.
std::unique_ptr<SampleTensor> sample_input(const PortInfo& port, ShapeBinding& binding) {
  uint32_t dtype = 0;
  for (uint32_t bit : {GLIA_DTYPE_F64, GLIA_DTYPE_F32, GLIA_DTYPE_I64, GLIA_DTYPE_I32, GLIA_DTYPE_U8})
    if (port.dtypes & bit) {
      dtype = bit;
      break;
    }
  std::vector<int64_t> shape;
  for (const auto& d : port.dims) {
    if (d.kind == DimPattern::Fixed) shape.push_back(d.size);
    else if (d.kind == DimPattern::Symbol) shape.push_back(binding.size_of(d.symbol));
    else if (d.kind == DimPattern::Any) shape.push_back(2);
  }
  const size_t rank = port.ndim >= 0 ? static_cast<size_t>(port.ndim) : std::max<size_t>(shape.size(), 2);
  while (shape.size() < rank) shape.push_back(shape.empty() ? 8 : 3);
  auto t = std::make_unique<SampleTensor>(dtype, shape);
  t->fill();
  return t;
}

// The glia_call of one check run: records outputs, metrics, errors and contract violations.
struct CheckCall {
  glia_call c{};
  const OperatorInfo* op = nullptr;
  ShapeBinding* binding = nullptr;
  std::map<uint32_t, std::unique_ptr<SampleTensor>> outputs;
  std::vector<std::string> violations;
  std::string error;
  int metrics = 0;

  CheckCall(const OperatorInfo& info, ShapeBinding& shapes, const char* artifact_dir) : op(&info), binding(&shapes) {
    c.host = host_interface();
    c.host_data = this;
    c.seed = 42;
    c.stage = "check";
    c.artifact_dir = artifact_dir;
    c.is_cancelled = [](const glia_call*) -> int32_t { return 0; };
    c.progress = [](const glia_call*, double, const char*) {};
    c.log = [](const glia_call*, int32_t, const char*) {};
    c.set_error = [](const glia_call* call, glia_status, const char* message) {
      self(call)->error = message ? message : "";
    };
    c.report_metric = [](const glia_call* call, const char*, double, int64_t) { ++self(call)->metrics; };
    c.alloc_output = [](const glia_call* call, uint32_t port, DLDataType dtype, int32_t ndim, const int64_t* shape,
                        DLTensor** out) -> glia_status { return self(call)->alloc(port, dtype, ndim, shape, out); };
  }
  static CheckCall* self(const glia_call* call) { return static_cast<CheckCall*>(call->host_data); }

  glia_status alloc(uint32_t port_index, DLDataType dtype, int32_t ndim, const int64_t* shape, DLTensor** out) {
    auto refuse = [&](const std::string& why) {
      violations.push_back("alloc_output: " + why);
      return GLIA_ERR_INVALID_ARGUMENT;
    };
    if (!out) return refuse("null out pointer");
    if (port_index >= op->ports.size() || op->ports[port_index].input)
      return refuse("port index " + std::to_string(port_index) + " is not an output");
    const PortInfo& port = op->ports[port_index];
    const uint32_t bit = dtype_bit_of(dtype);
    if (!(bit & port.dtypes))
      return refuse("output '" + port.name + "' allocated as " + dtype_list(bit) + ", declared " +
                    dtype_list(port.dtypes));
    if (ndim < 0 || (ndim > 0 && !shape)) return refuse("output '" + port.name + "': bad shape array");
    if (port.ndim >= 0 && ndim != port.ndim)
      return refuse("output '" + port.name + "' has rank " + std::to_string(ndim) + ", declared " +
                    std::to_string(port.ndim));
    std::vector<int64_t> dims(shape, shape + ndim);
    for (size_t k = 0; k < port.dims.size() && k < dims.size(); ++k) {
      const DimPattern& d = port.dims[k];
      if (d.kind == DimPattern::Rest) break;
      if (d.kind == DimPattern::Fixed && dims[k] != d.size)
        return refuse("output '" + port.name + "' dimension " + std::to_string(k) + " is " +
                      std::to_string(dims[k]) + ", declared " + std::to_string(d.size));
      if (d.kind == DimPattern::Symbol) {
        if (auto known = binding->find(d.symbol); known && *known != dims[k])
          return refuse("output '" + port.name + "' has shape " + shape_text(dims) + " but " + d.symbol + " = " +
                        std::to_string(*known) + " (shape " + port.shape + ")");
        binding->bind(d.symbol, dims[k]);
      }
    }
    for (auto d : dims)
      if (d < 0) return refuse("output '" + port.name + "' has a negative dimension");
    if (outputs.count(port_index)) return refuse("output '" + port.name + "' allocated twice");
    auto t = std::make_unique<SampleTensor>(bit, dims);
    *out = &t->dl;
    outputs[port_index] = std::move(t);
    return GLIA_OK;
  }
};

// A temporary folder for the artifacts of check runs.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "glia-check-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw Failure(kExitInternal, "cannot create a temporary folder for the check: " + std::string(std::strerror(errno)));
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

void check_descriptor(const OperatorInfo& op, Report& report) {
  const std::string where = op.id + ": ";
  if (!is_semver(op.version)) report.warn(where + "operator version '" + op.version + "' is not semver (x.y.z)");
  for (const auto& p : op.params) {
    if (p.doc.empty()) report.warn(where + "parameter '" + p.name + "' has no documentation");
    if (!std::isnan(p.min_value) && !std::isnan(p.max_value) && p.min_value > p.max_value)
      report.fail(where + "parameter '" + p.name + "' has an empty range " + range_text(p));
    if (!p.required() && p.type == GLIA_PARAM_FLOAT && !std::isfinite(p.default_value.f))
      report.fail(where + "parameter '" + p.name + "' has a non-finite default");
  }
  for (const auto& p : op.ports) {
    if (p.doc.empty()) report.warn(where + "port '" + p.name + "' has no documentation");
    if ((p.flags & GLIA_PORT_BLOB) && (p.dtypes != GLIA_DTYPE_U8 || p.ndim != 1))
      report.fail(where + "blob port '" + p.name + "' must be uint8 of rank 1");
  }
}

// Creates, configures with the defaults and runs one operator on sample inputs built from its
// port declarations, checking what it allocates against what it declares.
void check_operator_runs(Registry& registry, const OperatorInfo& op, const fs::path& scratch, Report& report) {
  const std::string where = op.id + ": ";
  const glia_operator* instance = nullptr;
  try {
    instance = registry.create(op.id);
  } catch (const std::exception& e) {
    report.fail(where + e.what());
    return;
  }
  struct Destroy {
    const glia_operator* op;
    ~Destroy() { op->destroy(op); }
  } destroy{instance};

  for (const auto& p : op.params)
    if (p.required()) {
      report.ok(where + "created; not configured or run: parameter '" + p.name + "' is required");
      return;
    }
  std::vector<glia_value> values;
  for (const auto& p : op.params) values.push_back(p.default_value.to_c());
  ShapeBinding binding;
  const fs::path artifacts = scratch / op.id;
  const std::string artifact_dir = artifacts.string();
  CheckCall configure_call(op, binding, nullptr);
  glia_status status = instance->configure(instance, values.data(), static_cast<uint32_t>(values.size()),
                                           &configure_call.c);
  if (status != GLIA_OK) {
    report.fail(where + "refuses its own defaults in configure(): " + status_name(status) +
                (configure_call.error.empty() ? "" : ": " + configure_call.error));
    return;
  }
  report.ok(where + "created and configured with its defaults");

  std::vector<std::unique_ptr<SampleTensor>> inputs;
  std::vector<const DLTensor*> input_views;
  std::vector<std::string> described;
  for (const auto& p : op.ports) {
    if (!p.input) continue;
    if (p.optional()) {
      input_views.push_back(nullptr);
      continue;
    }
    if (p.flags & GLIA_PORT_BLOB) {
      report.ok(where + "not run: input '" + p.name + "' is a serialised " +
                (p.media_type.empty() ? "blob" : p.media_type) + " no sample can stand for");
      return;
    }
    inputs.push_back(sample_input(p, binding));
    input_views.push_back(&inputs.back()->dl);
    described.push_back(p.name + " " + dtype_list(inputs.back()->dtype) + shape_text(inputs.back()->shape));
  }

  CheckCall run_call(op, binding, artifact_dir.c_str());
  try {
    status = instance->run(instance, &run_call.c, input_views.data(), static_cast<uint32_t>(input_views.size()));
  } catch (...) {
    report.fail(where + "run() threw a C++ exception across the C ABI");
    return;
  }
  const std::string on = described.empty() ? "with no inputs" : "on sample inputs " + join(described, ", ");
  for (const auto& v : run_call.violations) report.fail(where + v);
  if (status == GLIA_ERR_INTERNAL || status == GLIA_ERR_CANCELLED || (status != GLIA_OK && status > 0)) {
    report.fail(where + "run() " + on + " failed with " + status_name(status) +
                (run_call.error.empty() ? "" : ": " + run_call.error));
    return;
  }
  if (status != GLIA_OK) {
    if (run_call.violations.empty())
      report.ok(where + "run() " + on + " refused them cleanly (" + status_name(status) + ": " + run_call.error + ")");
    return;
  }
  std::vector<std::string> produced;
  int missing = 0;
  for (size_t k = 0; k < op.ports.size(); ++k) {
    const PortInfo& p = op.ports[k];
    if (p.input) continue;
    auto it = run_call.outputs.find(static_cast<uint32_t>(k));
    if (it == run_call.outputs.end()) {
      if (!p.optional()) {
        report.fail(where + "run() " + on + " returned OK without allocating output '" + p.name + "'");
        ++missing;
      }
      continue;
    }
    produced.push_back(p.name + " " + dtype_list(it->second->dtype) + shape_text(it->second->shape));
    if (!it->second->finite()) report.warn(where + "output '" + p.name + "' holds NaN or Inf on the sample inputs");
  }
  if (missing == 0 && run_call.violations.empty())
    report.ok(where + "ran " + on + " -> " + (produced.empty() ? "no outputs" : join(produced, ", ")) +
              (run_call.metrics ? ", " + std::to_string(run_call.metrics) + " metric(s)" : ""));
}

int run_checks(const fs::path& file, RegistryOptions options) {
  Report report;
  const fs::path plugin = fs::weakly_canonical(file);
  std::printf("checking %s\n", plugin.string().c_str());
  // The file comes first on the search path, so its operators win any id clash.
  options.plugin_path.insert(options.plugin_path.begin(), plugin);
  options.use_cache = false;
  Registry registry(options);
  registry.scan();

  const PluginRecord* record = nullptr;
  std::vector<const PluginRecord*> others;
  for (const auto& r : registry.plugins()) {
    if (fs::path(r.path) == plugin) record = &r;
    else if (r.ok) others.push_back(&r);
  }
  if (!record) {
    report.fail("not found by the registry (not a .so file?)");
    return kExitInternal;
  }
  if (!record->ok) {
    report.fail("loading in a separate process: " + record->reason);
    std::printf("%s: does not conform\n", file.string().c_str());
    return kExitInternal;
  }
  report.ok("loads in a separate process: plugin " + record->name + " " + record->version + ", " +
            std::to_string(record->operators.size()) + " operator(s), exports " GLIA_ENTRY_SYMBOL);
  report.ok("descriptors valid: ids, names, types, defaults inside their bounds and choices, shapes");
  if (!is_semver(record->version)) report.warn("plugin version '" + record->version + "' is not semver (x.y.z)");

  std::set<std::string> ids;
  for (const auto& op : record->operators)
    if (!ids.insert(op.id).second) report.fail("operator id '" + op.id + "' is declared twice in this file");
  size_t other_ops = 0;
  for (const auto* other : others)
    for (const auto& op : other->operators) {
      ++other_ops;
      if (ids.count(op.id))
        report.warn("operator id '" + op.id + "' is also provided by " + other->path + " (glia uses the first found)");
    }
  report.ok("operator ids unique in the file; compared with " + std::to_string(other_ops) +
            " operator(s) of " + std::to_string(others.size()) + " other plugin(s) found");

  ScratchDir scratch;
  std::set<std::string> run;
  for (const auto& op : record->operators) {
    check_descriptor(op, report);
    if (run.insert(op.id).second) check_operator_runs(registry, op, scratch.path, report);
  }

  if (report.failures())
    std::printf("%s: does not conform (%d problem%s)\n", file.string().c_str(), report.failures(),
                report.failures() == 1 ? "" : "s");
  else
    std::printf("%s: conforms%s\n", file.string().c_str(),
                report.warnings() ? (" (" + std::to_string(report.warnings()) + " warning(s))").c_str() : "");
  return report.failures() ? kExitInternal : kExitOk;
}

}  // namespace

int check_plugin(const fs::path& file, RegistryOptions options) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Failure(kExitUnavailable, file.string() + ": no such plugin file");

  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t child = fork();
  if (child < 0) throw Failure(kExitInternal, std::string("cannot fork the checker: ") + std::strerror(errno));
  if (child == 0) {
    int code = kExitInternal;
    try {
      code = run_checks(file, std::move(options));
    } catch (const Failure& e) {
      std::fprintf(stderr, "glia: error: %s\n", e.what());
      code = e.exit_code();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "glia: error: %s\n", e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(code);
  }

  // GLIA_CHECK_TIMEOUT_MS bounds the whole check (loading, and running every operator).
  long timeout_ms = 300000;
  if (const char* t = std::getenv("GLIA_CHECK_TIMEOUT_MS"); t && *t) timeout_ms = std::max(1L, std::atol(t));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) throw Failure(kExitInternal, "lost the checker process");
    if (std::chrono::steady_clock::now() > deadline) {
      kill(child, SIGKILL);
      while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      std::printf("  FAIL  hung: no result after %ld ms, in the step after the last line above\n", timeout_ms);
      std::printf("%s: does not conform\n", file.string().c_str());
      return kExitInternal;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    std::printf("  FAIL  crashed (signal %d, %s) in the step after the last line above\n", sig, strsignal(sig));
    std::printf("%s: does not conform\n", file.string().c_str());
    return kExitInternal;
  }
  return WEXITSTATUS(status);
}

}  // namespace glia::cli
