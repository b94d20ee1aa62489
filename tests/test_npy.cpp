// NPY writer: the header byte for byte (magic, version, length, dictionary, padding to 64
// bytes), the values read back little-endian, atomic writes, and numpy.load reading the file
// when /usr/bin/python3 has numpy (skipped otherwise).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "vae/base/errors.h"
#include "vae/io/npy.h"
#include "test_files.h"

namespace {
namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) { return vae_test::scratch_dir("npy", name); }
using vae_test::read_bytes;

size_t header_length_field(const std::string& bytes) {
  return size_t(uint8_t(bytes[8])) | (size_t(uint8_t(bytes[9])) << 8);
}

// The dictionary without its padding and final '\n'.
std::string dictionary_of(const std::string& bytes) {
  std::string dictionary = bytes.substr(10, header_length_field(bytes));
  EXPECT_EQ(dictionary.back(), '\n');
  dictionary.pop_back();
  while (!dictionary.empty() && dictionary.back() == ' ') dictionary.pop_back();
  return dictionary;
}

TEST(Npy, HeaderIsNumpysVersionOneLayoutPaddedTo64Bytes) {
  const std::string header = vae::npy_header_float32({3, 8});
  EXPECT_EQ(header.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(header.size() % 64, 0u);
  EXPECT_EQ(header_length_field(header), header.size() - 10);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_EQ(dictionary_of(header), "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 8), }");
  // Only spaces between the dictionary and the '\n'.
  const std::string padding = header.substr(10 + dictionary_of(header).size());
  EXPECT_EQ(padding.find_first_not_of(' '), padding.size() - 1);

  EXPECT_EQ(dictionary_of(vae::npy_header_float32({5})),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
  EXPECT_EQ(dictionary_of(vae::npy_header_float32({})),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
  EXPECT_EQ(dictionary_of(vae::npy_header_float32({0, 4})),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }");
  // Any shape length stays aligned, including one whose dictionary crosses 64 bytes.
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {1}, {12, 34}, {123456789, 2048}, {1, 2, 3, 4, 5, 6, 7, 8}}) {
    const std::string h = vae::npy_header_float32(shape);
    EXPECT_EQ(h.size() % 64, 0u) << h;
    EXPECT_EQ(header_length_field(h), h.size() - 10);
  }
  EXPECT_THROW(vae::npy_header_float32({-1, 2}), std::invalid_argument);
}

TEST(Npy, ValuesReadBackLittleEndianAfterTheHeader) {
  const std::vector<float> values = {0.0f, -1.5f, 3.25f, 1e-30f, -0.0f, 65504.0f,
                                     std::numeric_limits<float>::infinity(), 0.1f};
  const fs::path path = temp_dir("values") / "a.npy";
  vae::write_npy_float32(path.string(), values, {2, 4});
  const std::string bytes = read_bytes(path);
  const size_t start = 10 + header_length_field(bytes);
  EXPECT_EQ(start, 128u);  // this dictionary needs two 64-byte blocks, as numpy's own
  ASSERT_EQ(bytes.size(), start + 4 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < 4; ++b) bits |= uint32_t(uint8_t(bytes[start + 4 * i + b])) << (8 * b);
    float value;
    std::memcpy(&value, &bits, 4);
    uint32_t expected;
    std::memcpy(&expected, &values[i], 4);
    EXPECT_EQ(bits, expected) << "value " << i << " read back as " << value;
  }
  // 1.0f is 0x3F800000: bytes 00 00 80 3F on disk.
  const std::string one = vae::encode_npy_float32({1.0f}, {1});
  EXPECT_EQ(one.substr(one.size() - 4), std::string("\x00\x00\x80\x3f", 4));
  EXPECT_THROW(vae::encode_npy_float32({1.0f, 2.0f}, {3}), std::invalid_argument);
}

TEST(Npy, WritesAtomicallyAndNamesAnUnwritablePlace) {
  const fs::path dir = temp_dir("atomic");
  vae::write_npy_float32((dir / "x.npy").string(), {1.0f}, {1});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporaries
  std::ofstream(dir / "file") << "a file where a folder should be";
  try {
    vae::write_npy_float32((dir / "file" / "y.npy").string(), {1.0f}, {1});
    FAIL() << "expected an IoError";
  } catch (const vae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("atomic/file"), std::string::npos) << error.what();
  }
}

// numpy.load, from the interpreter that has numpy here (/usr/bin/python3; the python3 first on
// the PATH may have none).
TEST(Npy, NumpyLoadReadsTheFile) {
  const char* python = "/usr/bin/python3";
  if (!fs::exists(python) ||
      std::system((std::string(python) + " -c 'import numpy' >/dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "no numpy for /usr/bin/python3";
  }
  const fs::path dir = temp_dir("numpy");
  const std::vector<float> values = {0.5f, -2.0f, 3.0f, 1e-3f, 7.0f, -0.25f};
  vae::write_npy_float32((dir / "z.npy").string(), values, {3, 2});
  const std::string script =
      "import numpy as np, sys\n"
      "a = np.load(sys.argv[1])\n"
      "assert a.dtype == np.dtype('<f4'), a.dtype\n"
      "assert a.shape == (3, 2), a.shape\n"
      "assert not np.isfortran(a)\n"
      "expected = np.array([[0.5, -2.0], [3.0, 1e-3], [7.0, -0.25]], dtype=np.float32)\n"
      "assert np.array_equal(a, expected), a\n"
      "print('ok')\n";
  std::ofstream(dir / "check.py") << script;
  const std::string command = std::string(python) + " " + (dir / "check.py").string() + " " +
                              (dir / "z.npy").string() + " > " + (dir / "out.txt").string() + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << read_bytes(dir / "out.txt");
  EXPECT_EQ(read_bytes(dir / "out.txt"), "ok\n");
}

}  // namespace
