// Images on disk and in grids: reading PNG/JPEG/BMP (stb_image), writing PNG (stb_image_write,
// every return value checked, written to a temporary file and renamed so that no partial file is
// ever left), torchvision-style grids, and fitting an arbitrary picture to the model's input.
#pragma once

#include <torch/torch.h>

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

// float [C, H, W] in [0, 1] (clamped) -> Image. C must be 1 or 3.
Image tensor_to_image(const torch::Tensor& chw);
// Image -> uint8 [C, H, W].
torch::Tensor image_to_tensor(const Image& image);

// Tiles float images [N, C, H, W] into one [C, H', W'] picture with `nrow` images per row and
// `padding` pixels of `pad_value` around each tile, laid out as torchvision.utils.make_grid does.
torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding = 2,
                        double pad_value = 0.0);

// Originals and reconstructions [N, C, H, W] merged for make_grid(..., nrow): a row of `nrow`
// originals, then the row of their reconstructions, and so on.
torch::Tensor interleave_rows(const torch::Tensor& originals, const torch::Tensor& reconstructions,
                              int64_t nrow);

// Grey between the tiles of written grids, so that dark images stand apart.
constexpr double kGridPadValue = 0.5;

// Writes float images [N, C, H, W] in [0, 1] as one PNG grid with `nrow` images per row,
// padding 2 of kGridPadValue.
void write_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow);

// Brings any image to size x size with `channels` channels: centre crop to a square, area-style
// resize, gray <-> RGB. `steps` receives a human-readable account of what was done.
Image fit_image(const Image& image, int64_t size, int64_t channels, std::string* steps);

}  // namespace vae
