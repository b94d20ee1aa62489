// Image tensors and grids; see image.h.
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"

#include <array>
#include <stdexcept>

namespace vae {
namespace {

// 5x7 letters, one row per byte, the leftmost pixel in bit 4: only those the grid labels use.
struct Glyph {
  char letter;
  std::array<uint8_t, 7> rows;
};
constexpr int64_t kGlyphWidth = 5, kGlyphHeight = 7;
constexpr Glyph kGlyphs[] = {
    {'c', {0x00, 0x00, 0x0E, 0x11, 0x10, 0x11, 0x0E}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}},
    {'g', {0x00, 0x00, 0x0F, 0x11, 0x0F, 0x01, 0x0E}},
    {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'o', {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E}},
    {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
};

const Glyph& glyph(char letter) {
  for (const Glyph& g : kGlyphs) {
    if (g.letter == letter) return g;
  }
  throw std::invalid_argument(std::string("no grid label glyph for '") + letter + "'");
}

// Pixels per glyph pixel: 1, or 2 from tiles of 48 pixels, where 7-pixel letters look lost.
int64_t label_scale(int64_t tile_height) { return tile_height >= 48 ? 2 : 1; }

// Width of `text` in pixels at scale 1: 5 per letter, 1 between letters.
int64_t text_width(const std::string& text) {
  return text.empty() ? 0 : int64_t(text.size()) * (kGlyphWidth + 1) - 1;
}

}  // namespace

Image tensor_to_image(const torch::Tensor& chw) {
  TORCH_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3),
              "tensor_to_image expects [1|3, H, W], got ", chw.sizes());
  auto hwc = (chw.detach().to(torch::kCPU, torch::kFloat).clamp(0, 1) * 255.0)
                 .round()
                 .to(torch::kUInt8)
                 .permute({1, 2, 0})
                 .contiguous();
  Image image{hwc.size(1), hwc.size(0), hwc.size(2), {}};
  image.pixels.assign(hwc.data_ptr<uint8_t>(), hwc.data_ptr<uint8_t>() + hwc.numel());
  return image;
}

torch::Tensor image_to_tensor(const Image& image) {
  return torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                          {image.height, image.width, image.channels}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone(at::MemoryFormat::Contiguous);  // [C, H, W], owning its memory (for C = 1 a
                                             // permute alone would still alias image.pixels)
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding,
                        double pad_value) {
  TORCH_CHECK(images.dim() == 4, "make_grid expects [N, C, H, W], got ", images.sizes());
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t columns = std::max<int64_t>(1, std::min(nrow, n));
  const int64_t rows = (n + columns - 1) / columns;
  const int64_t cell_h = h + padding, cell_w = w + padding;
  auto grid = torch::full({c, rows * cell_h + padding, columns * cell_w + padding}, pad_value,
                          images.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = i / columns, column = i % columns;
    grid.narrow(1, row * cell_h + padding, h).narrow(2, column * cell_w + padding, w).copy_(images[i]);
  }
  return grid;
}

torch::Tensor interleave_rows(const torch::Tensor& originals, const torch::Tensor& reconstructions,
                              int64_t nrow) {
  std::vector<torch::Tensor> tiles;
  for (int64_t start = 0; start < originals.size(0); start += nrow) {
    const int64_t count = std::min(nrow, originals.size(0) - start);
    // A short last row is filled up with blank tiles, so that each reconstruction stays under its
    // original instead of moving up beside the originals.
    torch::Tensor blanks;
    if (count < nrow) {
      auto shape = originals.sizes().vec();
      shape[0] = nrow - count;
      blanks = torch::full(shape, kGridPadValue, originals.options());
    }
    tiles.push_back(originals.narrow(0, start, count));
    if (blanks.defined()) tiles.push_back(blanks);
    tiles.push_back(reconstructions.narrow(0, start, count));
    if (blanks.defined()) tiles.push_back(blanks);
  }
  return torch::cat(tiles);
}

torch::Tensor label_grid_rows(const torch::Tensor& grid, int64_t tile_height, int64_t padding,
                              const std::vector<std::string>& labels) {
  TORCH_CHECK(grid.dim() == 3, "label_grid_rows expects [C, H, W], got ", grid.sizes());
  const int64_t scale = label_scale(tile_height);
  if (labels.empty() || tile_height < kGlyphHeight * scale) return grid;
  int64_t widest = 0;
  for (const auto& label : labels) widest = std::max(widest, text_width(label));
  const int64_t column_width = widest * scale + padding;  // the letters, then the grid's margin
  auto labelled = torch::cat({grid, torch::full({grid.size(0), grid.size(1), column_width}, kGridPadValue,
                                                grid.options())},
                             2);
  const int64_t cell = tile_height + padding;
  const int64_t rows = (grid.size(1) - padding) / cell;
  const int64_t left = grid.size(2);  // the grid's last column is already padding
  // The letters' pixels, black in every channel, written through one CPU accessor.
  labelled = labelled.to(torch::kCPU, torch::kFloat).contiguous();
  auto pixels = labelled.accessor<float, 3>();
  for (int64_t row = 0; row < rows; ++row) {
    const std::string& label = labels[size_t(row) % labels.size()];
    const int64_t top = padding + row * cell + (tile_height - kGlyphHeight * scale) / 2;
    for (size_t k = 0; k < label.size(); ++k) {
      const Glyph& g = glyph(label[k]);
      const int64_t x0 = left + int64_t(k) * (kGlyphWidth + 1) * scale;
      for (int64_t y = 0; y < kGlyphHeight * scale; ++y) {
        for (int64_t x = 0; x < kGlyphWidth * scale; ++x) {
          if (!(g.rows[size_t(y / scale)] >> (kGlyphWidth - 1 - x / scale) & 1)) continue;
          for (int64_t c = 0; c < labelled.size(0); ++c) pixels[c][top + y][x0 + x] = 0.0f;
        }
      }
    }
  }
  return labelled;
}

torch::Tensor reconstruction_grid(const torch::Tensor& originals, const torch::Tensor& reconstructions,
                                  int64_t nrow) {
  constexpr int64_t padding = 2;
  const auto grid = make_grid(interleave_rows(originals.detach().cpu(), reconstructions.detach().cpu(), nrow),
                              nrow, padding, kGridPadValue);
  return label_grid_rows(grid, originals.size(2), padding, {"orig", "recon"});
}

void write_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow) {
  write_png(path, tensor_to_image(make_grid(images.detach().cpu(), nrow, /*padding=*/2, kGridPadValue)));
}

}  // namespace vae
