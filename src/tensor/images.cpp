// Image tensors and grids; see image.h.
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"

namespace vae {

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

void write_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow) {
  write_png(path, tensor_to_image(make_grid(images.detach().cpu(), nrow, /*padding=*/2, kGridPadValue)));
}

}  // namespace vae
