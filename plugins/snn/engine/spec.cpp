// Network specs: the TOML network file format, built-in presets, validation.
//
//   [[population]]                       [[projection]]
//   name = "exc"                         from = "exc"
//   size = 3200                          to = "inh"
//   model = "lif"                        receptor = "exc"       # exc | inh
//   synapse = "current"                  connect = "random"     # random | all_to_all | one_to_one | list
//   tau_m = 20.0                         p = 0.02
//   v_rest = -49.0                       weight = 1.62          # or [lo, hi]: uniform
//   v_init = [-60.0, -50.0]              delay_ms = 0.0         # or [lo, hi]
//   ...                                  pre = [..], post = [..], weights = [..]   # connect = "list"
//                                        # connect = "tensor": rows of snn.simulate's `synapses` input
#include <glia/snn.hpp>

#include <glia/plugin.hpp>

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace glia::snn {
namespace {

std::string position(const std::string& origin, const toml::source_region& r) {
  return origin + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// Reads the keys of one TOML table, remembering which were used so that typos are reported.
class Fields {
 public:
  Fields(const toml::table& t, const std::string& origin, std::string what)
      : t_(t), origin_(origin), what_(std::move(what)) {}

  std::string where() const { return position(origin_, t_.source()); }
  std::string where(std::string_view key) const {
    const toml::node* n = t_.get(key);
    return n ? position(origin_, n->source()) : where();
  }
  bool has(std::string_view key) { used_.insert(std::string(key)); return t_.contains(key); }

  double real(std::string_view key, double def) {
    if (!has(key)) return def;
    auto v = t_.get(key)->value<double>();
    if (!v || !std::isfinite(*v)) fail(key, "must be a finite number");
    return *v;
  }
  int64_t integer(std::string_view key, int64_t def) {
    if (!has(key)) return def;
    const toml::node* n = t_.get(key);
    if (!n->is_integer()) fail(key, "must be an integer");
    return n->value<int64_t>().value();
  }
  bool boolean(std::string_view key, bool def) {
    if (!has(key)) return def;
    auto v = t_.get(key)->value<bool>();
    if (!v) fail(key, "must be true or false");
    return *v;
  }
  std::string string(std::string_view key, std::string def) {
    if (!has(key)) return def;
    auto v = t_.get(key)->value<std::string>();
    if (!v) fail(key, "must be a string");
    return *v;
  }
  template <class E>
  E choice(std::string_view key, E def, std::initializer_list<std::pair<const char*, E>> options) {
    if (!has(key)) return def;
    const std::string s = string(key, "");
    std::string names;
    for (auto& [name, value] : options) {
      if (s == name) return value;
      names += names.empty() ? std::string("'") + name + "'" : std::string(", '") + name + "'";
    }
    fail(key, "is '" + s + "', expected one of " + names);
  }
  // A number or a two-element [lo, hi] range.
  std::pair<double, double> range(std::string_view key, double def) {
    if (!has(key)) return {def, def};
    const toml::node* n = t_.get(key);
    if (auto v = n->value<double>()) {
      if (!std::isfinite(*v)) fail(key, "must be finite");
      return {*v, *v};
    }
    std::vector<double> r = reals(key);
    if (r.size() != 2 || r[0] > r[1]) fail(key, "must be a number or a range [lo, hi] with lo <= hi");
    return {r[0], r[1]};
  }
  std::vector<double> reals(std::string_view key) {
    std::vector<double> out;
    if (!has(key)) return out;
    const toml::array* a = t_.get(key)->as_array();
    if (!a) fail(key, "must be an array of numbers");
    for (const toml::node& e : *a) {
      auto v = e.value<double>();
      if (!v || !std::isfinite(*v)) fail(key, "must hold finite numbers only");
      out.push_back(*v);
    }
    return out;
  }
  std::vector<int64_t> integers(std::string_view key) {
    std::vector<int64_t> out;
    if (!has(key)) return out;
    const toml::array* a = t_.get(key)->as_array();
    if (!a) fail(key, "must be an array of integers");
    for (const toml::node& e : *a) {
      if (!e.is_integer()) fail(key, "must hold integers only");
      out.push_back(e.value<int64_t>().value());
    }
    return out;
  }
  // Rejects keys nobody asked for (most often a typo).
  void finish() const {
    for (auto&& [k, v] : t_)
      if (!used_.count(std::string(k.str())))
        throw config_error(position(origin_, k.source()) + ": unknown key '" + std::string(k.str()) +
                           "' in " + what_);
  }
  [[noreturn]] void fail(std::string_view key, const std::string& msg) const {
    throw config_error(where(key) + ": " + what_ + " '" + std::string(key) + "' " + msg);
  }

 private:
  const toml::table& t_;
  const std::string& origin_;
  std::string what_;
  std::set<std::string> used_;
};

PopulationSpec read_population(const toml::table& t, const std::string& origin) {
  Fields f(t, origin, "population");
  PopulationSpec p;
  p.where = f.where();
  p.name = f.string("name", "");
  if (p.name.empty()) throw config_error(f.where() + ": population needs a 'name'");
  p.size = f.integer("size", 0);
  p.model = f.choice("model", Model::lif,
                     {{"lif", Model::lif}, {"izhikevich", Model::izhikevich},
                      {"poisson", Model::poisson}, {"spike_input", Model::spike_input}});
  p.synapse = f.choice("synapse", Synapse::current,
                       {{"current", Synapse::current}, {"conductance", Synapse::conductance}});
  p.reset = f.choice("reset", Reset::value, {{"value", Reset::value}, {"subtract", Reset::subtract}});
  p.tau_m = f.real("tau_m", p.tau_m);
  p.v_rest = f.real("v_rest", p.v_rest);
  p.v_thresh = f.real("v_thresh", p.model == Model::izhikevich ? 30.0 : p.v_thresh);
  p.v_reset = f.real("v_reset", p.v_reset);
  p.refractory_ms = f.real("refractory_ms", p.refractory_ms);
  p.tau_e = f.real("tau_e", p.tau_e);
  p.tau_i = f.real("tau_i", p.tau_i);
  p.e_exc = f.real("e_exc", p.e_exc);
  p.e_inh = f.real("e_inh", p.e_inh);
  p.i_ext = f.real("i_ext", p.i_ext);
  if (f.has("v_init")) {
    auto [lo, hi] = f.range("v_init", 0);
    p.v_init_lo = lo;
    p.v_init_hi = hi;
  }
  p.theta_inc = f.real("theta_inc", p.theta_inc);
  p.tau_theta = f.real("tau_theta", p.tau_theta);
  p.a = f.real("a", p.a);
  p.b = f.real("b", p.b);
  p.c = f.real("c", p.c);
  p.d = f.real("d", p.d);
  p.rate_hz = f.real("rate_hz", p.rate_hz);
  p.rates_from_input = f.boolean("rates_from_input", p.rates_from_input);
  p.trace_tau = f.real("trace_tau", p.trace_tau);
  p.trace_nearest = f.boolean("trace_nearest", p.trace_nearest);
  f.finish();
  return p;
}

ProjectionSpec read_projection(const toml::table& t, const std::string& origin) {
  Fields f(t, origin, "projection");
  ProjectionSpec j;
  j.where = f.where();
  j.from = f.string("from", "");
  j.to = f.string("to", "");
  if (j.from.empty() || j.to.empty())
    throw config_error(f.where() + ": projection needs 'from' and 'to' population names");
  j.receptor = f.choice("receptor", Receptor::exc, {{"exc", Receptor::exc}, {"inh", Receptor::inh}});
  j.connect = f.choice("connect", Connect::random,
                       {{"random", Connect::random}, {"all_to_all", Connect::all_to_all},
                        {"one_to_one", Connect::one_to_one}, {"list", Connect::explicit_list},
                        {"tensor", Connect::tensor}});
  j.p = f.real("p", j.connect == Connect::random ? -1.0 : 1.0);
  if (j.connect == Connect::random && !f.has("p"))
    throw config_error(f.where() + ": a random projection needs 'p' (connection probability)");
  j.autapses = f.boolean("autapses", j.autapses);
  std::tie(j.weight_lo, j.weight_hi) = f.range("weight", 0);
  std::tie(j.delay_lo, j.delay_hi) = f.range("delay_ms", 0);
  j.pre = f.integers("pre");
  j.post = f.integers("post");
  j.weights = f.reals("weights");
  j.delays = f.reals("delays_ms");
  if (j.connect == Connect::explicit_list) {
    if (j.pre.size() != j.post.size())
      throw config_error(f.where("post") + ": 'pre' and 'post' must have the same length");
    if (!j.weights.empty() && j.weights.size() != j.pre.size())
      throw config_error(f.where("weights") + ": 'weights' must have one value per synapse");
    if (!j.delays.empty() && j.delays.size() != j.pre.size())
      throw config_error(f.where("delays_ms") + ": 'delays_ms' must have one value per synapse");
  } else if (!j.pre.empty() || !j.post.empty() || !j.weights.empty() || !j.delays.empty()) {
    throw config_error(f.where() + ": 'pre'/'post'/'weights'/'delays_ms' need connect = \"list\"");
  }
  j.stdp = f.choice("stdp", Stdp::none,
                    {{"none", Stdp::none}, {"additive", Stdp::additive},
                     {"multiplicative", Stdp::multiplicative}});
  j.eta_pre = f.real("eta_pre", j.eta_pre);
  j.eta_post = f.real("eta_post", j.eta_post);
  j.w_min = f.real("w_min", j.w_min);
  j.w_max = f.real("w_max", j.w_max);
  f.finish();
  return j;
}

}  // namespace

NetworkSpec parse_network(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw config_error(position(origin, e.source()) + ": " + std::string(e.description()));
  }
  NetworkSpec spec;
  spec.origin = origin;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    const toml::array* list = v.as_array();
    if ((key != "population" && key != "projection") || !list)
      throw config_error(position(origin, k.source()) + ": unexpected '" + key +
                         "' (a network file holds [[population]] and [[projection]] tables)");
    for (const toml::node& n : *list) {
      const toml::table* t = n.as_table();
      if (!t) throw config_error(position(origin, n.source()) + ": '" + key + "' entries must be tables");
      if (key == "population") spec.populations.push_back(read_population(*t, origin));
      else spec.projections.push_back(read_projection(*t, origin));
    }
  }
  if (spec.populations.empty()) throw config_error(origin + ": the network declares no [[population]]");
  return spec;
}

NetworkSpec parse_network_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(file.string() + ": cannot open the network file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_network(ss.str(), file.string());
}

NetworkSpec preset(const std::string& name, int64_t n) {
  if (name != "cuba") throw config_error("unknown network preset '" + name + "'");
  if (n < 10) throw config_error("the cuba preset needs at least 10 neurons");
  // Vogels & Abbott (2005) / Brian2 examples/CUBA.py; ge, gi are currents in mV.
  NetworkSpec s;
  s.origin = "preset:cuba";
  PopulationSpec p;
  p.tau_m = 20, p.tau_e = 5, p.tau_i = 10;
  p.v_thresh = -50, p.v_reset = -60, p.v_rest = -49, p.refractory_ms = 5;
  p.v_init_lo = -60, p.v_init_hi = -50;
  p.name = "exc", p.size = n * 4 / 5, p.where = "preset:cuba:exc";
  s.populations.push_back(p);
  p.name = "inh", p.size = n - n * 4 / 5, p.where = "preset:cuba:inh";
  s.populations.push_back(p);
  const double prob = std::min(1.0, 80.0 / static_cast<double>(n));
  for (const char* from : {"exc", "inh"})
    for (const char* to : {"exc", "inh"}) {
      ProjectionSpec j;
      j.from = from, j.to = to, j.p = prob;
      const bool e = std::string(from) == "exc";
      j.receptor = e ? Receptor::exc : Receptor::inh;
      j.weight_lo = j.weight_hi = e ? 1.62 : -9.0;
      j.where = std::string("preset:cuba:") + from + "->" + to;
      s.projections.push_back(j);
    }
  return s;
}

void validate(const NetworkSpec& spec, double dt_ms, bool build) {
  if (!(dt_ms > 0) || !std::isfinite(dt_ms)) throw config_error("dt_ms must be positive");
  std::set<std::string> names;
  int64_t total = 0;
  for (const PopulationSpec& p : spec.populations) {
    auto bad = [&](const std::string& m) { return config_error(p.where + ": population '" + p.name + "': " + m); };
    if (!names.insert(p.name).second) throw bad("duplicate population name");
    if (p.size < 1 || p.size > (int64_t(1) << 30)) throw bad("size must be in [1, 2^30]");
    total += p.size;
    if (p.model == Model::lif || p.model == Model::izhikevich) {
      if (p.tau_e <= 0 || p.tau_i <= 0) throw bad("tau_e and tau_i must be positive");
      if (p.refractory_ms < 0) throw bad("refractory_ms must be >= 0");
      if (p.theta_inc < 0 || p.tau_theta < 0) throw bad("theta_inc and tau_theta must be >= 0");
    }
    if (p.model == Model::lif) {
      if (p.tau_m <= 0) throw bad("tau_m must be positive");
      if (p.v_reset >= p.v_thresh) throw bad("v_reset must lie below v_thresh");
      if (p.synapse == Synapse::conductance && p.e_inh >= p.e_exc) throw bad("e_inh must lie below e_exc");
    }
    if (p.model == Model::izhikevich && p.synapse == Synapse::conductance)
      throw bad("izhikevich neurons take current synapses only");
    if (p.model == Model::poisson && (p.rate_hz < 0 || p.rate_hz * dt_ms > 1000))
      throw bad("rate_hz must be in [0, 1000/dt_ms]");
    if (p.rates_from_input && p.model != Model::poisson) throw bad("rates_from_input needs model = \"poisson\"");
    if (p.trace_tau <= 0) throw bad("trace_tau must be positive");
    if (std::isnan(p.v_init_lo) != std::isnan(p.v_init_hi) || p.v_init_lo > p.v_init_hi)
      throw bad("v_init must be a value or a range [lo, hi]");
  }
  if (total > (int64_t(1) << 31) - 1) throw config_error(spec.origin + ": more than 2^31 neurons in all");
  auto find = [&](const std::string& name) -> const PopulationSpec* {
    for (auto& p : spec.populations)
      if (p.name == name) return &p;
    return nullptr;
  };
  for (const ProjectionSpec& j : spec.projections) {
    auto bad = [&](const std::string& m) { return config_error(j.where + ": projection " + j.from + " -> " + j.to + ": " + m); };
    const PopulationSpec* a = find(j.from);
    const PopulationSpec* b = find(j.to);
    if (!a) throw bad("no population named '" + j.from + "'");
    if (!b) throw bad("no population named '" + j.to + "'");
    if (b->model == Model::poisson || b->model == Model::spike_input)
      throw bad("the target is an input population");
    if (j.connect == Connect::random && !(j.p >= 0 && j.p <= 1)) throw bad("p must be in [0, 1]");
    if (j.connect == Connect::tensor && build)
      throw bad("connect = \"tensor\" takes its synapses from snn.simulate's `synapses` input, which is not connected");
    if (j.connect == Connect::one_to_one && a->size != b->size)
      throw bad("one_to_one needs populations of equal size");
    for (size_t k = 0; k < j.pre.size(); ++k)
      if (j.pre[k] < 0 || j.pre[k] >= a->size || j.post[k] < 0 || j.post[k] >= b->size)
        throw bad("synapse " + std::to_string(k) + " (" + std::to_string(j.pre[k]) + ", " +
                  std::to_string(j.post[k]) + ") lies outside the populations");
    auto check_delay = [&](double d) {
      if (d < 0 || d / dt_ms > 4096) throw bad("delays must be in [0, 4096 dt]");
    };
    check_delay(j.delay_lo), check_delay(j.delay_hi);
    for (double d : j.delays) check_delay(d);
    if (b->synapse == Synapse::conductance && (j.weight_lo < 0 || std::any_of(j.weights.begin(), j.weights.end(), [](double w) { return w < 0; })))
      throw bad("conductance synapses need weights >= 0 (the receptor sets the sign)");
    if (j.stdp != Stdp::none) {
      if (!(j.w_min <= j.w_max)) throw bad("w_min must not exceed w_max");
      if (j.eta_pre < 0 || j.eta_post < 0) throw bad("eta_pre and eta_post must be >= 0");
    }
  }
}

}  // namespace glia::snn
