// Image files and encoded bytes, without LibTorch: decoding PNG/JPEG/BMP (JPEG with libjpeg-turbo
// where the build has it, with DCT-domain downscaling when the output is much smaller than the
// picture; PNG/BMP, and JPEG in a build without libjpeg-turbo, through stb_image), decoding straight
// into the data transforms, and writing PNG (every return value checked, written to a temporary
// file and renamed so that no partial file is ever left).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vae/io/image.h"
#include "vae/io/transforms.h"

namespace vae {

// Reads a PNG, JPEG or BMP as gray (1 channel) or RGB (3 channels, alpha dropped).
// Throws IoError if unreadable, DataError if not a supported or valid image.
Image load_image(const std::string& path);

// Writes a PNG atomically. Throws IoError naming the path on any failure.
void write_png(const std::string& path, const Image& image);

// The PNG file bytes of an image, in memory (for TensorBoard event files). 1 to 4 channels.
// Throws DataError when the pixel count does not match the size or encoding fails.
std::vector<uint8_t> encode_png(const Image& image);

// Decodes an encoded PNG/JPEG/BMP held in memory as gray (1) or RGB (3). `name` is used in errors.
// Truncated or damaged data, non-images and absurd header dimensions (> kMaxImageSide) are
// DataErrors naming `name`.
Image decode_image(const uint8_t* data, size_t size, const std::string& name);

// The width, height and channels of a picture as stored, before any transform.
struct PictureSize {
  int64_t width = 0;
  int64_t height = 0;
  int64_t channels = 0;
};

// decode_image + transforms. For JPEGs it may decode at 1/2, 1/4 or 1/8 scale (libjpeg-turbo
// DCT scaling) when the cropped region stays at least twice the output size; the result then
// differs from a full-size decode by a small amount (see the tests for the bound). `stored`,
// when given, receives the picture's size before the transforms.
Image decode_and_transform(const uint8_t* data, size_t size, const std::string& name,
                           const TransformSpec& spec, PictureSize* stored = nullptr);

// The JPEG decoder of this build: "libjpeg-turbo", or "stb_image" where vae was built without it
// (then JPEGs are decoded at full size, and CMYK ones as before, through stb_image).
const char* jpeg_decoder_name();

// Reads the file and calls decode_and_transform. Missing/unreadable file: IoError.
Image load_and_transform(const std::string& path, const TransformSpec& spec, PictureSize* stored = nullptr);

}  // namespace vae
