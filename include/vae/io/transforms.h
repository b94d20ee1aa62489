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
// No defaults of its own: the data layer fills it from data.center_crop, data.image_size and
// data.channels (spec_of in src/data/factory.cpp). A spec left at zero ({}) has no image size,
// which apply_transforms rejects.
struct TransformSpec {
  int64_t center_crop = 0;
  int64_t image_size = 0;
  int64_t channels = 0;
};

// Centre crop to size x size, as torchvision.transforms.CenterCrop on PIL images (offsets rounded
// as torchvision does; zero padding when the crop is larger than the image).
Image center_crop(const Image& image, int64_t size);

// Resize to width x height with PIL's antialiased bilinear (triangle) filter, as
// torchvision.transforms.Resize((h, w)) does on PIL images; matches PIL within +-1 per pixel.
Image resize_bilinear_antialias(const Image& image, int64_t width, int64_t height);

// Gray <-> RGB. RGB to gray uses ITU-R BT.601 luma as PIL's convert("L"): (299 R + 587 G + 114 B) / 1000.
Image convert_channels(const Image& image, int64_t channels);

// Applies crop, resize and channel conversion of `spec` to a decoded image.
Image apply_transforms(const Image& image, const TransformSpec& spec);

// Brings any picture to size x size with `channels` channels for `vae reconstruct`: centre crop
// to a square, then the same resize and channel conversion as the data transforms. `steps`
// receives a human-readable account of what was done ("used as is" when nothing was).
Image fit_image(const Image& image, int64_t size, int64_t channels, std::string* steps);

}  // namespace vae
