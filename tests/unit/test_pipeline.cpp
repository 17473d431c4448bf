// Pipeline parsing without plugins: structure errors and sweeps.
#include <catch2/catch.hpp>

#include "pipeline.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace glia::host;
using Catch::Matchers::Contains;

namespace {

std::string write_temp(const std::string& text) {
  const std::string path = "/tmp/glia-unit-" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("parse_pipeline reads stages in file order with positions") {
  const auto path = write_temp(
      "[pipeline]\nname = \"demo\"\nseed = 9\n"
      "[stages.b]\nplugin = \"x.y\"\ninputs = { a = \"a.out\" }\nsave = [\"z\"]\n"
      "[stages.a]\nplugin = \"x.z\"\nparams = { n = 3 }\n");
  const PipelineSpec spec = parse_pipeline(path);
  CHECK(spec.name == "demo");
  CHECK(spec.seed == 9);
  REQUIRE(spec.stages.size() == 2);
  CHECK(spec.stages[0].id == "b");
  CHECK(spec.stages[0].inputs.at(0).source_stage == "a");
  CHECK(spec.stages[0].inputs.at(0).source_port == "out");
  CHECK(spec.stages[0].save.at(0).first == "z");
  CHECK(spec.stages[1].params.at(0).first == "n");
  CHECK(spec.stages[1].params.at(0).second.pos.line == 10);
  std::remove(path.c_str());
}

TEST_CASE("structural errors are all reported with positions") {
  const auto path = write_temp(
      "[pipeline]\nseed = -1\nnam = \"x\"\n"
      "[stages.a]\ninputs = { x = \"nodot\" }\n"
      "[sweep]\nmode = \"spiral\"\n");
  try {
    parse_pipeline(path);
    FAIL("no error");
  } catch (const ConfigError& e) {
    const std::string all = e.what();
    CHECK_THAT(all, Contains(":2:8: pipeline.seed must be a non-negative integer"));
    CHECK_THAT(all, Contains(":3:1: unknown key 'pipeline.nam', did you mean 'name'?"));
    CHECK_THAT(all, Contains("inputs.x must be \"<stage>.<port>\""));
    CHECK_THAT(all, Contains("stages.a has no plugin"));
    CHECK_THAT(all, Contains("sweep.mode must be \"grid\", \"zip\" or \"random\""));
    CHECK(e.exit_code() == 78);
  }
  std::remove(path.c_str());
}
