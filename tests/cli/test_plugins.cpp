// `glia plugins` and plugin loading: listing, info, JSON, refusal of broken plugins, the cache.
#include <catch2/catch.hpp>

#include "glia_process.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

using namespace glia::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

static const std::string good = GLIA_FIXTURE_GOOD_DIR;
static const std::string bad = GLIA_FIXTURE_BAD_DIR;

static size_t count_lines_with(const std::string& text, const std::string& needle) {
  size_t n = 0, pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    ++n;
    pos += needle.size();
  }
  return n;
}

TEST_CASE("the version flag names the plugin ABI", "[cli]") {
  auto r = run_glia({"--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("plugin ABI 1"));
}

TEST_CASE("a usage error exits 64", "[cli]") {
  CHECK(run_glia({"frobnicate"}).exit_code == 64);
  CHECK(run_glia({"run"}).exit_code == 64);
  CHECK(run_glia({"run", "x.toml", "--threads", "-3"}).exit_code == 64);
}

TEST_CASE("plugins lists built-in and fixture operators", "[plugins]") {
  auto r = run_glia({"--plugin-path", good, "plugins"});
  REQUIRE(r.exit_code == 0);
  for (const char* id : {"test.scale", "test.sleep", "io.read_csv", "io.read_idx", "data.split", "data.synthetic",
                         "metrics.regression", "metrics.classification", "linear.ridge"})
    CHECK_THAT(r.out, Contains(id));
  CHECK(r.err.empty());
}

TEST_CASE("plugins info prints ports and parameters with types, defaults and docs", "[plugins]") {
  auto r = run_glia({"--plugin-path", good, "plugins", "info", "test.scale"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("factor  float, default 2.0, range [-100, 100]"));
  CHECK_THAT(r.out, Contains("x  float32|float64, rank 2 (N,D)"));
  CHECK_THAT(r.out, Contains("y  float64, rank 2 (N,D)"));
  CHECK_THAT(r.out, Contains("The factor."));
  CHECK_THAT(r.out, Contains("fixture-good 1.0.0"));
}

TEST_CASE("plugins --format json is machine-readable", "[plugins]") {
  auto r = run_glia({"--plugin-path", good, "plugins", "--format", "json"});
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("abi") == 1);
  bool found = false;
  for (const auto& op : j.at("operators")) {
    if (op.at("id") != "test.scale") continue;
    found = true;
    CHECK(op.at("params").at(0).at("name") == "factor");
    CHECK(op.at("params").at(0).at("default") == 2.0);
    CHECK(op.at("params").at(0).at("type") == "float");
    CHECK(op.at("ports").at(0).at("shape") == "N,D");
  }
  CHECK(found);
  auto info = run_glia({"--plugin-path", good, "plugins", "info", "test.pair", "--format", "json"});
  REQUIRE(info.exit_code == 0);
  CHECK(nlohmann::json::parse(info.out).at("ports").at(0).at("shape") == "2");
}

TEST_CASE("plugins info of an unknown operator exits 69 with a suggestion", "[plugins]") {
  auto r = run_glia({"--plugin-path", good, "plugins", "info", "test.scal"});
  CHECK(r.exit_code == 69);
  CHECK_THAT(r.err, Contains("no operator 'test.scal', did you mean 'test.scale'?"));
}

TEST_CASE("broken plugins are refused with one line each and the others still work", "[plugins]") {
  auto r = run_glia({"--plugin-path", bad + ":" + good, "plugins"}, {{"GLIA_SCAN_TIMEOUT_MS", "1500"}});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("test.scale"));
  CHECK_THAT(r.out, Contains("test.throws"));  // throws only when asked to
  CHECK_THAT(r.err, Contains("fixture-wrong-major.so: built for plugin ABI 2, this glia speaks ABI 1"));
  CHECK_THAT(r.err, Contains("fixture-entry-v2.so: built for plugin ABI 2, this glia speaks ABI 1 (no glia_plugin_entry_v1)"));
  CHECK_THAT(r.err, Contains("fixture-no-entry.so: no glia_plugin_entry_v1 symbol: not a glia plugin"));
  CHECK_THAT(r.err, Contains("fixture-crash.so: crashed while loading (signal 11"));
  CHECK_THAT(r.err, Contains("fixture-hang.so: hung while loading (no answer after 1500 ms)"));
  CHECK_THAT(r.err, Contains("fixture-bad-descriptor.so: operator 'test.bad_default': parameter 'rate': default 5.0 is outside [0, 1]"));
  CHECK(count_lines_with(r.err, "skipping plugin") == 6);
  CHECK(count_lines_with(r.err, "\n") == 6);  // one line each
}

TEST_CASE("a plugin throwing C++ exceptions across the C ABI at load is refused", "[plugins]") {
  const std::string file = bad + "/fixture-throws.so";
  for (const char* where : {"entry", "init", "factory", "count", "descriptor"}) {
    INFO(where);
    auto r = run_glia({"--plugin-path", file, "plugins"}, {{"GLIA_FIXTURE_THROW", where}});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Contains("fixture-throws.so: threw a C++ exception across the C ABI from"));
    CHECK_THAT(r.err, Contains("fixture throws from " + std::string(where)));
    CHECK_THAT(r.out, !Contains("test.throws"));
    CHECK_THAT(r.out, Contains("data.split"));
  }
}

TEST_CASE("a plugin throwing at create, configure or run fails the run with exit 70", "[plugins]") {
  TempDir dir;
  write_text(dir / "p.toml", "[pipeline]\nname = \"t\"\n[stages.t]\nplugin = \"test.throws\"\n");
  const std::string file = bad + "/fixture-throws.so";
  for (const char* where : {"create", "configure", "run"}) {
    INFO(where);
    auto r = run_glia({"--plugin-path", file, "run", (dir / "p.toml").string(), "--out", (dir / "out").string()},
                      {{"GLIA_FIXTURE_THROW", where}});
    CHECK(r.exit_code == 70);
    CHECK_THAT(r.err, Contains("threw a C++ exception across the C ABI from " + std::string(where)));
  }
  auto ok = run_glia({"--plugin-path", file, "run", (dir / "p.toml").string(), "--out", (dir / "ok").string()});
  CHECK(ok.exit_code == 0);
}

TEST_CASE("scan results are cached by path, size and mtime", "[plugins]") {
  TempDir dir;
  const fs::path plugin = dir / "plugins" / "fixture-throws.so";
  fs::create_directories(plugin.parent_path());
  fs::copy_file(bad + "/fixture-throws.so", plugin);
  const std::string cache = (dir / "registry.json").string();

  auto first = run_glia({"--plugin-path", plugin.parent_path().string(), "plugins"}, {{"GLIA_REGISTRY", cache}});
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Contains("test.throws"));
  REQUIRE(fs::exists(cache));
  CHECK_THAT(read_text(cache), Contains(plugin.string()));

  // A cache hit does not run the plugin again: the cached answer stands although it would now throw.
  auto cached = run_glia({"--plugin-path", plugin.parent_path().string(), "plugins"},
                         {{"GLIA_REGISTRY", cache}, {"GLIA_FIXTURE_THROW", "init"}});
  CHECK_THAT(cached.out, Contains("test.throws"));
  CHECK(cached.err.empty());

  // A changed file is scanned again.
  fs::last_write_time(plugin, fs::last_write_time(plugin) + std::chrono::seconds(5));
  auto rescanned = run_glia({"--plugin-path", plugin.parent_path().string(), "plugins"},
                            {{"GLIA_REGISTRY", cache}, {"GLIA_FIXTURE_THROW", "init"}});
  CHECK_THAT(rescanned.out, !Contains("test.throws"));
  CHECK_THAT(rescanned.err, Contains("fixture throws from init"));
}

TEST_CASE("GLIA_PLUGIN_PATH is searched", "[plugins]") {
  auto r = run_glia({"plugins"}, {{"GLIA_PLUGIN_PATH", good}});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("test.scale"));
  CHECK_THAT(run_glia({"plugins"}).out, !Contains("test.scale"));
}

TEST_CASE("config generate prints a sample that validates", "[plugins]") {
  TempDir dir;
  auto r = run_glia({"--plugin-path", good, "config", "generate", "test.noise"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("plugin = \"test.noise\""));
  CHECK_THAT(r.out, Contains("# rows = 4"));
  CHECK_THAT(r.out, Contains("## Rows."));
  write_text(dir / "sample.toml", r.out);
  auto v = run_glia({"--plugin-path", good, "validate", (dir / "sample.toml").string()});
  CHECK(v.exit_code == 0);
  CHECK(run_glia({"config", "generate", "nope.nope"}).exit_code == 69);
}

TEST_CASE("config generate works for every installed operator", "[plugins]") {
  auto list = run_glia({"--plugin-path", good, "plugins", "--format", "json"});
  REQUIRE(list.exit_code == 0);
  TempDir dir;
  const auto listing = nlohmann::json::parse(list.out);
  for (const auto& op : listing.at("operators")) {
    const std::string id = op.at("id");
    INFO(id);
    auto r = run_glia({"--plugin-path", good, "config", "generate", id});
    REQUIRE(r.exit_code == 0);
    // Operators without required inputs or parameters validate as generated.
    bool needs_edit = false;
    for (const auto& p : op.at("params")) needs_edit |= p.at("required").get<bool>();
    for (const auto& p : op.at("ports")) needs_edit |= p.at("direction") == "in" && !p.at("optional").get<bool>();
    write_text(dir / "g.toml", r.out);
    auto v = run_glia({"--plugin-path", good, "validate", (dir / "g.toml").string()});
    if (!needs_edit) CHECK(v.exit_code == 0);
    else CHECK_THAT(v.err, !Contains("TOML syntax error"));
  }
}
