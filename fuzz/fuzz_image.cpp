// Pictures (PNG, JPEG, BMP, told apart by their bytes): the decoder, and the decoder with the
// transforms training applies (the JPEG path may decode at a reduced DCT scale), both resize rules.
#include "fuzz_support.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vae_fuzz::expect_clean([&] { vae::decode_image(data, size, "input"); });
  vae::TransformSpec stretch;
  stretch.image_size = 16;
  stretch.channels = 3;
  vae_fuzz::expect_clean([&] { vae::decode_and_transform(data, size, "input", stretch); });
  vae::TransformSpec shorter_side;
  shorter_side.center_crop = 24;
  shorter_side.image_size = 8;
  shorter_side.channels = 1;
  shorter_side.keep_aspect = true;
  vae_fuzz::expect_clean([&] { vae::decode_and_transform(data, size, "input", shorter_side); });
  return 0;
}
