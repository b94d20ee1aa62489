// IDX files (MNIST, Fashion-MNIST), plain or gzip: images and labels readers.
#include "fuzz_support.h"
#include "vae/io/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vae_fuzz::write_input(data, size, "-ubyte");
  vae_fuzz::expect_clean([&] { vae::read_idx_images(path); });
  vae_fuzz::expect_clean([&] { vae::read_idx_labels(path); });
  return 0;
}
