// Image I/O and grids; this file owns the stb implementations.
#include "vae/image.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#include "vae/errors.h"
#include "vae/fs.h"

namespace vae {

Image load_image(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open image file; check that it exists and is readable");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  if (bytes.empty()) throw DataError(path + ": empty file, not an image");
  int width = 0, height = 0, file_channels = 0;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &width, &height, &file_channels)) {
    throw DataError(path + ": not a readable PNG, JPEG or BMP image (" + stbi_failure_reason() +
                    ")");
  }
  if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide) {
    throw DataError(path + ": header declares " + std::to_string(width) + "x" +
                    std::to_string(height) + " pixels; at most " + std::to_string(kMaxImageSide) +
                    " per side is accepted");
  }
  const int wanted = (file_channels == 1 || file_channels == 2) ? 1 : 3;
  unsigned char* data = stbi_load_from_memory(bytes.data(), int(bytes.size()), &width, &height,
                                              &file_channels, wanted);
  if (data == nullptr) {
    throw DataError(path + ": cannot decode image (" + stbi_failure_reason() +
                    "); the file may be truncated or damaged");
  }
  Image image{width, height, wanted, {}};
  image.pixels.assign(data, data + size_t(width) * size_t(height) * size_t(wanted));
  stbi_image_free(data);
  return image;
}

namespace {
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}
}  // namespace

void write_png(const std::string& path, const Image& image) {
  if (image.channels < 1 || image.channels > 4 || image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width * image.height * image.channels)) {
    throw IoError(path + ": refusing to write an image with inconsistent size");
  }
  std::vector<uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, int(image.width),
                                        int(image.height), int(image.channels),
                                        image.pixels.data(), int(image.width * image.channels));
  if (ok == 0 || encoded.empty()) throw IoError(path + ": PNG encoding failed");
  write_file_atomically(path, encoded.data(), encoded.size());
}

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
      .contiguous();  // [C, H, W]
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
    tiles.push_back(originals.narrow(0, start, count));
    tiles.push_back(reconstructions.narrow(0, start, count));
  }
  return torch::cat(tiles);
}

void write_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow) {
  write_png(path, tensor_to_image(make_grid(images.detach().cpu(), nrow, /*padding=*/2, kGridPadValue)));
}

Image fit_image(const Image& image, int64_t size, int64_t channels, std::string* steps) {
  std::string done;
  auto note = [&](const std::string& step) { done += (done.empty() ? "" : ", ") + step; };
  // Centre crop to a square.
  const int64_t side = std::min(image.width, image.height);
  const int64_t x0 = (image.width - side) / 2, y0 = (image.height - side) / 2;
  Image square{side, side, image.channels, std::vector<uint8_t>(size_t(side * side * image.channels))};
  for (int64_t y = 0; y < side; ++y) {
    const auto* from = &image.pixels[size_t(((y + y0) * image.width + x0) * image.channels)];
    std::copy(from, from + side * image.channels, &square.pixels[size_t(y * side * image.channels)]);
  }
  if (side != image.width || side != image.height) {
    note("centre-cropped " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " to " + std::to_string(side) + "x" + std::to_string(side));
  }
  // Resize.
  Image resized{size, size, square.channels, std::vector<uint8_t>(size_t(size * size * square.channels))};
  if (side == size) {
    resized.pixels = square.pixels;
  } else {
    if (!stbir_resize_uint8(square.pixels.data(), int(side), int(side), 0, resized.pixels.data(),
                            int(size), int(size), 0, int(square.channels))) {
      throw DataError("image resize failed");
    }
    note("resized to " + std::to_string(size) + "x" + std::to_string(size));
  }
  // Channels.
  if (resized.channels == channels) {
    if (steps) *steps = done.empty() ? "used as is" : done;
    return resized;
  }
  Image converted{size, size, channels, std::vector<uint8_t>(size_t(size * size * channels))};
  for (int64_t p = 0; p < size * size; ++p) {
    if (channels == 1) {
      // ITU-R BT.601 luma, as PIL's convert("L").
      const auto* rgb = &resized.pixels[size_t(p * 3)];
      converted.pixels[size_t(p)] =
          uint8_t(std::lround(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]));
    } else {
      for (int64_t c = 0; c < 3; ++c) converted.pixels[size_t(p * 3 + c)] = resized.pixels[size_t(p)];
    }
  }
  note(channels == 1 ? "converted RGB to gray" : "converted gray to RGB");
  if (steps) *steps = done;
  return converted;
}

}  // namespace vae
