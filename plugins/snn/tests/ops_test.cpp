// Operator tests through the real ABI trampolines.
#include <catch2/catch.hpp>

#include <glia/testing.hpp>

#include "ops.hpp"

#include <filesystem>
#include <fstream>

using glia::testing::Harness;
using glia::snn::Raster;
using glia::snn::Simulate;

TEST_CASE("snn.simulate runs the cuba preset and reports its metrics", "[ops]") {
  Harness<Simulate> h;
  h.param("neurons", int64_t{1000});
  h.param("duration_ms", 200.0);
  h.param("trace_neurons", std::vector<int64_t>{0, 999});
  REQUIRE(h.run() == GLIA_OK);
  const auto shape = h.output_shape("spikes");
  REQUIRE(shape[1] == 2);
  REQUIRE(shape[0] == static_cast<int64_t>(h.metric("total_spikes")));
  REQUIRE(h.metric("total_spikes") > 100);
  REQUIRE(h.output_shape("rates") == std::vector<int64_t>{2, 20});
  REQUIRE(h.output_shape("voltages") == std::vector<int64_t>{2, 2000});
  REQUIRE(h.output<int64_t>("populations") == std::vector<int64_t>{0, 800, 800, 200});
  // Rates are consistent with the spike table.
  const auto rates = h.output<double>("rates");
  double spikes_from_rates = 0;
  for (int b = 0; b < 20; ++b) spikes_from_rates += rates[b] * 800 * 0.01 + rates[20 + b] * 200 * 0.01;
  REQUIRE(spikes_from_rates == Approx(h.metric("total_spikes")));
  REQUIRE(h.metric("mean_rate_hz") == Approx(h.metric("total_spikes") / (1000 * 0.2)));
  REQUIRE(h.metric("synaptic_events_per_s") > 0);
  // The same seed gives the same spikes.
  const auto first = h.output<int64_t>("spikes");
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.output<int64_t>("spikes") == first);
  h.seed(43);
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.output<int64_t>("spikes") != first);
}

TEST_CASE("snn.simulate reads the shipped network file", "[ops]") {
  Harness<Simulate> h;
  h.param("model", "file");
  h.param("network", GLIA_SNN_CONFIG_DIR "/networks/cuba.toml");
  h.param("duration_ms", 50.0);
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.output<int64_t>("populations") == std::vector<int64_t>{0, 3200, 3200, 800});
  REQUIRE(h.metric("synapses") == Approx(320000).epsilon(0.01));
}

TEST_CASE("snn.simulate feeds Poisson rates from its input", "[ops]") {
  const std::string dir = std::filesystem::temp_directory_path() / "glia-snn-ops-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/net.toml");
    f << "[[population]]\nname = \"in\"\nsize = 4\nmodel = \"poisson\"\nrates_from_input = true\n"
         "[[population]]\nname = \"out\"\nsize = 4\nv_rest = -70.0\n"
         "[[projection]]\nfrom = \"in\"\nto = \"out\"\nconnect = \"one_to_one\"\nweight = 30.0\n";
  }
  Harness<Simulate> h;
  h.param("model", "file");
  h.param("network", dir + "/net.toml");
  h.param("duration_ms", 1000.0);
  h.input<double>("input", {0.0, 10.0, 100.0, 0.0}, {4});
  REQUIRE(h.run() == GLIA_OK);
  const auto rates = h.output<double>("rates");  // (2, 100)
  double in[2] = {0, 0};
  for (int b = 0; b < 100; ++b) in[0] += rates[b] / 100, in[1] += rates[100 + b] / 100;
  REQUIRE(in[0] == Approx(110.0 / 4).epsilon(0.25));
  REQUIRE(in[1] > 0);
  h.input<double>("input", {1.0, 2.0}, {2});
  REQUIRE(h.run() == GLIA_ERR_DATA);
  REQUIRE(h.error().find("one rate per neuron (4)") != std::string::npos);
}

TEST_CASE("snn.simulate rejects bad configurations with clear errors", "[ops]") {
  Harness<Simulate> h;
  h.param("model", "file");
  REQUIRE(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  REQUIRE(h.error().find("needs the `network` parameter") != std::string::npos);
  h.param("network", "/nonexistent/net.toml");
  REQUIRE(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  REQUIRE(h.error().find("/nonexistent/net.toml: cannot open") != std::string::npos);
  Harness<Simulate> g;
  g.param("duration_ms", 0.01);
  REQUIRE(g.run() == GLIA_ERR_INVALID_ARGUMENT);
  Harness<Simulate> c;
  c.param("neurons", int64_t{1000});
  c.param("trace_neurons", std::vector<int64_t>{1000});
  REQUIRE(c.run() == GLIA_ERR_INVALID_ARGUMENT);
  REQUIRE(c.error().find("trace neuron 1000 is outside") != std::string::npos);
  Harness<Simulate> k;
  k.cancel();
  REQUIRE(k.run() == GLIA_ERR_CANCELLED);
}

TEST_CASE("snn.raster writes an SVG with one path per population", "[ops]") {
  Harness<Simulate> sim;
  sim.param("neurons", int64_t{500});
  sim.param("duration_ms", 100.0);
  REQUIRE(sim.run() == GLIA_OK);
  Harness<Raster> h;
  const std::string dir = std::filesystem::temp_directory_path() / "glia-snn-raster-test";
  std::filesystem::remove_all(dir);
  h.artifact_dir(dir);
  h.input<int64_t>("spikes", sim.output<int64_t>("spikes"), sim.output_shape("spikes"));
  h.input<double>("rates", sim.output<double>("rates"), sim.output_shape("rates"));
  h.input<int64_t>("populations", sim.output<int64_t>("populations"), {2, 2});
  h.param("labels", "exc,inh");
  h.param("duration_ms", 100.0);
  REQUIRE(h.run() == GLIA_OK);
  std::ifstream f(dir + "/raster.svg");
  const std::string svg((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(svg.rfind("<svg", 0) == 0);
  REQUIRE(svg.find("</svg>") != std::string::npos);
  REQUIRE(svg.find(">exc</text>") != std::string::npos);
  REQUIRE(svg.find("<polyline") != std::string::npos);
  size_t paths = 0;
  for (size_t at = svg.find("<path"); at != std::string::npos; at = svg.find("<path", at + 1)) ++paths;
  REQUIRE(paths == 2);
  REQUIRE(!std::filesystem::exists(dir + "/raster.svg.tmp"));
  // Bad spike table.
  h.input<int64_t>("spikes", {0, 1, 2}, {1, 3});
  REQUIRE(h.run() == GLIA_ERR_DATA);
}

TEST_CASE("snn.simulate takes a projection's synapses from a tensor", "[ops]") {
  const std::string dir = std::filesystem::temp_directory_path() / "glia-snn-ops-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/tensor.toml");
    f << "[[population]]\nname = \"in\"\nsize = 2\nmodel = \"poisson\"\nrate_hz = 200.0\n"
         "[[population]]\nname = \"out\"\nsize = 3\nv_rest = -70.0\n"
         "[[projection]]\nfrom = \"in\"\nto = \"out\"\nconnect = \"tensor\"\n";
  }
  Harness<Simulate> h;
  h.param("model", "file");
  h.param("network", dir + "/tensor.toml");
  h.param("duration_ms", 500.0);
  REQUIRE(h.run() == GLIA_ERR_INVALID_ARGUMENT);  // no synapses connected
  REQUIRE(h.error().find("takes its synapses from snn.simulate's `synapses` input") != std::string::npos);
  // in 0 -> out 2 strongly (fires it), in 1 -> out 0 with a 2 ms delay, nothing onto out 1.
  h.input<double>("synapses", {0, 2, 40.0, 0.0, 1, 0, 40.0, 2.0}, {2, 4});
  REQUIRE(h.run() == GLIA_OK);
  REQUIRE(h.metric("synapses") == 2);
  const auto spikes = h.output<int64_t>("spikes");
  int per_neuron[5] = {};
  for (size_t k = 0; k < spikes.size(); k += 2) ++per_neuron[spikes[k + 1]];
  REQUIRE(per_neuron[2 + 2] > 10);
  REQUIRE(per_neuron[2 + 0] > 10);
  REQUIRE(per_neuron[2 + 1] == 0);
  h.input<double>("synapses", {0, 3, 1.0}, {1, 3});
  REQUIRE(h.run() == GLIA_ERR_INVALID_ARGUMENT);
  REQUIRE(h.error().find("synapse 0 (0, 3) lies outside the populations") != std::string::npos);
}
