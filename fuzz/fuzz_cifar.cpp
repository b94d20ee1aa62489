// CIFAR-10 (one label byte) and CIFAR-100 (coarse and fine label bytes) binary batches.
#include "fuzz_support.h"
#include "vae/io/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vae_fuzz::write_input(data, size, ".bin");
  vae_fuzz::expect_clean([&] { vae::read_cifar_batch(path, 1, 0); });
  vae_fuzz::expect_clean([&] { vae::read_cifar_batch(path, 2, 1); });
  return 0;
}
