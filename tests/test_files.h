// Scratch folders and whole-file reads, for the tests that write files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

// Skips the current GoogleTest test when this build lacks an optional library (`have` is one of the
// VAE_HAVE_* switches), naming it.
#define SKIP_WITHOUT(have, library)                                                  \
  do {                                                                               \
    if (!(have)) GTEST_SKIP() << "this vae was built without " << (library);       \
  } while (0)

namespace vae_test {
namespace fs = std::filesystem;

// The folder <temp>/vae_<group>_<pid>, private to this test process (ctest runs each test in a
// process of its own), made if missing.
inline fs::path process_dir(const std::string& group) {
  const fs::path dir = fs::temp_directory_path() / ("vae_" + group + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

// An empty folder <temp>/vae_<group>_<pid>/<name>, made anew (what an earlier run left is removed).
inline fs::path scratch_dir(const std::string& group, const std::string& name) {
  const fs::path dir = process_dir(group) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The whole file as bytes (empty when it cannot be read).
inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace vae_test
