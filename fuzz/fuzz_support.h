// What the fuzz targets share: the input written to a file (the readers take paths, as the program
// hands them over), and the rule every target checks: a reader refuses bad input only with one of
// vae's errors (vae::Error: one line for the user). Any other exception escapes to libFuzzer,
// which reports it as a crash, as it does a sanitizer finding or a leak.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"

namespace vae_fuzz {

// A file of this process, under $TMPDIR (else /tmp), holding exactly `data`; its name ends in
// `suffix` (some readers choose the format by extension). Rewritten for every input.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/vae-fuzz-" +
                           std::to_string(::getpid()) + suffix;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("fuzz: cannot write " + path);
  if (size > 0 && std::fwrite(data, 1, size, file) != size) throw std::runtime_error("fuzz: short write " + path);
  std::fclose(file);
  return path;
}

// Calls read(); a vae::Error is a clean refusal and ends the call.
template <class Read>
void expect_clean(Read read) {
  try {
    read();
  } catch (const vae::Error&) {
  }
}

// The readers' warnings would flood the fuzzer's output.
inline void quiet() { spdlog::set_level(spdlog::level::off); }

}  // namespace vae_fuzz

// Every target: quiet logging before the first input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vae_fuzz::quiet();
  return 0;
}
