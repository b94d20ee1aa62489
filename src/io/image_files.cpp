// Reading image files and writing PNGs (image_codec.h); this file owns the stb implementations.
// No LibTorch here.
#include "vae/io/image_codec.h"

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

#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/transforms.h"

namespace vae {

Image load_image(const std::string& path) {
  std::error_code error;
  namespace fs = std::filesystem;
  if (fs::exists(path, error) && !fs::is_regular_file(path, error)) {
    throw IoError(path + ": not a regular file (a folder, FIFO, socket or device); give a picture file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open image file; check that it exists and is readable");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  // JPEGs through libjpeg-turbo, PNG/BMP through stb_image; an empty file, not an image, absurd
  // header dimensions or truncated or damaged data are errors naming the path.
  return decode_image(bytes.data(), bytes.size(), path);
}

namespace {
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

bool consistent(const Image& image) {
  return image.channels >= 1 && image.channels <= 4 && image.width > 0 && image.height > 0 &&
         image.pixels.size() == size_t(image.width * image.height * image.channels);
}

// stb's PNG encoder into memory; empty on failure.
std::vector<uint8_t> encode_png_bytes(const Image& image) {
  std::vector<uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, int(image.width),
                                        int(image.height), int(image.channels),
                                        image.pixels.data(), int(image.width * image.channels));
  if (ok == 0) encoded.clear();
  return encoded;
}
}  // namespace

void write_png(const std::string& path, const Image& image) {
  if (!consistent(image)) throw IoError(path + ": refusing to write an image with inconsistent size");
  const std::vector<uint8_t> encoded = encode_png_bytes(image);
  if (encoded.empty()) throw IoError(path + ": PNG encoding failed");
  write_file_atomically(path, encoded.data(), encoded.size());
}

std::vector<uint8_t> encode_png(const Image& image) {
  if (!consistent(image)) {
    throw DataError("PNG encoding: image of " + std::to_string(image.width) + "x" +
                    std::to_string(image.height) + "x" + std::to_string(image.channels) +
                    " with " + std::to_string(image.pixels.size()) +
                    " bytes is inconsistent (1 to 4 channels, width x height x channels bytes)");
  }
  std::vector<uint8_t> encoded = encode_png_bytes(image);
  if (encoded.empty()) throw DataError("PNG encoding failed (out of memory?)");
  return encoded;
}

}  // namespace vae
