// The STDP experiment (Diehl & Cook 2015 style) on a reduced Fashion-MNIST subset, and the IDX
// reader. The full-size number comes from tests/bench/snn/diehl_cook_main.cpp (see the README).
#include <catch2/catch.hpp>

#include <glia/plugin.hpp>
#include <glia/snn_diehl_cook.hpp>

#include <tbb/task_arena.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace glia::snn;

namespace {
// Installed by .ci/install-deps (Debian package dataset-fashion-mnist).
const std::string kData = "/usr/share/datasets/fashion-mnist";
}

TEST_CASE("IDX reader: Fashion-MNIST headers and clear errors", "[diehl_cook]") {
  const Images im = read_idx_images(kData + "/t10k-images-idx3-ubyte.gz", 5);
  REQUIRE(im.count == 5);
  REQUIRE(im.rows == 28);
  REQUIRE(im.cols == 28);
  REQUIRE(im.pixels.size() == 5 * 784);
  REQUIRE(read_idx_labels(kData + "/t10k-labels-idx1-ubyte.gz", 3) == std::vector<uint8_t>{9, 2, 1});
  CHECK_THROWS_WITH(read_idx_images(kData + "/t10k-labels-idx1-ubyte.gz"), Catch::Contains("not an IDX image file"));
  const std::string bad = std::filesystem::temp_directory_path() / "glia-snn-bad.idx";
  std::ofstream(bad) << "\x00\x00\x08\x03\x00\x00\x00\x09";
  CHECK_THROWS_WITH(read_idx_images(bad), Catch::Contains("not an IDX image file"));
  CHECK_THROWS_AS(read_idx_images("/nonexistent.gz"), glia::Error);
}

TEST_CASE("STDP network learns selective receptive fields on a Fashion-MNIST subset", "[diehl_cook]") {
  // 600 training images: 300 to learn, 300 to assign classes; 300 test images.
  Images all = read_idx_images(kData + "/train-images-idx3-ubyte.gz", 600);
  std::vector<uint8_t> labels = read_idx_labels(kData + "/train-labels-idx1-ubyte.gz", 600);
  Images train = all, assign = all;
  train.count = assign.count = 300;
  train.pixels.resize(300 * 784);
  assign.pixels.assign(all.pixels.begin() + 300 * 784, all.pixels.end());
  std::vector<uint8_t> train_labels(labels.begin(), labels.begin() + 300), assign_labels(labels.begin() + 300, labels.end());
  Images test = read_idx_images(kData + "/t10k-images-idx3-ubyte.gz", 300);
  std::vector<uint8_t> test_labels = read_idx_labels(kData + "/t10k-labels-idx1-ubyte.gz", 300);
  // With only 300 training images the paper's settings learn fastest: theta_inc 0.05 mV, raw
  // pixels (the defaults are tuned for the longer full-size run).
  DiehlCookConfig cfg;
  cfg.n_exc = 100, cfg.theta_inc = 0.05, cfg.mean_pixel = 0;
  tbb::task_arena one(1);
  DiehlCookResult r;
  one.execute([&] { r = diehl_cook(train, train_labels, assign, assign_labels, test, test_labels, cfg, 1); });
  WARN("accuracy " << r.accuracy << " (chance 0.10), train " << r.train_seconds << " s");
  REQUIRE(r.accuracy >= 0.5);
  // Selectivity: the neurons cover most classes rather than all answering to one.
  std::set<int> classes(r.assignments.begin(), r.assignments.end());
  classes.erase(-1);
  REQUIRE(classes.size() >= 7);
}
