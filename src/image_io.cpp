// Reading and writing image files, and fitting pictures to a model; this file owns the stb
// implementations. No LibTorch here.
#include "vae/image_io.h"

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

#include <algorithm>
#include <cmath>

#include "vae/errors.h"
#include "vae/fs.h"
#include "vae/imaging.h"

namespace vae {

Image load_image(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open image file; check that it exists and is readable");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  // JPEGs through libjpeg-turbo, PNG/BMP through stb_image; same errors as before (empty file,
  // not an image, absurd header dimensions, truncated or damaged data), all naming the path.
  return decode_image(bytes.data(), bytes.size(), path);
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
