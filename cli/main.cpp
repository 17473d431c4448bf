// The glia command line: plugins, config, validate, run, new.
#include "new_plugin.hpp"
#include "plugin_check.hpp"

#include "../host/console.hpp"
#include "../host/executor.hpp"
#include "../host/pipeline.hpp"
#include "../host/registry.hpp"
#include "../host/util.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

using namespace glia::host;
using nlohmann::json;

namespace {

struct GlobalOptions {
  std::vector<std::string> plugin_path;
  bool quiet = false;
  bool verbose = false;
};

RegistryOptions registry_options(const GlobalOptions& g) {
  RegistryOptions o = registry_options_from_environment();
  for (const auto& p : g.plugin_path)
    for (const auto& part : split(p, ':'))
      if (!part.empty()) o.plugin_path.emplace_back(part);
  return o;
}

std::string wrap(const std::string& text, size_t indent, size_t width = 96) {
  std::istringstream words(text);
  std::string word, line, out;
  const std::string pad(indent, ' ');
  while (words >> word) {
    if (!line.empty() && pad.size() + line.size() + 1 + word.size() > width) {
      out += pad + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += pad + line + "\n";
  return out;
}

std::string capability_text(uint32_t caps) {
  std::vector<std::string> c;
  if (caps & GLIA_CAP_DETERMINISTIC) c.push_back("deterministic");
  if (caps & GLIA_CAP_CANCELLABLE) c.push_back("cancellable");
  if (caps & GLIA_CAP_REPORTS_PROGRESS) c.push_back("reports progress");
  if (caps & GLIA_CAP_STATEFUL) c.push_back("stateful");
  return c.empty() ? "none" : join(c, ", ");
}

std::string param_line(const ParamInfo& p) {
  std::string s = std::string(param_type_name(p.type));
  if (p.required()) s += ", required";
  else s += ", default " + p.default_value.to_toml();
  if (std::string r = range_text(p); !r.empty()) s += ", range " + r;
  if (!p.choices.empty()) s += ", one of: " + join(p.choices, " | ");
  if (!p.unit.empty()) s += ", unit " + p.unit;
  return s;
}

int cmd_plugins_list(Registry& r, const std::string& format) {
  if (format == "json") {
    json ops = json::array();
    for (const auto* op : r.operators()) ops.push_back(operator_to_json(*op));
    json refused = json::array();
    for (const auto& p : r.plugins())
      if (!p.ok) refused.push_back({{"path", p.path}, {"reason", p.reason}});
    std::cout << json{{"abi", GLIA_ABI_MAJOR}, {"operators", ops}, {"refused", refused}}.dump(2) << "\n";
    return kExitOk;
  }
  size_t w_id = 2, w_plugin = 6;
  for (const auto* op : r.operators()) {
    w_id = std::max(w_id, op->id.size());
    w_plugin = std::max(w_plugin, op->plugin_name.size());
  }
  std::printf("%-*s  %-*s  %s\n", static_cast<int>(w_id), "OPERATOR", static_cast<int>(w_plugin), "PLUGIN", "SUMMARY");
  for (const auto* op : r.operators())
    std::printf("%-*s  %-*s  %s\n", static_cast<int>(w_id), op->id.c_str(), static_cast<int>(w_plugin),
                op->plugin_name.c_str(), op->summary.c_str());
  std::printf("\n%zu operators from %zu plugins\n", r.operators().size(),
              static_cast<size_t>(std::count_if(r.plugins().begin(), r.plugins().end(), [](auto& p) { return p.ok; })));
  return kExitOk;
}

const OperatorInfo& require_operator(Registry& r, const std::string& id) {
  const OperatorInfo* op = r.find(id);
  if (!op) throw Failure(kExitUnavailable, "no operator '" + id + "'" + suggestion_suffix(id, r.operator_ids()) +
                                               " (see `glia plugins`)");
  return *op;
}

int cmd_plugins_info(Registry& r, const std::string& id, const std::string& format) {
  const OperatorInfo& op = require_operator(r, id);
  if (format == "json") {
    std::cout << operator_to_json(op).dump(2) << "\n";
    return kExitOk;
  }
  std::printf("%s - %s\n\n", op.id.c_str(), op.summary.c_str());
  std::printf("  plugin        %s %s (%s)\n", op.plugin_name.c_str(), op.plugin_version.c_str(), op.plugin_path.c_str());
  std::printf("  version       %s\n", op.version.c_str());
  std::printf("  capabilities  %s\n", capability_text(op.capabilities).c_str());
  if (!op.citation.empty()) std::printf("  citation      %s\n", op.citation.c_str());
  if (!op.doc.empty()) std::printf("\n%s", wrap(op.doc, 2).c_str());
  for (bool input : {true, false}) {
    std::printf("\n%s:\n", input ? "Inputs" : "Outputs");
    bool any = false;
    for (const auto& p : op.ports) {
      if (p.input != input) continue;
      any = true;
      std::string flags;
      if (p.optional()) flags += ", optional";
      if (!input && (p.flags & GLIA_PORT_SAVE)) flags += ", saved as .npy";
      std::printf("  %s  %s%s\n%s", p.name.c_str(), p.type_text().c_str(), flags.c_str(), wrap(p.doc, 6).c_str());
    }
    if (!any) std::printf("  none\n");
  }
  std::printf("\nParameters:\n");
  if (op.params.empty()) std::printf("  none\n");
  for (const auto& p : op.params)
    std::printf("  %s  %s\n%s", p.name.c_str(), param_line(p).c_str(), wrap(p.doc, 6).c_str());
  return kExitOk;
}

int cmd_config_generate(Registry& r, const std::string& id) {
  const OperatorInfo& op = require_operator(r, id);
  const std::string stage = op.id.substr(op.id.rfind('.') + 1);
  std::ostringstream out;
  out << "## Sample pipeline for " << op.id << ": " << op.summary << "\n";
  out << "## Lines starting with '# ' are defaults or hints: uncomment to change them.\n\n";
  out << "[pipeline]\nname = \"" << stage << "-sample\"\nseed = 1\n\n";
  out << "[stages." << stage << "]\nplugin = \"" << op.id << "\"\n";
  std::vector<std::string> inputs;
  for (const auto& p : op.ports) {
    if (!p.input) continue;
    out << "## input " << p.name << (p.optional() ? " (optional)" : "") << ": " << p.type_text() << ". " << p.doc << "\n";
    inputs.push_back(p.name + " = \"<stage>.<port>\"");
  }
  if (!inputs.empty()) out << "# inputs = { " << join(inputs, ", ") << " }\n";
  for (const auto& p : op.ports)
    if (!p.input) out << "## output " << p.name << ": " << p.type_text() << ". " << p.doc << "\n";
  if (!op.params.empty()) out << "\n[stages." << stage << ".params]\n";
  for (const auto& p : op.params) {
    std::istringstream doc(wrap(p.doc, 0, 94));
    for (std::string line; std::getline(doc, line);) out << "## " << line << "\n";
    out << "## (" << param_line(p) << ")\n";
    if (p.required()) {
      Value placeholder;
      placeholder.type = p.type;
      out << p.name << " = " << placeholder.to_toml() << "\n";
    }
    else out << "# " << p.name << " = " << p.default_value.to_toml() << "\n";
  }
  std::cout << out.str();
  return kExitOk;
}

Plan load_plan(Registry& r, const std::string& file, const std::vector<std::string>& sets) {
  PipelineSpec spec = parse_pipeline(file);
  apply_overrides(spec, sets);
  return resolve_pipeline(std::move(spec), r);
}

int cmd_validate(Registry& r, Console& console, const std::string& file, const std::vector<std::string>& sets) {
  Plan plan = load_plan(r, file, sets);
  check_configure(plan, r, console);
  std::printf("%s: ok (%zu stages, %zu trial%s)\n", file.c_str(), plan.spec.stages.size(), plan.trials.size(),
              plan.trials.size() == 1 ? "" : "s");
  return kExitOk;
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

int cmd_run(Registry& r, Console& console, const std::string& file, const std::vector<std::string>& sets,
            const RunOptions& options, const std::string& format) {
  Plan plan = load_plan(r, file, sets);
  install_cancel_handlers();
  RunOutcome outcome = run_pipeline(plan, r, console, options);

  // Final value of every metric per trial, in report order.
  std::vector<std::vector<std::pair<std::string, double>>> finals(plan.trials.size());
  for (const auto& m : outcome.metrics) {
    auto& row = finals[m.trial];
    const std::string key = m.stage + "." + m.name;
    auto it = std::find_if(row.begin(), row.end(), [&](auto& kv) { return kv.first == key; });
    if (it == row.end()) row.emplace_back(key, m.value);
    else it->second = m.value;
  }
  if (format == "json") {
    json trials = json::array();
    for (const auto& t : plan.trials) {
      json params = json::object(), metrics = json::object();
      for (const auto& [k, v] : t.assignments) params[k] = v;
      for (const auto& [k, v] : finals[t.index]) metrics[k] = std::isfinite(v) ? json(v) : json(nullptr);
      trials.push_back({{"trial", t.index}, {"seed", t.seed}, {"params", params}, {"metrics", metrics}});
    }
    std::cout << json{{"pipeline", plan.spec.name}, {"run_dir", outcome.run_dir.string()},
                      {"exit_code", outcome.exit_code}, {"trials", trials}}.dump(2)
              << "\n";
  } else {
    size_t w = 6;
    for (const auto& row : finals)
      for (const auto& [k, v] : row) w = std::max(w, k.size());
    const bool sweep = plan.trials.size() > 1;
    for (const auto& t : plan.trials) {
      if (finals[t.index].empty()) continue;
      if (sweep) {
        std::vector<std::string> a;
        for (const auto& [k, v] : t.assignments) a.push_back(k + "=" + v);
        std::printf("trial %zu  %s\n", t.index, join(a, " ").c_str());
      }
      for (const auto& [k, v] : finals[t.index])
        std::printf("%s%-*s  %s\n", sweep ? "  " : "", static_cast<int>(w), k.c_str(), number_text(v).c_str());
    }
    console.log(GLIA_LOG_INFO, "results in " + outcome.run_dir.string());
  }
  return outcome.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Parallelism comes from TBB; a second thread pool inside OpenBLAS would oversubscribe the
  // cores and make reductions depend on its thread count.
  setenv("OPENBLAS_NUM_THREADS", "1", 0);

  if (argc == 3 && std::string(argv[1]) == "__scan") {
    // The scanner child: answer on stdout, one marked line.
    const json answer = scan_file_in_process(argv[2]);
    std::printf("GLIA-SCAN-1 %s\n", answer.dump().c_str());
    std::fflush(stdout);
    return 0;
  }

  CLI::App app{"glia: brain-inspired learning methods behind one command line"};
  app.set_version_flag("--version", std::string("glia ") + GLIA_VERSION + " (plugin ABI " +
                                        std::to_string(GLIA_ABI_MAJOR) + ")");
  GlobalOptions g;
  app.add_option("--plugin-path", g.plugin_path, "Extra plugin folders or files (':'-separated), searched first");
  app.add_flag("-q,--quiet", g.quiet, "Only warnings and errors on stderr; no progress line");
  app.add_flag("-v,--verbose", g.verbose, "Debug messages on stderr");
  app.require_subcommand(1);

  auto* plugins = app.add_subcommand("plugins", "List operators, or describe one");
  std::string format = "text";
  plugins->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  auto* plugins_list = plugins->add_subcommand("list", "List every operator (the default)");
  auto* plugins_info = plugins->add_subcommand("info", "Ports and parameters of one operator");
  std::string op_id;
  plugins_info->add_option("ID", op_id, "Operator id, e.g. data.split")->required();
  plugins_info->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  plugins_list->add_option("--format", format, "text or json")->check(CLI::IsMember({"text", "json"}));
  auto* plugins_check = plugins->add_subcommand("check", "Run a plugin file through the conformance checks");
  std::string plugin_file;
  plugins_check->add_option("FILE", plugin_file, "Plugin file, e.g. build/glia-demo.so")->required();

  auto* config = app.add_subcommand("config", "Work with pipeline files");
  config->require_subcommand(1);
  auto* generate = config->add_subcommand("generate", "Print a commented sample pipeline for an operator");
  generate->add_option("ID", op_id, "Operator id")->required();

  std::string file;
  std::vector<std::string> sets;
  auto* validate = app.add_subcommand("validate", "Check a pipeline without running it");
  validate->add_option("PIPELINE", file, "Pipeline TOML file")->required();
  validate->add_option("--set", sets, "Override a parameter: <stage>.<param>=<value> (repeatable)");

  auto* run = app.add_subcommand("run", "Run a pipeline");
  RunOptions run_options;
  std::string out_dir;
  std::string run_format = "table";
  run->add_option("PIPELINE", file, "Pipeline TOML file")->required();
  run->add_option("--set", sets, "Override a parameter: <stage>.<param>=<value> (repeatable)");
  run->add_option("--threads", run_options.threads, "Worker threads (0: all cores); results do not depend on it")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--out", out_dir, "Run folder (default runs/<name>/<UTC timestamp>)");
  run->add_option("--format", run_format, "table or json (final metrics on stdout)")
      ->check(CLI::IsMember({"table", "json"}));
  run->add_flag("-q,--quiet", g.quiet, "Only warnings and errors on stderr; no progress line");

  auto* new_cmd = app.add_subcommand("new", "Create a project");
  new_cmd->require_subcommand(1);
  auto* new_plugin = new_cmd->add_subcommand("plugin", "Write an out-of-tree plugin project that builds against the SDK");
  std::string plugin_name, project_dir;
  new_plugin->add_option("NAME", plugin_name, "Plugin name: [a-z][a-z0-9_]*")->required();
  new_plugin->add_option("--dir", project_dir, "Folder to create (default ./NAME); must not exist or be empty");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  Console console(g.quiet, g.verbose);
  try {
    // Neither needs the registry; check forks before anything starts threads.
    if (*new_plugin) return glia::cli::new_plugin(plugin_name, project_dir);
    if (*plugins_check) return glia::cli::check_plugin(plugin_file, registry_options(g));

    Registry registry(registry_options(g));
    registry.scan();
    for (const auto& w : registry.warnings()) console.warn(w);
    if (*plugins) {
      if (*plugins_info) return cmd_plugins_info(registry, op_id, format);
      return cmd_plugins_list(registry, format);
    }
    if (*generate) return cmd_config_generate(registry, op_id);
    if (*validate) return cmd_validate(registry, console, file, sets);
    if (*run) {
      run_options.out_dir = out_dir;
      return cmd_run(registry, console, file, sets, run_options, run_format);
    }
  } catch (const ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s: error: %s\n", d.pos.text().c_str(), d.message.c_str());
    return e.exit_code();
  } catch (const Failure& e) {
    console.error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    console.error(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
  return kExitUsage;
}
