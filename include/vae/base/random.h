// Small, portable random numbers for data order and procedural data: the same seed gives the same
// stream on every platform and standard library (std::shuffle and std distributions do not).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vae {

// SplitMix64 (Steele, Lea & Flood 2014): a fast 64-bit generator with good mixing.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t state_;
};

// Folds several integers into one well-mixed seed.
inline uint64_t mix_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  for (uint64_t part : parts) h = SplitMix64(h ^ part).next();
  return h;
}

// A permutation of [0, n) fixed by (seed, epoch): Fisher-Yates on SplitMix64.
inline std::vector<size_t> shuffled_indices(size_t n, uint64_t seed, uint64_t epoch) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  SplitMix64 rng(mix_seed({seed, epoch, 0x5EED}));
  for (size_t i = n; i > 1; --i) {
    const size_t j = size_t(rng.below(i));
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace vae
