// `glia validate`: every kind of configuration error names file:line:col and exits 78.
#include <catch2/catch.hpp>

#include "glia_process.hpp"

using namespace glia::test;
using Catch::Matchers::Contains;

namespace {

// Validates `toml` (written to p.toml) with the good fixture plugin available.
ProcessResult validate(TempDir& dir, const std::string& toml, std::vector<std::string> extra = {}, const Env& env = {}) {
  write_text(dir / "p.toml", toml);
  std::vector<std::string> args = {"--plugin-path", GLIA_FIXTURE_GOOD_DIR, "validate", (dir / "p.toml").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_glia(args, env);
}

const std::string head = "[pipeline]\nname = \"t\"\nseed = 1\n";  // lines 1-3
const std::string noise = "[stages.noise]\nplugin = \"test.noise\"\n";  // lines 4-5

void expect_error(const ProcessResult& r, const std::string& where, const std::string& message) {
  INFO(r.err);
  CHECK(r.exit_code == 78);
  CHECK_THAT(r.err, Contains(where));
  CHECK_THAT(r.err, Contains(message));
}

}  // namespace

TEST_CASE("a valid pipeline validates", "[validate]") {
  TempDir dir;
  auto r = validate(dir, head + noise + "[stages.scale]\nplugin = \"test.scale\"\ninputs = { x = \"noise.x\" }\n");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("ok (2 stages, 1 trial)"));
}

TEST_CASE("validate reports each kind of error with its position", "[validate]") {
  TempDir dir;
  const std::string p = (dir / "p.toml").string();

  SECTION("TOML syntax") {
    expect_error(validate(dir, "[pipeline\nname = 1\n"), p + ":1:", "TOML syntax error");
  }
  SECTION("missing file") {
    auto r = run_glia({"validate", (dir / "nope.toml").string()});
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Contains("nope.toml: error: pipeline file not found"));
  }
  SECTION("unknown top-level key") {
    expect_error(validate(dir, head + noise + "[pipelines]\nx = 1\n"), p + ":6:2",
                 "unknown top-level key 'pipelines', did you mean 'pipeline'?");
  }
  SECTION("unknown stage key") {
    expect_error(validate(dir, head + noise + "param = { rows = 2 }\n"), p + ":6:1",
                 "unknown key 'stages.noise.param', did you mean 'params'?");
  }
  SECTION("unknown operator") {
    expect_error(validate(dir, head + "[stages.noise]\nplugin = \"test.nois\"\n"), p + ":5:10",
                 "unknown operator 'test.nois', did you mean 'test.noise'?");
  }
  SECTION("unknown parameter") {
    expect_error(validate(dir, head + noise + "params = { rowz = 2 }\n"), p + ":6:19",
                 "operator test.noise has no parameter 'rowz', did you mean 'rows'?");
  }
  SECTION("mistyped parameter") {
    expect_error(validate(dir, head + noise + "params = { rows = \"2\" }\n"), p + ":6:19",
                 "stages.noise.params.rows must be of type int, got a string");
  }
  SECTION("out-of-range parameter") {
    expect_error(validate(dir, head + noise + "params = { rows = 0 }\n"), p + ":6:19",
                 "stages.noise.params.rows = 0 is outside its range [1, 1e+06]");
  }
  SECTION("enum value not among the choices") {
    expect_error(validate(dir, head + "[stages.f]\nplugin = \"test.fail\"\nparams = { kind = \"dta\" }\n"), p + ":6:19",
                 "is not one of: data, config, numeric, did you mean 'data'?");
  }
  SECTION("missing required parameter") {
    expect_error(validate(dir, head + "[stages.csv]\nplugin = \"io.read_csv\"\n"), p + ":4:9",
                 "required parameter 'path' of io.read_csv is not set");
  }
  SECTION("path parameter naming a missing file") {
    expect_error(validate(dir, head + "[stages.csv]\nplugin = \"io.read_csv\"\nparams = { path = \"no.csv\" }\n"),
                 p + ":6:19", "file not found");
  }
  SECTION("input naming a missing stage") {
    expect_error(validate(dir, head + noise + "[stages.s]\nplugin = \"test.scale\"\ninputs = { x = \"nose.x\" }\n"),
                 p + ":8:16", "input 'x' names a missing stage 'nose', did you mean 'noise'?");
  }
  SECTION("input naming a missing output port") {
    expect_error(validate(dir, head + noise + "[stages.s]\nplugin = \"test.scale\"\ninputs = { x = \"noise.y\" }\n"),
                 p + ":8:16", "test.noise has no output 'y'");
  }
  SECTION("unknown input port") {
    expect_error(validate(dir, head + noise + "[stages.s]\nplugin = \"test.scale\"\ninputs = { z = \"noise.x\" }\n"),
                 p + ":8:16", "operator test.scale has no input 'z'");
  }
  SECTION("required input not connected") {
    expect_error(validate(dir, head + "[stages.s]\nplugin = \"test.scale\"\n"), p + ":4:9",
                 "required input 'x' of test.scale is not connected");
  }
  SECTION("dtype mismatch along an edge") {
    expect_error(validate(dir, head + "[stages.i]\nplugin = \"test.index\"\n[stages.s]\nplugin = \"test.scale\"\ninputs = { x = \"i.x\" }\n"),
                 p + ":8:16", "dtype mismatch on i.x -> s.x: produces int64, accepts float32|float64");
  }
  SECTION("rank mismatch along an edge") {
    expect_error(validate(dir, head + "[stages.w]\nplugin = \"test.sleep\"\n[stages.s]\nplugin = \"test.scale\"\ninputs = { x = \"w.done\" }\n"),
                 p + ":8:16", "rank mismatch on w.done -> s.x: produces rank 1, accepts rank 2");
  }
  SECTION("fixed shape mismatch along an edge") {
    expect_error(validate(dir, head + "[stages.w]\nplugin = \"test.sleep\"\n[stages.p]\nplugin = \"test.pair\"\ninputs = { v = \"w.done\" }\n"),
                 p + ":8:16", "shape mismatch on w.done (1) -> p.v (2): dimension 0 is");
  }
  SECTION("cycle") {
    expect_error(validate(dir, head + "[stages.a]\nplugin = \"test.scale\"\ninputs = { x = \"b.y\" }\n"
                                      "[stages.b]\nplugin = \"test.scale\"\ninputs = { x = \"a.y\" }\n"),
                 p + ":4:9", "the stages a, b form a cycle");
  }
  SECTION("configure() refuses a parameter combination") {
    expect_error(validate(dir, head + "[stages.f]\nplugin = \"test.fail\"\nparams = { kind = \"config\" }\n"), p + ":6:10",
                 "stage 'f' (test.fail): kind = \"config\" refuses to configure");
  }
  SECTION("unset environment variable") {
    expect_error(validate(dir, head + "[stages.csv]\nplugin = \"io.read_csv\"\nparams = { path = \"${GLIA_TEST_NOT_SET}/x.csv\" }\n"),
                 p + ":6:19", "environment variable GLIA_TEST_NOT_SET is not set");
  }
  SECTION("sweep over a missing parameter") {
    expect_error(validate(dir, head + noise + "[sweep]\nmode = \"grid\"\n[sweep.params]\n\"noise.rowz\" = [1, 2]\n"),
                 p + ":9:1", "sweep: operator test.noise has no parameter 'rowz', did you mean 'rows'?");
  }
  SECTION("zip sweep with lists of different lengths") {
    expect_error(validate(dir, head + noise + "[sweep]\nmode = \"zip\"\n[sweep.params]\n\"noise.rows\" = [1, 2]\n\"noise.cols\" = [1]\n"),
                 p + ":10:1", "needs lists of equal length");
  }
  SECTION("out-of-range value in a sweep") {
    expect_error(validate(dir, head + noise + "[sweep.params]\n\"noise.rows\" = [1, -2]\n"), p + ":7:", "is outside its range");
  }
  SECTION("several errors are reported together") {
    auto r = validate(dir, head + noise + "params = { rowz = 2, cols = -1 }\n");
    CHECK(r.exit_code == 78);
    CHECK_THAT(r.err, Contains("no parameter 'rowz'"));
    CHECK_THAT(r.err, Contains("stages.noise.params.cols = -1 is outside its range"));
  }
}

TEST_CASE("environment variables with defaults are interpolated", "[validate]") {
  TempDir dir;
  write_text(dir / "data" / "t.csv", "a,y\n1,2\n");
  const std::string pipeline = head + "[stages.csv]\nplugin = \"io.read_csv\"\nparams = { path = \"${GLIA_TEST_DATA:-data}/t.csv\", target = \"y\" }\n";
  CHECK(validate(dir, pipeline).exit_code == 0);
  auto r = validate(dir, pipeline, {}, {{"GLIA_TEST_DATA", (dir / "elsewhere").string()}});
  CHECK(r.exit_code == 78);
  CHECK_THAT(r.err, Contains("elsewhere/t.csv"));
}

TEST_CASE("overrides given with --set are validated like the file", "[validate]") {
  TempDir dir;
  const std::string pipeline = head + noise;
  CHECK(validate(dir, pipeline, {"--set", "noise.rows=7"}).exit_code == 0);
  auto missing = validate(dir, pipeline, {"--set", "nois.rows=7"});
  CHECK(missing.exit_code == 78);
  CHECK_THAT(missing.err, Contains("--set nois.rows=7: error: no stage 'nois', did you mean 'noise'?"));
  auto typed = validate(dir, pipeline, {"--set", "noise.rows=many"});
  CHECK(typed.exit_code == 78);
  CHECK_THAT(typed.err, Contains("--set noise.rows=many: error: stages.noise.params.rows must be of type int, got a string"));
  auto malformed = validate(dir, pipeline, {"--set", "rows"});
  CHECK(malformed.exit_code == 78);
  CHECK_THAT(malformed.err, Contains("expected --set <stage>.<param>=<value>"));
}
