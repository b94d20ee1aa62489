// Deterministic transforms of decoded images, without LibTorch: centre crop, antialiased resize
// matching torchvision's Resize on PIL images (PIL's bilinear filter with support scaled by the
// reduction), gray<->RGB, and fitting any picture to a model (the loader flips batches itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "vae/io/image.h"

namespace vae {

// The deterministic part of the data transforms, in the order torchvision applies them:
// centre crop to `center_crop` (0 = none; a crop larger than the image pads with zeros as
// torchvision does), resize to `image_size` x `image_size`, then convert to `channels`.
// The resize stretches a picture that is not square to a square (torchvision's
// Resize((size, size))), or with `keep_aspect` scales its shorter side to image_size and keeps
// the centre square (Resize(size) then CenterCrop(size)).
// No defaults of its own: the data layer fills it from data.center_crop, data.image_size,
// data.channels and data.resize (transform_spec in vae/data/factory.h). A spec left at zero ({})
// has no image size, which apply_transforms rejects.
struct TransformSpec {
  int64_t center_crop = 0;
  int64_t image_size = 0;
  int64_t channels = 0;
  bool keep_aspect = false;
};

// Centre crop to size x size, as torchvision.transforms.CenterCrop on PIL images (offsets rounded
// as torchvision does; zero padding when the crop is larger than the image).
Image center_crop(const Image& image, int64_t size);

// Resize to width x height with PIL's antialiased bilinear (triangle) filter, as
// torchvision.transforms.Resize((h, w)) does on PIL images; matches PIL within +-1 per pixel.
Image resize_bilinear_antialias(const Image& image, int64_t width, int64_t height);

// Gray <-> RGB. RGB to gray uses ITU-R BT.601 luma as PIL's convert("L"): (299 R + 587 G + 114 B) / 1000.
Image convert_channels(const Image& image, int64_t channels);

// Resize so that the shorter side is `size` (the longer one int(size * long / short), as
// torchvision's Resize(int)), then centre crop size x size; computed in one resampling pass that
// gives the same bytes as resize_bilinear_antialias followed by center_crop.
Image resize_shorter_side_and_crop(const Image& image, int64_t size);

// Applies crop, resize and channel conversion of `spec` to a decoded image.
Image apply_transforms(const Image& image, const TransformSpec& spec);

// What apply_transforms does to a width x height picture with `channels` channels, in words:
// "centre-cropped 178x218 to 148x148, resized to 64x64", "stretched 500x375 to 64x64",
// "resized 500x375 to 85x64 (shorter side 64), centre-cropped to 64x64", "used as is".
std::string describe_transforms(int64_t width, int64_t height, int64_t channels, const TransformSpec& spec);

// What the spec does to any picture, for `vae data info`: "centre crop 148x148 (zero padding
// where a side is shorter), then resize to 64x64; a picture that is not square is stretched".
std::string describe_transform_spec(const TransformSpec& spec);

}  // namespace vae
