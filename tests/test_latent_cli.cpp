// The latent-space commands through the real `vae` program: `sample --around`, `interpolate`,
// `traverse` and `encode` on a tiny trained run and on a checkpoint whose weights fix the KL per
// dimension; picture sizes, tiles against `vae reconstruct`'s, row order, CSV/NPY contents, and
// every command's bad-input paths (one line, non-zero exit, no output left behind).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_support.h"
#include "model_support.h"
#include "vae/train/checkpoint.h"
#include "vae/config/config.h"
#include "vae/tensor/images.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"
#include "vae/analysis/latent.h"
#include "vae/data/pixels.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

constexpr int64_t kSide = 16;  // image size of tiny_config()
constexpr int64_t kCell = 18;  // a tile plus the grid padding of 2

int64_t grid_side(int64_t tiles) { return tiles * kCell + 2; }

// Tile (row, column) of a grid PNG of kSide tiles: its pixels, row-major.
std::vector<uint8_t> tile(const vae::Image& grid, int64_t row, int64_t column) {
  std::vector<uint8_t> pixels;
  for (int64_t y = 0; y < kSide; ++y) {
    for (int64_t x = 0; x < kSide * grid.channels; ++x) {
      const int64_t gy = 2 + row * kCell + y, gx = (2 + column * kCell) * grid.channels + x;
      pixels.push_back(grid.pixels[size_t(gy * grid.width * grid.channels + gx)]);
    }
  }
  return pixels;
}

int max_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int most = 0;
  for (size_t i = 0; i < a.size(); ++i) most = std::max(most, std::abs(int(a[i]) - int(b[i])));
  return most;
}

// A 16x16 gray picture with a bright rectangle, so that pictures differ.
void write_picture(const fs::path& path, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  vae::Image image{kSide, kSide, 1, std::vector<uint8_t>(kSide * kSide, 0)};
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = x0; x < x1; ++x) image.pixels[size_t(y * kSide + x)] = 255;
  }
  vae::write_png(path.string(), image);
}

nlohmann::json tiny_resolved(const std::vector<std::string>& overrides = {}) {
  auto resolved = vae::resolve_config_json(tiny_config(), "tiny");
  for (const auto& assignment : overrides) vae::apply_override(resolved, assignment);
  return resolved;
}

// A checkpoint of tiny_config() whose posterior ignores the picture: mu = (0, 3, 1, 2) and
// logvar = 0, so the KL per dimension is mu^2 / 2 = (0, 4.5, 0.5, 2): rows 1, 3, 2, 0.
void write_fixed_checkpoint(const fs::path& path, const std::vector<std::string>& overrides = {}) {
  vae::CheckpointMeta meta;
  meta.config = tiny_resolved(overrides);
  torch::manual_seed(0);
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(meta.config)));
  vae_test::fix_posterior(model, {0.0f, 3.0f, 1.0f, 2.0f});
  vae::save_checkpoint(path.string(), meta, model, nullptr);
}

// "row N: dim D[, KL K nats]" lines of `vae traverse`'s stdout -> (D, K or NaN).
std::vector<std::pair<int64_t, double>> traverse_rows(const std::string& out) {
  std::vector<std::pair<int64_t, double>> rows;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("row ", 0) != 0) continue;
    const auto dim_at = line.find("dim ");
    const auto kl_at = line.find("KL ");
    rows.emplace_back(std::stoll(line.substr(dim_at + 4)),
                      kl_at == std::string::npos ? std::nan("") : std::stod(line.substr(kl_at + 3)));
  }
  return rows;
}

std::vector<int64_t> dims_of(const std::vector<std::pair<int64_t, double>>& rows) {
  std::vector<int64_t> dims;
  for (const auto& row : rows) dims.push_back(row.first);
  return dims;
}

// Files left in `dir` whose name holds `needle` (temporaries of atomic writes are "*.tmp.*").
size_t files_containing(const fs::path& dir, const std::string& needle) {
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    count += entry.path().filename().string().find(needle) != std::string::npos ? 1 : 0;
  }
  return count;
}

// Each test works on its own copy of the CTest fixture tiny_run (`vae train` on tiny_config()),
// with two pictures a.png and b.png beside it.
class Latent : public FixtureTest {
 protected:
  Latent() : FixtureTest("tiny_run") {}
  void SetUp() override {
    FixtureTest::SetUp();
    write_picture(*dir_ / "a.png", 2, 3, 9, 12);
    write_picture(*dir_ / "b.png", 8, 6, 15, 10);
  }
};

TEST_F(Latent, SampleAroundStartsWithThePictureAndDrawsFromItsPosterior) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path& dir = *dir_;
  ASSERT_EQ(vae_run(dir, {"reconstruct", "--input", "a.png", "--out", "rec_a.png"}).code, 0);
  const auto reconstruction = tile(vae::load_image((dir / "rec_a.png").string()), 1, 0);
  const auto original = vae::load_image((dir / "a.png").string()).pixels;

  // Default layout: N + 1 tiles in a square-ish grid (9 -> 3 x 3).
  const Result square = vae_run(dir, {"sample", "--around", "a.png", "-n", "8", "--out", "square.png"});
  ASSERT_EQ(square.code, 0) << square.err;
  EXPECT_NE(square.out.find("square.png"), std::string::npos);
  EXPECT_NE(square.err.find("drawn from q(z|x)"), std::string::npos) << square.err;
  const auto grid = vae::load_image((dir / "square.png").string());
  EXPECT_EQ(grid.width, grid_side(3));
  EXPECT_EQ(grid.height, grid_side(3));

  // One row: the picture, then 5 variations.
  ASSERT_EQ(vae_run(dir, {"sample", "--around", "a.png", "-n", "5", "--nrow", "6", "--seed", "1",
                          "--out", "warm.png"}).code, 0);
  const auto warm = vae::load_image((dir / "warm.png").string());
  ASSERT_EQ(warm.width, grid_side(6));
  ASSERT_EQ(warm.height, grid_side(1));
  EXPECT_EQ(tile(warm, 0, 0), original);
  for (int64_t i = 1; i <= 5; ++i) {
    for (int64_t j = i + 1; j <= 5; ++j) EXPECT_NE(tile(warm, 0, i), tile(warm, 0, j)) << i << " " << j;
  }
  // Same seed, same picture; temperature 0: every draw is the posterior mean, i.e. the
  // reconstruction (at most one grey level apart: decoded in another batch).
  ASSERT_EQ(vae_run(dir, {"sample", "--around", "a.png", "-n", "5", "--nrow", "6", "--seed", "1",
                          "--out", "again.png"}).code, 0);
  EXPECT_EQ(vae::load_image((dir / "again.png").string()).pixels, warm.pixels);
  ASSERT_EQ(vae_run(dir, {"sample", "--around", "a.png", "-n", "5", "--nrow", "6", "--temperature", "0",
                          "--out", "cold.png"}).code, 0);
  const auto cold = vae::load_image((dir / "cold.png").string());
  for (int64_t i = 1; i <= 5; ++i) EXPECT_LE(max_difference(tile(cold, 0, i), reconstruction), 1) << i;
}

TEST_F(Latent, InterpolationEndsAreTheReconstructions) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path& dir = *dir_;
  ASSERT_EQ(vae_run(dir, {"reconstruct", "--input", "a.png", "--input", "b.png", "--out", "rec_ab.png"}).code, 0);
  const auto rec = vae::load_image((dir / "rec_ab.png").string());  // originals above reconstructions
  const auto rec_a = tile(rec, 1, 0), rec_b = tile(rec, 1, 1);

  for (const char* mode : {"--steps", "--slerp"}) {  // linear, then spherical
    std::vector<std::string> args = {"interpolate", "--from", "a.png", "--to", "b.png", "--steps", "5",
                                     "-o", "strip.png"};
    if (std::string(mode) == "--slerp") args.push_back("--slerp");
    const Result result = vae_run(dir, args);
    ASSERT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("strip.png"), std::string::npos);
    const auto strip = vae::load_image((dir / "strip.png").string());
    ASSERT_EQ(strip.width, grid_side(5)) << mode;
    ASSERT_EQ(strip.height, grid_side(1)) << mode;
    EXPECT_EQ(tile(strip, 0, 0), rec_a) << mode;
    EXPECT_EQ(tile(strip, 0, 4), rec_b) << mode;
    EXPECT_NE(tile(strip, 0, 2), rec_a) << mode;
    EXPECT_NE(tile(strip, 0, 2), rec_b) << mode;
  }
  // --originals: the fitted pictures at the ends, steps + 2 tiles; default 10 steps.
  const Result framed = vae_run(dir, {"interpolate", "--from", "a.png", "--to", "b.png", "--originals"});
  ASSERT_EQ(framed.code, 0) << framed.err;
  const auto strip = vae::load_image((dir / "interpolation.png").string());
  ASSERT_EQ(strip.width, grid_side(12));
  EXPECT_EQ(tile(strip, 0, 0), vae::load_image((dir / "a.png").string()).pixels);
  EXPECT_EQ(tile(strip, 0, 1), rec_a);
  EXPECT_EQ(tile(strip, 0, 10), rec_b);
  EXPECT_EQ(tile(strip, 0, 11), vae::load_image((dir / "b.png").string()).pixels);
}

TEST_F(Latent, TraverseOrdersRowsByKlAndSizesTheGrid) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path& dir = *dir_;
  write_fixed_checkpoint(dir / "fixed.pt");
  const Result all = vae_run(dir, {"traverse", "--ckpt", "fixed.pt", "-o", "fixed.png"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(lines_of(all.out).front(), "fixed.png");
  EXPECT_NE(all.err.find("validation split"), std::string::npos) << all.err;
  const auto rows = traverse_rows(all.out);
  EXPECT_EQ(dims_of(rows), (std::vector<int64_t>{1, 3, 2, 0})) << all.out;
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_NEAR(rows[0].second, 4.5, 1e-3);
  EXPECT_NEAR(rows[3].second, 0.0, 1e-3);
  auto picture = vae::load_image((dir / "fixed.png").string());
  EXPECT_EQ(picture.width, grid_side(9));  // 9 steps by default
  EXPECT_EQ(picture.height, grid_side(4));

  const Result some = vae_run(dir, {"traverse", "--ckpt", "fixed.pt", "--dims", "0,2", "--steps", "5",
                                    "--range", "2", "-o", "some.png"});
  ASSERT_EQ(some.code, 0) << some.err;
  EXPECT_EQ(dims_of(traverse_rows(some.out)), (std::vector<int64_t>{2, 0}));
  picture = vae::load_image((dir / "some.png").string());
  EXPECT_EQ(picture.width, grid_side(5));
  EXPECT_EQ(picture.height, grid_side(2));

  // The trained run around a picture: every dimension once, KL largest first.
  const Result trained = vae_run(dir, {"traverse", "--input", "a.png", "--steps", "3"});
  ASSERT_EQ(trained.code, 0) << trained.err;
  const auto trained_rows = traverse_rows(trained.out);
  ASSERT_EQ(trained_rows.size(), 4u) << trained.out;
  for (size_t i = 1; i < trained_rows.size(); ++i) EXPECT_GE(trained_rows[i - 1].second, trained_rows[i].second);
  picture = vae::load_image((dir / "traverse.png").string());
  EXPECT_EQ(picture.width, grid_side(3));
  EXPECT_EQ(picture.height, grid_side(4));
}

TEST(LatentNoData, TraverseFallsBackToThePictureThenToIndexOrder) {
  const fs::path dir = fresh_dir("latent_nodata");
  write_picture(dir / "a.png", 2, 3, 9, 12);
  write_fixed_checkpoint(dir / "nodata.pt", {"data.dataset=folder", "data.root=" + (dir / "gone").string()});
  const Result with_input = vae_run(dir, {"traverse", "--ckpt", "nodata.pt", "--input", "a.png"});
  ASSERT_EQ(with_input.code, 0) << with_input.err;
  EXPECT_NE(with_input.err.find("posterior of a.png alone"), std::string::npos) << with_input.err;
  EXPECT_EQ(dims_of(traverse_rows(with_input.out)), (std::vector<int64_t>{1, 3, 2, 0}));
  const Result bare = vae_run(dir, {"traverse", "--ckpt", "nodata.pt", "-o", "bare.png"});
  ASSERT_EQ(bare.code, 0) << bare.err;
  EXPECT_NE(bare.err.find("index order"), std::string::npos) << bare.err;
  const auto rows = traverse_rows(bare.out);
  EXPECT_EQ(dims_of(rows), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(std::isnan(rows[0].second));
}

TEST_F(Latent, EncodeWritesCsvAndNpyWithTheFileNames) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path& dir = *dir_;
  fs::create_directories(dir / "pics" / "sub");
  write_picture(dir / "pics" / "z.png", 1, 1, 5, 5);
  write_picture(dir / "pics" / "sub" / "c.png", 10, 2, 14, 15);
  std::ofstream(dir / "pics" / "notes.txt") << "not a picture";
  const std::vector<std::string> files = {"a.png", "pics/sub/c.png", "pics/z.png"};

  const Result csv = vae_run(dir, {"encode", "--input", "a.png", "--input", "pics", "--out", "z.csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_NE(csv.out.find("z.csv"), std::string::npos);
  const auto lines = lines_of(read_bytes(dir / "z.csv"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "file,mu_0,mu_1,mu_2,mu_3,logvar_0,logvar_1,logvar_2,logvar_3");

  // The same figures computed here from the checkpoint.
  vae::CheckpointReader reader((dir / "runs" / "tiny" / "checkpoints" / "last.pt").string());
  const vae::Config config = vae::config_from_json(reader.meta().config);
  vae::VAE model = reader.load_model(torch::kCPU);
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> pictures;
  for (const auto& file : files) pictures.push_back(vae::load_fitted_image((dir / file).string(), config, nullptr));
  const auto [mu, logvar] = model->encode(vae::to_model_input(torch::stack(pictures), torch::kCPU, vae::PixelRange::Unit));
  std::vector<std::vector<float>> csv_values;
  for (size_t i = 0; i < files.size(); ++i) {
    std::stringstream row(lines[i + 1]);
    std::string field;
    std::getline(row, field, ',');
    EXPECT_EQ(field, files[i]);
    csv_values.emplace_back();
    while (std::getline(row, field, ',')) csv_values.back().push_back(std::stof(field));
    ASSERT_EQ(csv_values.back().size(), 8u);
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR(csv_values[i][size_t(j)], mu[int64_t(i)][j].item<float>(), 1e-5);
      EXPECT_NEAR(csv_values[i][size_t(4 + j)], logvar[int64_t(i)][j].item<float>(), 1e-5);
    }
  }

  const Result npy = vae_run(dir, {"encode", "--input", "a.png", "--input", "pics", "--out", "z.npy"});
  ASSERT_EQ(npy.code, 0) << npy.err;
  EXPECT_NE(npy.out.find("z.files.txt"), std::string::npos) << npy.out;
  EXPECT_EQ(lines_of(read_bytes(dir / "z.files.txt")), files);
  const std::string bytes = read_bytes(dir / "z.npy");
  ASSERT_GE(bytes.size(), 10u);
  const size_t start = 10 + (size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8);
  EXPECT_EQ(start % 64, 0u);
  EXPECT_NE(bytes.substr(0, start).find("'shape': (3, 8), }"), std::string::npos);
  ASSERT_EQ(bytes.size(), start + 3 * 8 * 4);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = 0; j < 8; ++j) {
      float value;
      std::memcpy(&value, bytes.data() + start + 4 * (i * 8 + j), 4);  // little-endian host
      EXPECT_EQ(value, csv_values[i][j]) << i << " " << j;  // CSV floats are exact
    }
  }
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
    const std::string command = "cd " + quote(dir.string()) +
                                " && /usr/bin/python3 -c \"import numpy as np; a = np.load('z.npy'); "
                                "print(a.shape, a.dtype, float(a[1, 5]))\" > numpy.txt 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << read_bytes(dir / "numpy.txt");
    EXPECT_EQ(read_bytes(dir / "numpy.txt").substr(0, 15), "(3, 8) float32 ");
    EXPECT_NEAR(std::stod(read_bytes(dir / "numpy.txt").substr(15)), csv_values[1][5], 1e-6);
  }
}

// Every command's bad input: a missing checkpoint, a picture that is not one, and the command's
// own options. One error line naming the problem, the exit status, and no output file.
struct BadLatentInput {
  std::string name;
  std::vector<std::string> args;
  int code;
  std::string expected;
  std::string output;  // must not exist afterwards
};

// Test names show the case's name, not the struct's bytes.
void PrintTo(const BadLatentInput& input, std::ostream* out) { *out << input.name; }

class LatentBadInput : public ::testing::TestWithParam<BadLatentInput> {};

TEST_P(LatentBadInput, FailsWithOneLineAndLeavesNoOutput) {
  const fs::path dir = fresh_dir("latent_bad_" + GetParam().name);
  write_fixed_checkpoint(dir / "fixed.pt");
  write_picture(dir / "a.png", 2, 3, 9, 12);
  std::ofstream(dir / "garbage.png") << "\x89PNG garbage, not an image";
  fs::create_directories(dir / "empty");
  const Result result = vae_run(dir, GetParam().args);
  EXPECT_EQ(result.code, GetParam().code) << result.err;
  EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find(GetParam().expected), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(dir / GetParam().output)) << GetParam().output;
  EXPECT_EQ(files_containing(dir, ".tmp."), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Commands, LatentBadInput,
    ::testing::Values(
        BadLatentInput{"TemperatureNan", {"sample", "--ckpt", "fixed.pt", "--temperature", "nan", "-o", "o.png"}, 2, "'nan' is not a finite number", "o.png"},
        BadLatentInput{"TraverseRangeInf", {"traverse", "--ckpt", "fixed.pt", "--range", "inf", "-o", "o.png"}, 2, "'inf' is not a finite number", "o.png"},
        BadLatentInput{"AroundNoCheckpoint", {"sample", "--around", "a.png", "--ckpt", "nope.pt", "-o", "o.png"}, 1, "nope.pt", "o.png"},
        BadLatentInput{"AroundNoRuns", {"sample", "--around", "a.png", "-o", "o.png"}, 1, "no checkpoint found", "o.png"},
        BadLatentInput{"AroundGarbage", {"sample", "--around", "garbage.png", "--ckpt", "fixed.pt", "-o", "o.png"}, 1, "garbage.png", "o.png"},
        BadLatentInput{"AroundMissingPicture", {"sample", "--around", "absent.png", "--ckpt", "fixed.pt", "-o", "o.png"}, 1, "absent.png", "o.png"},
        BadLatentInput{"InterpolateNoCheckpoint", {"interpolate", "--ckpt", "nope.pt", "--from", "a.png", "--to", "a.png"}, 1, "nope.pt", "interpolation.png"},
        BadLatentInput{"InterpolateGarbage", {"interpolate", "--ckpt", "fixed.pt", "--from", "a.png", "--to", "garbage.png"}, 1, "garbage.png", "interpolation.png"},
        BadLatentInput{"InterpolateOneStep", {"interpolate", "--ckpt", "fixed.pt", "--from", "a.png", "--to", "a.png", "--steps", "1"}, 2, "--steps", "interpolation.png"},
        BadLatentInput{"InterpolateNoTo", {"interpolate", "--ckpt", "fixed.pt", "--from", "a.png"}, 2, "--to", "interpolation.png"},
        BadLatentInput{"TraverseNoCheckpoint", {"traverse", "--ckpt", "nope.pt"}, 1, "nope.pt", "traverse.png"},
        BadLatentInput{"TraverseGarbage", {"traverse", "--ckpt", "fixed.pt", "--input", "garbage.png"}, 1, "garbage.png", "traverse.png"},
        BadLatentInput{"TraverseDimOutOfRange", {"traverse", "--ckpt", "fixed.pt", "--dims", "0,4"}, 2, "--dims: dimension 4 is out of range: the checkpoint's latent size is 4", "traverse.png"},
        BadLatentInput{"TraverseDimsMalformed", {"traverse", "--ckpt", "fixed.pt", "--dims", "1;2"}, 2, "--dims: '1;2' is not", "traverse.png"},
        BadLatentInput{"TraverseBadRange", {"traverse", "--ckpt", "fixed.pt", "--range", "0"}, 2, "--range", "traverse.png"},
        BadLatentInput{"EncodeNoCheckpoint", {"encode", "--ckpt", "nope.pt", "--input", "a.png", "--out", "z.npy"}, 1, "nope.pt", "z.npy"},
        BadLatentInput{"EncodeGarbage", {"encode", "--ckpt", "fixed.pt", "--input", "a.png", "--input", "garbage.png", "--out", "z.npy"}, 1, "garbage.png", "z.npy"},
        BadLatentInput{"EncodeGarbageSidecar", {"encode", "--ckpt", "fixed.pt", "--input", "garbage.png", "--out", "z.npy"}, 1, "garbage.png", "z.files.txt"},
        BadLatentInput{"EncodeGarbageCsv", {"encode", "--ckpt", "fixed.pt", "--input", "garbage.png", "--out", "z.csv"}, 1, "garbage.png", "z.csv"},
        BadLatentInput{"EncodeBadExtension", {"encode", "--ckpt", "fixed.pt", "--input", "a.png", "--out", "z.txt"}, 2, "--out: cannot tell the format of 'z.txt': unknown extension '.txt'", "z.txt"},
        BadLatentInput{"EncodeNoExtension", {"encode", "--ckpt", "fixed.pt", "--input", "a.png", "--out", "latents"}, 2, "'latents': it has no extension", "latents"},
        BadLatentInput{"EncodeEmptyFolder", {"encode", "--ckpt", "fixed.pt", "--input", "empty", "--out", "z.csv"}, 1, "empty: no .png", "z.csv"},
        BadLatentInput{"EncodeNoOut", {"encode", "--ckpt", "fixed.pt", "--input", "a.png"}, 2, "--out", "latents.npy"}),
    [](const ::testing::TestParamInfo<BadLatentInput>& info) { return info.param.name; });

}  // namespace
