// Running a resolved pipeline: one oneTBB flow-graph node per (trial, stage), host-owned
// tensors passed as DLTensor views, runtime shape checks, metrics, saved outputs, cancellation.
#pragma once

#include "console.hpp"
#include "pipeline.hpp"
#include "registry.hpp"

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

namespace glia::host {

struct MetricRecord {
  size_t trial = 0;
  std::string stage;
  std::string name;
  double value = 0;
  int64_t step = -1;
};

struct RunOptions {
  int threads = 0;  // 0: all cores
  std::filesystem::path out_dir;  // empty: runs/<name>/<UTC timestamp>
};

struct RunOutcome {
  int exit_code = 0;
  std::filesystem::path run_dir;
  std::vector<MetricRecord> metrics;  // deterministic order: trial, stage order, report order
};

// Set by SIGINT/SIGTERM (a second signal exits at once with 130); polled by operators.
std::atomic<bool>& cancel_requested();
void install_cancel_handlers();

// Creates and configures every operator instance of every trial (what `glia validate` does
// after resolving), then destroys them. Throws ConfigError / Failure.
void check_configure(const Plan& plan, Registry& registry, Console& console);

RunOutcome run_pipeline(const Plan& plan, Registry& registry, Console& console, const RunOptions& options);

}  // namespace glia::host
