// Datasets through make_dataset: real files where ../shared/data has them, generated CINIC-10,
// CelebA and folder fixtures otherwise; pixel values against the source bytes, split sizes,
// labels, transforms, the cache, bad data, and loader order independent of the thread count.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/io/formats.h"
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"
#include "vae/data/loader.h"
#include "vae/data/array_dataset.h"
#include "vae/data/cache.h"
#include "vae/data/file_dataset.h"
#include "vae/analysis/latent.h"
#include "test_files.h"
#include "jpeg_support.h"

namespace {
namespace fs = std::filesystem;

const fs::path kShared = fs::path(VAE_TEST_SOURCE_DIR) / ".." / "shared" / "data";

fs::path temp_dir(const std::string& name) { return vae_test::scratch_dir("datasets", name); }

vae::Config config_for(const std::vector<std::string>& overrides) {
  auto resolved = vae::default_config_json();
  for (const auto& assignment : overrides) vae::apply_override(resolved, assignment);
  return vae::config_from_json(resolved);
}

// A deterministic test picture: each pixel a function of position, channel and seed.
vae::Image pattern(int64_t width, int64_t height, int64_t channels, int seed) {
  vae::Image image{width, height, channels, std::vector<uint8_t>(size_t(width * height * channels))};
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      for (int64_t c = 0; c < channels; ++c) {
        image.pixels[size_t((y * width + x) * channels + c)] = uint8_t((x * 7 + y * 3 + c * 50 + seed * 31) % 256);
      }
    }
  }
  return image;
}

void write_jpeg(const fs::path& path, const vae::Image& image) {
  const std::vector<uint8_t> bytes = vae_test::encode_jpeg(image, 95);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

size_t count(const std::shared_ptr<vae::ImageDataset>& dataset) { return dataset->size().value_or(0); }

// ---- MNIST (real files) ----

TEST(Datasets, MnistSplitsAndPixelsMatchTheIdxFiles) {
  const fs::path mnist = kShared / "mnist";
  if (!fs::exists(mnist)) GTEST_SKIP() << "no MNIST in " << mnist;
  const auto config = config_for({"data.dataset=mnist", "data.root=" + kShared.string(),
                                  "data.image_size=28", "data.val_fraction=0.1"});
  auto train = vae::make_dataset(config, vae::Split::Train);
  auto val = vae::make_dataset(config, vae::Split::Val);
  auto test = vae::make_dataset(config, vae::Split::Test);
  EXPECT_EQ(count(train), 54000u);
  EXPECT_EQ(count(val), 6000u);
  EXPECT_EQ(count(test), 10000u);

  const auto raw = vae::read_idx_images((mnist / "t10k-images-idx3-ubyte.gz").string());
  const auto labels = vae::read_idx_labels((mnist / "t10k-labels-idx1-ubyte.gz").string());
  for (size_t i : {0u, 1u, 9999u}) {
    const auto item = test->get(i);
    ASSERT_EQ(item.data.sizes(), (std::vector<int64_t>{1, 28, 28}));
    const auto expected = torch::from_blob(const_cast<uint8_t*>(raw.pixels.data()) + i * 784, {1, 28, 28}, torch::kUInt8);
    EXPECT_TRUE(torch::equal(item.data, expected)) << i;
    EXPECT_EQ(item.target.item<float>(), float(labels[i]));
  }
  // Train and validation partition the official training set: pixel sums add up.
  const auto all = vae::read_idx_images((mnist / "train-images-idx3-ubyte.gz").string());
  double raw_sum = 0;
  for (uint8_t p : all.pixels) raw_sum += p;
  auto sum_of = [](const std::shared_ptr<vae::ImageDataset>& d) {
    std::vector<size_t> every(d->size().value());
    for (size_t i = 0; i < every.size(); ++i) every[i] = i;
    return d->images(every).to(torch::kDouble).sum().item<double>();
  };
  EXPECT_DOUBLE_EQ(sum_of(train) + sum_of(val), raw_sum);
  // Resized and converted to RGB on request.
  const auto rgb = vae::make_dataset(config_for({"data.dataset=mnist", "data.root=" + mnist.string(),
                                                 "data.image_size=32", "data.channels=3"}),
                                     vae::Split::Test);
  EXPECT_EQ(rgb->get(0).data.sizes(), (std::vector<int64_t>{3, 32, 32}));
}

// ---- CIFAR-10 (real subset) ----

TEST(Datasets, CifarTestPixelsMatchTheRecordBytes) {
  const fs::path folder = kShared / "cifar10-subset" / "cifar-10-batches-bin";
  if (!fs::exists(folder)) GTEST_SKIP() << "no CIFAR-10 subset";
  const auto config = config_for({"data.dataset=cifar10", "data.root=" + (kShared / "cifar10-subset").string(),
                                  "data.channels=3"});
  auto test = vae::make_dataset(config, vae::Split::Test);
  ASSERT_EQ(count(test), 1000u);
  std::ifstream in(folder / "test_batch.bin", std::ios::binary);
  std::vector<uint8_t> record(3073);
  in.read(reinterpret_cast<char*>(record.data()), 3073);
  const auto item = test->get(0);
  EXPECT_EQ(item.target.item<float>(), 3.0f);  // first test label
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t y : {0, 17, 31}) {
      for (int64_t x : {0, 5, 31}) {
        EXPECT_EQ(item.data[c][y][x].item<int>(), record[size_t(1 + c * 1024 + y * 32 + x)]);
      }
    }
  }
  // The subset's one training batch, 10% carved out for validation.
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Train)), 3600u);
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Val)), 400u);
}

TEST(Datasets, Cifar100UsesFineLabelsAndItsOwnFileNames) {
  const fs::path root = temp_dir("cifar100") / "cifar-100-binary";
  fs::create_directories(root);
  for (const char* name : {"train.bin", "test.bin"}) {
    std::ofstream out(root / name, std::ios::binary);
    for (int record = 0; record < 10; ++record) {
      out.put(char(record % 20));        // coarse label
      out.put(char(50 + record));        // fine label
      for (int i = 0; i < 3072; ++i) out.put(char((i + record) % 256));
    }
  }
  const auto config = config_for({"data.dataset=cifar100", "data.root=" + root.parent_path().string(),
                                  "data.channels=3", "data.val_fraction=0.2"});
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Train)), 8u);
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Val)), 2u);
  auto test = vae::make_dataset(config, vae::Split::Test);
  ASSERT_EQ(count(test), 10u);
  const auto item = test->get(3);
  EXPECT_EQ(item.target.item<float>(), 53.0f);
  EXPECT_EQ(item.data[1][0][2].item<int>(), (1024 + 2 + 3) % 256);  // green plane, row 0, column 2
}

// ---- Flowers102 (real .mat files, partial JPEG sample) ----

TEST(Datasets, FlowersNeedsSkipMissingForThePartialSample) {
  if (!fs::exists(kShared / "flowers102")) GTEST_SKIP() << "no Flowers102 sample";
  const std::vector<std::string> base = {"data.dataset=flowers102", "data.root=" + kShared.string(),
                                         "data.channels=3", "data.image_size=32"};
  try {
    vae::make_dataset(config_for(base), vae::Split::Train);
    FAIL() << "missing images were accepted";
  } catch (const vae::DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("816 of 1020"), std::string::npos) << message;
    EXPECT_NE(message.find("data.skip_missing=true"), std::string::npos) << message;
  }
  auto with = base;
  with.push_back("data.skip_missing=true");
  const auto config = config_for(with);
  for (vae::Split split : {vae::Split::Train, vae::Split::Val, vae::Split::Test}) {
    auto dataset = vae::make_dataset(config, split);
    EXPECT_EQ(count(dataset), 204u) << vae::split_name(split);  // 2 per class per split
  }
  auto train = vae::make_dataset(config, vae::Split::Train);
  const auto item = train->get(0);
  EXPECT_EQ(item.data.sizes(), (std::vector<int64_t>{3, 32, 32}));
  // image_00001.jpg is not in trnid; every label is a class index 0..101.
  EXPECT_GE(item.target.item<float>(), 0.0f);
  EXPECT_LE(item.target.item<float>(), 101.0f);
  // The same item decoded directly with the same transforms.
  const auto* files = dynamic_cast<vae::FileDataset*>(train.get());
  ASSERT_NE(files, nullptr);
  const auto direct = vae::load_and_transform(files->files()[0].path, {0, 32, 3});
  EXPECT_TRUE(torch::equal(item.data, vae::image_to_tensor(direct)));
}

// ---- CINIC-10 layout (generated PNGs) ----

TEST(Datasets, CinicFoldersGiveSplitsLabelsAndExactPixels) {
  const fs::path root = temp_dir("cinic") / "CINIC-10";
  const std::vector<std::string> classes = {"airplane", "bird", "cat"};
  for (const char* split : {"train", "valid", "test"}) {
    for (size_t c = 0; c < classes.size(); ++c) {
      fs::create_directories(root / split / classes[c]);
      for (int i = 0; i < (std::string(split) == "train" ? 4 : 2); ++i) {
        vae::write_png((root / split / classes[c] / ("cifar10-" + std::to_string(i) + ".png")).string(),
                       pattern(32, 32, 3, int(c) * 10 + i));
      }
    }
  }
  const auto config = config_for({"data.dataset=cinic10", "data.root=" + root.parent_path().string(),
                                  "data.channels=3", "data.image_size=32"});
  auto train = vae::make_dataset(config, vae::Split::Train);
  EXPECT_EQ(count(train), 12u);
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Val)), 6u);
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Test)), 6u);
  // Sorted: airplane/0..3, bird/0..3, cat/0..3.
  const auto item = train->get(5);
  EXPECT_EQ(item.target.item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(item.data, vae::image_to_tensor(pattern(32, 32, 3, 11))));
}

// ---- CelebA layout (generated JPEGs) ----

fs::path make_celeba(const fs::path& root, bool kaggle) {
  const fs::path images = kaggle ? root / "img_align_celeba" / "img_align_celeba" : root / "img_align_celeba";
  fs::create_directories(images);
  std::ofstream partition(root / (kaggle ? "list_eval_partition.csv" : "list_eval_partition.txt"));
  if (kaggle) partition << "image_id,partition\n";
  for (int i = 1; i <= 10; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    write_jpeg(images / name, pattern(178, 218, 3, i));
    const int part = i <= 6 ? 0 : i <= 8 ? 1 : 2;
    partition << name << (kaggle ? "," : " ") << part << "\n";
  }
  return root;
}

TEST(Datasets, CelebaPartitionsCropAndResize) {
  for (bool kaggle : {false, true}) {
    const fs::path root = make_celeba(temp_dir(kaggle ? "celeba_kaggle" : "celeba"), kaggle);
    const auto config = config_for({"data.dataset=celeba", "data.root=" + root.string(), "data.channels=3",
                                    "data.center_crop=148", "data.image_size=64"});
    auto train = vae::make_dataset(config, vae::Split::Train);
    EXPECT_EQ(count(train), 6u) << kaggle;
    EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Val)), 2u);
    EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Test)), 2u);
    const auto item = train->get(0);
    EXPECT_EQ(item.data.sizes(), (std::vector<int64_t>{3, 64, 64}));
    const auto direct = vae::load_and_transform((root / (kaggle ? "img_align_celeba/img_align_celeba" : "img_align_celeba") / "000001.jpg").string(),
                                                {148, 64, 3});
    EXPECT_TRUE(torch::equal(item.data, vae::image_to_tensor(direct)));
  }
}

TEST(Datasets, CelebaMissingImagesErrorOrAreSkipped) {
  const fs::path root = make_celeba(temp_dir("celeba_missing"), false);
  fs::remove(root / "img_align_celeba" / "000002.jpg");
  const std::vector<std::string> base = {"data.dataset=celeba", "data.root=" + root.string(), "data.channels=3"};
  try {
    vae::make_dataset(config_for(base), vae::Split::Train);
    FAIL();
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("000002.jpg"), std::string::npos) << error.what();
  }
  auto skip = base;
  skip.push_back("data.skip_missing=true");
  EXPECT_EQ(count(vae::make_dataset(config_for(skip), vae::Split::Train)), 5u);
}

// ---- folder, roots, bad data ----

TEST(Datasets, FolderIsSearchedRecursivelyAndSplitByValFraction) {
  const fs::path root = temp_dir("folder");
  fs::create_directories(root / "a" / "b");
  for (int i = 0; i < 20; ++i) {
    vae::write_png((root / (i % 2 ? "a/b" : "a") / ("img" + std::to_string(i) + ".png")).string(), pattern(40, 30, 1, i));
  }
  std::ofstream(root / "notes.txt") << "not an image";
  const auto config = config_for({"data.dataset=folder", "data.root=" + root.string(), "data.val_fraction=0.25",
                                  "data.image_size=16", "data.channels=3"});
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Train)), 15u);
  EXPECT_EQ(count(vae::make_dataset(config, vae::Split::Val)), 5u);
  EXPECT_EQ(vae::make_dataset(config, vae::Split::Train)->get(0).data.sizes(), (std::vector<int64_t>{3, 16, 16}));
}

// The commands that feed a model pictures (reconstruct, encode, interpolate, traverse, sample
// --around) prepare them exactly as training prepared the model's data, whatever the crop and
// resize mode: wide and tall JPEGs (large enough for the DCT-scaled decode) and a PNG.
TEST(Datasets, PicturesForAModelGetExactlyTheTrainingTransforms) {
  const fs::path root = temp_dir("inference_transforms");
  write_jpeg(root / "a_wide.jpg", pattern(300, 200, 3, 1));
  write_jpeg(root / "b_tall.jpg", pattern(180, 320, 3, 2));
  vae::write_png((root / "c_wide.png").string(), pattern(90, 50, 3, 3));
  const std::vector<std::string> base = {"data.dataset=folder", "data.root=" + root.string(), "data.val_fraction=0",
                                         "data.image_size=32", "data.channels=3"};
  std::vector<torch::Tensor> stretched;
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"data.resize=stretch"}, {"data.resize=shorter_side"}, {"data.center_crop=150"},
           {"data.resize=shorter_side", "data.channels=1"}}) {
    auto overrides = base;
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    const auto config = config_for(overrides);
    const auto dataset = vae::make_dataset(config, vae::Split::Train);
    const auto* files = dynamic_cast<const vae::FileDataset*>(dataset.get());
    ASSERT_NE(files, nullptr);
    ASSERT_EQ(files->files().size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      std::string steps;
      const auto picture = vae::load_fitted_image(files->files()[i].path, config, &steps);
      const auto trained = dataset->images({i})[0];
      EXPECT_TRUE(torch::equal(picture, trained)) << extra.front() << " " << files->files()[i].path << ": " << steps;
      if (extra.front() == "data.resize=stretch") {
        stretched.push_back(picture);
        EXPECT_EQ(steps.rfind("stretched ", 0), 0u) << steps;
      }
      if (extra.front() == "data.resize=shorter_side" && extra.size() == 1) {
        EXPECT_FALSE(torch::equal(picture, stretched[i])) << "the resize modes must differ on " << steps;
        EXPECT_NE(steps.find("(shorter side 32), centre-cropped to 32x32"), std::string::npos) << steps;
      }
    }
  }
}

// A val_fraction that leaves a split empty says which way to move it (the CIFAR subset's one
// training batch of 10,000 images; or a generated stand-in where the subset is absent).
TEST(Datasets, AnEmptyCarvedSplitSaysWhichWayToMoveValFraction) {
  const fs::path cifar = kShared / "cifar10-subset";
  if (!fs::exists(cifar)) GTEST_SKIP() << "no CIFAR-10 subset";
  auto config = config_for({"data.dataset=cifar10", "data.root=" + cifar.string(), "data.channels=3",
                            "data.val_fraction=0"});
  try {
    vae::make_dataset(config, vae::Split::Val);
    FAIL() << "an empty validation split was made";
  } catch (const vae::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("data.val_fraction=0 holds back none of the"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("raise it to at least"), std::string::npos) << error.what();
  }
}

TEST(Datasets, WrongRootAndEmptyFolderNameTheProblem) {
  try {
    vae::make_dataset(config_for({"data.dataset=mnist", "data.root=/nonexistent/data"}), vae::Split::Train);
    FAIL();
  } catch (const vae::Error& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent/data"), std::string::npos);
  }
  const fs::path empty = temp_dir("empty");
  try {
    vae::make_dataset(config_for({"data.dataset=cifar10", "data.root=" + empty.string()}), vae::Split::Train);
    FAIL();
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("scripts/download/cifar10.sh"), std::string::npos) << error.what();
  }
  try {
    vae::make_dataset(config_for({"data.dataset=folder", "data.root=" + empty.string()}), vae::Split::Train);
    FAIL();
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("no .png"), std::string::npos) << error.what();
  }
  // data.root is required for every dataset but shapes.
  EXPECT_THROW(config_for({"data.dataset=mnist"}), vae::ConfigError);
}

TEST(Datasets, CorruptImageFailsTheBatchOrIsSkippedAndCounted) {
  const fs::path root = temp_dir("corrupt");
  for (int i = 0; i < 8; ++i) write_jpeg(root / ("img" + std::to_string(i) + ".jpg"), pattern(24, 24, 3, i));
  std::ofstream(root / "img3.jpg", std::ios::trunc) << "\xFF\xD8\xFF truncated";
  const std::vector<std::string> base = {"data.dataset=folder", "data.root=" + root.string(), "data.val_fraction=0",
                                         "data.image_size=24", "data.channels=3", "train.batch_size=8"};
  {
    const auto config = config_for(base);
    vae::BatchLoader loader(vae::make_dataset(config, vae::Split::Train), vae::loader_options(config, vae::Split::Train));
    try {
      loader.stream(0)->next();
      FAIL() << "corrupt image accepted";
    } catch (const vae::DataError& error) {
      EXPECT_NE(std::string(error.what()).find("img3.jpg"), std::string::npos) << error.what();
    }
  }
  auto skip = base;
  skip.push_back("data.skip_corrupt=true");
  const auto config = config_for(skip);
  vae::BatchLoader loader(vae::make_dataset(config, vae::Split::Train), vae::loader_options(config, vae::Split::Train));
  const auto batch = loader.stream(0)->next();
  EXPECT_EQ(batch.size(0), 7);
  EXPECT_EQ(loader.skipped_items(), 1);
}

// ---- loader over files: threads, flips ----

TEST(Datasets, FileBatchesAreIndependentOfWorkerCount) {
  const fs::path root = make_celeba(temp_dir("celeba_threads"), false);
  std::vector<torch::Tensor> batches[2];
  for (int run = 0; run < 2; ++run) {
    const auto config = config_for({"data.dataset=celeba", "data.root=" + root.string(), "data.channels=3",
                                    "data.image_size=32", "data.flip=true", "train.batch_size=2",
                                    run == 0 ? "data.workers=1" : "data.workers=3", "data.prefetch=2"});
    vae::BatchLoader loader(vae::make_dataset(config, vae::Split::Train), vae::loader_options(config, vae::Split::Train));
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      auto stream = loader.stream(epoch);
      for (auto b = stream->next(); b.defined(); b = stream->next()) batches[run].push_back(b);
    }
  }
  ASSERT_EQ(batches[0].size(), 6u);
  ASSERT_EQ(batches[1].size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_TRUE(torch::equal(batches[0][i], batches[1][i])) << i;
}

TEST(Datasets, FlipsOnlyTrainingImagesAndMirrorsThem) {
  const fs::path root = temp_dir("flip");
  for (int i = 0; i < 16; ++i) vae::write_png((root / ("p" + std::to_string(i) + ".png")).string(), pattern(8, 8, 1, i));
  const auto config = config_for({"data.dataset=folder", "data.root=" + root.string(), "data.image_size=8",
                                  "data.flip=true", "data.val_fraction=0.25", "train.batch_size=16"});
  auto train = vae::make_dataset(config, vae::Split::Train);
  vae::BatchLoader loader(train, vae::loader_options(config, vae::Split::Train));
  const auto indices = loader.batch_indices(0, 0);
  const auto batch = loader.batch(0, 0);
  int flipped = 0;
  for (size_t i = 0; i < indices.size(); ++i) {
    const auto original = train->get(indices[i]).data;
    const bool same = torch::equal(batch[int64_t(i)], original);
    const bool mirrored = torch::equal(batch[int64_t(i)], original.flip({2}));
    EXPECT_TRUE(same || mirrored) << i;
    flipped += mirrored && !same ? 1 : 0;
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, int(indices.size()));
  EXPECT_TRUE(torch::equal(batch, loader.batch(0, 0)));  // the same decision every time
  EXPECT_FALSE(vae::loader_options(config, vae::Split::Val).flip);
}

// ---- cache ----

TEST(Datasets, CacheStoresTheSameImagesAndIsReusedAndRebuilt) {
  const fs::path root = make_celeba(temp_dir("celeba_cache"), false);
  const fs::path cache = temp_dir("cache_store");
  const std::vector<std::string> base = {"data.dataset=celeba", "data.root=" + root.string(), "data.channels=3",
                                         "data.image_size=32", "data.cache=true", "data.cache_dir=" + cache.string()};
  auto plain_config = base;
  plain_config[4] = "data.cache=false";
  auto plain = vae::make_dataset(config_for(plain_config), vae::Split::Train);
  auto first = vae::make_dataset(config_for(base), vae::Split::Train);
  auto* store = dynamic_cast<vae::CachedDataset*>(first.get());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->was_built());
  for (size_t i = 0; i < 6; ++i) EXPECT_TRUE(torch::equal(first->get(i).data, plain->get(i).data)) << i;
  EXPECT_TRUE(torch::equal(first->images({5, 0, 2}), plain->images({5, 0, 2})));

  auto again = vae::make_dataset(config_for(base), vae::Split::Train);
  EXPECT_FALSE(dynamic_cast<vae::CachedDataset*>(again.get())->was_built());

  // Other transforms, another store.
  auto bigger = base;
  bigger[3] = "data.image_size=48";
  auto resized = vae::make_dataset(config_for(bigger), vae::Split::Train);
  EXPECT_TRUE(dynamic_cast<vae::CachedDataset*>(resized.get())->was_built());
  EXPECT_EQ(resized->get(0).data.size(1), 48);

  // A changed source file changes the key: rebuilt.
  write_jpeg(root / "img_align_celeba" / "000001.jpg", pattern(178, 218, 3, 99));
  auto changed = vae::make_dataset(config_for(base), vae::Split::Train);
  EXPECT_TRUE(dynamic_cast<vae::CachedDataset*>(changed.get())->was_built());

  // A damaged store is rebuilt, and leftovers of an interrupted build are never used.
  const fs::path path = dynamic_cast<vae::CachedDataset*>(changed.get())->path();
  changed.reset();
  fs::resize_file(path, fs::file_size(path) / 2);
  std::ofstream(path.string() + ".tmp.12345") << "partial";
  auto repaired = vae::make_dataset(config_for(base), vae::Split::Train);
  EXPECT_TRUE(dynamic_cast<vae::CachedDataset*>(repaired.get())->was_built());
  EXPECT_EQ(repaired->get(5).data.sizes(), (std::vector<int64_t>{3, 32, 32}));
}

TEST(Datasets, CacheBuildWithCorruptImagesFailsOrMarksThem) {
  const fs::path root = make_celeba(temp_dir("celeba_cache_corrupt"), false);
  std::ofstream(root / "img_align_celeba" / "000003.jpg", std::ios::trunc) << "garbage";
  const fs::path cache = temp_dir("cache_corrupt");
  std::vector<std::string> base = {"data.dataset=celeba", "data.root=" + root.string(), "data.channels=3",
                                   "data.image_size=16", "data.cache=true", "data.cache_dir=" + cache.string()};
  EXPECT_THROW(vae::make_dataset(config_for(base), vae::Split::Train), vae::DataError);
  EXPECT_TRUE(fs::is_empty(cache));  // no store, no temporary left behind
  base.push_back("data.skip_corrupt=true");
  const auto config = config_for(base);
  auto dataset = vae::make_dataset(config, vae::Split::Train);
  EXPECT_EQ(dynamic_cast<vae::CachedDataset*>(dataset.get())->corrupt_items(), 1);
  auto options = vae::loader_options(config, vae::Split::Val);
  options.batch_size = 6;
  vae::BatchLoader loader(dataset, options);
  EXPECT_EQ(loader.batch(0, 0).size(0), 5);
  EXPECT_EQ(loader.skipped_items(), 1);
}

}  // namespace
