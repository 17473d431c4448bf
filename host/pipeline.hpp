// Pipelines: parsing a TOML file, applying --set overrides and sweeps, and validating every
// stage against the operators' descriptors before anything runs. Errors name file:line:col.
#pragma once

#include "operator_info.hpp"
#include "registry.hpp"
#include "util.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace glia::host {

struct SourcePos {
  std::string file;
  int64_t line = 0;
  int64_t col = 0;
  // "file:line:col" (or the file alone when the position is unknown)
  std::string text() const;
};

struct Diagnostic {
  SourcePos pos;
  std::string message;
};

// A configuration error with one or more located diagnostics; exit code 78.
class ConfigError : public Failure {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// A value in the file (or from --set / a sweep), kept as a TOML node with its position.
struct RawValue {
  std::shared_ptr<const toml::table> owner;  // keeps `node` alive
  const toml::node* node = nullptr;
  SourcePos pos;
};

struct InputSpec {
  std::string port;          // consumer port
  std::string source_stage;  // producer stage id
  std::string source_port;   // producer port
  SourcePos pos;
};

struct StageSpec {
  std::string id;
  std::string op_id;
  SourcePos pos;     // of the [stages.<id>] table
  SourcePos op_pos;  // of plugin = "..."
  std::vector<InputSpec> inputs;
  std::vector<std::pair<std::string, RawValue>> params;  // in file order
  SourcePos params_pos;
  std::vector<std::pair<std::string, SourcePos>> save;   // extra outputs to save as .npy
};

struct SweepAxis {
  std::string stage;
  std::string param;
  std::vector<RawValue> values;
  SourcePos pos;
};

struct SweepSpec {
  std::string mode;  // "" (no sweep), grid, zip, random
  int64_t trials = 0;
  int64_t repeats = 1;  // each combination runs this many times, each time with its own seed
  std::vector<SweepAxis> axes;
  SourcePos pos;
};

struct PipelineSpec {
  std::shared_ptr<const toml::table> document;
  std::filesystem::path file;
  std::filesystem::path dir;  // PATH params resolve against it
  std::string name;
  uint64_t seed = 0;
  std::vector<StageSpec> stages;  // file order
  SweepSpec sweep;
};

// Parses and checks the file's structure (keys, types); throws ConfigError.
PipelineSpec parse_pipeline(const std::filesystem::path& file);

// Applies "stage.param=value" (or pipeline.seed / pipeline.name) overrides; throws ConfigError.
void apply_overrides(PipelineSpec& spec, const std::vector<std::string>& overrides);

struct ResolvedStage {
  const StageSpec* spec = nullptr;
  const OperatorInfo* op = nullptr;
  std::vector<Value> params;  // descriptor order, defaults filled, paths resolved
  // For each IN port (descriptor order among IN ports): producer stage index and the
  // producer's port index in its descriptor, or -1/-1 when unconnected.
  std::vector<std::pair<int, int>> sources;
  std::vector<int> saved_ports;  // OUT port indices saved as .npy
  uint64_t seed = 0;
};

struct Trial {
  size_t index = 0;
  uint64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> assignments;  // "stage.param" -> TOML text
  std::vector<ResolvedStage> stages;                            // same order as spec.stages
};

struct Plan {
  PipelineSpec spec;
  std::vector<size_t> order;  // a topological order of stage indices
  std::vector<Trial> trials;
};

// Resolves every trial against the registry: operators, params, edges, types, cycles; throws
// ConfigError listing every problem found.
Plan resolve_pipeline(PipelineSpec spec, const Registry& registry);

// The effective configuration of a plan as TOML (written to the run folder).
std::string resolved_toml(const Plan& plan);

}  // namespace glia::host
