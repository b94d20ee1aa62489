// Image I/O and grids: PNG round trip, make_grid layout, fitting inputs, bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "vae/base/errors.h"
#include "vae/tensor/images.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"
#include "test_files.h"

namespace {
namespace fs = std::filesystem;

fs::path temp_dir() { return vae_test::process_dir("image_test"); }

vae::Image gradient(int64_t w, int64_t h, int64_t c) {
  vae::Image image{w, h, c, std::vector<uint8_t>(size_t(w * h * c))};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t((i * 37) % 256);
  return image;
}

using vae_test::read_bytes;

TEST(Image, PngRoundTripKeepsEveryPixel) {
  for (int64_t channels : {1, 3}) {
    const auto original = gradient(13, 7, channels);
    const auto path = (temp_dir() / ("rt" + std::to_string(channels) + ".png")).string();
    vae::write_png(path, original);
    const auto loaded = vae::load_image(path);
    EXPECT_EQ(loaded.width, 13);
    EXPECT_EQ(loaded.height, 7);
    EXPECT_EQ(loaded.channels, channels);
    EXPECT_EQ(loaded.pixels, original.pixels);
  }
}

TEST(Image, WritePngLeavesNoTemporaryFiles) {
  const auto dir = temp_dir() / "clean";
  fs::remove_all(dir);
  vae::write_png((dir / "a.png").string(), gradient(4, 4, 1));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Image, WritePngIntoUnwritablePlaceIsAnIoError) {
  EXPECT_THROW(vae::write_png("/proc/vae_cannot_write/x.png", gradient(2, 2, 1)), vae::IoError);
}

TEST(Image, TensorConversionsRoundTrip) {
  const auto image = gradient(5, 3, 3);
  const auto tensor = vae::image_to_tensor(image);  // [3, 3, 5]
  EXPECT_EQ(tensor.sizes(), (std::vector<int64_t>{3, 3, 5}));
  EXPECT_EQ(tensor[1][2][4].item<int>(), image.pixels[size_t((2 * 5 + 4) * 3 + 1)]);
  const auto back = vae::tensor_to_image(tensor.to(torch::kFloat) / 255.0);
  EXPECT_EQ(back.pixels, image.pixels);
}

TEST(Image, ImageToTensorOwnsItsMemory) {
  torch::Tensor gray, rgb;
  {
    const auto one = gradient(6, 4, 1), three = gradient(6, 4, 3);
    gray = vae::image_to_tensor(one);
    rgb = vae::image_to_tensor(three);
    EXPECT_NE(gray.data_ptr<uint8_t>(), one.pixels.data());
  }
  std::vector<uint8_t> overwrite(4096, 7);  // reuse the freed memory
  EXPECT_EQ(vae::tensor_to_image(gray.to(torch::kFloat) / 255.0).pixels, gradient(6, 4, 1).pixels);
  EXPECT_EQ(vae::tensor_to_image(rgb.to(torch::kFloat) / 255.0).pixels, gradient(6, 4, 3).pixels);
  EXPECT_TRUE(gray.is_contiguous());
}

TEST(Image, MakeGridMatchesTorchvisionLayout) {
  // torchvision.utils.make_grid(x[10, 3, 4, 5], nrow=4, padding=2): 3 rows, 4 columns,
  // height 3 * (4 + 2) + 2 = 20, width 4 * (5 + 2) + 2 = 30.
  const auto images = torch::rand({10, 3, 4, 5});
  const auto grid = vae::make_grid(images, 4, 2, 0.0);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{3, 20, 30}));
  // Image 6 sits in row 1, column 2: top-left at (2 + 6, 2 + 14).
  EXPECT_TRUE(torch::equal(grid.narrow(1, 8, 4).narrow(2, 16, 5), images[6]));
  EXPECT_EQ(grid[0][0][0].item<float>(), 0.0f);           // padding
  EXPECT_EQ(grid[0][19][29].item<float>(), 0.0f);         // empty cells are padding too
  const auto gray = vae::make_grid(torch::ones({2, 1, 3, 3}), 8, 1, 0.5);
  EXPECT_EQ(gray.sizes(), (std::vector<int64_t>{1, 5, 9}));  // nrow capped at the image count
  EXPECT_EQ(gray[0][0][0].item<float>(), 0.5f);
}

TEST(Image, InterleaveRowsPutsOriginalsAboveReconstructions) {
  const auto originals = torch::zeros({5, 1, 2, 2});
  const auto reconstructions = torch::ones({5, 1, 2, 2});
  const auto merged = vae::interleave_rows(originals, reconstructions, 3);
  // Rows of 3: o o o / r r r / o o _ / r r _ (blank tiles keep each reconstruction under its original).
  ASSERT_EQ(merged.size(0), 12);
  const float blank = float(vae::kGridPadValue);
  const std::vector<float> expected = {0, 0, 0, 1, 1, 1, 0, 0, blank, 1, 1, blank};
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(merged[i].mean().item<float>(), expected[size_t(i)]) << i;
}

TEST(Image, FitImageCropsResizesAndConvertsChannels) {
  // 60x40 RGB: left third red, rest blue. Centre crop keeps x in [10, 50).
  vae::Image image{60, 40, 3, std::vector<uint8_t>(60 * 40 * 3, 0)};
  for (int64_t y = 0; y < 40; ++y) {
    for (int64_t x = 0; x < 60; ++x) image.pixels[size_t((y * 60 + x) * 3 + (x < 20 ? 0 : 2))] = 200;
  }
  std::string steps;
  const auto fitted = vae::fit_image(image, 20, 3, &steps);
  EXPECT_EQ(fitted.width, 20);
  EXPECT_EQ(fitted.height, 20);
  EXPECT_EQ(fitted.channels, 3);
  EXPECT_NE(steps.find("centre-cropped 60x40 to 40x40"), std::string::npos) << steps;
  EXPECT_NE(steps.find("resized to 20x20"), std::string::npos) << steps;
  // Crop x in [10, 50) -> red covers the first quarter: output x 0..4 red, x >= 6 blue.
  EXPECT_GT(fitted.pixels[size_t((10 * 20 + 1) * 3 + 0)], 150);
  EXPECT_GT(fitted.pixels[size_t((10 * 20 + 15) * 3 + 2)], 150);
  EXPECT_LT(fitted.pixels[size_t((10 * 20 + 15) * 3 + 0)], 30);

  const auto gray = vae::fit_image(fitted, 20, 1, &steps);
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(steps, "converted RGB to gray");
  // BT.601 luma of pure blue 200: 0.114 * 200 = 22.8.
  EXPECT_NEAR(gray.pixels[size_t(10 * 20 + 15)], 23, 2);
  const auto rgb = vae::fit_image(gray, 20, 3, &steps);
  EXPECT_EQ(rgb.pixels[0], rgb.pixels[1]);
  EXPECT_EQ(steps, "converted gray to RGB");
  vae::fit_image(rgb, 20, 3, &steps);
  EXPECT_EQ(steps, "used as is");
}

TEST(Image, MissingFileIsAnIoErrorNamingThePath) {
  try {
    vae::load_image("/nonexistent/picture.png");
    FAIL();
  } catch (const vae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent/picture.png"), std::string::npos);
  }
}

TEST(Image, NonImageAndTruncatedFilesAreDataErrors) {
  const auto dir = temp_dir();
  std::ofstream(dir / "text.png") << "this is not an image";
  EXPECT_THROW(vae::load_image((dir / "text.png").string()), vae::DataError);
  std::ofstream(dir / "empty.png");
  EXPECT_THROW(vae::load_image((dir / "empty.png").string()), vae::DataError);

  vae::write_png((dir / "whole.png").string(), gradient(64, 64, 3));
  const std::string bytes = read_bytes(dir / "whole.png");
  std::ofstream(dir / "cut.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  try {
    vae::load_image((dir / "cut.png").string());
    FAIL() << "truncated PNG was accepted";
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("cut.png"), std::string::npos) << error.what();
  }
}

TEST(Image, AbsurdHeaderDimensionsAreRejected) {
  vae::write_png((temp_dir() / "small.png").string(), gradient(2, 2, 1));
  std::string bytes = read_bytes(temp_dir() / "small.png");
  // IHDR width is the big-endian uint32 at byte 16: claim 1,000,000 pixels wide.
  const uint32_t width = 1000000;
  for (int i = 0; i < 4; ++i) bytes[size_t(16 + i)] = char((width >> (24 - 8 * i)) & 0xFF);
  std::ofstream(temp_dir() / "huge.png", std::ios::binary) << bytes;
  EXPECT_THROW(vae::load_image((temp_dir() / "huge.png").string()), vae::DataError);
}

}  // namespace
