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

// The label column: beside each row of originals the letters of "orig", beside each row of
// reconstructions those of "recon" (5x7 glyphs, 1 px apart), black on the grid's grey; the tiles
// keep make_grid's places; no column where the tiles are shorter than the letters.
TEST(Image, ReconstructionGridLabelsEachRowOnTheRightAndKeepsTheTiles) {
  const auto originals = torch::zeros({3, 3, 10, 10});  // RGB, 10 px: room for 7-px letters
  const auto reconstructions = torch::ones({3, 3, 10, 10});
  const auto plain = vae::make_grid(vae::interleave_rows(originals, reconstructions, 2), 2, 2, vae::kGridPadValue);
  const auto grid = vae::reconstruction_grid(originals, reconstructions, 2);
  // Rows: o o / r r / o _ / r _; width: 2 tiles of 12 + 2, then "recon" (29 px) and a 2 px margin.
  ASSERT_EQ(grid.sizes(), (std::vector<int64_t>{3, 4 * 12 + 2, 2 * 12 + 2 + 29 + 2}));
  EXPECT_TRUE(torch::equal(grid.narrow(2, 0, plain.size(2)), plain));
  const auto labels = grid.narrow(2, plain.size(2), 31);
  EXPECT_TRUE(torch::equal(labels[0], labels[2]));  // every channel: black letters on grey
  // Glyph pixels per row band: o 12, r 9, i 9, g 14 -> "orig" 44; c 11, e 14, o 12, n 12 -> "recon" 58.
  const auto dark_in_row = [&](int64_t row) {
    return labels[0].narrow(0, 2 + row * 12, 10).eq(0).sum().item<int64_t>();
  };
  EXPECT_EQ(dark_in_row(0), 44);
  EXPECT_EQ(dark_in_row(1), 9 + 14 + 11 + 12 + 12);
  EXPECT_EQ(dark_in_row(2), 44);
  EXPECT_EQ(dark_in_row(3), 58);
  // Nothing but the letters is dark: the margins and paddings stay grey.
  EXPECT_EQ(labels.eq(0).sum().item<int64_t>(), 3 * (44 + 58) * 2);
  EXPECT_EQ(labels.ne(0).logical_and(labels.ne(float(vae::kGridPadValue))).sum().item<int64_t>(), 0);
  // "orig" starts with the o: its top stroke is glyph row 2, three pixels; the letters are centred.
  const int64_t top = 2 + (10 - 7) / 2;
  EXPECT_EQ(labels[0][top + 2].narrow(0, 0, 5).eq(0).sum().item<int64_t>(), 3);

  // Tiles shorter than the letters: no column, the plain grid.
  const auto small = vae::reconstruction_grid(torch::zeros({2, 1, 6, 6}), torch::ones({2, 1, 6, 6}), 2);
  EXPECT_TRUE(torch::equal(small, vae::make_grid(vae::interleave_rows(torch::zeros({2, 1, 6, 6}),
                                                                      torch::ones({2, 1, 6, 6}), 2),
                                                 2, 2, vae::kGridPadValue)));
  // From 48-px tiles the letters are doubled: the column is 2 * 29 + 2 wide.
  const auto large = vae::reconstruction_grid(torch::zeros({1, 1, 48, 48}), torch::ones({1, 1, 48, 48}), 1);
  EXPECT_EQ(large.size(2), 50 + 2 + 2 * 29 + 2);
  EXPECT_EQ(large.narrow(2, 52, 60).eq(0).sum().item<int64_t>(), 4 * (44 + 58));
}

TEST(Image, ShorterSideResizeIsTorchvisionsResizeThenCentreCrop) {
  // torchvision: Resize(s) gives the longer side int(s * long / short), CenterCrop(s) keeps the
  // middle; the one-pass version must give the same bytes as doing both steps.
  struct Case { int64_t width, height, size; };
  for (const Case& c : {Case{60, 40, 20}, Case{40, 61, 16}, Case{33, 100, 32}, Case{500, 375, 64}, Case{64, 40, 24}}) {
    const auto image = gradient(c.width, c.height, 3);
    const int64_t short_side = std::min(c.width, c.height), long_side = std::max(c.width, c.height);
    const int64_t resized_long = int64_t(double(c.size) * double(long_side) / double(short_side));
    const auto resized = c.width <= c.height ? vae::resize_bilinear_antialias(image, c.size, resized_long)
                                             : vae::resize_bilinear_antialias(image, resized_long, c.size);
    const auto expected = vae::center_crop(resized, c.size);
    const auto one_pass = vae::resize_shorter_side_and_crop(image, c.size);
    EXPECT_EQ(one_pass.width, c.size);
    EXPECT_EQ(one_pass.height, c.size);
    EXPECT_EQ(one_pass.pixels, expected.pixels) << c.width << "x" << c.height << " -> " << c.size;
  }
  // Shorter side already at the size: only the crop (torchvision's Resize returns it unchanged).
  const auto image = gradient(50, 30, 1);
  EXPECT_EQ(vae::resize_shorter_side_and_crop(image, 30).pixels, vae::center_crop(image, 30).pixels);
}

TEST(Image, StretchAndShorterSideDifferOnlyForPicturesThatAreNotSquare) {
  // 60x40: left third red (x < 20), the rest blue. Stretching keeps all of it (red covers the
  // first third of the output); shorter side resizes to 30x20 and keeps x in [5, 25), i.e. the
  // source's [10, 50), so red covers only the first quarter.
  vae::Image image{60, 40, 3, std::vector<uint8_t>(60 * 40 * 3, 0)};
  for (int64_t y = 0; y < 40; ++y) {
    for (int64_t x = 0; x < 60; ++x) image.pixels[size_t((y * 60 + x) * 3 + (x < 20 ? 0 : 2))] = 200;
  }
  const auto red_columns = [](const vae::Image& out) {
    int64_t n = 0;
    for (int64_t x = 0; x < out.width; ++x) n += out.pixels[size_t((10 * out.width + x) * 3)] > 100 ? 1 : 0;
    return n;
  };
  const vae::TransformSpec stretch{0, 20, 3, false}, shorter{0, 20, 3, true};
  EXPECT_NEAR(double(red_columns(vae::apply_transforms(image, stretch))), 20.0 / 3.0, 1.0);
  EXPECT_NEAR(double(red_columns(vae::apply_transforms(image, shorter))), 5.0, 1.0);
  const auto square = gradient(40, 40, 3);
  EXPECT_EQ(vae::apply_transforms(square, stretch).pixels, vae::apply_transforms(square, shorter).pixels);
  // With a centre crop the picture is square before the resize, so the mode does not matter.
  EXPECT_EQ(vae::apply_transforms(image, {30, 20, 3, false}).pixels, vae::apply_transforms(image, {30, 20, 3, true}).pixels);
}

TEST(Image, TransformsAreDescribedInWords) {
  EXPECT_EQ(vae::describe_transforms(178, 218, 3, {148, 64, 3, false}),
            "centre-cropped 178x218 to 148x148, resized to 64x64");
  EXPECT_EQ(vae::describe_transforms(500, 375, 3, {0, 64, 3, false}), "stretched 500x375 to 64x64");
  EXPECT_EQ(vae::describe_transforms(500, 375, 3, {0, 64, 3, true}),
            "resized 500x375 to 85x64 (shorter side 64), centre-cropped to 64x64");
  EXPECT_EQ(vae::describe_transforms(40, 30, 1, {0, 30, 1, true}), "centre-cropped 40x30 to 30x30");
  EXPECT_EQ(vae::describe_transforms(32, 32, 3, {0, 32, 1, false}), "converted RGB to gray");
  EXPECT_EQ(vae::describe_transforms(28, 28, 1, {0, 28, 1, true}), "used as is");
  EXPECT_NE(vae::describe_transform_spec({0, 64, 3, false}).find("stretched to a square"), std::string::npos);
  EXPECT_NE(vae::describe_transform_spec({0, 64, 3, true}).find("resize the shorter side to 64"), std::string::npos);
  EXPECT_NE(vae::describe_transform_spec({148, 64, 3, false}).find("centre crop 148x148"), std::string::npos);
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

// BMP decoded strictly and correctly: a bottom-up and a top-down (negative height) 24-bit BMP of
// the same rows give flipped pictures, and a file cut short is refused instead of made up.
std::vector<uint8_t> bmp_bytes(int32_t height_field) {
  const int32_t width = 4, rows = 3, stride = 12;
  std::vector<uint8_t> bytes(54 + size_t(stride * rows), 0);
  auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) bytes[at + size_t(i)] = uint8_t(v >> (8 * i)); };
  bytes[0] = 'B';
  bytes[1] = 'M';
  put32(2, uint32_t(bytes.size()));
  put32(10, 54);
  put32(14, 40);
  put32(18, uint32_t(width));
  put32(22, uint32_t(height_field));
  bytes[26] = 1;
  bytes[28] = 24;
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) bytes[size_t(54 + r * stride + x * 3 + c)] = uint8_t(40 * (r + 1) + x);  // gray rows
    }
  }
  return bytes;
}

TEST(Image, BmpsAreDecodedStrictlyAndTopDownOnesRead) {
  const auto bottom_up = bmp_bytes(3), top_down = bmp_bytes(-3);
  const vae::Image up = vae::decode_image(bottom_up.data(), bottom_up.size(), "up.bmp");
  const vae::Image down = vae::decode_image(top_down.data(), top_down.size(), "down.bmp");
  ASSERT_EQ(up.width, 4);
  ASSERT_EQ(up.height, 3);
  ASSERT_EQ(down.height, 3);
  // File row 0 is the bottom of a bottom-up BMP and the top of a top-down one.
  EXPECT_EQ(up.pixels[size_t((2 * 4 + 1) * up.channels)], 41);
  EXPECT_EQ(down.pixels[size_t((0 * 4 + 1) * down.channels)], 41);
  const std::vector<uint8_t> cut(bottom_up.begin(), bottom_up.end() - 10);
  try {
    vae::decode_image(cut.data(), cut.size(), "cut.bmp");
    FAIL() << "a truncated BMP was decoded";
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("cut.bmp: truncated BMP: 80 bytes"), std::string::npos) << error.what();
  }
}

}  // namespace
