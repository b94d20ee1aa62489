// Images as tensors: conversions between Image and tensors, torchvision-style grids, and grid PNGs.
#pragma once

#include <torch/torch.h>

#include "vae/io/image.h"

#include <cstdint>
#include <string>
#include <vector>

namespace vae {

// float [C, H, W] in [0, 1] (clamped) -> Image. C must be 1 or 3.
Image tensor_to_image(const torch::Tensor& chw);
// Image -> uint8 [C, H, W].
torch::Tensor image_to_tensor(const Image& image);

// Tiles float images [N, C, H, W] into one [C, H', W'] picture with `nrow` images per row and
// `padding` pixels of `pad_value` around each tile, laid out as torchvision.utils.make_grid does.
torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding = 2,
                        double pad_value = 0.0);

// Originals and reconstructions [N, C, H, W] merged for make_grid(..., nrow): a row of `nrow`
// originals, then the row of their reconstructions, and so on; a short last row is filled up with
// blank tiles (kGridPadValue), so that every reconstruction sits directly under its original.
torch::Tensor interleave_rows(const torch::Tensor& originals, const torch::Tensor& reconstructions,
                              int64_t nrow);

// Grey between the tiles of written grids, so that dark images stand apart.
constexpr double kGridPadValue = 0.5;

// Originals above their reconstructions ([N, C, H, W] each, in [0, 1]) as one picture [C, H', W']:
// interleave_rows laid out by make_grid(nrow, padding 2, kGridPadValue), with a column on the right
// naming each row "orig" or "recon" (black letters, 5x7 pixels, twice that from tiles of 48 pixels)
// where the tiles are at least as tall as the letters; the tiles stay where make_grid puts them.
torch::Tensor reconstruction_grid(const torch::Tensor& originals, const torch::Tensor& reconstructions,
                                  int64_t nrow);

// Appends a column to `grid` (made by make_grid with `padding`, tiles `tile_height` tall) holding
// labels[r % labels.size()] beside row r; the grid unchanged where the tiles are shorter than the
// letters. Letters: those of "orig" and "recon".
torch::Tensor label_grid_rows(const torch::Tensor& grid, int64_t tile_height, int64_t padding,
                              const std::vector<std::string>& labels);

// Writes float images [N, C, H, W] in [0, 1] as one PNG grid with `nrow` images per row,
// padding 2 of kGridPadValue.
void write_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow);

}  // namespace vae
