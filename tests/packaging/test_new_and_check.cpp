// `glia new plugin` and `glia plugins check`, run through the real executable.
#include <catch2/catch.hpp>

#include "glia_process.hpp"

#include <filesystem>

using namespace glia::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

static const fs::path plugin_dir = GLIA_PLUGIN_DIR;
static const fs::path check_fixtures = GLIA_CHECK_FIXTURE_DIR;
static const fs::path bad = GLIA_FIXTURE_BAD_DIR;

TEST_CASE("plugins check passes every in-tree plugin", "[check]") {
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(plugin_dir)) {
    if (entry.path().extension() != ".so") continue;
    INFO(entry.path());
    auto r = run_glia({"plugins", "check", entry.path().string()});
    INFO(r.out + r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains(": conforms"));
    CHECK_THAT(r.out, !Contains("FAIL"));
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("plugins check names each broken contract and exits 70", "[check]") {
  auto r = run_glia({"plugins", "check", (check_fixtures / "fixture-nonconforming.so").string()});
  INFO(r.out + r.err);
  CHECK(r.exit_code == 70);
  CHECK_THAT(r.out, Contains("FAIL  bad.shape: alloc_output: output 'y' has shape [8,4] but D = 3 (shape N,D)"));
  CHECK_THAT(r.out, Contains("FAIL  bad.missing: run() on sample inputs x float64[8,3] returned OK without "
                             "allocating output 'y'"));
  CHECK_THAT(r.out, Contains("FAIL  bad.defaults: refuses its own defaults in configure()"));
  CHECK_THAT(r.out, Contains("k = 3 is not supported"));
  CHECK_THAT(r.out, Contains("does not conform (3 problems)"));
}

TEST_CASE("plugins check survives a plugin that crashes while running", "[check]") {
  auto r = run_glia({"plugins", "check", (check_fixtures / "fixture-crash-in-run.so").string()});
  INFO(r.out + r.err);
  CHECK(r.exit_code == 70);
  CHECK_THAT(r.out, Contains("ok    crash.run: created and configured with its defaults\n"
                             "  FAIL  crashed (signal 11"));
}

TEST_CASE("plugins check reports plugins that cannot be loaded", "[check]") {
  struct Case {
    const char* file;
    const char* says;
  };
  for (const auto& c : {Case{"fixture-crash.so", "crashed while loading"},
                        Case{"fixture-wrong-major.so", "built for plugin ABI"},
                        Case{"fixture-bad-descriptor.so", "default 5.0 is outside [0, 1]"},
                        Case{"fixture-hang.so", "hung while loading"}}) {
    INFO(c.file);
    auto r = run_glia({"plugins", "check", (bad / c.file).string()}, {{"GLIA_SCAN_TIMEOUT_MS", "1000"}});
    INFO(r.out + r.err);
    CHECK(r.exit_code == 70);
    CHECK_THAT(r.out, Contains("FAIL  loading in a separate process: "));
    CHECK_THAT(r.out, Contains(c.says));
  }
  auto missing = run_glia({"plugins", "check", "no/such/plugin.so"});
  CHECK(missing.exit_code == 69);
  CHECK_THAT(missing.err, Contains("no/such/plugin.so: no such plugin file"));
}

TEST_CASE("new plugin writes a complete project with the name filled in", "[new]") {
  TempDir tmp;
  const fs::path project = tmp / "my project";
  auto r = run_glia({"new", "plugin", "wave", "--dir", project.string()});
  INFO(r.out + r.err);
  REQUIRE(r.exit_code == 0);
  for (const char* file : {"CMakeLists.txt", "README.md", "src/scale.hpp", "src/plugin.cpp",
                           "tests/scale_test.cpp", "pipelines/sample.toml", ".gitignore"}) {
    INFO(file);
    REQUIRE(fs::is_regular_file(project / file));
    CHECK_THAT(read_text(project / file), !Contains("@name@"));
  }
  CHECK_THAT(read_text(project / "CMakeLists.txt"), Contains("find_package(glia 1 REQUIRED)"));
  CHECK_THAT(read_text(project / "CMakeLists.txt"), Contains("glia_add_plugin(wave SOURCES src/plugin.cpp)"));
  CHECK_THAT(read_text(project / "src/scale.hpp"), Contains("\"wave.scale\""));
  CHECK_THAT(read_text(project / "pipelines/sample.toml"), Contains("plugin = \"wave.scale\""));
  // Nothing but the project itself is left in the parent folder.
  CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("new plugin fills an empty folder but never overwrites", "[new]") {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  CHECK(run_glia({"new", "plugin", "demo", "--dir", (tmp / "empty").string()}).exit_code == 0);
  CHECK(fs::is_regular_file(tmp / "empty" / "CMakeLists.txt"));

  write_text(tmp / "taken" / "notes.txt", "mine");
  auto r = run_glia({"new", "plugin", "demo", "--dir", (tmp / "taken").string()});
  CHECK(r.exit_code == 64);
  CHECK_THAT(r.err, Contains("taken: already exists and is not an empty folder"));
  CHECK(read_text(tmp / "taken" / "notes.txt") == "mine");
  CHECK_FALSE(fs::exists(tmp / "taken" / "CMakeLists.txt"));
}

TEST_CASE("new plugin refuses names that cannot be an operator family", "[new]") {
  TempDir tmp;
  for (const char* name : {"Demo", "2fast", "my-plugin", "a.b", ""}) {
    INFO(name);
    auto r = run_glia({"new", "plugin", name, "--dir", (tmp / "x").string()});
    CHECK(r.exit_code == 64);
    CHECK_THAT(r.err, Contains("must match [a-z][a-z0-9_]*"));
    CHECK_FALSE(fs::exists(tmp / "x"));
  }
}
