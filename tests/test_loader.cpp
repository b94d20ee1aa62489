// Batch order: fixed by seed and epoch, reshuffled each epoch, independent of thread count.
#include <gtest/gtest.h>

#include <set>

#include "vae/config/config.h"
#include "vae/data/loader.h"
#include "vae/data/pixels.h"
#include "vae/data/shapes.h"

namespace {

std::shared_ptr<vae::ImageDataset> shapes(int64_t n) {
  return std::make_shared<vae::ShapesDataset>(0, vae::Split::Train, n, 16, 1);
}

TEST(Loader, EpochVisitsEveryItemOnce) {
  vae::BatchLoader loader(shapes(103), {10, 42, true, false});
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  std::multiset<size_t> seen;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    for (size_t i : loader.batch_indices(0, b)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), 103u);
  EXPECT_EQ(loader.batch_indices(0, 10).size(), 3u);  // last, partial batch
}

TEST(Loader, DropLastDropsThePartialBatch) {
  vae::BatchLoader loader(shapes(103), {10, 42, true, true});
  EXPECT_EQ(loader.batches_per_epoch(), 10);
}

TEST(Loader, OrderIsFixedBySeedAndEpochAndReshuffledEachEpoch) {
  vae::BatchLoader a(shapes(50), {50, 1, true, false});
  vae::BatchLoader b(shapes(50), {50, 1, true, false});
  vae::BatchLoader c(shapes(50), {50, 2, true, false});
  EXPECT_EQ(a.batch_indices(0, 0), b.batch_indices(0, 0));
  EXPECT_EQ(a.batch_indices(3, 0), b.batch_indices(3, 0));
  EXPECT_NE(a.batch_indices(0, 0), a.batch_indices(1, 0));
  EXPECT_NE(a.batch_indices(0, 0), c.batch_indices(0, 0));
  // Going back to an earlier epoch gives the same order again (resume).
  const auto first = a.batch_indices(0, 0);
  a.batch_indices(5, 0);
  EXPECT_EQ(a.batch_indices(0, 0), first);
}

TEST(Loader, WithoutShuffleOrderIsSequential) {
  vae::BatchLoader loader(shapes(7), {4, 1, false, false});
  EXPECT_EQ(loader.batch_indices(3, 1), (std::vector<size_t>{4, 5, 6}));
}

TEST(Loader, BatchesAreIndependentOfThreadCount) {
  auto data = shapes(64);
  vae::BatchLoader loader(data, {32, 9, true, false});
  const int before = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto single = loader.batch(2, 1);
  torch::set_num_threads(2);
  const auto dual = loader.batch(2, 1);
  torch::set_num_threads(before);
  EXPECT_TRUE(torch::equal(single, dual));
  EXPECT_EQ(single.sizes(), (std::vector<int64_t>{32, 1, 16, 16}));
  EXPECT_EQ(single.scalar_type(), torch::kUInt8);
  // The batch holds exactly the listed items.
  const auto indices = loader.batch_indices(2, 1);
  EXPECT_TRUE(torch::equal(single[5], data->get(indices[5]).data));
}

TEST(Loader, ModelInputRanges) {
  const auto batch = torch::tensor({0, 255, 51}, torch::kUInt8).view({1, 1, 1, 3});
  const auto unit = vae::to_model_input(batch, torch::kCPU, vae::PixelRange::Unit);
  EXPECT_TRUE(torch::allclose(unit.flatten(), torch::tensor({0.0f, 1.0f, 0.2f})));
  const auto symmetric = vae::to_model_input(batch, torch::kCPU, vae::PixelRange::Symmetric);
  EXPECT_TRUE(torch::allclose(symmetric.flatten(), torch::tensor({-1.0f, 1.0f, -0.6f})));
  EXPECT_TRUE(torch::allclose(vae::to_unit_range(symmetric, vae::PixelRange::Symmetric), unit));
}

TEST(Loader, DynamicBinarisationDrawsFreshBinaryImages) {
  auto resolved = vae::default_config_json();
  vae::apply_override(resolved, "data.binarize=true");
  const auto config = vae::config_from_json(resolved);
  const auto batch = torch::full({4, 1, 32, 32}, 64, torch::kUInt8);  // intensity 64/255 = 0.25
  const auto a = vae::model_input(batch, torch::kCPU, config);
  const auto b = vae::model_input(batch, torch::kCPU, config);
  EXPECT_TRUE(torch::equal(a, a.round()));  // only 0 and 1
  EXPECT_NEAR(a.mean().item<double>(), 64.0 / 255.0, 0.03);
  EXPECT_FALSE(torch::equal(a, b));  // a fresh draw each time
  vae::apply_override(resolved, "data.binarize=false");
  const auto plain = vae::model_input(batch, torch::kCPU, vae::config_from_json(resolved));
  EXPECT_TRUE(torch::allclose(plain, torch::full({4, 1, 32, 32}, 64.0 / 255.0)));
}

}  // namespace
