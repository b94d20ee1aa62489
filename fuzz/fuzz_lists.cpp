// CelebA's partition list, as the .txt of the official release and as Kaggle's .csv.
#include "fuzz_support.h"
#include "vae/io/formats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* suffix : {"-list_eval_partition.txt", "-list_eval_partition.csv"}) {
    const std::string path = vae_fuzz::write_input(data, size, suffix);
    vae_fuzz::expect_clean([&] { vae::read_celeba_partition(path); });
  }
  return 0;
}
