// The built-in shapes dataset: determinism, splits, factors, rendering.
#include <gtest/gtest.h>

#include <cmath>

#include "vae/data/shapes.h"

namespace {

double mean_intensity(const std::vector<uint8_t>& pixels) {
  double sum = 0;
  for (uint8_t p : pixels) sum += p;
  return sum / double(pixels.size()) / 255.0;
}

TEST(Shapes, SameSeedAndIndexGiveTheSameImageAndFactors) {
  vae::ShapesDataset a(7, vae::Split::Train, 100, 32, 1);
  vae::ShapesDataset b(7, vae::Split::Train, 100, 32, 1);
  for (size_t i : {0, 1, 57, 99}) {
    const auto ea = a.get(i), eb = b.get(i);
    EXPECT_TRUE(torch::equal(ea.data, eb.data)) << i;
    EXPECT_TRUE(torch::equal(ea.target, eb.target)) << i;
  }
}

TEST(Shapes, SeedsAndSplitsGiveDifferentItems) {
  vae::ShapesDataset train(7, vae::Split::Train, 10, 32, 1);
  vae::ShapesDataset val(7, vae::Split::Val, 10, 32, 1);
  vae::ShapesDataset other_seed(8, vae::Split::Train, 10, 32, 1);
  int same_split = 0, same_seed = 0;
  for (size_t i = 0; i < 10; ++i) {
    same_split += torch::equal(train.get(i).data, val.get(i).data) ? 1 : 0;
    same_seed += torch::equal(train.get(i).data, other_seed.get(i).data) ? 1 : 0;
  }
  EXPECT_EQ(same_split, 0);
  EXPECT_EQ(same_seed, 0);
}

TEST(Shapes, ItemsHaveRequestedSizeChannelsAndTypes) {
  vae::ShapesDataset rgb(0, vae::Split::Test, 5, 48, 3);
  const auto example = rgb.get(3);
  EXPECT_EQ(example.data.sizes(), (std::vector<int64_t>{3, 48, 48}));
  EXPECT_EQ(example.data.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(example.data[0], example.data[2]));  // white sprites: channels agree
  EXPECT_EQ(example.target.sizes(), (std::vector<int64_t>{vae::kShapeFactorCount}));
  EXPECT_EQ(rgb.size().value(), 5u);
}

TEST(Shapes, FactorsStayInTheirRangesAndCoverEveryShape) {
  vae::ShapesDataset data(3, vae::Split::Train, 2000, 16, 1);
  std::vector<int> counts(vae::kShapeKinds, 0);
  for (size_t i = 0; i < 2000; ++i) {
    const auto f = data.factors(i);
    ASSERT_GE(f.shape, 0);
    ASSERT_LT(f.shape, vae::kShapeKinds);
    ++counts[size_t(f.shape)];
    EXPECT_GE(f.scale, 0.5);
    EXPECT_LE(f.scale, 1.0);
    EXPECT_GE(f.rotation, 0.0);
    EXPECT_LT(f.rotation, 2 * M_PI);
    EXPECT_GE(f.x, 0.0);
    EXPECT_LE(f.x, 1.0);
    EXPECT_GE(f.y, 0.0);
    EXPECT_LE(f.y, 1.0);
  }
  for (int count : counts) EXPECT_GT(count, 400);  // roughly uniform over the four shapes
  // The target tensor carries the same factors.
  const auto target = data.get(11).target;
  const auto f = data.factors(11);
  EXPECT_FLOAT_EQ(target[0].item<float>(), float(f.shape));
  EXPECT_FLOAT_EQ(target[4].item<float>(), float(f.y));
}

TEST(Shapes, SquareCoversItsGeometricArea) {
  // Square of half-side 0.75 * radius, radius = 0.3 * size at scale 1: side 0.45 * size.
  const vae::ShapeFactors square{0, 1.0, 0.0, 0.5, 0.5};
  const auto pixels = vae::render_shape(square, 64);
  EXPECT_NEAR(mean_intensity(pixels), 0.45 * 0.45, 0.01);
  // Rotation does not change the area.
  const vae::ShapeFactors turned{0, 1.0, M_PI / 5, 0.5, 0.5};
  EXPECT_NEAR(mean_intensity(vae::render_shape(turned, 64)), 0.45 * 0.45, 0.01);
  // Half the scale, a quarter of the area.
  const vae::ShapeFactors small{0, 0.5, 0.0, 0.5, 0.5};
  EXPECT_NEAR(mean_intensity(vae::render_shape(small, 64)), 0.45 * 0.45 / 4, 0.006);
}

TEST(Shapes, PositionMovesTheSprite) {
  const auto left = vae::render_shape({1, 0.6, 0.0, 0.0, 0.5}, 32);
  const auto right = vae::render_shape({1, 0.6, 0.0, 1.0, 0.5}, 32);
  auto centroid_x = [](const std::vector<uint8_t>& p) {
    double sum = 0, weighted = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      sum += p[i];
      weighted += double(i % 32) * p[i];
    }
    return weighted / sum;
  };
  EXPECT_LT(centroid_x(left), 12.0);
  EXPECT_GT(centroid_x(right), 20.0);
}

TEST(Shapes, EveryShapeIsVisibleAndDistinct) {
  std::vector<std::vector<uint8_t>> images;
  for (int64_t shape = 0; shape < vae::kShapeKinds; ++shape) {
    images.push_back(vae::render_shape({shape, 1.0, 0.3, 0.5, 0.5}, 32));
    EXPECT_GT(mean_intensity(images.back()), 0.05) << shape;
  }
  for (size_t i = 0; i < images.size(); ++i) {
    for (size_t j = i + 1; j < images.size(); ++j) EXPECT_NE(images[i], images[j]);
  }
}

}  // namespace
