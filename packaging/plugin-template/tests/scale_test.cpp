// Drives the operator through the real C ABI trampolines, without a host.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <glia/testing.hpp>

#include "scale.hpp"

TEST_CASE("scale multiplies every element by the factor and reports the mean") {
  glia::testing::Harness<@name@_plugin::Scale> op;
  op.param("factor", 3.0);
  op.input<double>("x", {1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(op.run() == GLIA_OK);
  CHECK(op.output_shape("y") == std::vector<int64_t>{2, 3});
  CHECK(op.output<double>("y") == std::vector<double>{3, 6, 9, 12, 15, 18});
  CHECK(op.metric("mean") == Approx(10.5));
}

TEST_CASE("scale accepts float32 input") {
  glia::testing::Harness<@name@_plugin::Scale> op;
  op.input<float>("x", {1.5f, -2.0f}, {1, 2});
  REQUIRE(op.run() == GLIA_OK);
  CHECK(op.output<double>("y") == std::vector<double>{3.0, -4.0});
}
