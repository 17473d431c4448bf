#include "pipeline.hpp"

#include "util.hpp"

#include <glia/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <sstream>

namespace glia::host {

namespace fs = std::filesystem;

std::string SourcePos::text() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(col);
}

static std::string diagnostics_text(const std::vector<Diagnostic>& d) {
  std::string out;
  for (size_t k = 0; k < d.size(); ++k) out += (k ? "\n" : "") + d[k].pos.text() + ": " + d[k].message;
  return out;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : Failure(kExitConfig, diagnostics_text(diagnostics)), diagnostics_(std::move(diagnostics)) {}

namespace {

// Collects diagnostics; throws them all at once.
struct Diagnostics {
  std::vector<Diagnostic> list;
  void error(const SourcePos& pos, std::string message) { list.push_back({pos, std::move(message)}); }
  void throw_if_any() {
    if (!list.empty()) throw ConfigError(list);
  }
};

SourcePos pos_of(const toml::source_region& r, const std::string& fallback_file) {
  SourcePos p;
  p.file = r.path ? *r.path : fallback_file;
  p.line = r.begin.line;
  p.col = r.begin.column;
  return p;
}

const char* toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

std::vector<std::string> keys_of(std::initializer_list<const char*> keys) {
  return std::vector<std::string>(keys.begin(), keys.end());
}

// ${VAR}, ${VAR:-default}, ${VAR:?message} in string values.
std::string interpolate(const std::string& text, const SourcePos& pos, Diagnostics& diag) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const size_t end = text.find('}', i);
    if (end == std::string::npos) {
      diag.error(pos, "unterminated ${...} in \"" + text + "\"");
      return text;
    }
    const std::string expr = text.substr(i + 2, end - i - 2);
    std::string name = expr, op, arg;
    if (size_t c = expr.find(":-"); c != std::string::npos) {
      name = expr.substr(0, c);
      op = ":-";
      arg = expr.substr(c + 2);
    } else if (size_t q = expr.find(":?"); q != std::string::npos) {
      name = expr.substr(0, q);
      op = ":?";
      arg = expr.substr(q + 2);
    }
    const char* value = std::getenv(name.c_str());
    if (value && *value) out += value;
    else if (op == ":-") out += arg;
    else if (op == ":?") diag.error(pos, "environment variable " + name + " is not set: " + arg);
    else diag.error(pos, "environment variable " + name + " is not set (use ${" + name + ":-default})");
    i = end + 1;
  }
  return out;
}

}  // namespace

PipelineSpec parse_pipeline(const fs::path& file) {
  PipelineSpec spec;
  spec.file = file;
  spec.dir = fs::absolute(file).parent_path();
  const std::string fname = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw ConfigError({{{fname, 0, 0}, "pipeline file not found"}});
  std::shared_ptr<toml::table> doc;
  try {
    doc = std::make_shared<toml::table>(toml::parse_file(fname));
  } catch (const toml::parse_error& e) {
    throw ConfigError({{pos_of(e.source(), fname), "TOML syntax error: " + std::string(e.description())}});
  }
  spec.document = doc;
  Diagnostics diag;
  auto raw = [&](const toml::node& n) { return RawValue{doc, &n, pos_of(n.source(), fname)}; };

  static const auto top_keys = keys_of({"pipeline", "stages", "sweep"});
  for (auto&& [key, node] : *doc) {
    const std::string k(key.str());
    if (std::find(top_keys.begin(), top_keys.end(), k) == top_keys.end())
      diag.error(pos_of(key.source(), fname), "unknown top-level key '" + k + "'" + suggestion_suffix(k, top_keys) +
                                                  " (expected pipeline, stages, sweep)");
  }

  spec.name = file.stem().string();
  if (const toml::node* p = doc->get("pipeline")) {
    if (!p->is_table()) {
      diag.error(pos_of(p->source(), fname), "[pipeline] must be a table");
    } else {
      static const auto pkeys = keys_of({"name", "seed", "description"});
      for (auto&& [key, node] : *p->as_table()) {
        const std::string k(key.str());
        const SourcePos at = pos_of(node.source(), fname);
        if (k == "name") {
          if (auto s = node.value<std::string>()) spec.name = *s;
          else diag.error(at, "pipeline.name must be a string");
        } else if (k == "seed") {
          auto s = node.value_exact<int64_t>();
          if (s && *s >= 0) spec.seed = static_cast<uint64_t>(*s);
          else diag.error(at, "pipeline.seed must be a non-negative integer");
        } else if (k == "description") {
          if (!node.is_string()) diag.error(at, "pipeline.description must be a string");
        } else {
          diag.error(pos_of(key.source(), fname), "unknown key 'pipeline." + k + "'" + suggestion_suffix(k, pkeys));
        }
      }
    }
  }
  if (!valid_name(spec.name) && spec.name.find_first_of("/\\ ") != std::string::npos)
    diag.error({fname, 1, 1}, "pipeline.name '" + spec.name + "' must not contain spaces or slashes");

  const toml::node* stages = doc->get("stages");
  if (!stages || !stages->is_table() || stages->as_table()->empty()) {
    diag.error(stages ? pos_of(stages->source(), fname) : SourcePos{fname, 1, 1},
               "no stages: add at least one [stages.<id>] table");
    diag.throw_if_any();
  }
  static const auto skeys = keys_of({"plugin", "inputs", "params", "save"});
  for (auto&& [key, node] : *stages->as_table()) {
    StageSpec st;
    st.id = std::string(key.str());
    st.pos = pos_of(key.source(), fname);
    if (!valid_name(st.id)) diag.error(st.pos, "stage id '" + st.id + "' must match [a-z][a-z0-9_]*");
    const toml::table* t = node.as_table();
    if (!t) {
      diag.error(st.pos, "stages." + st.id + " must be a table");
      continue;
    }
    st.params_pos = st.pos;
    for (auto&& [k2, v] : *t) {
      const std::string k(k2.str());
      const SourcePos at = pos_of(v.source(), fname);
      if (k == "plugin") {
        st.op_pos = at;
        if (auto s = v.value<std::string>()) st.op_id = *s;
        else diag.error(at, "stages." + st.id + ".plugin must be a string naming an operator");
      } else if (k == "inputs") {
        const toml::table* in = v.as_table();
        if (!in) {
          diag.error(at, "stages." + st.id + ".inputs must be a table { port = \"stage.port\" }");
          continue;
        }
        for (auto&& [pk, pv] : *in) {
          InputSpec is;
          is.port = std::string(pk.str());
          is.pos = pos_of(pv.source(), fname);
          auto s = pv.value<std::string>();
          const auto dot = s ? s->find('.') : std::string::npos;
          if (!s || dot == std::string::npos || dot == 0 || dot + 1 == s->size()) {
            diag.error(is.pos, "stages." + st.id + ".inputs." + is.port + " must be \"<stage>.<port>\"");
            continue;
          }
          is.source_stage = s->substr(0, dot);
          is.source_port = s->substr(dot + 1);
          st.inputs.push_back(is);
        }
      } else if (k == "params") {
        st.params_pos = at;
        const toml::table* pt = v.as_table();
        if (!pt) {
          diag.error(at, "stages." + st.id + ".params must be a table");
          continue;
        }
        for (auto&& [pk, pv] : *pt) st.params.emplace_back(std::string(pk.str()), raw(pv));
      } else if (k == "save") {
        const toml::array* a = v.as_array();
        if (!a) {
          diag.error(at, "stages." + st.id + ".save must be an array of output port names");
          continue;
        }
        for (const auto& e : *a) {
          if (auto s = e.value<std::string>()) st.save.emplace_back(*s, pos_of(e.source(), fname));
          else diag.error(pos_of(e.source(), fname), "stages." + st.id + ".save entries must be strings");
        }
      } else {
        diag.error(pos_of(k2.source(), fname),
                   "unknown key 'stages." + st.id + "." + k + "'" + suggestion_suffix(k, skeys) +
                       " (expected plugin, inputs, params, save)");
      }
    }
    if (st.op_id.empty() && st.op_pos.line == 0)
      diag.error(st.pos, "stages." + st.id + " has no plugin = \"family.verb\"");
    spec.stages.push_back(std::move(st));
  }

  // TOML tables are keyed maps; keep the order of the file, which users read as the pipeline's.
  auto before = [](const SourcePos& a, const SourcePos& b) { return std::tie(a.line, a.col) < std::tie(b.line, b.col); };
  std::sort(spec.stages.begin(), spec.stages.end(), [&](const StageSpec& a, const StageSpec& b) { return before(a.pos, b.pos); });
  for (auto& st : spec.stages) {
    std::sort(st.params.begin(), st.params.end(), [&](const auto& a, const auto& b) { return before(a.second.pos, b.second.pos); });
    std::sort(st.inputs.begin(), st.inputs.end(), [&](const InputSpec& a, const InputSpec& b) { return before(a.pos, b.pos); });
  }

  if (const toml::node* sw = doc->get("sweep")) {
    spec.sweep.pos = pos_of(sw->source(), fname);
    const toml::table* t = sw->as_table();
    if (!t) {
      diag.error(spec.sweep.pos, "[sweep] must be a table");
    } else {
      static const auto wkeys = keys_of({"mode", "trials", "repeats", "params"});
      spec.sweep.mode = "grid";
      for (auto&& [k2, v] : *t) {
        const std::string k(k2.str());
        const SourcePos at = pos_of(v.source(), fname);
        if (k == "mode") {
          auto s = v.value<std::string>();
          if (s && (*s == "grid" || *s == "zip" || *s == "random")) spec.sweep.mode = *s;
          else diag.error(at, "sweep.mode must be \"grid\", \"zip\" or \"random\"");
        } else if (k == "trials") {
          auto n = v.value_exact<int64_t>();
          if (n && *n > 0) spec.sweep.trials = *n;
          else diag.error(at, "sweep.trials must be a positive integer");
        } else if (k == "repeats") {
          auto n = v.value_exact<int64_t>();
          if (n && *n > 0) spec.sweep.repeats = *n;
          else diag.error(at, "sweep.repeats must be a positive integer");
        } else if (k == "params") {
          const toml::table* pt = v.as_table();
          if (!pt) {
            diag.error(at, "sweep.params must be a table { \"stage.param\" = [values] }");
            continue;
          }
          for (auto&& [pk, pv] : *pt) {
            SweepAxis axis;
            const std::string name(pk.str());
            axis.pos = pos_of(pk.source(), fname);
            const auto dot = name.find('.');
            if (dot == std::string::npos) {
              diag.error(axis.pos, "sweep key '" + name + "' must be \"<stage>.<param>\"");
              continue;
            }
            axis.stage = name.substr(0, dot);
            axis.param = name.substr(dot + 1);
            const toml::array* values = pv.as_array();
            if (!values || values->empty()) {
              diag.error(pos_of(pv.source(), fname), "sweep values for '" + name + "' must be a non-empty array");
              continue;
            }
            for (const auto& e : *values) axis.values.push_back(raw(e));
            spec.sweep.axes.push_back(std::move(axis));
          }
        } else {
          diag.error(pos_of(k2.source(), fname), "unknown key 'sweep." + k + "'" + suggestion_suffix(k, wkeys));
        }
      }
      if (spec.sweep.axes.empty() && (spec.sweep.repeats == 1 || spec.sweep.mode != "grid"))
        diag.error(spec.sweep.pos, "[sweep] has no params to vary (and no repeats = N)");
      if (spec.sweep.mode == "random" && spec.sweep.trials == 0)
        diag.error(spec.sweep.pos, "sweep.mode = \"random\" needs trials = <count>");
    }
  }
  std::sort(spec.sweep.axes.begin(), spec.sweep.axes.end(),
            [&](const SweepAxis& a, const SweepAxis& b) { return before(a.pos, b.pos); });
  diag.throw_if_any();
  return spec;
}

void apply_overrides(PipelineSpec& spec, const std::vector<std::string>& overrides) {
  Diagnostics diag;
  for (const auto& o : overrides) {
    const SourcePos at{"--set " + o, 0, 0};
    const auto eq = o.find('=');
    const auto dot = o.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
      diag.error(at, "expected --set <stage>.<param>=<value>");
      continue;
    }
    const std::string stage = o.substr(0, dot), param = o.substr(dot + 1, eq - dot - 1), text = o.substr(eq + 1);
    // The value is read as TOML (3, 0.5, true, [1, 2], "x"); anything else is a bare string.
    auto owner = std::make_shared<toml::table>();
    try {
      *owner = toml::parse("v = " + text);
    } catch (const toml::parse_error&) {
      owner = std::make_shared<toml::table>();
      owner->insert("v", text);
    }
    const toml::node* node = owner->get("v");
    if (stage == "pipeline") {
      if (param == "seed" && node->value_exact<int64_t>() && *node->value_exact<int64_t>() >= 0)
        spec.seed = static_cast<uint64_t>(*node->value_exact<int64_t>());
      else if (param == "name" && node->is_string())
        spec.name = *node->value<std::string>();
      else
        diag.error(at, "only pipeline.seed (integer) and pipeline.name (string) can be set");
      continue;
    }
    auto st = std::find_if(spec.stages.begin(), spec.stages.end(), [&](const StageSpec& s) { return s.id == stage; });
    if (st == spec.stages.end()) {
      std::vector<std::string> ids;
      for (const auto& s : spec.stages) ids.push_back(s.id);
      diag.error(at, "no stage '" + stage + "'" + suggestion_suffix(stage, ids));
      continue;
    }
    RawValue value{owner, node, at};
    auto p = std::find_if(st->params.begin(), st->params.end(), [&](const auto& kv) { return kv.first == param; });
    if (p != st->params.end()) p->second = value;
    else st->params.emplace_back(param, value);
  }
  diag.throw_if_any();
}

namespace {

bool in_range(const ParamInfo& p, double v) {
  return !(!std::isnan(p.min_value) && v < p.min_value) && !(!std::isnan(p.max_value) && v > p.max_value);
}

// Converts a TOML value to a typed parameter value; false (with a diagnostic) when it does not fit.
bool convert_param(const ParamInfo& p, const RawValue& raw, const fs::path& base_dir, const std::string& where,
                   Value& out, Diagnostics& diag) {
  const toml::node& n = *raw.node;
  out = Value{};
  out.type = p.type;
  const std::string expect = std::string(param_type_name(p.type));
  auto wrong_type = [&] {
    diag.error(raw.pos, where + " must be " + (p.type == GLIA_PARAM_INT_LIST || p.type == GLIA_PARAM_FLOAT_LIST
                                                   ? "a list of " + std::string(p.type == GLIA_PARAM_INT_LIST ? "integers" : "numbers")
                                                   : "of type " + expect) +
                            ", got " + toml_type_name(n));
    return false;
  };
  auto range_error = [&](const std::string& v) {
    diag.error(raw.pos, where + " = " + v + " is outside its range " + range_text(p));
    return false;
  };
  switch (p.type) {
    case GLIA_PARAM_BOOL:
      if (!n.is_boolean()) return wrong_type();
      out.i = *n.value<bool>() ? 1 : 0;
      return true;
    case GLIA_PARAM_INT:
      if (!n.is_integer()) return wrong_type();
      out.i = *n.value_exact<int64_t>();
      if (!in_range(p, static_cast<double>(out.i))) return range_error(std::to_string(out.i));
      return true;
    case GLIA_PARAM_FLOAT:
      if (!n.is_number()) return wrong_type();
      out.f = *n.value<double>();
      if (!std::isfinite(out.f)) {
        diag.error(raw.pos, where + " must be a finite number");
        return false;
      }
      if (!in_range(p, out.f)) return range_error(out.to_toml());
      return true;
    case GLIA_PARAM_STRING:
    case GLIA_PARAM_ENUM:
    case GLIA_PARAM_PATH: {
      if (!n.is_string()) return wrong_type();
      out.s = interpolate(*n.value<std::string>(), raw.pos, diag);
      if (p.type == GLIA_PARAM_ENUM &&
          std::find(p.choices.begin(), p.choices.end(), out.s) == p.choices.end()) {
        diag.error(raw.pos, where + " = \"" + out.s + "\" is not one of: " + join(p.choices, ", ") +
                                suggestion_suffix(out.s, p.choices));
        return false;
      }
      if (p.type == GLIA_PARAM_PATH && !out.s.empty()) {
        fs::path path(out.s);
        if (path.is_relative()) path = base_dir / path;
        out.s = path.lexically_normal().string();
        std::error_code ec;
        if (!fs::exists(path, ec)) {
          diag.error(raw.pos, where + ": file not found: " + out.s);
          return false;
        }
      }
      return true;
    }
    case GLIA_PARAM_INT_LIST:
    case GLIA_PARAM_FLOAT_LIST: {
      const toml::array* a = n.as_array();
      if (!a) return wrong_type();
      for (const auto& e : *a) {
        if (p.type == GLIA_PARAM_INT_LIST) {
          if (!e.is_integer()) return wrong_type();
          out.ints.push_back(*e.value_exact<int64_t>());
          if (!in_range(p, static_cast<double>(out.ints.back()))) return range_error(std::to_string(out.ints.back()));
        } else {
          if (!e.is_number() || !std::isfinite(*e.value<double>())) return wrong_type();
          out.floats.push_back(*e.value<double>());
          if (!in_range(p, out.floats.back())) {
            Value shown;
            shown.type = GLIA_PARAM_FLOAT;
            shown.f = out.floats.back();
            return range_error(shown.to_toml());
          }
        }
      }
      return true;
    }
    default: return wrong_type();
  }
}

// Union-find over symbolic dimensions of all stages, for static shape checks along edges.
struct DimUnifier {
  std::map<std::string, std::string> parent;
  std::map<std::string, int64_t> fixed;
  std::string find(const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  }
  // Joins two terms; returns false on a conflict of two fixed sizes (sizes in a, b).
  bool unite(const std::string& x, const std::string& y, int64_t& a, int64_t& b) {
    const std::string rx = find(x), ry = find(y);
    if (rx == ry) return true;
    auto fx = fixed.find(rx), fy = fixed.find(ry);
    if (fx != fixed.end() && fy != fixed.end() && fx->second != fy->second) {
      a = fx->second;
      b = fy->second;
      return false;
    }
    parent[rx] = ry;
    if (fx != fixed.end()) fixed[ry] = fx->second;
    return true;
  }
};

}  // namespace

Plan resolve_pipeline(PipelineSpec spec_in, const Registry& registry) {
  Plan plan;
  plan.spec = std::move(spec_in);
  const PipelineSpec& spec = plan.spec;
  Diagnostics diag;
  std::map<std::string, size_t> index;
  std::vector<std::string> ids;
  for (size_t k = 0; k < spec.stages.size(); ++k) {
    index[spec.stages[k].id] = k;
    ids.push_back(spec.stages[k].id);
  }

  std::vector<const OperatorInfo*> ops(spec.stages.size(), nullptr);
  for (size_t k = 0; k < spec.stages.size(); ++k) {
    const StageSpec& st = spec.stages[k];
    ops[k] = registry.find(st.op_id);
    if (!ops[k])
      diag.error(st.op_pos, "stage '" + st.id + "': unknown operator '" + st.op_id + "'" +
                                suggestion_suffix(st.op_id, registry.operator_ids()) +
                                " (see `glia plugins`)");
  }

  // Edges, port names, required inputs, saved outputs.
  std::vector<std::vector<std::pair<int, int>>> sources(spec.stages.size());
  std::vector<std::vector<int>> saved(spec.stages.size());
  for (size_t k = 0; k < spec.stages.size(); ++k) {
    const StageSpec& st = spec.stages[k];
    const OperatorInfo* op = ops[k];
    if (!op) continue;
    const auto in_names = op->port_names(true);
    sources[k].assign(in_names.size(), {-1, -1});
    for (const auto& in : st.inputs) {
      const int slot = op->input_index(in.port);
      if (slot < 0) {
        diag.error(in.pos, "stage '" + st.id + "': operator " + op->id + " has no input '" + in.port + "'" +
                               suggestion_suffix(in.port, in_names) + " (inputs: " + join(in_names, ", ") + ")");
        continue;
      }
      auto src = index.find(in.source_stage);
      if (src == index.end()) {
        diag.error(in.pos, "stage '" + st.id + "': input '" + in.port + "' names a missing stage '" +
                               in.source_stage + "'" + suggestion_suffix(in.source_stage, ids));
        continue;
      }
      const OperatorInfo* producer = ops[src->second];
      if (!producer) continue;
      const int out_port = producer->port_index(in.source_port, false);
      if (out_port < 0) {
        const auto outs = producer->port_names(false);
        diag.error(in.pos, "stage '" + st.id + "': input '" + in.port + "' names '" + in.source_stage + "." +
                               in.source_port + "', but " + producer->id + " has no output '" + in.source_port +
                               "'" + suggestion_suffix(in.source_port, outs) + " (outputs: " + join(outs, ", ") + ")");
        continue;
      }
      sources[k][slot] = {static_cast<int>(src->second), out_port};
      const PortInfo& from = producer->ports[out_port];
      const PortInfo& to = *op->port(in.port, true);
      const std::string edge = in.source_stage + "." + in.source_port + " -> " + st.id + "." + in.port;
      if (!(from.dtypes & to.dtypes))
        diag.error(in.pos, "dtype mismatch on " + edge + ": produces " + dtype_list(from.dtypes) + ", accepts " +
                               dtype_list(to.dtypes));
      if (from.ndim >= 0 && to.ndim >= 0 && from.ndim != to.ndim)
        diag.error(in.pos, "rank mismatch on " + edge + ": produces rank " + std::to_string(from.ndim) +
                               ", accepts rank " + std::to_string(to.ndim));
      if ((from.flags & GLIA_PORT_BLOB) && (to.flags & GLIA_PORT_BLOB) && !from.media_type.empty() &&
          !to.media_type.empty() && from.media_type != to.media_type)
        diag.error(in.pos, "media type mismatch on " + edge + ": produces " + from.media_type + ", accepts " +
                               to.media_type);
    }
    for (size_t slot = 0; slot < in_names.size(); ++slot)
      if (sources[k][slot].first < 0 && !op->port(in_names[slot], true)->optional())
        diag.error(st.pos, "stage '" + st.id + "': required input '" + in_names[slot] + "' of " + op->id +
                               " is not connected (add it to stages." + st.id + ".inputs)");
    for (size_t p = 0; p < op->ports.size(); ++p)
      if (!op->ports[p].input && (op->ports[p].flags & GLIA_PORT_SAVE)) saved[k].push_back(static_cast<int>(p));
    for (const auto& [name, at] : st.save) {
      const int p = op->port_index(name, false);
      if (p < 0) diag.error(at, "stage '" + st.id + "': cannot save '" + name + "': " + op->id + " has no output of that name" +
                                    suggestion_suffix(name, op->port_names(false)));
      else if (std::find(saved[k].begin(), saved[k].end(), p) == saved[k].end()) saved[k].push_back(p);
    }
  }

  // Static shape unification: symbols are scoped by stage; fixed sizes must agree along edges.
  {
    DimUnifier u;
    auto term = [&](size_t stage, const DimPattern& d, const std::string& edge_slot) -> std::string {
      if (d.kind == DimPattern::Symbol) return std::to_string(stage) + ":" + d.symbol;
      const std::string t = "edge:" + edge_slot;
      if (d.kind == DimPattern::Fixed) u.fixed[u.find(t)] = d.size;
      return t;
    };
    for (size_t k = 0; k < spec.stages.size(); ++k) {
      if (!ops[k]) continue;
      const auto in_names = ops[k]->port_names(true);
      for (size_t slot = 0; slot < sources[k].size(); ++slot) {
        auto [src, out_port] = sources[k][slot];
        if (src < 0 || !ops[src]) continue;
        const PortInfo& from = ops[src]->ports[out_port];
        const PortInfo& to = *ops[k]->port(in_names[slot], true);
        for (size_t d = 0; d < from.dims.size() && d < to.dims.size(); ++d) {
          if (from.dims[d].kind == DimPattern::Rest || to.dims[d].kind == DimPattern::Rest) break;
          if (from.dims[d].kind == DimPattern::Any || to.dims[d].kind == DimPattern::Any) continue;
          const std::string slot_id = std::to_string(k) + "." + std::to_string(slot) + "." + std::to_string(d);
          int64_t a = 0, b = 0;
          if (!u.unite(term(src, from.dims[d], slot_id + "p"), term(k, to.dims[d], slot_id + "c"), a, b)) {
            const InputSpec* in = nullptr;
            for (const auto& i : spec.stages[k].inputs)
              if (i.port == in_names[slot]) in = &i;
            diag.error(in ? in->pos : spec.stages[k].pos,
                       "shape mismatch on " + spec.stages[src].id + "." + from.name + " (" + from.shape + ") -> " +
                           spec.stages[k].id + "." + to.name + " (" + to.shape + "): dimension " + std::to_string(d) +
                           " is " + std::to_string(a) + " on one side and " + std::to_string(b) + " on the other");
          }
        }
      }
    }
  }

  // Cycles: Kahn's algorithm; stages left over are on a cycle.
  {
    std::vector<int> indegree(spec.stages.size(), 0);
    std::vector<std::vector<size_t>> consumers(spec.stages.size());
    for (size_t k = 0; k < spec.stages.size(); ++k) {
      std::set<int> producers;
      for (auto [src, port] : sources[k])
        if (src >= 0) producers.insert(src);
      indegree[k] = static_cast<int>(producers.size());
      for (int p : producers) consumers[p].push_back(k);
    }
    std::vector<size_t> ready;
    for (size_t k = 0; k < spec.stages.size(); ++k)
      if (indegree[k] == 0) ready.push_back(k);
    while (!ready.empty()) {
      const size_t k = ready.front();
      ready.erase(ready.begin());
      plan.order.push_back(k);
      for (size_t c : consumers[k])
        if (--indegree[c] == 0) ready.push_back(c);
    }
    if (plan.order.size() != spec.stages.size()) {
      std::vector<std::string> cyclic;
      for (size_t k = 0; k < spec.stages.size(); ++k)
        if (indegree[k] > 0) cyclic.push_back(spec.stages[k].id);
      diag.error(spec.stages[index[cyclic.front()]].pos, "the stages " + join(cyclic, ", ") + " form a cycle");
    }
  }

  // Trials: one without a sweep; otherwise grid, zip or random combinations.
  std::vector<std::vector<size_t>> choices;  // per trial, index into each axis' values
  const auto& axes = spec.sweep.axes;
  for (const auto& axis : axes) {
    auto st = index.find(axis.stage);
    if (st == index.end()) {
      diag.error(axis.pos, "sweep names a missing stage '" + axis.stage + "'" + suggestion_suffix(axis.stage, ids));
    } else if (ops[st->second] && !ops[st->second]->param(axis.param)) {
      diag.error(axis.pos, "sweep: operator " + ops[st->second]->id + " has no parameter '" + axis.param + "'" +
                               suggestion_suffix(axis.param, ops[st->second]->param_names()));
    }
  }
  if (spec.sweep.mode.empty()) {
    choices.push_back({});
  } else if (spec.sweep.mode == "grid") {
    size_t total = 1;
    for (const auto& a : axes) total *= a.values.size();
    for (size_t t = 0; t < total; ++t) {
      std::vector<size_t> c(axes.size());
      size_t rest = t;
      for (size_t a = axes.size(); a-- > 0;) {
        c[a] = rest % axes[a].values.size();
        rest /= axes[a].values.size();
      }
      choices.push_back(c);
    }
  } else if (spec.sweep.mode == "zip") {
    bool equal = true;
    for (const auto& a : axes)
      if (a.values.size() != axes.front().values.size()) {
        equal = false;
        diag.error(a.pos, "sweep.mode = \"zip\" needs lists of equal length ('" + a.stage + "." + a.param + "' has " +
                              std::to_string(a.values.size()) + ", the first has " +
                              std::to_string(axes.front().values.size()) + ")");
      }
    if (!equal) diag.throw_if_any();
    for (size_t t = 0; t < axes.front().values.size(); ++t) choices.push_back(std::vector<size_t>(axes.size(), t));
  } else {
    glia::Rng rng(glia::derive_seed(spec.seed, 0x5eed));
    for (int64_t t = 0; t < spec.sweep.trials; ++t) {
      std::vector<size_t> c;
      for (const auto& a : axes) c.push_back(static_cast<size_t>(rng.below(a.values.size())));
      choices.push_back(c);
    }
  }

  // Repeats: every combination again with the next trial indices, hence other seeds.
  const size_t combinations = choices.size();
  const size_t repeats = static_cast<size_t>(spec.sweep.repeats);
  for (size_t r = 1; r < repeats; ++r)
    for (size_t c = 0; c < combinations; ++c) choices.push_back(choices[c]);

  for (size_t t = 0; t < choices.size(); ++t) {
    Trial trial;
    trial.index = t;
    trial.seed = glia::derive_seed(spec.seed, t);
    trial.stages.resize(spec.stages.size());
    for (size_t k = 0; k < spec.stages.size(); ++k) {
      const StageSpec& st = spec.stages[k];
      ResolvedStage& rs = trial.stages[k];
      rs.spec = &st;
      rs.op = ops[k];
      rs.sources = sources[k];
      rs.saved_ports = saved[k];
      rs.seed = glia::derive_seed(trial.seed, fnv1a(st.id));
      if (!rs.op) continue;
      // Values: defaults, then the file (and --set), then this trial's sweep choices.
      std::map<std::string, RawValue> given;
      for (const auto& [name, raw] : st.params) {
        if (!rs.op->param(name)) {
          if (t == 0)
            diag.error(raw.pos, "stage '" + st.id + "': operator " + rs.op->id + " has no parameter '" + name + "'" +
                                    suggestion_suffix(name, rs.op->param_names()));
          continue;
        }
        given[name] = raw;
      }
      for (size_t a = 0; a < axes.size(); ++a) {
        if (axes[a].stage != st.id || !rs.op->param(axes[a].param)) continue;
        const RawValue& v = axes[a].values[choices[t][a]];
        given[axes[a].param] = v;
        std::ostringstream text;
        v.node->visit([&](const auto& n) { text << n; });
        trial.assignments.emplace_back(st.id + "." + axes[a].param, text.str());
      }
      for (const auto& p : rs.op->params) {
        auto g = given.find(p.name);
        Value v = p.default_value;
        if (g != given.end()) {
          const size_t before = diag.list.size();
          convert_param(p, g->second, spec.dir, "stages." + st.id + ".params." + p.name, v, diag);
          // A bad file value repeats in every trial: report it once.
          if (t > 0 && diag.list.size() > before) {
            const Diagnostic last = diag.list.back();
            for (size_t d = 0; d < before; ++d)
              if (diag.list[d].pos.text() == last.pos.text() && diag.list[d].message == last.message) {
                diag.list.pop_back();
                break;
              }
          }
        } else if (p.required() && t == 0) {
          diag.error(st.params_pos, "stage '" + st.id + "': required parameter '" + p.name + "' of " + rs.op->id +
                                        " is not set (" + param_type_name(p.type) + ": " + p.doc + ")");
        }
        rs.params.push_back(v);
      }
    }
    std::sort(trial.assignments.begin(), trial.assignments.end());
    if (repeats > 1) trial.assignments.emplace_back("repeat", std::to_string(t / combinations));
    plan.trials.push_back(std::move(trial));
  }
  diag.throw_if_any();
  return plan;
}

std::string resolved_toml(const Plan& plan) {
  std::ostringstream out;
  const auto& spec = plan.spec;
  out << "# Resolved by glia " << GLIA_VERSION << " from " << spec.file.string() << "\n";
  out << "[pipeline]\nname = \"" << spec.name << "\"\nseed = " << spec.seed << "\n";
  for (const auto& trial : plan.trials) {
    out << "\n# trial " << trial.index << " (seed " << trial.seed << ")";
    for (const auto& [k, v] : trial.assignments) out << " " << k << "=" << v;
    out << "\n";
    for (size_t k : plan.order) {
      const ResolvedStage& rs = trial.stages[k];
      const std::string prefix = plan.trials.size() > 1 ? "trial_" + std::to_string(trial.index) + "." : "";
      out << "[" << prefix << "stages." << rs.spec->id << "]\nplugin = \"" << rs.op->id << "\"\n";
      if (!rs.spec->inputs.empty()) {
        out << "inputs = { ";
        for (size_t i = 0; i < rs.spec->inputs.size(); ++i) {
          const auto& in = rs.spec->inputs[i];
          out << (i ? ", " : "") << in.port << " = \"" << in.source_stage << "." << in.source_port << "\"";
        }
        out << " }\n";
      }
      out << "[" << prefix << "stages." << rs.spec->id << ".params]\n";
      for (size_t p = 0; p < rs.op->params.size(); ++p)
        out << rs.op->params[p].name << " = " << rs.params[p].to_toml() << "\n";
    }
  }
  return out.str();
}

}  // namespace glia::host
