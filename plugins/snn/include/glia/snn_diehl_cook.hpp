// Unsupervised digit/garment learning after Diehl & Cook (2015), "Unsupervised learning of digit
// recognition using spike-timing-dependent plasticity", Front. Comput. Neurosci. 9:99, on the
// glia::snn engine: Poisson inputs (one per pixel) -> excitatory conductance LIF layer with
// homeostatic thresholds and STDP input weights -> one-to-one inhibitory layer -> lateral
// inhibition of all other excitatory neurons. After training, each excitatory neuron is assigned the
// class it responds to most; a test image is classified by the class whose neurons respond most.
#pragma once

#include <glia/snn.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace glia::snn {

// Images (n, rows * cols) as bytes and labels from IDX files (gzip-compressed or not).
struct Images {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;
};
Images read_idx_images(const std::filesystem::path& file, int64_t max_count = -1);
std::vector<uint8_t> read_idx_labels(const std::filesystem::path& file, int64_t max_count = -1);

struct DiehlCookConfig {
  int64_t n_exc = 100;
  double dt_ms = 0.5;
  double present_ms = 350;   // per image (followed by a state reset, the "rest")
  double max_rate_hz = 63.75;  // pixel 255 at the first intensity
  // > 0: each image is first scaled to this mean pixel value (0-255), so that garments with few
  // lit pixels (sandals) drive the layer as hard as coats do. 0: raw pixels, as Diehl & Cook.
  double mean_pixel = 50;
  int min_spikes = 5;          // below this the image is shown again, 32 Hz brighter
  int max_retries = 4;
  double weight_sum = 78;      // incoming input weights per excitatory neuron, per 784 inputs
  double eta_pre = 0.0001, eta_post = 0.01;
  // Diehl & Cook used 0.05 mV with 400-6400 neurons; with 100-400 neurons each fires more
  // often and 0.05 lets thresholds run away until test images go silent.
  double theta_inc = 0.01;
  int epochs = 1;
};

// The network (input "in", excitatory "exc", inhibitory "inh"; projection 0 is the plastic one).
NetworkSpec diehl_cook_network(int64_t n_input, const DiehlCookConfig& cfg);

struct DiehlCookResult {
  double accuracy = 0;                 // on the test images
  std::vector<int> assignments;        // class per excitatory neuron (-1: never responded)
  double train_seconds = 0, eval_seconds = 0;
  int64_t silent_test_images = 0;      // test images with no excitatory spike
};

// Trains on `train` images, assigns classes from `assign` images, tests on `test` images.
// Bit-identical for a seed whatever the thread count.
DiehlCookResult diehl_cook(const Images& train, const std::vector<uint8_t>& train_labels,
                           const Images& assign, const std::vector<uint8_t>& assign_labels,
                           const Images& test, const std::vector<uint8_t>& test_labels,
                           const DiehlCookConfig& cfg, uint64_t seed);

}  // namespace glia::snn
