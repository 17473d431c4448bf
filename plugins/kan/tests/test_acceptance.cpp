// The acceptance experiments, run end to end through the glia executable with the shipped configs
// (full size, not the ci-args reduction): about a minute on 2 cores.
#include "glia_process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace glia::test;

namespace {

nlohmann::json run_config(const std::string& name, const TempDir& dir) {
  const std::string config = std::string(GLIA_SOURCE_DIR) + "/configs/" + name;
  const ProcessResult r = run_glia({"run", config, "--quiet", "--format", "json", "--out", (dir / "run").string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// Mean over the sweep's trials of one metric.
double mean_metric(const nlohmann::json& run, const std::string& name) {
  double sum = 0;
  for (const auto& t : run["trials"]) sum += t["metrics"].at(name).get<double>();
  return sum / run["trials"].size();
}

}  // namespace

TEST_CASE("HEA classification: KAN test F1 within 0.01 of a matched MLP over 3 seeded splits") {
  TempDir dir;
  const auto run = run_config("hea-classifier.toml", dir);
  REQUIRE(run["trials"].size() == 3);
  const double kan = mean_metric(run, "kan_score.f1"), mlp = mean_metric(run, "mlp_score.f1");
  WARN("KAN F1 " << kan << ", MLP F1 " << mlp);
  CHECK(kan >= mlp - 0.01);
  CHECK(kan > 0.65);
}

TEST_CASE("HEA bulk modulus: KAN test R^2 >= matched MLP R^2 - 0.01 over 3 seeded splits") {
  TempDir dir;
  const auto run = run_config("hea-bulk-modulus.toml", dir);
  REQUIRE(run["trials"].size() == 3);
  const double kan = mean_metric(run, "kan_score.r2"), mlp = mean_metric(run, "mlp_score.r2");
  WARN("KAN R2 " << kan << ", MLP R2 " << mlp);
  CHECK(kan >= mlp - 0.01);
  CHECK(kan > 0.95);
}

TEST_CASE("HEA two-stage screen lists the top 10 predicted bulk moduli of predicted HEAs") {
  TempDir dir;
  const auto run = run_config("hea-screen.toml", dir);
  const auto& m = run["trials"][0]["metrics"];
  CHECK(m.at("screen.accepted").get<double>() >= 10);
  for (int r = 1; r < 10; ++r)
    CHECK(m.at("screen.top_" + std::to_string(r)).get<double>() >= m.at("screen.top_" + std::to_string(r + 1)).get<double>());
  const std::string table = read_text(dir / "run" / "screen" / "top.csv");
  CHECK(std::count(table.begin(), table.end(), '\n') == 11);
}

TEST_CASE("symbolic recovery of exp(sin(pi x1) + x2^2): RMSE < 1e-3 with grid extension; sin, x^2, exp found") {
  TempDir dir;
  const auto run = run_config("kan-symbolic.toml", dir);
  const auto& m = run["trials"][0]["metrics"];
  CHECK(m.at("fit_score.rmse").get<double>() < 1e-3);
  CHECK(m.at("prune.width_1").get<double>() == 1);
  // Edges of the pruned [2, 1, 1] model: (layer.in.out).
  CHECK(m.at("symbolic.r2.0.0.0").get<double>() > 0.999);
  CHECK(m.at("symbolic.r2.0.1.0").get<double>() > 0.999);
  CHECK(m.at("symbolic.r2.1.0.0").get<double>() > 0.999);
  const std::string log = read_text(dir / "run" / "run.log");
  CHECK(log.find("edge (0.0.0): sin ") != std::string::npos);
  CHECK(log.find("edge (0.1.0): x^2 ") != std::string::npos);
  CHECK(log.find("edge (1.0.0): exp ") != std::string::npos);
  CHECK(m.at("symbolic_score.rmse").get<double>() < 1e-2);
  CHECK(read_text(dir / "run" / "symbolic" / "formula.txt").find("exp(") != std::string::npos);
}
