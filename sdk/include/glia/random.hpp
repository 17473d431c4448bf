// Seeded, platform-independent random numbers for plugins.
//
// Results must not depend on the thread count, so never share one generator between TBB tasks:
// derive an independent stream per block of work with Rng::stream(seed, block_index).
// The generator is xoshiro256++ seeded through splitmix64; the distributions are written out here
// (not std::*_distribution, whose output differs between standard libraries).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace glia {

inline uint64_t splitmix64(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mixes a seed with a stream index into a new, well-separated seed.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) noexcept {
  uint64_t s = seed ^ (0xD1B54A32D192ED03ull * (stream + 1));
  splitmix64(s);
  return splitmix64(s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) noexcept {
    for (auto& w : s_) w = splitmix64(seed);
  }
  static Rng stream(uint64_t seed, uint64_t index) noexcept { return Rng(derive_seed(seed, index)); }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), unbiased (Lemire's method with rejection).
  uint64_t below(uint64_t n) noexcept {
    if (n == 0) return 0;
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Standard normal by the Box-Muller transform (both values used).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform(); while (u1 <= 0.0);
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }

  // Fisher-Yates shuffle of [first, last).
  template <class It>
  void shuffle(It first, It last) noexcept {
    const auto n = static_cast<uint64_t>(last - first);
    for (uint64_t i = n; i > 1; --i) {
      const uint64_t j = below(i);
      using std::swap;
      swap(first[i - 1], first[j]);
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace glia
