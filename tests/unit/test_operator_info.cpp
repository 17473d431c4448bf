// Descriptor validation and serialisation in the host.
#include <catch2/catch.hpp>

#include "operator_info.hpp"
#include "util.hpp"

#include <glia/plugin.hpp>

#include <cmath>

using namespace glia::host;
using Catch::Matchers::Contains;

namespace {

glia::Descriptor sample() {
  return glia::Descriptor("demo.op", "A demo.")
      .param_float("rate", 0.5, "Rate.", 0.0, 1.0)
      .param_enum("mode", "b", {"a", "b"}, "Mode.")
      .param_ints("widths", {4, 8}, "Widths.", 1, 100)
      .param_path("file", "", "A file.").required()
      .input("x", glia::dtype::floats, 2, "N,D", "X.")
      .input("y", glia::dtype::numeric, -1, "N,...", "Y.").optional()
      .output("z", glia::dtype::f64, 1, "N", "Z.").save();
}

}  // namespace

TEST_CASE("a valid descriptor is copied faithfully and survives a JSON round trip") {
  auto d = sample();
  OperatorInfo op = operator_from_descriptor(d.c());
  CHECK(op.id == "demo.op");
  REQUIRE(op.params.size() == 4);
  CHECK(op.params[0].default_value.f == 0.5);
  CHECK(op.params[1].choices == std::vector<std::string>{"a", "b"});
  CHECK(op.params[2].default_value.ints == std::vector<int64_t>{4, 8});
  CHECK(op.params[3].required());
  CHECK(op.input_index("y") == 1);
  CHECK(op.port_index("z", false) == 2);
  CHECK(op.ports[1].dims.back().kind == DimPattern::Rest);
  const OperatorInfo back = operator_from_json(operator_to_json(op));
  CHECK(operator_to_json(back) == operator_to_json(op));
}

TEST_CASE("invalid descriptors are refused with the reason") {
  SECTION("bad id") {
    auto d = glia::Descriptor("NoDot", "x");
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("invalid operator id 'NoDot'"));
  }
  SECTION("default outside bounds") {
    auto d = glia::Descriptor("a.b", "x").param_int("n", 0, "N.", 1, 10);
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("default 0 is outside [1, 10]"));
  }
  SECTION("enum default not a choice") {
    auto d = glia::Descriptor("a.b", "x").param_enum("m", "c", {"a", "b"}, "M.");
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("default 'c' is not one of its choices"));
  }
  SECTION("duplicate parameter") {
    auto d = glia::Descriptor("a.b", "x").param_bool("f", true, "F.").param_bool("f", false, "F.");
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("duplicate parameter 'f'"));
  }
  SECTION("shape that disagrees with the rank") {
    auto d = glia::Descriptor("a.b", "x").input("x", glia::dtype::f64, 3, "N,D", "X.");
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("does not match rank 3"));
  }
  SECTION("unknown dtype bits") {
    auto d = glia::Descriptor("a.b", "x").input("x", 1u << 20, 1, nullptr, "X.");
    CHECK_THROWS_WITH(operator_from_descriptor(d.c()), Contains("bad dtype mask"));
  }
  SECTION("wrong ABI major") {
    auto d = glia::Descriptor("a.b", "x");
    glia_operator_descriptor copy = *d.c();
    copy.abi.major = 2;
    CHECK_THROWS_WITH(operator_from_descriptor(&copy), Contains("ABI 2"));
  }
}

TEST_CASE("values print as TOML that reads back") {
  Value f;
  f.type = GLIA_PARAM_FLOAT;
  f.f = 0.1;
  CHECK(f.to_toml() == "0.1");
  f.f = 2;
  CHECK(f.to_toml() == "2.0");
  Value s;
  s.type = GLIA_PARAM_STRING;
  s.s = "a \"b\"";
  CHECK(s.to_toml() == "\"a \\\"b\\\"\"");
  Value l;
  l.type = GLIA_PARAM_FLOAT_LIST;
  l.floats = {1e-3, 10};
  CHECK(l.to_toml() == "[0.001, 10.0]");
}

TEST_CASE("did-you-mean finds close names only") {
  CHECK(did_you_mean("test_fration", {"test_fraction", "stratify"}) == "test_fraction");
  CHECK(did_you_mean("zzz", {"test_fraction", "stratify"}).empty());
}
