// Checkpoints: the zip archive check that runs before LibTorch sees a file (directory, CRC-32 of
// every record, deflated ones included, and the storages data.pkl declares against the records).
#include "fuzz_support.h"
#include "vae/io/torch_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vae_fuzz::write_input(data, size, ".pt");
  vae_fuzz::expect_clean([&] { vae::check_torch_archive(path); });
  return 0;
}
