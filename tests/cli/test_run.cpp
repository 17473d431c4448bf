// `glia run`: outputs, determinism across thread counts, sweeps, failures, cancellation.
#include <catch2/catch.hpp>

#include "glia_process.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

using namespace glia::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const std::string ridge_config = std::string(GLIA_SOURCE_DIR) + "/configs/ridge-synthetic.toml";

ProcessResult run(const std::vector<std::string>& args, const Env& env = {}) {
  std::vector<std::string> all = {"--plugin-path", GLIA_FIXTURE_GOOD_DIR, "run"};
  all.insert(all.end(), args.begin(), args.end());
  return run_glia(all, env);
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.push_back(fs::relative(e.path(), dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("run writes the resolved config, results, saved tensors and the log", "[run]") {
  TempDir dir;
  auto r = run({ridge_config, "--out", (dir / "out").string()});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("metrics.r2"));
  CHECK_THAT(r.out, Contains("ridge.alpha"));
  const auto files = files_in(dir / "out");
  CHECK(files == std::vector<std::string>{"pipeline.toml", "results.jsonl", "ridge.coef.npy", "run.log"});
  const std::string results = read_text(dir / "out" / "results.jsonl");
  const auto first = nlohmann::json::parse(results.substr(0, results.find('\n')));
  CHECK(first.at("trial") == 0);
  CHECK(first.at("stage") == "ridge");
  CHECK(first.contains("value"));
  CHECK(first.contains("step"));
  CHECK_THAT(read_text(dir / "out" / "pipeline.toml"), Contains("test_fraction = 0.25"));
  // The acceptance of the main job: ridge recovers a noisy linear model well.
  auto json = run({ridge_config, "--out", (dir / "json").string(), "--format", "json", "--quiet"});
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j.at("trials").at(0).at("metrics").at("metrics.r2").get<double>() > 0.9);
}

TEST_CASE("outputs are byte-identical for --threads 1 and --threads 2", "[run][determinism]") {
  TempDir dir;
  auto one = run({ridge_config, "--threads", "1", "--out", (dir / "t1").string(), "--quiet"});
  auto two = run({ridge_config, "--threads", "2", "--out", (dir / "t2").string(), "--quiet"});
  REQUIRE(one.exit_code == 0);
  REQUIRE(two.exit_code == 0);
  CHECK(read_text(dir / "t1" / "results.jsonl") == read_text(dir / "t2" / "results.jsonl"));
  CHECK(read_text(dir / "t1" / "ridge.coef.npy") == read_text(dir / "t2" / "ridge.coef.npy"));
  CHECK(one.out == two.out);
  // A different seed gives different data.
  auto other = run({ridge_config, "--set", "pipeline.seed=7", "--out", (dir / "s7").string(), "--quiet"});
  REQUIRE(other.exit_code == 0);
  CHECK(read_text(dir / "t1" / "ridge.coef.npy") != read_text(dir / "s7" / "ridge.coef.npy"));
}

TEST_CASE("an override given with --set changes a parameter and lands in the resolved config", "[run]") {
  TempDir dir;
  auto r = run({ridge_config, "--set", "split.test_fraction=0.3", "--out", (dir / "o").string(), "--quiet"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(read_text(dir / "o" / "pipeline.toml"), Contains("test_fraction = 0.3"));
}

TEST_CASE("sweeps run every trial with its own seed and folder", "[run][sweep]") {
  TempDir dir;
  const std::string base = "[pipeline]\nname = \"sweep\"\nseed = 3\n[stages.noise]\nplugin = \"test.noise\"\n"
                           "[stages.scale]\nplugin = \"test.scale\"\ninputs = { x = \"noise.x\" }\nsave = [\"y\"]\n";
  SECTION("grid") {
    write_text(dir / "p.toml", base + "[sweep]\nmode = \"grid\"\n[sweep.params]\n\"noise.rows\" = [2, 3]\n\"scale.factor\" = [1.0, -1.0]\n");
    auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string(), "--format", "json"});
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.at("trials").size() == 4);
    CHECK(j.at("trials").at(3).at("params").at("noise.rows") == "3");
    CHECK(j.at("trials").at(3).at("params").at("scale.factor") == "-1.0");
    // Sign flips with the factor; seeds differ per trial.
    CHECK(j.at("trials").at(0).at("metrics").at("scale.sum").get<double>() > 0);
    CHECK(j.at("trials").at(1).at("metrics").at("scale.sum").get<double>() < 0);
    CHECK(j.at("trials").at(0).at("seed") != j.at("trials").at(1).at("seed"));
    for (int t = 0; t < 4; ++t) CHECK(fs::exists(dir / "o" / ("trial-" + std::to_string(t)) / "scale.y.npy"));
  }
  SECTION("zip") {
    write_text(dir / "p.toml", base + "[sweep]\nmode = \"zip\"\n[sweep.params]\n\"noise.rows\" = [2, 3, 4]\n\"scale.factor\" = [1.0, 2.0, 3.0]\n");
    auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string(), "--format", "json"});
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out).at("trials").size() == 3);
  }
  SECTION("repeats") {
    write_text(dir / "p.toml", base + "[sweep]\nrepeats = 3\n");
    auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string(), "--format", "json"});
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j.at("trials").size() == 3);
    CHECK(j.at("trials").at(2).at("params").at("repeat") == "2");
    // Same parameters, different seeds: different noise.
    CHECK(j.at("trials").at(0).at("metrics").at("scale.sum") != j.at("trials").at(1).at("metrics").at("scale.sum"));
    write_text(dir / "q.toml", base + "[sweep]\nrepeats = 2\n[sweep.params]\n\"noise.rows\" = [2, 3]\n");
    auto q = run({(dir / "q.toml").string(), "--out", (dir / "q").string(), "--format", "json"});
    REQUIRE(q.exit_code == 0);
    CHECK(nlohmann::json::parse(q.out).at("trials").size() == 4);
  }
  SECTION("random") {
    write_text(dir / "p.toml", base + "[sweep]\nmode = \"random\"\ntrials = 5\n[sweep.params]\n\"noise.rows\" = [2, 3, 4]\n");
    auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string(), "--format", "json"});
    REQUIRE(r.exit_code == 0);
    CHECK(nlohmann::json::parse(r.out).at("trials").size() == 5);
  }
}

TEST_CASE("an operator returning the wrong shape fails the run with exit 70", "[run]") {
  TempDir dir;
  write_text(dir / "p.toml", "[pipeline]\nname = \"t\"\n[stages.noise]\nplugin = \"test.noise\"\n"
                             "[stages.w]\nplugin = \"test.wrong_shape\"\ninputs = { x = \"noise.x\" }\n");
  auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string()});
  CHECK(r.exit_code == 70);
  CHECK_THAT(r.err, Contains("stage 'w' (test.wrong_shape) failed: plugin bug: output 'y' has shape (5), expected (N) with N = 4"));
}

TEST_CASE("operator errors name the stage and map to exit codes", "[run]") {
  TempDir dir;
  for (const char* kind : {"data", "numeric"}) {
    write_text(dir / "p.toml", std::string("[pipeline]\nname = \"t\"\n[stages.bad]\nplugin = \"test.fail\"\nparams = { kind = \"") +
                                   kind + "\" }\n");
    auto r = run({(dir / "p.toml").string(), "--out", (dir / kind).string()});
    CHECK(r.exit_code == 65);
    CHECK_THAT(r.err, Contains("stage 'bad' (test.fail) failed: "));
    // No stage after a failure writes anything half-done; the results file is still whole.
    CHECK(fs::exists(dir / kind / "results.jsonl"));
  }
}

TEST_CASE("bad data in a CSV is a data error naming file and line", "[run]") {
  TempDir dir;
  write_text(dir / "t.csv", "a,b,y\n1,2,3\n4,5\n");
  write_text(dir / "p.toml", "[pipeline]\nname = \"t\"\n[stages.csv]\nplugin = \"io.read_csv\"\nparams = { path = \"t.csv\", target = \"y\" }\n");
  auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string()});
  CHECK(r.exit_code == 65);
  CHECK_THAT(r.err, Contains("t.csv:3"));
}

TEST_CASE("mismatched input shapes are caught before the operator runs", "[run]") {
  TempDir dir;
  write_text(dir / "p.toml", "[pipeline]\nname = \"t\"\n"
                             "[stages.a]\nplugin = \"test.noise\"\nparams = { rows = 5 }\n"
                             "[stages.b]\nplugin = \"test.noise\"\nparams = { rows = 6 }\n"
                             "[stages.m]\nplugin = \"metrics.regression\"\ninputs = { y_true = \"a.x\", y_pred = \"b.x\" }\n");
  auto r = run({(dir / "p.toml").string(), "--out", (dir / "o").string()});
  CHECK(r.exit_code == 65);
  CHECK_THAT(r.err, Contains("stage 'm' (metrics.regression) failed: "));
}

TEST_CASE("Ctrl-C cancels cleanly with exit 130 and leaves no partial files", "[run][cancel]") {
  TempDir dir;
  write_text(dir / "p.toml", "[pipeline]\nname = \"t\"\n[stages.wait]\nplugin = \"test.sleep\"\n"
                             "[stages.noise]\nplugin = \"test.noise\"\n"
                             "[stages.scale]\nplugin = \"test.scale\"\ninputs = { x = \"noise.x\" }\nsave = [\"y\"]\n");
  auto r = run_glia_and_interrupt({"--plugin-path", GLIA_FIXTURE_GOOD_DIR, "run", (dir / "p.toml").string(), "--out",
                                   (dir / "o").string()},
                                  dir / "o" / "pipeline.toml", 500);
  CHECK(r.exit_code == 130);
  CHECK_THAT(r.err, Contains("cancelled"));
  for (const auto& f : files_in(dir / "o")) {
    INFO(f);
    CHECK(f.find(".tmp-") == std::string::npos);
    CHECK(f != "wait.done.npy");
  }
  CHECK(fs::exists(dir / "o" / "results.jsonl"));
  CHECK(fs::exists(dir / "o" / "scale.y.npy"));  // independent stages finished before the signal
}
