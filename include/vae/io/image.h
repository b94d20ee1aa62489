// The 8-bit image that the readers, transforms and writers pass around (no LibTorch), and the
// largest side any image header may declare.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vae {

// 8-bit image, interleaved, row-major: pixels[(y * width + x) * channels + c].
struct Image {
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;  // 1 gray, 3 RGB
  std::vector<uint8_t> pixels;
};

// Largest side accepted from an image header (guards against absurd declared sizes).
constexpr int64_t kMaxImageSide = 16384;

}  // namespace vae
