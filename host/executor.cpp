#include "executor.hpp"

#include "util.hpp"

#include <glia/plugin.hpp>

#include "../plugins/core/npy.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/task_group.h>

namespace glia::host {

namespace fs = std::filesystem;

std::atomic<bool>& cancel_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

extern "C" void glia_on_cancel_signal(int) {
  // Async-signal-safe only: a second signal ends the process at once.
  if (cancel_requested().exchange(true)) _exit(kExitCancelled);
}

void install_cancel_handlers() {
  struct sigaction sa {};
  sa.sa_handler = glia_on_cancel_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

namespace {

// A host-owned, 64-byte aligned, C-contiguous tensor.
struct HostTensor {
  std::vector<int64_t> shape;
  DLTensor dl{};
  void* data = nullptr;
  size_t bytes = 0;
  HostTensor(DLDataType dtype, std::vector<int64_t> s) : shape(std::move(s)) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    bytes = n * (dtype.bits / 8);
    data = std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) / 64 * 64));
    if (!data) throw std::bad_alloc();
    dl.data = data;
    dl.device = {kDLCPU, 0};
    dl.ndim = static_cast<int>(shape.size());
    dl.dtype = dtype;
    dl.shape = shape.data();
    dl.strides = nullptr;
    dl.byte_offset = 0;
  }
  ~HostTensor() { std::free(data); }
  HostTensor(const HostTensor&) = delete;
  HostTensor& operator=(const HostTensor&) = delete;
};

std::string shape_text(const int64_t* shape, int ndim) {
  std::string s = "(";
  for (int i = 0; i < ndim; ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + ")";
}

// Checks a tensor against a port's rank and symbolic shape, binding symbols as it goes;
// returns "" or what is wrong.
std::string check_shape(const PortInfo& port, const DLTensor& t, std::map<std::string, int64_t>& bindings) {
  if (port.ndim >= 0 && t.ndim != port.ndim)
    return "has rank " + std::to_string(t.ndim) + " " + shape_text(t.shape, t.ndim) + ", expected rank " +
           std::to_string(port.ndim) + (port.shape.empty() ? "" : " (" + port.shape + ")");
  for (size_t d = 0; d < port.dims.size(); ++d) {
    const DimPattern& p = port.dims[d];
    if (p.kind == DimPattern::Rest) break;
    if (static_cast<int>(d) >= t.ndim)
      return "has shape " + shape_text(t.shape, t.ndim) + ", expected (" + port.shape + ")";
    const int64_t size = t.shape[d];
    if (p.kind == DimPattern::Fixed && size != p.size)
      return "has shape " + shape_text(t.shape, t.ndim) + ", expected (" + port.shape + ") with dimension " +
             std::to_string(d) + " = " + std::to_string(p.size);
    if (p.kind == DimPattern::Symbol) {
      auto [it, inserted] = bindings.emplace(p.symbol, size);
      if (!inserted && it->second != size)
        return "has shape " + shape_text(t.shape, t.ndim) + ", expected (" + port.shape + ") with " + p.symbol +
               " = " + std::to_string(it->second) + " as bound by the other ports";
    }
  }
  return "";
}

glia::core::npy_dtype npy_dtype_of(DLDataType t) {
  switch (glia::dtype_bit(t)) {
    case GLIA_DTYPE_F32: return glia::core::npy_dtype::f32;
    case GLIA_DTYPE_F64: return glia::core::npy_dtype::f64;
    case GLIA_DTYPE_I32: return glia::core::npy_dtype::i32;
    case GLIA_DTYPE_I64: return glia::core::npy_dtype::i64;
    default: return glia::core::npy_dtype::u8;
  }
}

class Execution;

// The state of one (trial, stage): its operator instance, its call context and its outputs.
struct StageRun {
  glia_call call{};
  Execution* exec = nullptr;
  size_t trial = 0;
  size_t stage = 0;
  size_t rank = 0;  // position in the topological order, for deterministic metric order
  const ResolvedStage* rs = nullptr;
  const glia_operator* op = nullptr;
  std::string key;  // "stage" or "trial 3 stage"
  std::string stage_id;
  std::string artifact_dir;
  std::vector<std::shared_ptr<HostTensor>> outputs;  // by descriptor port index
  std::mutex mutex;
  std::string error;
  glia_status error_status = GLIA_OK;
  std::vector<MetricRecord> metrics;

  ~StageRun() {
    if (!op) return;
    try {
      op->destroy(op);
    } catch (...) {
      // Nothing to report at teardown: the instance is gone either way.
    }
  }
};

class Execution {
 public:
  Execution(const Plan& plan, Registry& registry, Console& console, fs::path run_dir)
      : plan_(plan), registry_(registry), console_(console), run_dir_(std::move(run_dir)) {}

  // Creates and configures every instance; throws ConfigError listing each stage that refused.
  void configure_all() {
    std::vector<size_t> rank_of(plan_.spec.stages.size());
    for (size_t r = 0; r < plan_.order.size(); ++r) rank_of[plan_.order[r]] = r;
    const bool many = plan_.trials.size() > 1;
    std::vector<Diagnostic> problems;
    for (const Trial& trial : plan_.trials) {
      auto& row = runs_.emplace_back();
      for (size_t k = 0; k < trial.stages.size(); ++k) {
        auto run = std::make_unique<StageRun>();
        StageRun& s = *run;
        row.push_back(std::move(run));
        s.exec = this;
        s.trial = trial.index;
        s.stage = k;
        s.rank = rank_of[k];
        s.rs = &trial.stages[k];
        s.stage_id = s.rs->spec->id;
        s.key = many ? "trial " + std::to_string(trial.index) + " " + s.stage_id : s.stage_id;
        if (!run_dir_.empty())
          s.artifact_dir = (run_dir_ / (many ? "trial-" + std::to_string(trial.index) : "") / s.stage_id).string();
        s.outputs.resize(s.rs->op->ports.size());
        init_call(s);
        s.op = registry_.create(s.rs->op->id);
        std::vector<glia_value> values;
        for (const auto& v : s.rs->params) values.push_back(v.to_c());
        glia_status st = GLIA_ERR_INTERNAL;
        try {
          st = s.op->configure(s.op, values.data(), static_cast<uint32_t>(values.size()), &s.call);
        } catch (...) {
          s.error = "threw a C++ exception across the C ABI from configure()";
        }
        if (st != GLIA_OK) {
          const SourcePos at = s.rs->spec->params_pos;
          problems.push_back({at, "stage '" + s.stage_id + "' (" + s.rs->op->id + ")" +
                                      (many ? " in trial " + std::to_string(trial.index) : "") + ": " +
                                      (s.error.empty() ? status_name(st) : s.error)});
          if (st != GLIA_ERR_INVALID_ARGUMENT) configure_exit_ = exit_code_for_status(st);
        }
      }
    }
    if (!problems.empty()) {
      ConfigError e(problems);
      if (configure_exit_ != kExitConfig) throw Failure(configure_exit_, e.what());
      throw e;
    }
  }

  RunOutcome run(int threads) {
    std::optional<tbb::global_control> limit;
    if (threads > 0) limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));

    tbb::task_group_context ctx;
    tbb::flow::graph graph(ctx);
    std::vector<std::unique_ptr<tbb::flow::continue_node<tbb::flow::continue_msg>>> nodes;
    std::vector<tbb::flow::continue_node<tbb::flow::continue_msg>*> roots;
    for (auto& row : runs_) {
      std::vector<tbb::flow::continue_node<tbb::flow::continue_msg>*> by_stage(row.size());
      for (size_t k : plan_.order) {
        StageRun* s = row[k].get();
        nodes.push_back(std::make_unique<tbb::flow::continue_node<tbb::flow::continue_msg>>(
            graph, [this, s, &row](const tbb::flow::continue_msg&) { execute(*s, row); }));
        by_stage[k] = nodes.back().get();
        std::vector<int> producers;
        for (auto [src, port] : s->rs->sources)
          if (src >= 0 && std::find(producers.begin(), producers.end(), src) == producers.end()) producers.push_back(src);
        for (int p : producers) tbb::flow::make_edge(*by_stage[p], *by_stage[k]);
        if (producers.empty()) roots.push_back(by_stage[k]);
      }
    }

    // Watches for Ctrl-C and a failed stage, and stops the graph.
    std::atomic<bool> finished{false};
    std::thread watcher([&] {
      while (!finished) {
        if (cancel_requested() || failed_) {
          ctx.cancel_group_execution();
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    console_.begin_progress(plan_.trials.size() * plan_.order.size());
    for (auto* r : roots) r->try_put(tbb::flow::continue_msg());
    graph.wait_for_all();
    finished = true;
    watcher.join();
    console_.end_progress();

    RunOutcome outcome;
    outcome.run_dir = run_dir_;
    for (auto& row : runs_) {
      std::vector<StageRun*> ordered;
      for (auto& s : row) ordered.push_back(s.get());
      std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->rank < b->rank; });
      for (auto* s : ordered) outcome.metrics.insert(outcome.metrics.end(), s->metrics.begin(), s->metrics.end());
    }
    if (failed_) outcome.exit_code = failure_exit_;
    else if (cancel_requested()) outcome.exit_code = kExitCancelled;
    return outcome;
  }

  const std::string& failure() const { return failure_; }

 private:
  void init_call(StageRun& s) {
    s.call.host = host_interface();
    s.call.host_data = &s;
    s.call.seed = s.rs->seed;
    s.call.stage = s.stage_id.c_str();
    s.call.artifact_dir = s.artifact_dir.empty() ? nullptr : s.artifact_dir.c_str();
    s.call.is_cancelled = [](const glia_call* c) -> int32_t {
      auto* self = static_cast<StageRun*>(c->host_data);
      return (cancel_requested() || self->exec->failed_) ? 1 : 0;
    };
    s.call.progress = [](const glia_call* c, double f, const char* m) {
      auto* self = static_cast<StageRun*>(c->host_data);
      self->exec->console_.progress(self->key, std::clamp(f, 0.0, 1.0), m ? m : "");
    };
    s.call.log = [](const glia_call* c, int32_t level, const char* m) {
      auto* self = static_cast<StageRun*>(c->host_data);
      self->exec->console_.log(level, "[" + self->key + "] " + (m ? m : ""));
    };
    s.call.set_error = [](const glia_call* c, glia_status st, const char* m) {
      auto* self = static_cast<StageRun*>(c->host_data);
      std::lock_guard<std::mutex> lock(self->mutex);
      self->error_status = st;
      self->error = m ? m : "";
    };
    s.call.alloc_output = [](const glia_call* c, uint32_t port, DLDataType dtype, int32_t ndim,
                             const int64_t* shape, DLTensor** out) -> glia_status {
      auto* self = static_cast<StageRun*>(c->host_data);
      return self->exec->allocate(*self, port, dtype, ndim, shape, out);
    };
    s.call.report_metric = [](const glia_call* c, const char* name, double value, int64_t step) {
      auto* self = static_cast<StageRun*>(c->host_data);
      std::lock_guard<std::mutex> lock(self->mutex);
      self->metrics.push_back({self->trial, self->stage_id, name ? name : "", value, step});
    };
  }

  glia_status allocate(StageRun& s, uint32_t port, DLDataType dtype, int32_t ndim, const int64_t* shape,
                       DLTensor** out) {
    auto refuse = [&](const std::string& why) {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.error = "alloc_output: " + why;
      s.error_status = GLIA_ERR_INVALID_ARGUMENT;
      return GLIA_ERR_INVALID_ARGUMENT;
    };
    const auto& ports = s.rs->op->ports;
    if (!out) return refuse("null output pointer");
    *out = nullptr;
    if (port >= ports.size() || ports[port].input) return refuse("port " + std::to_string(port) + " is not an output");
    const PortInfo& p = ports[port];
    if (!(glia::dtype_bit(dtype) & p.dtypes))
      return refuse("output '" + p.name + "' does not declare that dtype (declared: " + dtype_list(p.dtypes) + ")");
    if (ndim < 0 || ndim > 32 || (ndim > 0 && !shape)) return refuse("output '" + p.name + "': bad rank");
    for (int32_t d = 0; d < ndim; ++d)
      if (shape[d] < 0) return refuse("output '" + p.name + "': negative dimension");
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.outputs[port]) {
      s.error = "alloc_output: output '" + p.name + "' allocated twice";
      s.error_status = GLIA_ERR_INVALID_ARGUMENT;
      return GLIA_ERR_INVALID_ARGUMENT;
    }
    try {
      s.outputs[port] = std::make_shared<HostTensor>(dtype, std::vector<int64_t>(shape, shape + ndim));
    } catch (const std::bad_alloc&) {
      s.error = "out of memory allocating output '" + p.name + "'";
      s.error_status = GLIA_ERR_OUT_OF_MEMORY;
      return GLIA_ERR_OUT_OF_MEMORY;
    }
    *out = &s.outputs[port]->dl;
    return GLIA_OK;
  }

  void fail(StageRun& s, int exit_code, const std::string& message) {
    std::lock_guard<std::mutex> lock(fail_mutex_);
    if (failed_) return;  // the first failure is the one reported
    failure_ = "stage '" + s.stage_id + "' (" + s.rs->op->id + ")" +
               (plan_.trials.size() > 1 ? " in trial " + std::to_string(s.trial) : "") + " failed: " + message;
    failure_exit_ = exit_code;
    failed_ = true;
  }

  void execute(StageRun& s, std::vector<std::unique_ptr<StageRun>>& row) {
    if (failed_ || cancel_requested()) return;
    const OperatorInfo& op = *s.rs->op;
    std::vector<const DLTensor*> inputs;
    std::map<std::string, int64_t> bindings;
    size_t slot = 0;
    for (const auto& port : op.ports) {
      if (!port.input) continue;
      auto [src, out_port] = s.rs->sources[slot++];
      const DLTensor* t = nullptr;
      if (src >= 0) {
        const auto& produced = row[src]->outputs[out_port];
        if (!produced) {
          if (!port.optional())
            return fail(s, kExitInternal, "input '" + port.name + "': upstream " + row[src]->stage_id + "." +
                                              row[src]->rs->op->ports[out_port].name + " produced nothing");
        } else {
          t = &produced->dl;
        }
      }
      if (t) {
        if (!(glia::dtype_bit(t->dtype) & port.dtypes))
          return fail(s, kExitData, "input '" + port.name + "' is " + glia::dtype_name(glia::dtype_bit(t->dtype)) +
                                        ", the operator accepts " + dtype_list(port.dtypes));
        if (std::string why = check_shape(port, *t, bindings); !why.empty())
          return fail(s, kExitData, "input '" + port.name + "' " + why);
      }
      inputs.push_back(t);
    }

    const auto started = std::chrono::steady_clock::now();
    glia_status st = GLIA_ERR_INTERNAL;
    try {
      st = s.op->run(s.op, &s.call, inputs.data(), static_cast<uint32_t>(inputs.size()));
    } catch (...) {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.error = "threw a C++ exception across the C ABI from run()";
    }
    console_.task_done(s.key);
    console_.log(GLIA_LOG_DEBUG, "[" + s.key + "] " + op.id + " ran in " +
                                     std::to_string(std::chrono::duration<double, std::milli>(
                                                        std::chrono::steady_clock::now() - started).count()) + " ms");
    if (st != GLIA_OK) {
      if (st == GLIA_ERR_CANCELLED && cancel_requested()) return;
      std::string msg;
      {
        std::lock_guard<std::mutex> lock(s.mutex);
        msg = s.error.empty() ? status_name(st) : s.error;
      }
      return fail(s, exit_code_for_status(st), msg);
    }

    for (size_t p = 0; p < op.ports.size(); ++p) {
      const PortInfo& port = op.ports[p];
      if (port.input) continue;
      if (!s.outputs[p]) {
        if (!port.optional()) return fail(s, kExitInternal, "the operator did not produce its output '" + port.name + "'");
        continue;
      }
      if (std::string why = check_shape(port, s.outputs[p]->dl, bindings); !why.empty())
        return fail(s, kExitInternal, "plugin bug: output '" + port.name + "' " + why);
      if (const DLTensor& t = s.outputs[p]->dl; glia::dtype_bit(t.dtype) & (GLIA_DTYPE_F32 | GLIA_DTYPE_F64)) {
        const size_t n = s.outputs[p]->bytes / (t.dtype.bits / 8);
        bool finite = true;
        if (t.dtype.bits == 32)
          for (size_t i = 0; i < n && finite; ++i) finite = std::isfinite(static_cast<const float*>(t.data)[i]);
        else
          for (size_t i = 0; i < n && finite; ++i) finite = std::isfinite(static_cast<const double*>(t.data)[i]);
        if (!finite) return fail(s, kExitData, "output '" + port.name + "' contains NaN or infinity");
      }
    }
    for (int p : s.rs->saved_ports) {
      if (!s.outputs[p] || run_dir_.empty()) continue;
      const fs::path dir = plan_.trials.size() > 1 ? run_dir_ / ("trial-" + std::to_string(s.trial)) : run_dir_;
      try {
        fs::create_directories(dir);
        const HostTensor& t = *s.outputs[p];
        glia::core::write_npy(dir / (s.stage_id + "." + op.ports[p].name + ".npy"), t.data, npy_dtype_of(t.dl.dtype),
                              t.shape);
      } catch (const std::exception& e) {
        return fail(s, kExitData, std::string("cannot save output: ") + e.what());
      }
    }
  }

  const Plan& plan_;
  Registry& registry_;
  Console& console_;
  fs::path run_dir_;
  std::vector<std::vector<std::unique_ptr<StageRun>>> runs_;
  std::atomic<bool> failed_{false};
  std::mutex fail_mutex_;
  std::string failure_;
  int failure_exit_ = kExitInternal;
  int configure_exit_ = kExitConfig;
};

std::string metrics_jsonl(const std::vector<MetricRecord>& metrics) {
  std::string out;
  for (const auto& m : metrics) {
    nlohmann::ordered_json j = {
        {"trial", m.trial}, {"stage", m.stage}, {"name", m.name},
        {"value", std::isfinite(m.value) ? nlohmann::ordered_json(m.value) : nlohmann::ordered_json(nullptr)},
        {"step", m.step}};
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace

void check_configure(const Plan& plan, Registry& registry, Console& console) {
  Execution exec(plan, registry, console, {});
  exec.configure_all();
}

RunOutcome run_pipeline(const Plan& plan, Registry& registry, Console& console, const RunOptions& options) {
  fs::path run_dir = options.out_dir.empty() ? fs::path("runs") / plan.spec.name / utc_timestamp() : options.out_dir;
  Execution exec(plan, registry, console, run_dir);
  exec.configure_all();
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw Failure(kExitData, "cannot create the run folder " + run_dir.string() + ": " + ec.message());
  write_file_atomic(run_dir / "pipeline.toml", resolved_toml(plan));
  console.log(GLIA_LOG_DEBUG, "run folder: " + run_dir.string());

  RunOutcome outcome = exec.run(options.threads);
  if (!exec.failure().empty()) console.error(exec.failure());
  else if (outcome.exit_code == kExitCancelled) console.error("cancelled");
  write_file_atomic(run_dir / "results.jsonl", metrics_jsonl(outcome.metrics));
  write_file_atomic(run_dir / "run.log", console.log_text());
  return outcome;
}

}  // namespace glia::host
