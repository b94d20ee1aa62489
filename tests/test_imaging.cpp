// Tests of decoding and transforms (src/imaging): resize, centre crop and gray conversion against
// golden outputs of PIL/torchvision, JPEG decoding against stb_image and against PIL's pipeline on
// real photos, the error for every kind of bad file, and the accuracy bound of the DCT-scaled
// JPEG path. Real photos come from the shared data folder; tests needing them skip without it.
// No test runs Python and none asserts on timing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<stb_image.h>)
#include <stb_image.h>
#define VAE_TEST_HAVE_STB 1
#elif __has_include(<stb/stb_image.h>)
#include <stb/stb_image.h>
#define VAE_TEST_HAVE_STB 1
#endif

#include "vae/base/errors.h"
#include "vae/io/image_codec.h"
#include "jpeg_support.h"
#include "vae/io/transforms.h"
#include "test_files.h"

namespace {

namespace fs = std::filesystem;
using vae::Image;

// ---- Golden outputs --------------------------------------------------------------------------
// Produced with Debian's python3-pil 9.4.0 and torchvision 0.14.1 (/usr/bin/python3) from
// `pattern(w, h, c)` below, written identically in numpy:
//   y, x = np.mgrid[0:h, 0:w]; channel k = (x*37 + y*91 + k*53 + x*y*13) % 256  (uint8)
//   Image.fromarray(p).resize((ow, oh), Image.BILINEAR)     -> kResize_WxHxC_to_OWxOH
//   torchvision.transforms.Resize((oh, ow))(img)             -> the FNV-1a 64 hashes
//   torchvision.transforms.CenterCrop(s)(img)                -> kCrop_WxHxC_to_S, crop hash
//   Image.fromarray(p).convert('L')                          -> kGray_11x7, kGrayOfTriples
//   Image.open(flowers102/jpg/image_00001.jpg).convert('RGB'), CenterCrop(400), Resize((8, 8))
//                                                            -> kFlower00001Crop400Resize8
// Arrays are row-major, interleaved channels.
// clang-format off
const std::vector<uint8_t> kResize_11x7x3_to_4x3 = {
    115, 136, 148, 137, 143, 145, 134, 131, 125, 105, 110, 140, 128, 146, 125, 144, 122, 134,
    131, 114, 146, 133, 133, 124, 112, 155, 156, 146, 117, 149, 138, 123, 141, 143, 149, 124,
};
const std::vector<uint8_t> kResize_11x7x3_to_4x7 = {
    42, 95, 148, 135, 175, 181, 120, 92, 98, 72, 125, 178, 148, 178, 169, 133, 113, 128,
    148, 163, 143, 107, 98, 128, 169, 122, 104, 147, 149, 121, 130, 132, 133, 157, 110, 101,
    104, 134, 125, 154, 121, 136, 128, 100, 149, 107, 160, 113, 125, 178, 131, 121, 93, 142,
    131, 99, 152, 152, 110, 163, 131, 161, 142, 162, 142, 148, 134, 149, 155, 163, 155, 136,
    81, 134, 187, 142, 101, 154, 146, 105, 119, 113, 166, 87,
};
const std::vector<uint8_t> kResize_11x7x3_to_11x3 = {
    78, 131, 129, 126, 124, 177, 119, 172, 116, 168, 111, 164, 106, 159, 157, 154, 152, 114,
    147, 109, 162, 104, 157, 100, 152, 96, 94, 91, 89, 142, 84, 137, 190, 92, 145, 123,
    153, 146, 139, 109, 162, 94, 185, 102, 155, 125, 118, 111, 141, 134, 172, 142, 89, 142,
    112, 105, 143, 128, 151, 144, 174, 167, 114, 84, 77, 115, 121, 174, 117, 115, 168, 166,
    72, 125, 178, 176, 119, 172, 170, 77, 130, 128, 181, 124, 122, 84, 137, 134, 133, 186,
    183, 127, 88, 86, 139, 192, 190, 188, 40,
};
const std::vector<uint8_t> kResize_5x4x3_to_9x9 = {
    0, 53, 106, 12, 65, 118, 33, 86, 139, 53, 106, 159, 74, 127, 180, 95, 148, 201,
    115, 168, 221, 136, 189, 242, 148, 201, 254, 15, 68, 121, 28, 81, 134, 50, 103, 156,
    71, 124, 158, 94, 147, 157, 116, 145, 179, 132, 147, 200, 131, 169, 222, 129, 182, 235,
    56, 109, 162, 71, 124, 177, 95, 148, 201, 120, 173, 157, 146, 199, 95, 171, 137, 120,
    178, 92, 145, 116, 117, 170, 79, 132, 185, 96, 149, 188, 113, 162, 205, 141, 181, 232,
    163, 208, 153, 183, 236, 48, 212, 131, 76, 213, 51, 103, 107, 79, 122, 43, 96, 135,
    137, 190, 115, 156, 166, 134, 187, 126, 165, 161, 143, 139, 122, 175, 100, 153, 135, 131,
    170, 110, 149, 131, 141, 108, 107, 160, 85, 177, 230, 41, 198, 170, 62, 232, 70, 97,
    159, 78, 125, 60, 113, 151, 94, 139, 186, 127, 168, 194, 154, 202, 94, 170, 223, 34,
    118, 171, 67, 140, 141, 90, 179, 92, 128, 147, 113, 121, 97, 150, 104, 135, 133, 142,
    162, 126, 162, 145, 165, 113, 134, 187, 84, 45, 98, 108, 69, 108, 132, 111, 125, 174,
    132, 162, 120, 149, 202, 42, 190, 125, 83, 208, 71, 119, 130, 113, 137, 84, 137, 147,
    17, 70, 123, 42, 95, 148, 85, 138, 191, 127, 180, 119, 169, 222, 19, 211, 122, 61,
    225, 50, 103, 125, 93, 146, 65, 118, 171,
};
const std::vector<uint8_t> kResize_12x10x3_to_6x5 = {
    93, 130, 152, 135, 143, 150, 136, 148, 146, 133, 127, 120, 107, 105, 130, 108, 155, 161,
    131, 143, 123, 146, 135, 124, 145, 122, 139, 128, 117, 146, 143, 140, 117, 92, 118, 157,
    117, 170, 136, 137, 126, 155, 140, 121, 138, 135, 116, 153, 142, 135, 148, 116, 128, 122,
    135, 128, 167, 148, 117, 170, 163, 116, 145, 154, 119, 140, 153, 134, 131, 141, 121, 119,
    152, 80, 133, 129, 108, 148, 107, 128, 99, 127, 120, 119, 119, 113, 111, 158, 81, 118,
};
const std::vector<uint8_t> kResize_11x5x1_to_4x9 = {
    42, 135, 120, 72, 77, 134, 129, 84, 136, 133, 145, 103, 157, 139, 140, 129, 169, 147,
    130, 157, 133, 151, 129, 129, 106, 150, 128, 112, 118, 132, 130, 137, 125, 121, 131, 152,
};
const std::vector<uint8_t> kCrop_11x7x3_to_5 = {
    241, 38, 91, 35, 88, 141, 85, 138, 191, 135, 188, 241, 185, 238, 35, 115, 168, 221,
    178, 231, 28, 241, 38, 91, 48, 101, 154, 111, 164, 217, 245, 42, 95, 65, 118, 171,
    141, 194, 247, 217, 14, 67, 37, 90, 143, 119, 172, 225, 208, 5, 58, 41, 94, 147,
    130, 183, 236, 219, 16, 69, 249, 46, 99, 95, 148, 201, 197, 250, 47, 43, 96, 149,
    145, 198, 251,
};
const std::vector<uint8_t> kCrop_11x8x3_to_4 = {
    178, 231, 28, 241, 38, 91, 48, 101, 154, 111, 164, 217, 65, 118, 171, 141, 194, 247,
    217, 14, 67, 37, 90, 143, 208, 5, 58, 41, 94, 147, 130, 183, 236, 219, 16, 69,
    95, 148, 201, 197, 250, 47, 43, 96, 149, 145, 198, 251,
};
const std::vector<uint8_t> kCrop_9x10x3_to_4 = {
    169, 222, 19, 245, 42, 95, 65, 118, 171, 141, 194, 247, 30, 83, 136, 119, 172, 225,
    208, 5, 58, 41, 94, 147, 147, 200, 253, 249, 46, 99, 95, 148, 201, 197, 250, 47,
    8, 61, 114, 123, 176, 229, 238, 35, 88, 97, 150, 203,
};
const std::vector<uint8_t> kCrop_5x3x3_to_6 = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 53, 106, 37, 90, 143, 74, 127, 180, 111, 164, 217, 148, 201, 254, 0, 0, 0,
    91, 144, 197, 141, 194, 247, 191, 244, 41, 241, 38, 91, 35, 88, 141, 0, 0, 0,
    182, 235, 32, 245, 42, 95, 52, 105, 158, 115, 168, 221, 178, 231, 28, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
const std::vector<uint8_t> kCrop_11x4x3_to_6 = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    74, 127, 180, 111, 164, 217, 148, 201, 254, 185, 238, 35, 222, 19, 72, 3, 56, 109,
    191, 244, 41, 241, 38, 91, 35, 88, 141, 85, 138, 191, 135, 188, 241, 185, 238, 35,
    52, 105, 158, 115, 168, 221, 178, 231, 28, 241, 38, 91, 48, 101, 154, 111, 164, 217,
    169, 222, 19, 245, 42, 95, 65, 118, 171, 141, 194, 247, 217, 14, 67, 37, 90, 143,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
const std::vector<uint8_t> kCrop_4x9x1_to_7 = {
    0, 91, 141, 191, 241, 0, 0, 0, 182, 245, 52, 115, 0, 0, 0, 17, 93, 169,
    245, 0, 0, 0, 108, 197, 30, 119, 0, 0, 0, 199, 45, 147, 249, 0, 0, 0,
    34, 149, 8, 123, 0, 0, 0, 125, 253, 125, 253, 0, 0,
};
const std::vector<uint8_t> kGray_11x7 = {
    43, 80, 117, 154, 191, 199, 86, 46, 83, 120, 157, 134, 184, 205, 105, 78, 128, 178,
    199, 99, 72, 122, 196, 109, 95, 158, 192, 105, 91, 154, 188, 101, 87, 60, 136, 183,
    109, 108, 184, 81, 80, 156, 203, 52, 151, 211, 73, 162, 72, 84, 173, 83, 95, 184,
    94, 213, 88, 190, 113, 138, 211, 86, 188, 111, 136, 209, 77, 192, 51, 166, 102, 140,
    76, 114, 200, 88, 174,
};
const std::vector<uint8_t> kGrayOfTriples = {
    0, 255, 76, 150, 29, 2, 128, 124, 157, 105,
};
const std::vector<uint8_t> kFlower00001Crop400Resize8 = {
    63, 97, 34, 79, 96, 52, 115, 124, 79, 162, 165, 133, 128, 129, 88, 141, 165, 97,
    100, 148, 44, 74, 126, 19, 99, 138, 51, 120, 131, 120, 205, 202, 213, 200, 197, 206,
    171, 167, 176, 176, 188, 158, 100, 159, 33, 77, 146, 8, 194, 207, 173, 183, 182, 200,
    215, 203, 206, 207, 193, 185, 218, 211, 219, 176, 169, 184, 120, 139, 72, 94, 158, 25,
    157, 167, 146, 193, 190, 178, 183, 165, 127, 196, 180, 123, 196, 179, 160, 205, 197, 208,
    166, 164, 155, 118, 140, 66, 154, 159, 157, 173, 171, 140, 160, 145, 105, 171, 152, 106,
    183, 155, 128, 221, 213, 217, 183, 181, 179, 94, 103, 65, 131, 136, 135, 125, 116, 120,
    152, 141, 102, 162, 146, 101, 176, 156, 139, 214, 208, 217, 212, 210, 214, 117, 126, 84,
    42, 55, 46, 102, 102, 114, 171, 165, 173, 174, 167, 165, 197, 192, 194, 192, 190, 191,
    125, 134, 105, 92, 109, 43, 31, 37, 50, 113, 113, 114, 113, 106, 143, 145, 144, 151,
    102, 104, 114, 186, 188, 175, 119, 128, 94, 64, 84, 20,
};
// clang-format on

// Hashes of larger outputs (PIL 9.4.0 / torchvision 0.14.1, same script).
constexpr uint64_t kResize148x148x3To64x64Hash = 0x5006f934a21d69f2ULL;
constexpr uint64_t kResize333x250x3To64x64Hash = 0xfd79f1ffbe306b44ULL;
constexpr uint64_t kResize250x333x1To37x50Hash = 0x965bafef9289429cULL;
constexpr uint64_t kCrop178x218x3To148Hash = 0xb54baa51811e0111ULL;

// ---- Helpers ---------------------------------------------------------------------------------

Image pattern(int64_t width, int64_t height, int64_t channels) {
  Image image{width, height, channels, std::vector<uint8_t>(size_t(width * height * channels))};
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t k = 0; k < channels; ++k) {
        image.pixels[size_t((y * width + x) * channels + k)] =
            uint8_t((x * 37 + y * 91 + k * 53 + x * y * 13) % 256);
      }
    }
  }
  return image;
}

uint64_t fnv1a64(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

int max_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  int worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  return worst;
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  EXPECT_EQ(a.size(), b.size());
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return 0.0;
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) total += std::abs(int(a[i]) - int(b[i]));
  return total / double(n);
}

void expect_shape(const Image& image, int64_t width, int64_t height, int64_t channels) {
  EXPECT_EQ(image.width, width);
  EXPECT_EQ(image.height, height);
  EXPECT_EQ(image.channels, channels);
  EXPECT_EQ(image.pixels.size(), size_t(width * height * channels));
}

// A folder private to this test process (ctest runs tests in parallel processes), removed when
// the process's tests end.
fs::path temp_dir() { return vae_test::process_dir("imaging_test"); }

class RemoveTempDir : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(temp_dir(), ignored);
  }
};
::testing::Environment* const kRemoveTempDir =
    ::testing::AddGlobalTestEnvironment(new RemoveTempDir);

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

fs::path data_dir() { return fs::path(std::string(VAE_TEST_SOURCE_DIR) + "/../shared/data"); }

// The Flowers102 photos of the shared data folder, sorted; empty when the folder is absent.
std::vector<fs::path> flower_jpegs() {
  std::vector<fs::path> files;
  const fs::path folder = data_dir() / "flowers102" / "jpg";
  std::error_code error;
  if (!fs::is_directory(folder, error)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".jpg") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

using vae_test::encode_jpeg;

// A smooth picture (JPEG-friendly, unlike `pattern`).
Image smooth_picture(int64_t width, int64_t height, int64_t channels) {
  Image image{width, height, channels, std::vector<uint8_t>(size_t(width * height * channels))};
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t k = 0; k < channels; ++k) {
        const double value =
            128 + 100 * std::sin(0.05 * x + 0.9 * k) * std::cos(0.04 * y - 0.5 * k);
        image.pixels[size_t((y * width + x) * channels + k)] = uint8_t(std::lround(value));
      }
    }
  }
  return image;
}

// A 24-bit uncompressed BMP written byte by byte (bottom-up rows, BGR, rows padded to 4 bytes).
std::vector<uint8_t> handmade_bmp(const Image& rgb) {
  const uint32_t row_bytes = uint32_t((rgb.width * 3 + 3) / 4 * 4);
  const uint32_t data_bytes = row_bytes * uint32_t(rgb.height);
  std::vector<uint8_t> bmp;
  auto put16 = [&](uint32_t v) {
    for (int i = 0; i < 2; ++i) bmp.push_back(uint8_t(v >> (8 * i)));
  };
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) bmp.push_back(uint8_t(v >> (8 * i)));
  };
  bmp.push_back('B');
  bmp.push_back('M');
  put32(54 + data_bytes);  // file size
  put32(0);                // reserved
  put32(54);               // pixel data offset
  put32(40);               // BITMAPINFOHEADER size
  put32(uint32_t(rgb.width));
  put32(uint32_t(rgb.height));
  put16(1);   // planes
  put16(24);  // bits per pixel
  put32(0);   // BI_RGB
  put32(data_bytes);
  put32(2835);
  put32(2835);
  put32(0);
  put32(0);
  for (int64_t y = rgb.height - 1; y >= 0; --y) {
    for (int64_t x = 0; x < rgb.width; ++x) {
      const uint8_t* p = &rgb.pixels[size_t((y * rgb.width + x) * 3)];
      bmp.push_back(p[2]);
      bmp.push_back(p[1]);
      bmp.push_back(p[0]);
    }
    for (int64_t pad = rgb.width * 3; pad < int64_t(row_bytes); ++pad) bmp.push_back(0);
  }
  return bmp;
}

// Runs `action`, expecting it to throw `ErrorType`; returns what() ("" and a failure otherwise).
template <typename ErrorType>
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const ErrorType& error) {
    return error.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << "wrong exception type: " << other.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

Image decode(const std::vector<uint8_t>& bytes, const std::string& name = "test-image") {
  return vae::decode_image(bytes.data(), bytes.size(), name);
}

// ---- Resize ----------------------------------------------------------------------------------

struct ResizeCase {
  int64_t width, height, channels, out_width, out_height;
  const std::vector<uint8_t>* expected;
};

TEST(ResizePil, SmallCasesMatchPilExactly) {
  const std::vector<ResizeCase> cases = {
      {11, 7, 3, 4, 3, &kResize_11x7x3_to_4x3},    // non-integer reduction on both axes
      {11, 7, 3, 4, 7, &kResize_11x7x3_to_4x7},    // horizontal pass only
      {11, 7, 3, 11, 3, &kResize_11x7x3_to_11x3},  // vertical pass only
      {5, 4, 3, 9, 9, &kResize_5x4x3_to_9x9},      // enlargement
      {12, 10, 3, 6, 5, &kResize_12x10x3_to_6x5},  // exact 2x reduction
      {11, 5, 1, 4, 9, &kResize_11x5x1_to_4x9},    // gray, reduce x and enlarge y
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.width) + "x" + std::to_string(c.height) + "x" +
                 std::to_string(c.channels) + " -> " + std::to_string(c.out_width) + "x" +
                 std::to_string(c.out_height));
    const Image out = vae::resize_bilinear_antialias(pattern(c.width, c.height, c.channels),
                                                     c.out_width, c.out_height);
    expect_shape(out, c.out_width, c.out_height, c.channels);
    // Same fixed-point arithmetic as PIL, so the bytes are identical (the header promises +-1).
    EXPECT_EQ(max_abs_diff(out.pixels, *c.expected), 0);
  }
}

TEST(ResizePil, LargerCasesMatchPilHashes) {
  EXPECT_EQ(fnv1a64(vae::resize_bilinear_antialias(pattern(148, 148, 3), 64, 64).pixels),
            kResize148x148x3To64x64Hash);
  EXPECT_EQ(fnv1a64(vae::resize_bilinear_antialias(pattern(333, 250, 3), 64, 64).pixels),
            kResize333x250x3To64x64Hash);
  EXPECT_EQ(fnv1a64(vae::resize_bilinear_antialias(pattern(250, 333, 1), 37, 50).pixels),
            kResize250x333x1To37x50Hash);
}

TEST(Resize, SameSizeIsACopyAndConstantsStayConstant) {
  const Image picture = pattern(9, 6, 3);
  EXPECT_EQ(vae::resize_bilinear_antialias(picture, 9, 6).pixels, picture.pixels);
  Image flat{40, 30, 3, std::vector<uint8_t>(40 * 30 * 3, 77)};
  for (const auto& size : {std::pair<int64_t, int64_t>{7, 5}, {64, 64}, {1, 1}, {40, 3}}) {
    const Image out = vae::resize_bilinear_antialias(flat, size.first, size.second);
    expect_shape(out, size.first, size.second, 3);
    EXPECT_TRUE(
        std::all_of(out.pixels.begin(), out.pixels.end(), [](uint8_t v) { return v == 77; }));
  }
  // Degenerate and tiny sizes in both directions (one-pixel rows and columns, 1-channel and
  // 3-channel): right shape, and normalised weights keep a constant picture constant.
  for (const int64_t channels : {1, 3}) {
    for (const int64_t in_w : {1, 2, 3, 7}) {
      for (const int64_t in_h : {1, 2, 5}) {
        for (const int64_t out_w : {1, 2, 5, 9}) {
          for (const int64_t out_h : {1, 3, 8}) {
            const Image tiny{in_w, in_h, channels,
                             std::vector<uint8_t>(size_t(in_w * in_h * channels), 201)};
            const Image out = vae::resize_bilinear_antialias(tiny, out_w, out_h);
            expect_shape(out, out_w, out_h, channels);
            EXPECT_TRUE(std::all_of(out.pixels.begin(), out.pixels.end(),
                                    [](uint8_t v) { return v == 201; }))
                << in_w << "x" << in_h << " -> " << out_w << "x" << out_h;
          }
        }
      }
    }
  }
}

TEST(Resize, RejectsInvalidSizesAndImages) {
  const Image picture = pattern(9, 6, 3);
  EXPECT_THROW(vae::resize_bilinear_antialias(picture, 0, 5), vae::ConfigError);
  EXPECT_THROW(vae::resize_bilinear_antialias(picture, 5, -1), vae::ConfigError);
  Image broken = picture;
  broken.pixels.pop_back();
  EXPECT_THROW(vae::resize_bilinear_antialias(broken, 5, 5), vae::DataError);
}

// ---- Centre crop -----------------------------------------------------------------------------

struct CropCase {
  int64_t width, height, channels, size;
  const std::vector<uint8_t>* expected;
};

TEST(CropTorchvision, MatchesCenterCropIncludingHalfRoundingAndPadding) {
  const std::vector<CropCase> cases = {
      {11, 7, 3, 5, &kCrop_11x7x3_to_5},  // even differences: left 3, top 1
      {11, 8, 3, 4, &kCrop_11x8x3_to_4},  // left round(3.5) = 4 (half up to even), top 2
      {9, 10, 3, 4, &kCrop_9x10x3_to_4},  // left round(2.5) = 2 (half down to even), top 3
      {5, 3, 3, 6, &kCrop_5x3x3_to_6},    // larger than the image: zero padding on all sides
      {11, 4, 3, 6, &kCrop_11x4x3_to_6},  // crop width (round(2.5) = 2), pad height
      {4, 9, 1, 7, &kCrop_4x9x1_to_7},    // gray, pad width 1 left 2 right, crop height
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.width) + "x" + std::to_string(c.height) + " crop " +
                 std::to_string(c.size));
    const Image out = vae::center_crop(pattern(c.width, c.height, c.channels), c.size);
    expect_shape(out, c.size, c.size, c.channels);
    EXPECT_EQ(out.pixels, *c.expected);
  }
  EXPECT_EQ(fnv1a64(vae::center_crop(pattern(178, 218, 3), 148).pixels), kCrop178x218x3To148Hash);
}

TEST(Crop, OffsetsUsePythonRoundHalfToEven) {
  // One column per x holding x itself, so the first output column tells the crop's left offset.
  auto left_offset = [](int64_t width, int64_t size) {
    Image columns{width, size, 1, {}};  // height == size: no vertical crop
    for (int64_t y = 0; y < size; ++y) {
      for (int64_t x = 0; x < width; ++x) columns.pixels.push_back(uint8_t(x + 1));
    }
    return int(vae::center_crop(columns, size).pixels[0]) - 1;
  };
  // (width - size) / 2: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, 4.5 -> 4, 3 -> 3.
  EXPECT_EQ(left_offset(5, 4), 0);
  EXPECT_EQ(left_offset(7, 4), 2);
  EXPECT_EQ(left_offset(9, 4), 2);
  EXPECT_EQ(left_offset(11, 4), 4);
  EXPECT_EQ(left_offset(13, 4), 4);
  EXPECT_EQ(left_offset(10, 4), 3);
}

TEST(Crop, RejectsNonPositiveSize) {
  EXPECT_THROW(vae::center_crop(pattern(5, 5, 3), 0), vae::ConfigError);
}

// ---- Channels, flip, composition -------------------------------------------------------------

TEST(TransformChannels, RgbToGrayMatchesPil) {
  EXPECT_EQ(vae::convert_channels(pattern(11, 7, 3), 1).pixels, kGray_11x7);
  const std::vector<uint8_t> triples = {0,   0,   0,   255, 255, 255, 255, 0,   0,   0,
                                        255, 0,   0,   0,   255, 1,   2,   3,   128, 128,
                                        128, 200, 100, 50,  17,  240, 99,  254, 1,   254};
  const Image gray = vae::convert_channels(Image{10, 1, 3, triples}, 1);
  expect_shape(gray, 10, 1, 1);
  EXPECT_EQ(gray.pixels, kGrayOfTriples);
}

TEST(TransformChannels, GrayToRgbReplicatesAndSameCountIsACopy) {
  const Image gray = pattern(4, 3, 1);
  const Image rgb = vae::convert_channels(gray, 3);
  expect_shape(rgb, 4, 3, 3);
  for (size_t p = 0; p < gray.pixels.size(); ++p) {
    EXPECT_EQ(rgb.pixels[3 * p], gray.pixels[p]);
    EXPECT_EQ(rgb.pixels[3 * p + 1], gray.pixels[p]);
    EXPECT_EQ(rgb.pixels[3 * p + 2], gray.pixels[p]);
  }
  EXPECT_EQ(vae::convert_channels(rgb, 3).pixels, rgb.pixels);
  EXPECT_THROW(vae::convert_channels(rgb, 4), vae::ConfigError);
}

TEST(TransformApply, ComposesCropResizeAndChannels) {
  const Image photo = pattern(500, 680, 3);
  const Image out = vae::apply_transforms(photo, {148, 64, 3});
  expect_shape(out, 64, 64, 3);
  EXPECT_EQ(out.pixels,
            vae::resize_bilinear_antialias(vae::center_crop(photo, 148), 64, 64).pixels);

  const Image gray = vae::apply_transforms(photo, {148, 64, 1});
  expect_shape(gray, 64, 64, 1);
  // Channels are converted last, after the resize, as in the torchvision pipeline.
  EXPECT_EQ(gray.pixels, vae::convert_channels(out, 1).pixels);

  expect_shape(vae::apply_transforms(photo, {0, 32, 3}), 32, 32, 3);  // no crop: squashed
  expect_shape(vae::apply_transforms(pattern(20, 10, 1), {30, 16, 3}), 16, 16, 3);  // padded
  const Image already = pattern(16, 16, 3);
  EXPECT_EQ(vae::apply_transforms(already, {0, 16, 3}).pixels, already.pixels);
  EXPECT_EQ(vae::apply_transforms(already, {16, 16, 3}).pixels, already.pixels);
}

TEST(TransformApply, RejectsInvalidSpecs) {
  const Image picture = pattern(8, 8, 3);
  EXPECT_THROW(vae::apply_transforms(picture, {-1, 8, 3}), vae::ConfigError);
  EXPECT_THROW(vae::apply_transforms(picture, {0, 0, 3}), vae::ConfigError);
  EXPECT_THROW(vae::apply_transforms(picture, {0, 8, 2}), vae::ConfigError);
}

// ---- Decoding: formats -----------------------------------------------------------------------

TEST(DecodePng, RoundTripsGrayRgbAndDropsAlpha) {
  const fs::path dir = temp_dir();
  for (const int64_t channels : {1, 2, 3, 4}) {
    SCOPED_TRACE("PNG with " + std::to_string(channels) + " channels");
    const Image written = pattern(13, 9, channels);
    const fs::path path = dir / ("round_trip_" + std::to_string(channels) + ".png");
    vae::write_png(path.string(), written);
    const Image read = decode(read_bytes(path), path.string());
    const int64_t expected_channels = channels <= 2 ? 1 : 3;
    expect_shape(read, 13, 9, expected_channels);
    for (int64_t p = 0; p < 13 * 9; ++p) {
      for (int64_t c = 0; c < expected_channels; ++c) {
        ASSERT_EQ(read.pixels[size_t(p * expected_channels + c)],
                  written.pixels[size_t(p * channels + c)]);
      }
    }
  }
}

TEST(DecodeBmp, ReadsAHandmade24BitBmp) {
  const Image written = pattern(7, 5, 3);  // 21-byte rows: exercises the row padding
  const Image read = decode(handmade_bmp(written), "handmade.bmp");
  expect_shape(read, 7, 5, 3);
  EXPECT_EQ(read.pixels, written.pixels);
}

TEST(DecodeJpeg, SynthesizedColourAndGrayJpegsDecode) {
  const Image colour = smooth_picture(97, 61, 3);
  const Image decoded = decode(encode_jpeg(colour, 95));
  expect_shape(decoded, 97, 61, 3);
  EXPECT_LT(mean_abs_diff(decoded.pixels, colour.pixels), 2.0);  // lossy, but close at quality 95

  if (!VAE_HAVE_TURBOJPEG) return;  // stb_image_write writes every JPEG with three channels
  const Image gray = smooth_picture(50, 40, 1);
  const Image decoded_gray = decode(encode_jpeg(gray, 95));
  expect_shape(decoded_gray, 50, 40, 1);  // a gray JPEG stays one channel
  EXPECT_LT(mean_abs_diff(decoded_gray.pixels, gray.pixels), 1.0);
}

TEST(DecodeJpeg, AFailedDecodeDoesNotSpoilTheNextOnes) {
  // A decoder handle reused after an error once kept failing every later file on that thread.
  const Image colour = smooth_picture(40, 30, 3);
  const auto good = encode_jpeg(colour, 95);
  const std::vector<uint8_t> broken = {0xFF, 0xD8, 0xFF, ' ', 'b', 'a', 'd'};
  for (int round = 0; round < 3; ++round) {
    EXPECT_THROW(vae::decode_image(broken.data(), broken.size(), "broken.jpg"), vae::DataError);
    std::vector<uint8_t> truncated(good.begin(), good.begin() + long(good.size() / 2));
    EXPECT_THROW(vae::decode_image(truncated.data(), truncated.size(), "cut.jpg"), vae::DataError);
    expect_shape(decode(good), 40, 30, 3);
  }
}

TEST(DecodeJpeg, MatchesStbImageOnRealPhotos) {
#ifndef VAE_TEST_HAVE_STB
  GTEST_SKIP() << "stb_image.h not on the include path";
#else
  const auto files = flower_jpegs();
  if (files.empty()) GTEST_SKIP() << "no Flowers102 JPEGs under " << data_dir();
  double worst_mean = 0.0;
  for (size_t i = 0; i < files.size(); i += std::max<size_t>(1, files.size() / 20)) {
    const auto bytes = read_bytes(files[i]);
    const Image ours = decode(bytes, files[i].string());
    int width = 0, height = 0, channels = 0;
    stbi_uc* theirs =
        stbi_load_from_memory(bytes.data(), int(bytes.size()), &width, &height, &channels, 3);
    ASSERT_NE(theirs, nullptr) << files[i];
    expect_shape(ours, width, height, 3);
    const std::vector<uint8_t> reference(theirs, theirs + size_t(width) * size_t(height) * 3);
    stbi_image_free(theirs);
    worst_mean = std::max(worst_mean, mean_abs_diff(ours.pixels, reference));
  }
  // Both are integer IDCTs but differ in chroma upsampling and rounding. Measured (libjpeg-turbo
  // 2.1.5, stb_image 2.27, 21 of the photos): worst per-photo mean 0.086 levels of 255.
  std::printf("[ info ] worst mean |libjpeg-turbo - stb_image| per channel value: %.3f\n",
              worst_mean);
  EXPECT_LT(worst_mean, 0.5);
#endif
}

TEST(DecodeJpeg, FullSizePipelineMatchesPilOnARealPhoto) {
  REQUIRE_TURBOJPEG();
  const fs::path file = data_dir() / "flowers102" / "jpg" / "image_00001.jpg";
  if (!fs::exists(file)) GTEST_SKIP() << "missing " << file;
  const Image decoded = decode(read_bytes(file), file.string());
  expect_shape(decoded, 591, 500, 3);
  // Full-size decode (libjpeg-turbo with the same accurate IDCT and smooth upsampling as PIL),
  // crop and resize. Measured on 62 of the photos with libjpeg-turbo 2.1.5: the full decode and
  // the 64x64 outputs (crop 0 and crop 400) are byte-identical to PIL's; +-1 allows for another
  // libjpeg-turbo build.
  const Image out = vae::apply_transforms(decoded, {400, 8, 3});
  EXPECT_LE(max_abs_diff(out.pixels, kFlower00001Crop400Resize8), 1);
}

TEST(DecodeJpeg, ConcurrentDecodesOnSeveralThreadsAgree) {
  // One TurboJPEG handle per thread: concurrent decodes (full and DCT-scaled) must not interfere.
  const auto bytes = encode_jpeg(smooth_picture(512, 384, 3), 90);
  const vae::TransformSpec spec{0, 64, 3};
  const Image expected = vae::decode_and_transform(bytes.data(), bytes.size(), "shared", spec);
  const Image expected_full = decode(bytes);
  std::vector<Image> results(4), full_results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 20; ++repeat) {
        results[t] = vae::decode_and_transform(bytes.data(), bytes.size(), "shared", spec);
        full_results[t] = decode(bytes);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result.pixels, expected.pixels);
  for (const auto& result : full_results) EXPECT_EQ(result.pixels, expected_full.pixels);
}

// ---- Decoding: bad input ---------------------------------------------------------------------

TEST(DecodeErrors, TruncatedJpegIsADataErrorNamingTheFile) {
  REQUIRE_TURBOJPEG();
  std::vector<uint8_t> whole = encode_jpeg(smooth_picture(120, 90, 3), 90);
  const auto files = flower_jpegs();
  if (!files.empty()) whole = read_bytes(files.front());  // prefer a real photo when there is one
  const fs::path cut = temp_dir() / "cut.jpg";
  for (const double fraction : {0.6, 0.2, 0.01}) {
    SCOPED_TRACE("kept fraction " + std::to_string(fraction));
    write_bytes(cut, std::vector<uint8_t>(whole.begin(),
                                          whole.begin() + long(double(whole.size()) * fraction)));
    const std::string message = error_of<vae::DataError>([&] {
      vae::load_and_transform(cut.string(), {0, 32, 3});
    });
    EXPECT_NE(message.find(cut.string()), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    const auto bytes = read_bytes(cut);
    EXPECT_THROW(decode(bytes), vae::DataError);
  }
}

TEST(DecodeJpeg, ExtraneousBytesBetweenSegmentsAreTolerated) {
  REQUIRE_TURBOJPEG();
  // Junk between two header segments makes libjpeg warn "N extraneous bytes before marker" but
  // the picture is complete (PIL accepts such files too), so it decodes like the clean file.
  const std::vector<uint8_t> clean = encode_jpeg(smooth_picture(40, 30, 3), 90);
  const uint8_t dqt[] = {0xFF, 0xDB};
  const auto at = std::search(clean.begin(), clean.end(), std::begin(dqt), std::end(dqt));
  ASSERT_NE(at, clean.end());
  std::vector<uint8_t> junky(clean.begin(), at);
  junky.insert(junky.end(), {0x00, 0x13, 0x37});
  junky.insert(junky.end(), at, clean.end());
  EXPECT_EQ(decode(junky, "junky.jpg").pixels, decode(clean).pixels);
}

TEST(DecodeErrors, GarbageAndEmptyDataAreDataErrors) {
  const std::string text = "this is not an image at all, just some words";
  const std::vector<uint8_t> garbage(text.begin(), text.end());
  const std::string message = error_of<vae::DataError>([&] { decode(garbage, "words.png"); });
  EXPECT_NE(message.find("words.png"), std::string::npos) << message;

  std::vector<uint8_t> fake_jpeg = {0xFF, 0xD8, 0xFF};  // JPEG signature, then noise
  for (int i = 0; i < 500; ++i) fake_jpeg.push_back(uint8_t(i * 7919 % 251));
  EXPECT_NE(error_of<vae::DataError>([&] { decode(fake_jpeg, "noise.jpg"); }).find("noise.jpg"),
            std::string::npos);

  EXPECT_NE(error_of<vae::DataError>([&] { decode({}, "empty.jpg"); }).find("empty.jpg"),
            std::string::npos);
  const fs::path empty = temp_dir() / "empty.png";
  write_bytes(empty, {});
  EXPECT_NE(error_of<vae::DataError>([&] {
              vae::load_and_transform(empty.string(), {});
            }).find(empty.string()),
            std::string::npos);
}

TEST(DecodeErrors, AbsurdHeaderDimensionsAreRejectedBeforeAllocating) {
  const fs::path small = temp_dir() / "small.png";
  vae::write_png(small.string(), pattern(2, 2, 1));
  std::vector<uint8_t> png = read_bytes(small);
  // IHDR width and height are big-endian uint32 at bytes 16 and 20: claim 1,000,000 x 1,000,000.
  for (const size_t offset : {16u, 20u}) {
    for (int i = 0; i < 4; ++i)
      png[offset + size_t(i)] = uint8_t((1000000u >> (24 - 8 * i)) & 0xFF);
  }
  const std::string message = error_of<vae::DataError>([&] { decode(png, "huge.png"); });
  EXPECT_NE(message.find("huge.png"), std::string::npos) << message;
  EXPECT_NE(message.find("1000000x1000000"), std::string::npos) << message;

  // A JPEG whose frame header (SOF0: FF C0, length, precision, height, width) claims 40000 x 30000.
  std::vector<uint8_t> jpeg = encode_jpeg(smooth_picture(16, 16, 3), 90);
  const uint8_t sof0[] = {0xFF, 0xC0};
  const auto sof = std::search(jpeg.begin(), jpeg.end(), std::begin(sof0), std::end(sof0));
  ASSERT_NE(sof, jpeg.end());
  const size_t at = size_t(sof - jpeg.begin());
  jpeg[at + 5] = uint8_t(30000 >> 8);
  jpeg[at + 6] = uint8_t(30000 & 0xFF);
  jpeg[at + 7] = uint8_t(40000 >> 8);
  jpeg[at + 8] = uint8_t(40000 & 0xFF);
  const std::string jpeg_message = error_of<vae::DataError>([&] { decode(jpeg, "huge.jpg"); });
  EXPECT_NE(jpeg_message.find("40000x30000"), std::string::npos) << jpeg_message;
}

// stb_image 2.27 writes past its Huffman size table when a DHT segment declares more than 256
// codes (a fuzzing finding). Such a JPEG is a DataError, whichever decoder it would reach: one that
// starts as JPEGs do (libjpeg-turbo's, where built), and one behind an extra FF fill byte, which
// only stb_image reads as a JPEG. A sound JPEG behind a fill byte still decodes.
TEST(DecodeErrors, AJpegHuffmanTableOfMoreThan256CodesIsRefused) {
  const std::vector<uint8_t> clean = encode_jpeg(smooth_picture(24, 16, 3), 90);
  const uint8_t dht[] = {0xFF, 0xC4};
  const auto found = std::search(clean.begin(), clean.end(), std::begin(dht), std::end(dht));
  ASSERT_NE(found, clean.end());
  std::vector<uint8_t> bad = clean;
  const size_t at = size_t(found - clean.begin());
  for (size_t i = 0; i < 16; ++i) bad[at + 5 + i] = 0x20;  // after FF C4, the length and Tc/Th: 16 x 32 codes
  EXPECT_NE(error_of<vae::DataError>([&] { decode(bad, "huffman.jpg"); }).find("huffman.jpg"), std::string::npos);
  std::vector<uint8_t> filled = {0xFF};
  filled.insert(filled.end(), bad.begin(), bad.end());
  const std::string message = error_of<vae::DataError>([&] { decode(filled, "filled.jpg"); });
  EXPECT_NE(message.find("filled.jpg: corrupt JPEG: a Huffman table declares 512 codes (at most 256 exist)"),
            std::string::npos) << message;
  std::vector<uint8_t> sound = {0xFF};
  sound.insert(sound.end(), clean.begin(), clean.end());
  const Image decoded = decode(sound, "sound.jpg");
  EXPECT_EQ(decoded.width, 24);
  EXPECT_EQ(decoded.height, 16);
}

TEST(DecodeErrors, MissingFileOrFolderIsAnIoError) {
  const std::string missing = (temp_dir() / "no_such_picture.jpg").string();
  EXPECT_NE(error_of<vae::IoError>([&] { vae::load_and_transform(missing, {}); }).find(missing),
            std::string::npos);
  EXPECT_THROW(vae::load_and_transform(temp_dir().string(), {}), vae::IoError);
}

TEST(ImagingLoad, LoadImageAndLoadAndTransformUseTheSameDecoder) {
  const fs::path path = temp_dir() / "photo.jpg";
  write_bytes(path, encode_jpeg(smooth_picture(80, 60, 3), 90));
  const Image loaded = vae::load_image(path.string());
  EXPECT_EQ(loaded.pixels, decode(read_bytes(path)).pixels);
  EXPECT_EQ(vae::load_and_transform(path.string(), {0, 80, 3}).pixels,
            vae::apply_transforms(loaded, {0, 80, 3}).pixels);
  EXPECT_THROW(vae::load_image((temp_dir() / "absent.png").string()), vae::IoError);
}

// ---- The DCT-scaled JPEG path ----------------------------------------------------------------

// decode_and_transform may decode JPEGs at 1/2, 1/4 or 1/8 scale; it must stay within a small
// distance of the exact pipeline (full decode, crop, resize) on real photos.
TEST(DecodeScaled, StaysCloseToTheFullSizePipelineOnRealPhotos) {
  REQUIRE_TURBOJPEG();
  const auto files = flower_jpegs();
  if (files.empty()) GTEST_SKIP() << "no Flowers102 JPEGs under " << data_dir();
  const std::vector<vae::TransformSpec> specs = {
      {0, 64, 3}, {0, 32, 3}, {400, 64, 3}, {300, 32, 1}, {0, 64, 3, true}};
  for (const auto& spec : specs) {
    double total = 0.0, worst = 0.0;
    size_t count = 0, scaled = 0;
    for (size_t i = 0; i < files.size(); i += 4) {
      const auto bytes = read_bytes(files[i]);
      const Image fast =
          vae::decode_and_transform(bytes.data(), bytes.size(), files[i].string(), spec);
      const Image exact = vae::apply_transforms(decode(bytes), spec);
      expect_shape(fast, spec.image_size, spec.image_size, spec.channels);
      const double diff = mean_abs_diff(fast.pixels, exact.pixels);
      total += diff;
      worst = std::max(worst, diff);
      scaled += fast.pixels != exact.pixels ? 1 : 0;
      ++count;
    }
    std::printf(
        "[ info ] crop %lld size %lld channels %lld%s: mean |scaled - exact| %.3f, worst image %.3f, "
        "%zu/%zu differ\n",
        (long long)spec.center_crop, (long long)spec.image_size, (long long)spec.channels,
        spec.keep_aspect ? " shorter side" : "",
        total / double(count), worst, scaled, count);
    EXPECT_GT(scaled, 0u) << "the DCT-scaled path never engaged";
    // Measured over these 153 photos (mean over photos / worst photo, levels of 255):
    // crop 0 size 64: 0.18 / 0.41; crop 0 size 32: 0.23 / 0.57; crop 400 size 64: 0.28 / 0.60;
    // crop 300 size 32 gray: 0.47 / 1.05; crop 0 size 64 shorter side: 0.21 / 0.44. Against PIL
    // itself the full-size path is exact.
    EXPECT_LT(total / double(count), 0.75);
    EXPECT_LT(worst, 2.0);
  }
}

TEST(DecodeScaled, SmallCelebaLikeCropsDecodeAtFullSizeExactly) {
  REQUIRE_TURBOJPEG();
  // 178x218 with crop 148 to 64: 1/2 scale would leave 74 < 2 * 64 pixels, so it must decode at
  // full size and equal the exact pipeline bit for bit.
  const auto bytes = encode_jpeg(smooth_picture(178, 218, 3), 92);
  const vae::TransformSpec spec{148, 64, 3};
  EXPECT_EQ(vae::decode_and_transform(bytes.data(), bytes.size(), "celeba-like.jpg", spec).pixels,
            vae::apply_transforms(decode(bytes), spec).pixels);
  // Non-JPEG input goes through the exact pipeline too.
  const fs::path png = temp_dir() / "exact.png";
  vae::write_png(png.string(), pattern(100, 90, 3));
  EXPECT_EQ(vae::load_and_transform(png.string(), {60, 20, 1}).pixels,
            vae::apply_transforms(pattern(100, 90, 3), {60, 20, 1}).pixels);
}

}  // namespace
