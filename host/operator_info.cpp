#include "operator_info.hpp"

#include <glia/plugin.hpp>

#include "util.hpp"

#include <algorithm>

#include <charconv>
#include <cmath>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace glia::host {

using nlohmann::json;

glia_value Value::to_c() const {
  glia_value v{};
  v.type = type;
  switch (type) {
    case GLIA_PARAM_BOOL:
    case GLIA_PARAM_INT: v.as.i = i; break;
    case GLIA_PARAM_FLOAT: v.as.f = f; break;
    case GLIA_PARAM_STRING:
    case GLIA_PARAM_ENUM:
    case GLIA_PARAM_PATH: v.as.s = s.c_str(); break;
    case GLIA_PARAM_INT_LIST:
      v.count = static_cast<uint32_t>(ints.size());
      v.as.ints = ints.data();
      break;
    case GLIA_PARAM_FLOAT_LIST:
      v.count = static_cast<uint32_t>(floats.size());
      v.as.floats = floats.data();
      break;
    default: break;
  }
  return v;
}

Value Value::from_c(const glia_value& c) {
  Value v;
  v.type = c.type;
  switch (c.type) {
    case GLIA_PARAM_BOOL: v.i = c.as.i ? 1 : 0; break;
    case GLIA_PARAM_INT: v.i = c.as.i; break;
    case GLIA_PARAM_FLOAT: v.f = c.as.f; break;
    case GLIA_PARAM_STRING:
    case GLIA_PARAM_ENUM:
    case GLIA_PARAM_PATH: v.s = c.as.s ? c.as.s : ""; break;
    case GLIA_PARAM_INT_LIST:
      if (c.count && c.as.ints) v.ints.assign(c.as.ints, c.as.ints + c.count);
      break;
    case GLIA_PARAM_FLOAT_LIST:
      if (c.count && c.as.floats) v.floats.assign(c.as.floats, c.as.floats + c.count);
      break;
    default: break;
  }
  return v;
}

json Value::to_json() const {
  switch (type) {
    case GLIA_PARAM_BOOL: return json(i != 0);
    case GLIA_PARAM_INT: return json(i);
    case GLIA_PARAM_FLOAT: return std::isfinite(f) ? json(f) : json(nullptr);
    case GLIA_PARAM_INT_LIST: return json(ints);
    case GLIA_PARAM_FLOAT_LIST: return json(floats);
    default: return json(s);
  }
}

Value Value::from_json(int32_t type, const json& j) {
  Value v;
  v.type = type;
  switch (type) {
    case GLIA_PARAM_BOOL: v.i = j.get<bool>() ? 1 : 0; break;
    case GLIA_PARAM_INT: v.i = j.get<int64_t>(); break;
    case GLIA_PARAM_FLOAT: v.f = j.is_null() ? std::nan("") : j.get<double>(); break;
    case GLIA_PARAM_INT_LIST: v.ints = j.get<std::vector<int64_t>>(); break;
    case GLIA_PARAM_FLOAT_LIST: v.floats = j.get<std::vector<double>>(); break;
    default: v.s = j.get<std::string>(); break;
  }
  return v;
}

static std::string float_literal(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest text that reads back to the same double.
  const auto end = std::to_chars(buf, buf + sizeof buf, f).ptr;
  std::string text(buf, end);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

static std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string Value::to_toml() const {
  switch (type) {
    case GLIA_PARAM_BOOL: return i ? "true" : "false";
    case GLIA_PARAM_INT: return std::to_string(i);
    case GLIA_PARAM_FLOAT: return float_literal(f);
    case GLIA_PARAM_INT_LIST: {
      std::string out = "[";
      for (size_t k = 0; k < ints.size(); ++k) out += (k ? ", " : "") + std::to_string(ints[k]);
      return out + "]";
    }
    case GLIA_PARAM_FLOAT_LIST: {
      std::string out = "[";
      for (size_t k = 0; k < floats.size(); ++k) out += (k ? ", " : "") + float_literal(floats[k]);
      return out + "]";
    }
    default: return quoted(s);
  }
}

std::string PortInfo::type_text() const {
  std::string t = dtype_list(dtypes);
  if (flags & GLIA_PORT_BLOB) t = "blob";
  if (!media_type.empty()) t += " " + media_type;
  else if (ndim >= 0) t += ", rank " + std::to_string(ndim);
  else t += ", any rank";
  if (!shape.empty()) t += " (" + shape + ")";
  return t;
}

const ParamInfo* OperatorInfo::param(const std::string& name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

const PortInfo* OperatorInfo::port(const std::string& name, bool input) const {
  for (const auto& p : ports)
    if (p.input == input && p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> OperatorInfo::param_names() const {
  std::vector<std::string> n;
  for (const auto& p : params) n.push_back(p.name);
  return n;
}

std::vector<std::string> OperatorInfo::port_names(bool input) const {
  std::vector<std::string> n;
  for (const auto& p : ports)
    if (p.input == input) n.push_back(p.name);
  return n;
}

int OperatorInfo::input_index(const std::string& name) const {
  int k = 0;
  for (const auto& p : ports) {
    if (!p.input) continue;
    if (p.name == name) return k;
    ++k;
  }
  return -1;
}

int OperatorInfo::port_index(const std::string& name, bool input) const {
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i].input == input && ports[i].name == name) return static_cast<int>(i);
  return -1;
}

bool valid_name(const std::string& name) {
  static const std::regex re("[a-z][a-z0-9_]*");
  return std::regex_match(name, re);
}

bool valid_operator_id(const std::string& id) {
  static const std::regex re("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+");
  return std::regex_match(id, re);
}

std::vector<DimPattern> parse_shape(const std::string& shape) {
  std::vector<DimPattern> dims;
  if (shape.empty()) return dims;
  static const std::regex symbol("[A-Za-z_][A-Za-z0-9_]*");
  static const std::regex number("[0-9]+");
  const auto parts = split(shape, ',');
  for (size_t k = 0; k < parts.size(); ++k) {
    std::string p = parts[k];
    p.erase(0, p.find_first_not_of(' '));
    p.erase(p.find_last_not_of(' ') + 1);
    DimPattern d;
    if (p == "*") d.kind = DimPattern::Any;
    else if (p == "...") {
      if (k + 1 != parts.size()) throw std::runtime_error("'...' must be the last dimension");
      d.kind = DimPattern::Rest;
    } else if (std::regex_match(p, number)) {
      d.kind = DimPattern::Fixed;
      d.size = std::stoll(p);
    } else if (std::regex_match(p, symbol)) {
      d.kind = DimPattern::Symbol;
      d.symbol = p;
    } else {
      throw std::runtime_error("bad dimension '" + p + "'");
    }
    dims.push_back(d);
  }
  return dims;
}

const char* param_type_name(int32_t type) {
  switch (type) {
    case GLIA_PARAM_BOOL: return "bool";
    case GLIA_PARAM_INT: return "int";
    case GLIA_PARAM_FLOAT: return "float";
    case GLIA_PARAM_STRING: return "string";
    case GLIA_PARAM_ENUM: return "enum";
    case GLIA_PARAM_PATH: return "path";
    case GLIA_PARAM_INT_LIST: return "int list";
    case GLIA_PARAM_FLOAT_LIST: return "float list";
    default: return "unknown";
  }
}

std::string dtype_list(uint32_t mask) {
  std::vector<std::string> names;
  for (uint32_t bit : {GLIA_DTYPE_F32, GLIA_DTYPE_F64, GLIA_DTYPE_I32, GLIA_DTYPE_I64, GLIA_DTYPE_U8})
    if (mask & bit) names.push_back(glia::dtype_name(bit));
  return join(names, "|");
}

static std::string bound_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string range_text(const ParamInfo& p) {
  const bool lo = !std::isnan(p.min_value), hi = !std::isnan(p.max_value);
  if (!lo && !hi) return "";
  return (lo ? "[" + bound_text(p.min_value) : "(-inf") + ", " +
         (hi ? bound_text(p.max_value) + "]" : "inf)");
}

static bool in_bounds(const ParamInfo& p, double v) {
  if (!std::isnan(p.min_value) && v < p.min_value) return false;
  if (!std::isnan(p.max_value) && v > p.max_value) return false;
  return true;
}

OperatorInfo operator_from_descriptor(const glia_operator_descriptor* d) {
  if (!d) throw std::runtime_error("factory returned a null descriptor");
  if (d->abi.major != GLIA_ABI_MAJOR)
    throw std::runtime_error("descriptor declares ABI " + std::to_string(d->abi.major));
  OperatorInfo op;
  if (!d->id || !valid_operator_id(d->id))
    throw std::runtime_error("invalid operator id '" + std::string(d->id ? d->id : "(null)") +
                             "' (expected family.verb in lowercase)");
  op.id = d->id;
  const std::string where = "operator '" + op.id + "': ";
  if (!d->summary || !*d->summary) throw std::runtime_error(where + "no summary");
  op.summary = d->summary;
  op.doc = d->doc ? d->doc : "";
  op.citation = d->citation ? d->citation : "";
  op.version = d->version ? d->version : "";
  op.capabilities = d->capabilities;
  if (d->n_params && !d->params) throw std::runtime_error(where + "params array is null");
  if (d->n_ports && !d->ports) throw std::runtime_error(where + "ports array is null");

  std::set<std::string> names;
  for (uint32_t k = 0; k < d->n_params; ++k) {
    const glia_param_info& c = d->params[k];
    ParamInfo p;
    if (!c.name || !valid_name(c.name))
      throw std::runtime_error(where + "invalid parameter name '" + (c.name ? c.name : "(null)") + "'");
    p.name = c.name;
    if (!names.insert(p.name).second) throw std::runtime_error(where + "duplicate parameter '" + p.name + "'");
    const std::string pw = where + "parameter '" + p.name + "': ";
    p.doc = c.doc ? c.doc : "";
    p.type = c.type;
    if (p.type < GLIA_PARAM_BOOL || p.type > GLIA_PARAM_FLOAT_LIST)
      throw std::runtime_error(pw + "unknown type " + std::to_string(p.type));
    p.flags = c.flags;
    p.min_value = c.min_value;
    p.max_value = c.max_value;
    p.unit = c.unit ? c.unit : "";
    if (c.default_value.type != p.type && !p.required())
      throw std::runtime_error(pw + "default value has the wrong type");
    p.default_value = Value::from_c(c.default_value);
    p.default_value.type = p.type;
    if (p.type == GLIA_PARAM_ENUM) {
      if (!c.choices || !c.choices[0]) throw std::runtime_error(pw + "enum without choices");
      for (auto ch = c.choices; *ch; ++ch) p.choices.push_back(*ch);
      if (!p.required() && std::find(p.choices.begin(), p.choices.end(), p.default_value.s) == p.choices.end())
        throw std::runtime_error(pw + "default '" + p.default_value.s + "' is not one of its choices");
    }
    if (!p.required()) {
      bool ok = true;
      if (p.type == GLIA_PARAM_INT) ok = in_bounds(p, static_cast<double>(p.default_value.i));
      if (p.type == GLIA_PARAM_FLOAT) ok = in_bounds(p, p.default_value.f);
      for (auto v : p.default_value.ints) ok = ok && in_bounds(p, static_cast<double>(v));
      for (auto v : p.default_value.floats) ok = ok && in_bounds(p, v);
      if (!ok) throw std::runtime_error(pw + "default " + p.default_value.to_toml() + " is outside " + range_text(p));
    }
    op.params.push_back(std::move(p));
  }

  std::set<std::string> in_names, out_names;
  for (uint32_t k = 0; k < d->n_ports; ++k) {
    const glia_port_info& c = d->ports[k];
    PortInfo p;
    if (!c.name || !valid_name(c.name))
      throw std::runtime_error(where + "invalid port name '" + (c.name ? c.name : "(null)") + "'");
    p.name = c.name;
    const std::string pw = where + "port '" + p.name + "': ";
    if (c.direction != GLIA_PORT_IN && c.direction != GLIA_PORT_OUT)
      throw std::runtime_error(pw + "direction is neither IN nor OUT");
    p.input = c.direction == GLIA_PORT_IN;
    if (!(p.input ? in_names : out_names).insert(p.name).second)
      throw std::runtime_error(where + "duplicate port '" + p.name + "'");
    p.doc = c.doc ? c.doc : "";
    p.flags = c.flags;
    p.dtypes = c.dtypes;
    const uint32_t known = GLIA_DTYPE_F32 | GLIA_DTYPE_F64 | GLIA_DTYPE_I32 | GLIA_DTYPE_I64 | GLIA_DTYPE_U8;
    if (!p.dtypes || (p.dtypes & ~known)) throw std::runtime_error(pw + "bad dtype mask");
    p.ndim = c.ndim;
    p.shape = c.shape ? c.shape : "";
    p.media_type = c.media_type ? c.media_type : "";
    try {
      p.dims = parse_shape(p.shape);
    } catch (const std::exception& e) {
      throw std::runtime_error(pw + "shape '" + p.shape + "': " + e.what());
    }
    const bool rest = !p.dims.empty() && p.dims.back().kind == DimPattern::Rest;
    if (!p.dims.empty() && p.ndim >= 0 && (rest || static_cast<int32_t>(p.dims.size()) != p.ndim))
      throw std::runtime_error(pw + "shape '" + p.shape + "' does not match rank " + std::to_string(p.ndim));
    if (!p.dims.empty() && p.ndim < 0 && !rest)
      p.ndim = static_cast<int32_t>(p.dims.size());
    op.ports.push_back(std::move(p));
  }
  return op;
}

json operator_to_json(const OperatorInfo& op) {
  json params = json::array();
  for (const auto& p : op.params) {
    json j = {{"name", p.name}, {"doc", p.doc}, {"type", param_type_name(p.type)}, {"type_code", p.type},
              {"required", p.required()}, {"advanced", (p.flags & GLIA_PARAM_ADVANCED) != 0},
              {"flags", p.flags}};
    if (!p.required()) j["default"] = p.default_value.to_json();
    j["min"] = std::isnan(p.min_value) ? json(nullptr) : json(p.min_value);
    j["max"] = std::isnan(p.max_value) ? json(nullptr) : json(p.max_value);
    if (!p.choices.empty()) j["choices"] = p.choices;
    if (!p.unit.empty()) j["unit"] = p.unit;
    params.push_back(j);
  }
  json ports = json::array();
  for (const auto& p : op.ports) {
    std::vector<std::string> dtypes = split(dtype_list(p.dtypes), '|');
    json j = {{"name", p.name}, {"doc", p.doc}, {"direction", p.input ? "in" : "out"},
              {"dtypes", dtypes}, {"dtype_mask", p.dtypes}, {"ndim", p.ndim}, {"shape", p.shape},
              {"optional", p.optional()}, {"save", (p.flags & GLIA_PORT_SAVE) != 0},
              {"blob", (p.flags & GLIA_PORT_BLOB) != 0}, {"flags", p.flags}};
    if (!p.media_type.empty()) j["media_type"] = p.media_type;
    ports.push_back(j);
  }
  std::vector<std::string> caps;
  if (op.capabilities & GLIA_CAP_DETERMINISTIC) caps.push_back("deterministic");
  if (op.capabilities & GLIA_CAP_CANCELLABLE) caps.push_back("cancellable");
  if (op.capabilities & GLIA_CAP_REPORTS_PROGRESS) caps.push_back("reports-progress");
  if (op.capabilities & GLIA_CAP_STATEFUL) caps.push_back("stateful");
  return {{"id", op.id}, {"summary", op.summary}, {"doc", op.doc}, {"citation", op.citation},
          {"version", op.version}, {"capabilities", caps}, {"capability_mask", op.capabilities},
          {"plugin", {{"name", op.plugin_name}, {"version", op.plugin_version}, {"path", op.plugin_path}}},
          {"params", params}, {"ports", ports}};
}

OperatorInfo operator_from_json(const json& j) {
  OperatorInfo op;
  op.id = j.at("id");
  op.summary = j.at("summary");
  op.doc = j.at("doc");
  op.citation = j.at("citation");
  op.version = j.at("version");
  op.capabilities = j.at("capability_mask");
  op.plugin_name = j.at("plugin").at("name");
  op.plugin_version = j.at("plugin").at("version");
  op.plugin_path = j.at("plugin").at("path");
  for (const auto& jp : j.at("params")) {
    ParamInfo p;
    p.name = jp.at("name");
    p.doc = jp.at("doc");
    p.type = jp.at("type_code");
    p.flags = jp.at("flags");
    p.default_value.type = p.type;
    if (jp.contains("default")) p.default_value = Value::from_json(p.type, jp.at("default"));
    p.min_value = jp.at("min").is_null() ? std::nan("") : jp.at("min").get<double>();
    p.max_value = jp.at("max").is_null() ? std::nan("") : jp.at("max").get<double>();
    if (jp.contains("choices")) p.choices = jp.at("choices").get<std::vector<std::string>>();
    if (jp.contains("unit")) p.unit = jp.at("unit");
    op.params.push_back(std::move(p));
  }
  for (const auto& jp : j.at("ports")) {
    PortInfo p;
    p.name = jp.at("name");
    p.doc = jp.at("doc");
    p.input = jp.at("direction") == "in";
    p.flags = jp.at("flags");
    p.dtypes = jp.at("dtype_mask");
    p.ndim = jp.at("ndim");
    p.shape = jp.at("shape");
    if (jp.contains("media_type")) p.media_type = jp.at("media_type");
    p.dims = parse_shape(p.shape);
    op.ports.push_back(std::move(p));
  }
  return op;
}

}  // namespace glia::host
