// Tests for the dataset file readers (src/formats): the real MNIST, CIFAR-10 and Flowers102 files
// in shared/data, generated files of every layout, and damaged copies that must fail cleanly.
#include <gtest/gtest.h>
#if VAE_TEST_HAVE_MATIO
#include <matio.h>
#endif
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/formats.h"

namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

std::string data_dir() { return std::string(VAE_TEST_SOURCE_DIR) + "/../shared/data"; }

// Skips the test when the real dataset file is not present (the tests must pass without it).
#define REQUIRE_DATA_FILE(relative)                                           \
  do {                                                                        \
    if (!fs::exists(data_dir() + "/" + (relative))) {                         \
      GTEST_SKIP() << "real data " << (relative) << " not in " << data_dir(); \
    }                                                                         \
  } while (0)

// A scratch folder unique to this process and test, removed at the end of the test.
class ScratchFolder {
 public:
  ScratchFolder() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("vae_formats_" + std::to_string(::getpid()) + "_" +
                                         test->test_suite_name() + "_" + test->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const Bytes& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, Bytes(text.begin(), text.end()));
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes gzip_bytes(const Bytes& plain) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&stream, plain.size()) + 64);
  stream.next_in = const_cast<Bytef*>(plain.data());
  stream.avail_in = static_cast<uInt>(plain.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void append_be32(Bytes* bytes, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes->push_back(static_cast<uint8_t>(value >> shift));
  }
}

Bytes idx_images(uint32_t count, uint32_t height, uint32_t width, const Bytes& pixels) {
  Bytes bytes = {0, 0, 0x08, 3};
  append_be32(&bytes, count);
  append_be32(&bytes, height);
  append_be32(&bytes, width);
  bytes.insert(bytes.end(), pixels.begin(), pixels.end());
  return bytes;
}

Bytes idx_labels(const Bytes& labels) {
  Bytes bytes = {0, 0, 0x08, 1};
  append_be32(&bytes, static_cast<uint32_t>(labels.size()));
  bytes.insert(bytes.end(), labels.begin(), labels.end());
  return bytes;
}

// Runs `call`, expects exactly `ErrorType`, and returns its message after checking it is one line
// that names `path`.
template <typename ErrorType, typename Call>
std::string error_of(Call&& call, const std::string& path) {
  try {
    call();
  } catch (const ErrorType& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos)
        << "message does not name " << path << ": " << message;
    return message;
  }
  ADD_FAILURE() << "no exception for " << path;
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// gzip

TEST(FormatsGzip, PlainFileIsReturnedUnchanged) {
  ScratchFolder scratch;
  const Bytes plain = {0x1f, 0x00, 1, 2, 3, 0x8b};  // starts like gzip, but is not
  write_bytes(scratch.file("plain.bin"), plain);
  EXPECT_EQ(vae::read_file_maybe_gzip(scratch.file("plain.bin")), plain);
  write_bytes(scratch.file("empty.bin"), {});
  EXPECT_TRUE(vae::read_file_maybe_gzip(scratch.file("empty.bin")).empty());
}

TEST(FormatsGzip, GunzipsSingleAndConcatenatedMembers) {
  ScratchFolder scratch;
  Bytes first(300000), second(1000);
  for (size_t i = 0; i < first.size(); ++i) first[i] = static_cast<uint8_t>(i * 7 + i / 1000);
  for (size_t i = 0; i < second.size(); ++i) second[i] = static_cast<uint8_t>(255 - i % 256);
  write_bytes(scratch.file("one.gz"), gzip_bytes(first));
  EXPECT_EQ(vae::read_file_maybe_gzip(scratch.file("one.gz")), first);

  Bytes both = gzip_bytes(first);
  const Bytes tail = gzip_bytes(second);
  both.insert(both.end(), tail.begin(), tail.end());
  write_bytes(scratch.file("two.gz"), both);
  Bytes expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(vae::read_file_maybe_gzip(scratch.file("two.gz")), expected);
}

TEST(FormatsGzip, TruncatedGeneratedGzipIsDataError) {
  ScratchFolder scratch;
  Bytes plain(200000);
  std::mt19937 random(7);
  for (auto& byte : plain) byte = static_cast<uint8_t>(random() % 16);
  const Bytes whole = gzip_bytes(plain);
  // Cuts inside the header, the deflate data, and the CRC/size trailer.
  for (size_t cut : {size_t{5}, whole.size() / 3, whole.size() / 2, whole.size() - 3}) {
    const std::string path = scratch.file("cut_" + std::to_string(cut) + ".gz");
    write_bytes(path, Bytes(whole.begin(), whole.begin() + cut));
    const std::string message =
        error_of<vae::DataError>([&] { vae::read_file_maybe_gzip(path); }, path);
    EXPECT_TRUE(contains(message, "ends early") && contains(message, "truncated")) << message;
  }
}

TEST(FormatsGzip, CorruptGzipIsDataError) {
  ScratchFolder scratch;
  Bytes plain(50000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i % 251);
  Bytes damaged = gzip_bytes(plain);
  for (size_t i = damaged.size() / 2; i < damaged.size() / 2 + 8; ++i) damaged[i] ^= 0x5a;
  const std::string path = scratch.file("damaged.gz");
  write_bytes(path, damaged);
  const std::string message =
      error_of<vae::DataError>([&] { vae::read_file_maybe_gzip(path); }, path);
  EXPECT_TRUE(contains(message, "corrupt")) << message;
}

TEST(FormatsGzip, RealMnistGzipCutInHalfIsDataError) {
  const std::string relative = "mnist/t10k-images-idx3-ubyte.gz";
  REQUIRE_DATA_FILE(relative);
  ScratchFolder scratch;
  const Bytes whole = read_bytes(data_dir() + "/" + relative);
  const std::string path = scratch.file("t10k-images-idx3-ubyte.gz");
  write_bytes(path, Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  const std::string message = error_of<vae::DataError>([&] { vae::read_idx_images(path); }, path);
  EXPECT_TRUE(contains(message, "ends early") && contains(message, "truncated")) << message;
}

TEST(FormatsGzip, MissingFileIsIoError) {
  ScratchFolder scratch;
  const std::string path = scratch.file("absent.gz");
  error_of<vae::IoError>([&] { vae::read_file_maybe_gzip(path); }, path);
  error_of<vae::IoError>([&] { vae::read_idx_images(path); }, path);
  error_of<vae::IoError>([&] { vae::read_file_maybe_gzip(scratch.path().string()); },
                         scratch.path().string());
}

// ---------------------------------------------------------------------------------------------
// IDX

TEST(IdxReal, MnistTrainImagesAndLabels) {
  REQUIRE_DATA_FILE("mnist/train-images-idx3-ubyte.gz");
  const vae::ImageArray images =
      vae::read_idx_images(data_dir() + "/mnist/train-images-idx3-ubyte.gz");
  EXPECT_EQ(images.count, 60000);
  EXPECT_EQ(images.height, 28);
  EXPECT_EQ(images.width, 28);
  EXPECT_EQ(images.channels, 1);
  ASSERT_EQ(images.pixels.size(), size_t{60000} * 28 * 28);
  EXPECT_TRUE(images.labels.empty());
  // Sums computed independently (Python's gzip module) from the official file.
  EXPECT_EQ(std::accumulate(images.pixels.begin(), images.pixels.end(), int64_t{0}), 1567298545);
  EXPECT_EQ(std::accumulate(images.pixels.begin(), images.pixels.begin() + 784, int64_t{0}), 27525);
  EXPECT_EQ(std::accumulate(images.pixels.end() - 784, images.pixels.end(), int64_t{0}), 20920);
  // The first digit (a 5): row 0 is blank, row 5 holds the top stroke.
  EXPECT_TRUE(std::all_of(images.pixels.begin(), images.pixels.begin() + 28,
                          [](uint8_t v) { return v == 0; }));
  const Bytes row5(images.pixels.begin() + 5 * 28, images.pixels.begin() + 6 * 28);
  const Bytes expected_row5 = {0,  0,  0,   0,   0,   0,  0,   0,   0,   0,   0, 0, 3, 18,
                               18, 18, 126, 136, 175, 26, 166, 255, 247, 127, 0, 0, 0, 0};
  EXPECT_EQ(row5, expected_row5);

  const std::vector<int64_t> labels =
      vae::read_idx_labels(data_dir() + "/mnist/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(labels.size(), 60000u);
  EXPECT_EQ(std::vector<int64_t>(labels.begin(), labels.begin() + 10),
            (std::vector<int64_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  std::map<int64_t, int> counts;
  for (int64_t label : labels) ++counts[label];
  EXPECT_EQ(counts, (std::map<int64_t, int>{{0, 5923},
                                            {1, 6742},
                                            {2, 5958},
                                            {3, 6131},
                                            {4, 5842},
                                            {5, 5421},
                                            {6, 5918},
                                            {7, 6265},
                                            {8, 5851},
                                            {9, 5949}}));
}

TEST(IdxReal, MnistTestImagesAndLabels) {
  REQUIRE_DATA_FILE("mnist/t10k-images-idx3-ubyte.gz");
  const std::string path = data_dir() + "/mnist/t10k-images-idx3-ubyte.gz";
  const vae::ImageArray images = vae::read_idx_images(path);
  EXPECT_EQ(images.count, 10000);
  EXPECT_EQ(images.height, 28);
  EXPECT_EQ(images.width, 28);
  EXPECT_EQ(std::accumulate(images.pixels.begin(), images.pixels.end(), int64_t{0}), 264923200);
  EXPECT_EQ(std::accumulate(images.pixels.begin(), images.pixels.begin() + 784, int64_t{0}), 18454);
  // Pixels are the decompressed bytes after the 16-byte header, in order.
  const Bytes raw = vae::read_file_maybe_gzip(path);
  ASSERT_EQ(raw.size(), 7840016u);
  EXPECT_EQ(raw[2], 0x08);
  EXPECT_EQ(raw[3], 3);
  for (size_t k : {size_t{0}, size_t{200}, size_t{784 * 5000 + 400}, size_t{7839999}}) {
    EXPECT_EQ(images.pixels[k], raw[16 + k]) << "pixel " << k;
  }

  const std::vector<int64_t> labels =
      vae::read_idx_labels(data_dir() + "/mnist/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(labels.size(), 10000u);
  EXPECT_EQ(std::vector<int64_t>(labels.begin(), labels.begin() + 10),
            (std::vector<int64_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  EXPECT_EQ(*std::min_element(labels.begin(), labels.end()), 0);
  EXPECT_EQ(*std::max_element(labels.begin(), labels.end()), 9);
  EXPECT_EQ(std::count(labels.begin(), labels.end(), 5), 892);
}

TEST(IdxGenerated, PlainAndGzippedFilesRoundTrip) {
  ScratchFolder scratch;
  Bytes pixels(3 * 2 * 4);
  std::iota(pixels.begin(), pixels.end(), uint8_t{100});
  for (const bool gzipped : {false, true}) {
    const std::string images_path = scratch.file(gzipped ? "images.gz" : "images.idx");
    const std::string labels_path = scratch.file(gzipped ? "labels.gz" : "labels.idx");
    const Bytes images_file = idx_images(3, 2, 4, pixels);
    const Bytes labels_file = idx_labels({9, 0, 255});
    write_bytes(images_path, gzipped ? gzip_bytes(images_file) : images_file);
    write_bytes(labels_path, gzipped ? gzip_bytes(labels_file) : labels_file);

    const vae::ImageArray images = vae::read_idx_images(images_path);
    EXPECT_EQ(images.count, 3);
    EXPECT_EQ(images.height, 2);
    EXPECT_EQ(images.width, 4);
    EXPECT_EQ(images.channels, 1);
    EXPECT_EQ(images.pixels, pixels);
    EXPECT_EQ(vae::read_idx_labels(labels_path), (std::vector<int64_t>{9, 0, 255}));
  }
}

TEST(IdxDamaged, WrongMagicIsDataError) {
  ScratchFolder scratch;
  const std::string labels_path = scratch.file("labels.idx");
  write_bytes(labels_path, idx_labels({1, 2, 3}));
  std::string message =
      error_of<vae::DataError>([&] { vae::read_idx_images(labels_path); }, labels_path);
  EXPECT_TRUE(contains(message, "wrong magic 0x00000801, expected 0x00000803 (IDX images)"))
      << message;
  EXPECT_TRUE(contains(message, "swapped")) << message;

  const std::string images_path = scratch.file("images.idx");
  write_bytes(images_path, idx_images(1, 2, 2, {1, 2, 3, 4}));
  message = error_of<vae::DataError>([&] { vae::read_idx_labels(images_path); }, images_path);
  EXPECT_TRUE(contains(message, "wrong magic 0x00000803, expected 0x00000801 (IDX labels)"))
      << message;

  Bytes float_images = idx_images(1, 1, 1, {0, 0, 0, 0});
  float_images[2] = 0x0d;  // IDX type "float"
  const std::string float_path = scratch.file("float.idx");
  write_bytes(float_path, float_images);
  message = error_of<vae::DataError>([&] { vae::read_idx_images(float_path); }, float_path);
  EXPECT_TRUE(contains(message, "0x00000d03")) << message;

  const std::string text_path = scratch.file("text.idx");
  write_text(text_path, "<html>404 Not Found</html>");
  error_of<vae::DataError>([&] { vae::read_idx_images(text_path); }, text_path);
}

TEST(IdxDamaged, TruncatedOrOversizedDataIsDataError) {
  ScratchFolder scratch;
  // The header claims all of MNIST but only 1000 pixel bytes follow.
  const std::string short_path = scratch.file("short.idx");
  write_bytes(short_path, idx_images(60000, 28, 28, Bytes(1000, 7)));
  std::string message =
      error_of<vae::DataError>([&] { vae::read_idx_images(short_path); }, short_path);
  EXPECT_TRUE(contains(message, "60000 x 28 x 28") && contains(message, "1000")) << message;

  const std::string long_path = scratch.file("long.idx");
  write_bytes(long_path, idx_images(2, 2, 2, Bytes(9, 1)));  // one byte too many
  error_of<vae::DataError>([&] { vae::read_idx_images(long_path); }, long_path);

  const std::string labels_path = scratch.file("labels.idx");
  Bytes labels = idx_labels({1, 2, 3, 4});
  labels.pop_back();
  write_bytes(labels_path, labels);
  message = error_of<vae::DataError>([&] { vae::read_idx_labels(labels_path); }, labels_path);
  EXPECT_TRUE(contains(message, "4 labels") && contains(message, "3 bytes")) << message;

  const std::string tiny_path = scratch.file("tiny.idx");
  write_bytes(tiny_path, {0, 0, 8});
  error_of<vae::DataError>([&] { vae::read_idx_images(tiny_path); }, tiny_path);
  write_bytes(tiny_path, {0, 0, 8, 3, 0, 0});  // ends inside the dimensions
  error_of<vae::DataError>([&] { vae::read_idx_images(tiny_path); }, tiny_path);
  write_bytes(tiny_path, {});
  error_of<vae::DataError>([&] { vae::read_idx_labels(tiny_path); }, tiny_path);
}

TEST(IdxDamaged, AbsurdDimensionsAreRejectedWithoutAllocating) {
  ScratchFolder scratch;
  const std::string path = scratch.file("absurd.idx");
  const struct {
    uint32_t count, height, width;
  } cases[] = {
      {0, 28, 28},          {10, 0, 28}, {10, 28, 0}, {1, 200000, 1}, {0xffffffffu, 100000, 100000},
      {0xffffffffu, 28, 28}};
  for (const auto& dims : cases) {
    write_bytes(path, idx_images(dims.count, dims.height, dims.width, Bytes(784, 0)));
    error_of<vae::DataError>([&] { vae::read_idx_images(path); }, path);
  }
}

// ---------------------------------------------------------------------------------------------
// CIFAR

// Checks every image's label and a few pixels against the raw planar record bytes.
void expect_matches_raw_records(const vae::ImageArray& images, const Bytes& raw, int label_bytes,
                                int label_index) {
  const size_t record = label_bytes + 3072;
  ASSERT_EQ(raw.size(), static_cast<size_t>(images.count) * record);
  for (int64_t n = 0; n < images.count; ++n) {
    const uint8_t* source = raw.data() + n * record;
    ASSERT_EQ(images.labels[n], source[label_index]) << "image " << n;
    for (int y : {0, 13, 31}) {
      for (int x : {0, 7, 31}) {
        for (int c = 0; c < 3; ++c) {
          ASSERT_EQ(images.pixels[((n * 32 + y) * 32 + x) * 3 + c],
                    source[label_bytes + c * 1024 + y * 32 + x])
              << "image " << n << " y " << y << " x " << x << " channel " << c;
        }
      }
    }
  }
}

TEST(CifarReal, TrainSubsetBatch) {
  const std::string relative = "cifar10-subset/cifar-10-batches-bin/data_batch_1.bin";
  REQUIRE_DATA_FILE(relative);
  const std::string path = data_dir() + "/" + relative;
  const vae::ImageArray images = vae::read_cifar_batch(path, 1, 0);
  EXPECT_EQ(images.count, 4000);
  EXPECT_EQ(images.height, 32);
  EXPECT_EQ(images.width, 32);
  EXPECT_EQ(images.channels, 3);
  ASSERT_EQ(images.pixels.size(), size_t{4000} * 3072);
  ASSERT_EQ(images.labels.size(), 4000u);
  EXPECT_EQ(std::vector<int64_t>(images.labels.begin(), images.labels.begin() + 10),
            (std::vector<int64_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}));
  std::map<int64_t, int> counts;
  for (int64_t label : images.labels) ++counts[label];
  EXPECT_EQ(counts, (std::map<int64_t, int>{{0, 396},
                                            {1, 366},
                                            {2, 420},
                                            {3, 384},
                                            {4, 422},
                                            {5, 393},
                                            {6, 414},
                                            {7, 385},
                                            {8, 407},
                                            {9, 413}}));
  // The first image's top-left pixel: R, G, B from the three planes (values from the raw file).
  EXPECT_EQ(images.pixels[0], 59);
  expect_matches_raw_records(images, read_bytes(path), 1, 0);
}

TEST(CifarReal, TestSubsetBatch) {
  const std::string relative = "cifar10-subset/cifar-10-batches-bin/test_batch.bin";
  REQUIRE_DATA_FILE(relative);
  const std::string path = data_dir() + "/" + relative;
  const vae::ImageArray images = vae::read_cifar_batch(path, 1, 0);
  EXPECT_EQ(images.count, 1000);
  ASSERT_EQ(images.labels.size(), 1000u);
  EXPECT_EQ(std::vector<int64_t>(images.labels.begin(), images.labels.begin() + 10),
            (std::vector<int64_t>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}));
  EXPECT_EQ(std::count(images.labels.begin(), images.labels.end(), 6), 112);
  expect_matches_raw_records(images, read_bytes(path), 1, 0);
}

// A CIFAR-100 style file: per record a coarse and a fine label, then planes whose bytes encode
// (record, channel, position) so any mix-up shows.
Bytes cifar100_records(int count) {
  Bytes bytes;
  for (int n = 0; n < count; ++n) {
    bytes.push_back(static_cast<uint8_t>(10 + n));  // coarse
    bytes.push_back(static_cast<uint8_t>(90 + n));  // fine
    for (int c = 0; c < 3; ++c) {
      for (int i = 0; i < 1024; ++i) {
        bytes.push_back(static_cast<uint8_t>(n * 50 + c * 80 + i % 37));
      }
    }
  }
  return bytes;
}

TEST(CifarGenerated, Cifar100LabelBytes) {
  ScratchFolder scratch;
  const std::string path = scratch.file("train.bin");
  const Bytes raw = cifar100_records(3);
  write_bytes(path, raw);
  const vae::ImageArray coarse = vae::read_cifar_batch(path, 2, 0);
  const vae::ImageArray fine = vae::read_cifar_batch(path, 2, 1);
  EXPECT_EQ(coarse.count, 3);
  EXPECT_EQ(coarse.labels, (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(fine.labels, (std::vector<int64_t>{90, 91, 92}));
  EXPECT_EQ(coarse.pixels, fine.pixels);
  expect_matches_raw_records(fine, raw, 2, 1);
  // Pixel (y=1, x=2) of record 2, channel 1 (green): position 34.
  EXPECT_EQ(fine.pixels[((2 * 32 + 1) * 32 + 2) * 3 + 1], 2 * 50 + 80 + 34 % 37);

  EXPECT_THROW(vae::read_cifar_batch(path, 2, 2), std::invalid_argument);
  EXPECT_THROW(vae::read_cifar_batch(path, 0, 0), std::invalid_argument);
}

TEST(CifarDamaged, SizeNotWholeRecordsIsDataError) {
  ScratchFolder scratch;
  Bytes raw = cifar100_records(2);
  raw.erase(raw.begin() + 3073, raw.end());  // one CIFAR-10-sized record
  raw.insert(raw.end(), 5, 0);
  const std::string path = scratch.file("data_batch_1.bin");
  write_bytes(path, raw);
  std::string message = error_of<vae::DataError>([&] { vae::read_cifar_batch(path, 1, 0); }, path);
  EXPECT_TRUE(contains(message, "size 3078 is not a multiple of the 3073-byte record")) << message;

  // CIFAR-100 data read as CIFAR-10 gets a hint.
  const std::string cifar100_path = scratch.file("cifar100.bin");
  write_bytes(cifar100_path, cifar100_records(3));
  message =
      error_of<vae::DataError>([&] { vae::read_cifar_batch(cifar100_path, 1, 0); }, cifar100_path);
  EXPECT_TRUE(contains(message, "CIFAR-100")) << message;

  const std::string empty_path = scratch.file("empty.bin");
  write_bytes(empty_path, {});
  error_of<vae::DataError>([&] { vae::read_cifar_batch(empty_path, 1, 0); }, empty_path);
  error_of<vae::IoError>([&] { vae::read_cifar_batch(scratch.file("absent.bin"), 1, 0); },
                         scratch.file("absent.bin"));
}

TEST(CifarDamaged, RealBatchWithExtraBytesIsDataError) {
  const std::string relative = "cifar10-subset/cifar-10-batches-bin/test_batch.bin";
  REQUIRE_DATA_FILE(relative);
  ScratchFolder scratch;
  Bytes raw = read_bytes(data_dir() + "/" + relative);
  raw.insert(raw.end(), {1, 2, 3, 4, 5});
  const std::string path = scratch.file("test_batch.bin");
  write_bytes(path, raw);
  const std::string message =
      error_of<vae::DataError>([&] { vae::read_cifar_batch(path, 1, 0); }, path);
  EXPECT_TRUE(contains(message, "size 3073005 is not a multiple of the 3073-byte record"))
      << message;
}

// ---------------------------------------------------------------------------------------------
// MATLAB .mat

std::string flowers(const std::string& name) { return data_dir() + "/flowers102/" + name; }

TEST(MatReal, Flowers102SplitsAreDisjointAndCoverAllImages) {
  REQUIRE_DATA_FILE("flowers102/setid.mat");
  const auto train = vae::read_mat_vector(flowers("setid.mat"), "trnid");
  const auto valid = vae::read_mat_vector(flowers("setid.mat"), "valid");
  const auto test = vae::read_mat_vector(flowers("setid.mat"), "tstid");
  EXPECT_EQ(train.size(), 1020u);
  EXPECT_EQ(valid.size(), 1020u);
  EXPECT_EQ(test.size(), 6149u);
  std::set<int64_t> all(train.begin(), train.end());
  all.insert(valid.begin(), valid.end());
  all.insert(test.begin(), test.end());
  // Disjoint, and together exactly the image ids 1..8189.
  EXPECT_EQ(all.size(), 8189u);
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), 8189);
}

TEST(MatReal, Flowers102LabelsMatchTheSampleTable) {
  REQUIRE_DATA_FILE("flowers102/imagelabels.mat");
  const auto labels = vae::read_mat_vector(flowers("imagelabels.mat"), "labels");
  ASSERT_EQ(labels.size(), 8189u);
  EXPECT_EQ(*std::min_element(labels.begin(), labels.end()), 1);
  EXPECT_EQ(*std::max_element(labels.begin(), labels.end()), 102);
  EXPECT_EQ(std::set<int64_t>(labels.begin(), labels.end()).size(), 102u);

  // sample_ids.tsv (split, image_id, label, file) was written from the same source.
  if (!fs::exists(flowers("sample_ids.tsv")) || !fs::exists(flowers("setid.mat"))) return;
  std::map<std::string, std::set<int64_t>> splits;
  for (const char* split : {"trnid", "valid", "tstid"}) {
    const auto ids = vae::read_mat_vector(flowers("setid.mat"), split);
    splits[split] = std::set<int64_t>(ids.begin(), ids.end());
  }
  std::ifstream table(flowers("sample_ids.tsv"));
  std::string line;
  std::getline(table, line);  // header
  int rows = 0;
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string split, file;
    int64_t id = 0, label = 0;
    ASSERT_TRUE(fields >> split >> id >> label >> file) << line;
    ASSERT_GE(id, 1);
    ASSERT_LE(id, 8189);
    EXPECT_EQ(labels[id - 1], label) << line;
    EXPECT_EQ(splits[split].count(id), 1u) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 612);
}

TEST(MatReal, MissingVariableIsDataErrorNamingIt) {
  REQUIRE_DATA_FILE("flowers102/setid.mat");
  const std::string path = flowers("setid.mat");
  const std::string message =
      error_of<vae::DataError>([&] { vae::read_mat_vector(path, "trainid"); }, path);
  EXPECT_TRUE(contains(message, "'trainid'") && contains(message, "not found")) << message;
  EXPECT_TRUE(contains(message, "trnid")) << "should list the variables there: " << message;
}

#if VAE_TEST_HAVE_MATIO
// Writes variables with libmatio itself, so the reader is tested on files of every numeric type.
void write_mat(const std::string& path, bool compressed,
               const std::function<void(mat_t*, matio_compression)>& add) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  add(mat, compressed ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE);
  Mat_Close(mat);
}

template <typename T>
void add_variable(mat_t* mat, matio_compression compression, const char* name, matio_classes type,
                  matio_types data_type, size_t rows, size_t cols, std::vector<T> values) {
  size_t dims[2] = {rows, cols};
  matvar_t* var = Mat_VarCreate(name, type, data_type, 2, dims, values.data(), 0);
  ASSERT_NE(var, nullptr);
  EXPECT_EQ(Mat_VarWrite(mat, var, compression), 0);
  Mat_VarFree(var);
}

TEST(MatGenerated, ReadsEveryNumericTypeAndShape) {
  ScratchFolder scratch;
  for (const bool compressed : {false, true}) {
    const std::string path = scratch.file(compressed ? "zipped.mat" : "plain.mat");
    write_mat(path, compressed, [](mat_t* mat, matio_compression compression) {
      add_variable<double>(mat, compression, "row", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 4, {3, 1, 4, 1});
      add_variable<double>(mat, compression, "column", MAT_C_DOUBLE, MAT_T_DOUBLE, 3, 1,
                           {-2, 0, 7});
      add_variable<uint8_t>(mat, compression, "bytes", MAT_C_UINT8, MAT_T_UINT8, 1, 3,
                            {0, 128, 255});
      add_variable<int32_t>(mat, compression, "ints", MAT_C_INT32, MAT_T_INT32, 1, 2, {-5, 100000});
      add_variable<double>(mat, compression, "matrix", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, 2,
                           {1, 2, 3, 4});
      add_variable<double>(mat, compression, "fractions", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 2,
                           {1, 2.5});
    });
    EXPECT_EQ(vae::read_mat_vector(path, "row"), (std::vector<int64_t>{3, 1, 4, 1}));
    EXPECT_EQ(vae::read_mat_vector(path, "column"), (std::vector<int64_t>{-2, 0, 7}));
    EXPECT_EQ(vae::read_mat_vector(path, "bytes"), (std::vector<int64_t>{0, 128, 255}));
    EXPECT_EQ(vae::read_mat_vector(path, "ints"), (std::vector<int64_t>{-5, 100000}));
    std::string message =
        error_of<vae::DataError>([&] { vae::read_mat_vector(path, "matrix"); }, path);
    EXPECT_TRUE(contains(message, "2 x 2") && contains(message, "'matrix'")) << message;
    message = error_of<vae::DataError>([&] { vae::read_mat_vector(path, "fractions"); }, path);
    EXPECT_TRUE(contains(message, "not an integer")) << message;
  }
}

TEST(MatDamaged, GeneratedFilesCutOrCorruptedFailCleanly) {
  ScratchFolder scratch;
  for (const bool compressed : {false, true}) {
    const std::string source = scratch.file(compressed ? "zipped.mat" : "plain.mat");
    write_mat(source, compressed, [](mat_t* mat, matio_compression compression) {
      add_variable<double>(mat, compression, "first", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 6,
                           {1, 2, 3, 4, 5, 6});
      add_variable<double>(mat, compression, "labels", MAT_C_DOUBLE, MAT_T_DOUBLE, 1, 3, {7, 8, 9});
    });
    const Bytes whole = read_bytes(source);
    const std::string path = scratch.file("damaged.mat");
    for (size_t cut = 0; cut + 1 < whole.size(); ++cut) {
      write_bytes(path, Bytes(whole.begin(), whole.begin() + cut));
      error_of<vae::DataError>([&] { vae::read_mat_vector(path, "labels"); }, path);
    }
    // Uncompressed data has no checksum, so a damaged value may go unnoticed; a damaged tag or
    // dimension must still be a DataError, never a crash or a huge allocation.
    for (size_t position = 128; position < whole.size(); ++position) {
      for (const uint8_t value : {0x00, 0x7f, 0xff}) {
        Bytes damaged = whole;
        damaged[position] = value;
        write_bytes(path, damaged);
        try {
          vae::read_mat_vector(path, "labels");
        } catch (const vae::DataError&) {
        }
      }
    }
  }
}
#else
TEST(MatGenerated, ReadsEveryNumericTypeAndShape) { GTEST_SKIP() << "libmatio (the independent writer of these files) is missing"; }
TEST(MatDamaged, GeneratedFilesCutOrCorruptedFailCleanly) { GTEST_SKIP() << "libmatio (the independent writer of these files) is missing"; }
#endif

TEST(MatDamaged, MissingFileIsIoError) {
  ScratchFolder scratch;
  const std::string path = scratch.file("setid.mat");
  error_of<vae::IoError>([&] { vae::read_mat_vector(path, "trnid"); }, path);
}

TEST(MatDamaged, GarbageIsDataError) {
  ScratchFolder scratch;
  std::mt19937 random(42);
  Bytes garbage(4096);
  for (auto& byte : garbage) byte = static_cast<uint8_t>(random());
  const std::string path = scratch.file("garbage.mat");
  write_bytes(path, garbage);
  error_of<vae::DataError>([&] { vae::read_mat_vector(path, "labels"); }, path);
  write_text(path, "MATLAB 5.0 MAT-file, but then the download failed: <html>503</html>");
  error_of<vae::DataError>([&] { vae::read_mat_vector(path, "labels"); }, path);
  write_bytes(path, {});
  error_of<vae::DataError>([&] { vae::read_mat_vector(path, "labels"); }, path);
}

TEST(MatDamaged, TruncatedRealFileIsDataErrorAtEveryCut) {
  REQUIRE_DATA_FILE("flowers102/setid.mat");
  ScratchFolder scratch;
  const Bytes whole = read_bytes(flowers("setid.mat"));
  const std::string path = scratch.file("setid.mat");
  // Every cut point must fail cleanly, whichever variable is asked for.
  for (size_t cut = 0; cut < whole.size(); cut += 97) {
    write_bytes(path, Bytes(whole.begin(), whole.begin() + cut));
    for (const char* variable : {"trnid", "tstid"}) {
      error_of<vae::DataError>([&] { vae::read_mat_vector(path, variable); }, path);
    }
  }
  write_bytes(path, Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  const std::string message =
      error_of<vae::DataError>([&] { vae::read_mat_vector(path, "tstid"); }, path);
  EXPECT_TRUE(contains(message, "truncated")) << message;
}

TEST(MatDamaged, CorruptedRealFileIsDataError) {
  REQUIRE_DATA_FILE("flowers102/imagelabels.mat");
  ScratchFolder scratch;
  const Bytes whole = read_bytes(flowers("imagelabels.mat"));
  const std::string path = scratch.file("imagelabels.mat");
  // Any damaged byte after the 128-byte text header breaks a tag, a size or the zlib checksum.
  for (size_t position = 128; position < whole.size(); position += 3) {
    Bytes damaged = whole;
    damaged[position] ^= 0xa5;
    write_bytes(path, damaged);
    error_of<vae::DataError>([&] { vae::read_mat_vector(path, "labels"); }, path);
  }
}

// ---------------------------------------------------------------------------------------------
// CelebA partition lists

using Partition = std::vector<std::pair<std::string, int>>;

TEST(CelebaPartition, ReadsOriginalTxt) {
  ScratchFolder scratch;
  const std::string path = scratch.file("list_eval_partition.txt");
  write_text(path, "000001.jpg 0\r\n000002.jpg\t1\n\n  000003.jpg   2  \r\n000004.jpg 0");
  EXPECT_EQ(
      vae::read_celeba_partition(path),
      (Partition{{"000001.jpg", 0}, {"000002.jpg", 1}, {"000003.jpg", 2}, {"000004.jpg", 0}}));
}

TEST(CelebaPartition, ReadsKaggleCsv) {
  ScratchFolder scratch;
  const std::string path = scratch.file("list_eval_partition.csv");
  write_text(path, "image_id,partition\r\n000001.jpg,0\r\n000002.jpg,2\r\n\r\n000003.jpg,1\r\n");
  EXPECT_EQ(vae::read_celeba_partition(path),
            (Partition{{"000001.jpg", 0}, {"000002.jpg", 2}, {"000003.jpg", 1}}));
  // Recognised by its first line even under another name.
  const std::string renamed = scratch.file("partition.txt");
  write_text(renamed, "image_id,partition\n000009.jpg,1\n");
  EXPECT_EQ(vae::read_celeba_partition(renamed), (Partition{{"000009.jpg", 1}}));
}

TEST(CelebaPartition, MalformedLinesAreDataErrorsWithLineNumbers) {
  ScratchFolder scratch;
  const std::string path = scratch.file("list_eval_partition.txt");
  write_text(path, "000001.jpg 0\n000002.jpg 1\n000003.jpg 7\n");
  std::string message = error_of<vae::DataError>([&] { vae::read_celeba_partition(path); }, path);
  EXPECT_TRUE(contains(message, path + ":3:") && contains(message, "'7'")) << message;

  write_text(path, "000001.jpg 0\n\n000003.jpg\n");
  message = error_of<vae::DataError>([&] { vae::read_celeba_partition(path); }, path);
  EXPECT_TRUE(contains(message, path + ":3:")) << message;

  write_text(path, "000001.jpg 0 extra\n");
  message = error_of<vae::DataError>([&] { vae::read_celeba_partition(path); }, path);
  EXPECT_TRUE(contains(message, path + ":1:")) << message;

  const std::string csv = scratch.file("list_eval_partition.csv");
  write_text(csv, "image_id,partition\n000001.jpg,0\n000002.jpg,-1\n");
  message = error_of<vae::DataError>([&] { vae::read_celeba_partition(csv); }, csv);
  EXPECT_TRUE(contains(message, csv + ":3:")) << message;
  write_text(csv, "image_id,partition\n000001.jpg;0\n");
  message = error_of<vae::DataError>([&] { vae::read_celeba_partition(csv); }, csv);
  EXPECT_TRUE(contains(message, csv + ":2:")) << message;
}

TEST(CelebaPartition, MissingFileIsIoError) {
  ScratchFolder scratch;
  const std::string path = scratch.file("list_eval_partition.txt");
  error_of<vae::IoError>([&] { vae::read_celeba_partition(path); }, path);
}

// ---------------------------------------------------------------------------------------------
// Image folders

TEST(FolderImages, ListsImagesRecursivelySortedCaseInsensitive) {
  ScratchFolder scratch;
  const std::string root = scratch.file("images");
  for (const char* name : {"b/z.PNG", "b/deep/a.jpeg", "a.Jpg", "c.bmp", "b/y.JPEG", "notes.txt",
                           "d.gif", "b/deep/readme.md", "png"}) {
    write_text(root + "/" + name, "x");
  }
  fs::create_directories(root + "/empty_folder.png");  // a folder, not an image
  EXPECT_EQ(vae::list_images_recursive(root),
            (std::vector<std::string>{root + "/a.Jpg", root + "/b/deep/a.jpeg", root + "/b/y.JPEG",
                                      root + "/b/z.PNG", root + "/c.bmp"}));
  fs::create_directories(scratch.file("none"));
  EXPECT_TRUE(vae::list_images_recursive(scratch.file("none")).empty());
}

TEST(FolderImages, RealFlowersJpegFolder) {
  REQUIRE_DATA_FILE("flowers102/jpg");
  const auto files = vae::list_images_recursive(flowers("jpg"));
  ASSERT_EQ(files.size(), 612u);
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  EXPECT_EQ(fs::path(files.front()).filename(), "image_00001.jpg");
}

TEST(FolderImages, MissingFolderIsIoError) {
  ScratchFolder scratch;
  const std::string missing = scratch.file("missing");
  error_of<vae::IoError>([&] { vae::list_images_recursive(missing); }, missing);
  error_of<vae::IoError>([&] { vae::list_class_folders(missing, nullptr); }, missing);
  const std::string file = scratch.file("file.png");
  write_text(file, "x");
  error_of<vae::IoError>([&] { vae::list_images_recursive(file); }, file);
}

TEST(FolderClasses, LabelsFollowSortedClassNames) {
  ScratchFolder scratch;
  const std::string root = scratch.file("train");
  for (const char* name : {"dog/2.png", "dog/1.PNG", "cat/b.jpg", "cat/nested/a.png",
                           "cat/skip.txt", "airplane/x.bmp"}) {
    write_text(root + "/" + name, "x");
  }
  write_text(root + "/README.txt", "not a class");
  std::vector<std::string> classes;
  const auto files = vae::list_class_folders(root, &classes);
  EXPECT_EQ(classes, (std::vector<std::string>{"airplane", "cat", "dog"}));
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& file : files) got.emplace_back(file.path, file.label);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int64_t>>{{root + "/airplane/x.bmp", 0},
                                                               {root + "/cat/b.jpg", 1},
                                                               {root + "/cat/nested/a.png", 1},
                                                               {root + "/dog/1.PNG", 2},
                                                               {root + "/dog/2.png", 2}}));
  EXPECT_EQ(vae::list_class_folders(root, nullptr).size(), 5u);
}

TEST(FolderClasses, EmptyClassOrNoClassesIsDataError) {
  ScratchFolder scratch;
  const std::string root = scratch.file("train");
  write_text(root + "/cat/a.png", "x");
  write_text(root + "/dog/notes.txt", "no images here");
  std::string message =
      error_of<vae::DataError>([&] { vae::list_class_folders(root, nullptr); }, root);
  EXPECT_TRUE(contains(message, "dog")) << message;

  const std::string flat = scratch.file("flat");
  write_text(flat + "/a.png", "x");
  message = error_of<vae::DataError>([&] { vae::list_class_folders(flat, nullptr); }, flat);
  EXPECT_TRUE(contains(message, "no class")) << message;
}

// A FIFO (or device) where a data file should be would block the reader forever: every reader
// refuses what is not a regular file, at once and naming it.
TEST(Formats, AFifoInPlaceOfADataFileIsRefusedAtOnce) {
  ScratchFolder dir;
  const std::string fifo = dir.file("imagelabels.mat");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& read : std::vector<std::function<void()>>{
           [&] { vae::read_file_bytes(fifo); },
           [&] { vae::read_mat_vector(fifo, "labels"); },
           [&] { vae::read_celeba_partition(fifo); }}) {
    try {
      read();
      FAIL() << "a FIFO was read";
    } catch (const vae::IoError& error) {
      EXPECT_NE(std::string(error.what()).find("imagelabels.mat: not a regular file"), std::string::npos)
          << error.what();
    }
  }
}

// Writing a file never replaces what is not a regular file: a folder, a FIFO or a device (through
// a link too) is refused and left as it was; a link to a regular file is written through.
TEST(Formats, WritesGoThroughLinksToFilesAndNeverReplaceOtherThings) {
  ScratchFolder dir;
  const fs::path folder = dir.path() / "out.png";
  fs::create_directories(folder);
  const fs::path fifo = dir.path() / "pipe.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path to_device = dir.path() / "stdout.png";
  fs::create_symlink("/dev/null", to_device);
  const fs::path dangling = dir.path() / "dangling.png";
  fs::create_symlink(dir.path() / "nowhere" / "x.png", dangling);
  const std::string bytes = "new bytes";
  const std::vector<std::pair<fs::path, std::string>> refused = {
      {folder, "is a folder, not a file"}, {fifo, "is a FIFO, not a file"},
      {to_device, "is a link to something that is not a regular file"}, {dangling, "is a symbolic link to nothing"}};
  for (const auto& [path, expected] : refused) {
    try {
      vae::write_file_atomically(path.string(), bytes.data(), bytes.size());
      FAIL() << path << " was written";
    } catch (const vae::IoError& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
  }
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_symlink(to_device));
  EXPECT_TRUE(fs::is_symlink(dangling));
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << "left behind: " << entry.path();
  }
  // A link to a regular file: the file gets the bytes, the link stays a link.
  const fs::path real = dir.path() / "real.png";
  std::ofstream(real) << "old";
  const fs::path link = dir.path() / "link.png";
  fs::create_symlink(real, link);
  vae::write_file_atomically(link.string(), bytes.data(), bytes.size());
  EXPECT_TRUE(fs::is_symlink(link));
  std::ifstream in(real);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, bytes);
}

// A partition list names files inside the image folder: a name that leaves it (absolute, '..') is
// refused naming the line; an editor's byte order mark before the first name is dropped.
TEST(Formats, PartitionListsStayInsideTheDatasetAndLoseABom) {
  ScratchFolder dir;
  const std::string list = dir.file("list_eval_partition.txt");
  std::ofstream(list) << "\xEF\xBB\xBF" "000001.jpg 0\n000002.jpg 2\n";
  const auto entries = vae::read_celeba_partition(list);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].first, "000001.jpg");
  for (const std::string bad : {"../../etc/passwd 0", "/etc/passwd 1", "a/../../b.jpg 2"}) {
    std::ofstream(list, std::ios::trunc) << "000001.jpg 0\n" << bad << "\n";
    try {
      vae::read_celeba_partition(list);
      FAIL() << bad << " accepted";
    } catch (const vae::DataError& error) {
      EXPECT_NE(std::string(error.what()).find("list_eval_partition.txt:2: "), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("is not a file name inside the image folder"), std::string::npos)
          << error.what();
    }
  }
}

// A gzip bomb in place of an MNIST file: its IDX header declares 10 images of 28 x 28, and 64 MB
// of zeros follow. Inflating stops as soon as more comes out than the header declares.
TEST(Formats, AGzipBombStopsAtTheSizeItsHeaderDeclares) {
  ScratchFolder dir;
  Bytes plain;
  append_be32(&plain, 0x00000803);
  append_be32(&plain, 10);
  append_be32(&plain, 28);
  append_be32(&plain, 28);
  plain.resize(plain.size() + (size_t(64) << 20), 0);
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip_bytes(plain));
  try {
    vae::read_idx_images(dir.file("train-images-idx3-ubyte.gz"));
    FAIL() << "the bomb was read";
  } catch (const vae::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("inflates to more than the 7856 bytes its IDX header declares"),
              std::string::npos) << error.what();
  }
}

}  // namespace
