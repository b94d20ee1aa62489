// Internal to src/imaging: the transforms of a JPEG decoded at reduced scale (DCT scaling).
#pragma once

#include "vae/io/transforms.h"

namespace vae::detail {

// apply_transforms for a picture decoded at 1/denominator scale of full_width x full_height, with
// the crop placed in full-size coordinates (as torchvision would place it on the full picture).
Image transform_scaled_decode(const Image& scaled, int64_t full_width, int64_t full_height,
                              int denominator, const TransformSpec& spec);

}  // namespace vae::detail
