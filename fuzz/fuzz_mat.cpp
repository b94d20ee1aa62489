// MATLAB v5 files: Flowers102's imagelabels.mat ("labels") and setid.mat ("trnid").
#include "fuzz_support.h"
#include "vae/io/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vae_fuzz::write_input(data, size, ".mat");
  vae_fuzz::expect_clean([&] { vae::read_mat_vector(path, "labels"); });
  vae_fuzz::expect_clean([&] { vae::read_mat_vector(path, "trnid"); });
  return 0;
}
