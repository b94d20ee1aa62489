// Image files without LibTorch: reading PNG/JPEG/BMP, writing PNG (every return value checked,
// written to a temporary file and renamed so that no partial file is ever left), and fitting an
// pictures (decoding, transforms and fit_image are in imaging.h).
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

// Reads a PNG, JPEG or BMP as gray (1 channel) or RGB (3 channels, alpha dropped).
// Throws IoError if unreadable, DataError if not a supported or valid image.
Image load_image(const std::string& path);

// Writes a PNG atomically. Throws IoError naming the path on any failure.
void write_png(const std::string& path, const Image& image);

// The PNG file bytes of an image, in memory (for TensorBoard event files). 1 to 4 channels.
// Throws DataError when the pixel count does not match the size or encoding fails.
std::vector<uint8_t> encode_png(const Image& image);

}  // namespace vae
