// The host's own copy of an operator descriptor: validated, owning its strings, serialisable to
// JSON (the scanner's protocol and the registry cache) and printable.
#pragma once

#include <glia/plugin.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace glia::host {

// A typed parameter value owned by the host.
struct Value {
  int32_t type = GLIA_PARAM_INT;
  int64_t i = 0;   // BOOL, INT
  double f = 0;    // FLOAT
  std::string s;   // STRING, ENUM, PATH
  std::vector<int64_t> ints;
  std::vector<double> floats;

  // A C view; pointers stay valid while this Value lives unchanged.
  glia_value to_c() const;
  static Value from_c(const glia_value& v);
  nlohmann::json to_json() const;
  static Value from_json(int32_t type, const nlohmann::json& j);
  // TOML literal: true, 3, 0.25, "text", [1, 2]
  std::string to_toml() const;
  bool operator==(const Value&) const = default;
};

struct ParamInfo {
  std::string name;
  std::string doc;
  int32_t type = GLIA_PARAM_INT;
  uint32_t flags = 0;
  Value default_value;
  double min_value = 0;  // NaN = unbounded
  double max_value = 0;
  std::vector<std::string> choices;
  std::string unit;

  bool required() const { return flags & GLIA_PARAM_REQUIRED; }
};

// One dimension of a symbolic port shape.
struct DimPattern {
  enum Kind { Symbol, Fixed, Any, Rest } kind = Any;
  std::string symbol;
  int64_t size = 0;
};

struct PortInfo {
  std::string name;
  std::string doc;
  bool input = true;
  uint32_t flags = 0;
  uint32_t dtypes = 0;
  int32_t ndim = -1;
  std::string shape;  // as declared, "" when none
  std::string media_type;
  std::vector<DimPattern> dims;  // parsed shape

  bool optional() const { return flags & GLIA_PORT_OPTIONAL; }
  // "float32|float64, rank 2 (N,D)"
  std::string type_text() const;
};

struct OperatorInfo {
  std::string id;
  std::string summary;
  std::string doc;
  std::string citation;
  std::string version;
  uint32_t capabilities = 0;
  std::vector<ParamInfo> params;
  std::vector<PortInfo> ports;
  // Where it came from.
  std::string plugin_path;
  std::string plugin_name;
  std::string plugin_version;

  const ParamInfo* param(const std::string& name) const;
  const PortInfo* port(const std::string& name, bool input) const;
  std::vector<std::string> param_names() const;
  std::vector<std::string> port_names(bool input) const;
  // Position of an IN port among the IN ports (the run() input order), -1 if absent.
  int input_index(const std::string& name) const;
  // Index into the descriptor's ports array, -1 if absent.
  int port_index(const std::string& name, bool input) const;
};

// Copies and validates a plugin's descriptor; throws std::runtime_error naming what is wrong.
OperatorInfo operator_from_descriptor(const glia_operator_descriptor* d);

nlohmann::json operator_to_json(const OperatorInfo& op);
OperatorInfo operator_from_json(const nlohmann::json& j);

std::vector<DimPattern> parse_shape(const std::string& shape);
const char* param_type_name(int32_t type);
std::string dtype_list(uint32_t mask);
bool valid_operator_id(const std::string& id);
bool valid_name(const std::string& name);
// "[0, 1]", "[1, inf)", "" when unbounded both sides.
std::string range_text(const ParamInfo& p);

}  // namespace glia::host
