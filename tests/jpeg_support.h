// JPEG files for the tests, so that JPEG tests run without data: encoded with TurboJPEG where the
// build has it (4:2:0 for colour), else with stb_image_write. REQUIRE_TURBOJPEG() skips a test that
// checks what only the libjpeg-turbo decoder does (DCT scaling, libjpeg's exact pixels and messages).
#pragma once

#include <gtest/gtest.h>
#if VAE_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif
#include <stb_image_write.h>

#include <cstdint>
#include <vector>

#include "test_files.h"
#include "vae/io/image.h"

#define REQUIRE_TURBOJPEG() SKIP_WITHOUT(VAE_HAVE_TURBOJPEG, "libjpeg-turbo")

namespace vae_test {

inline std::vector<uint8_t> encode_jpeg(const vae::Image& image, int quality) {
  const bool gray = image.channels == 1;
  std::vector<uint8_t> bytes;
#if VAE_HAVE_TURBOJPEG
  tjhandle handle = tjInitCompress();
  EXPECT_NE(handle, nullptr);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int status = tjCompress2(handle, image.pixels.data(), int(image.width), 0,
                                 int(image.height), gray ? TJPF_GRAY : TJPF_RGB, &buffer, &size,
                                 gray ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
  EXPECT_EQ(status, 0) << tjGetErrorStr2(handle);
  bytes.assign(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
#else
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  EXPECT_NE(stbi_write_jpg_to_func(append, &bytes, int(image.width), int(image.height), gray ? 1 : 3,
                                   image.pixels.data(), quality),
            0);
#endif
  return bytes;
}

}  // namespace vae_test
