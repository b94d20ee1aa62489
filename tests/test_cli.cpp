// The real `vae` program end to end: train -> sample -> reconstruct, files and PNG sizes, exit
// codes and one-line messages for bad input, resume, Ctrl-C and non-finite losses.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "vae/train/checkpoint.h"
#include "vae/config/config.h"
#include "vae/model/model.h"
#include "cli_support.h"
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;


// Rows of metrics.csv without the header.
std::vector<std::string> metric_rows(const fs::path& run) {
  std::vector<std::string> rows;
  std::istringstream in(read_bytes(run / "metrics.csv"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) rows.push_back(line);
  return rows;
}

// "epoch,step,split,loss,..." -> the row for (split, step), or "".
std::string row_for(const std::vector<std::string>& rows, const std::string& split, int64_t step) {
  const std::string needle = "," + std::to_string(step) + "," + split + ",";
  for (const auto& row : rows) {
    if (row.find(needle) != std::string::npos) return row.substr(row.find(needle));
  }
  return "";
}

// The loss columns (loss, recon, kl, elbo) of a row, without rates and times.
std::string loss_columns(const std::string& row) {
  std::vector<std::string> fields;
  std::stringstream in(row);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  // row_for strips the epoch: fields = "", step, split, loss, recon, kl, elbo, lr, ...
  if (fields.size() < 7) return "";
  return fields[3] + "," + fields[4] + "," + fields[5] + "," + fields[6];
}

// Each test works on its own copy of the CTest fixture tiny_run: `vae train` on tiny_config().
class Chain : public FixtureTest {
 protected:
  Chain() : FixtureTest("tiny_run") {}
};

TEST_F(Chain, TrainWritesTheRunDirectory) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path run = *dir_ / "runs" / "tiny";
  EXPECT_NE(train_->out.find("run: runs/tiny"), std::string::npos) << train_->out;
  for (const char* file : {"config.json", "train.log", "metrics.csv", "checkpoints/last.pt",
                           "checkpoints/best.pt", "samples/epoch_001.png", "samples/epoch_002.png",
                           "reconstructions/epoch_001.png", "reconstructions/epoch_002.png"}) {
    EXPECT_TRUE(fs::is_regular_file(run / file)) << file;
  }
  EXPECT_TRUE(fs::is_symlink(*dir_ / "runs" / "latest"));
  EXPECT_EQ(fs::canonical(*dir_ / "runs" / "latest"), fs::canonical(run));

  const auto rows = metric_rows(run);
  EXPECT_EQ(read_bytes(run / "metrics.csv").substr(0, 60).find("epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds"), 0u);
  EXPECT_EQ(rows.size(), 8u + 2u);  // 16 steps logged every 2, plus a validation row per epoch
  EXPECT_NE(row_for(rows, "val", 8), "");
  EXPECT_NE(row_for(rows, "val", 16), "");
  EXPECT_NE(read_bytes(run / "train.log").find("validation"), std::string::npos);

  // Grids: 16 images of 16x16, 4 per row, padding 2 -> 4 * 18 + 2 = 74 square.
  const auto samples = vae::load_image((run / "samples" / "epoch_002.png").string());
  EXPECT_EQ(samples.width, 74);
  EXPECT_EQ(samples.height, 74);
  // Reconstructions: 8 validation images and their reconstructions, 4 per row -> 4 rows.
  const auto reconstructions = vae::load_image((run / "reconstructions" / "epoch_002.png").string());
  EXPECT_EQ(reconstructions.width, 74 + 29 + 2);  // and the column labelling the rows orig, recon
  EXPECT_EQ(reconstructions.height, 74);

  const vae::CheckpointReader last((run / "checkpoints" / "last.pt").string());
  EXPECT_EQ(last.meta().epoch, 2);
  EXPECT_EQ(last.meta().step, 16);
  EXPECT_EQ(last.meta().config["name"], "tiny");
}

// --ckpt takes a run folder (its best.pt), RUN:last and RUN:best, and the commands name the real
// file they use, not the runs/latest link.
TEST_F(Chain, CkptTakesARunFolderOrRunColonBestOrLast) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const Result folder = vae_run(*dir_, {"sample", "-n", "2", "--out", "a.png", "--ckpt", "runs/latest"});
  ASSERT_EQ(folder.code, 0) << folder.err;
  EXPECT_NE(folder.err.find("checkpoint runs/tiny/checkpoints/best.pt: the run's best.pt"), std::string::npos)
      << folder.err;
  EXPECT_NE(folder.err.find("samples from runs/tiny/checkpoints/best.pt"), std::string::npos) << folder.err;
  const Result last = vae_run(*dir_, {"sample", "-n", "2", "--out", "b.png", "--ckpt", "runs/tiny:last"});
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_NE(last.err.find("checkpoint runs/tiny/checkpoints/last.pt: last.pt, as runs/tiny:last asks"),
            std::string::npos) << last.err;
  const Result fallback = vae_run(*dir_, {"sample", "-n", "2", "--out", "c.png"});
  EXPECT_NE(fallback.err.find("newest run's checkpoint runs/tiny/checkpoints/last.pt"), std::string::npos)
      << fallback.err;
  fs::remove(*dir_ / "runs" / "tiny" / "checkpoints" / "best.pt");
  const Result no_best = vae_run(*dir_, {"sample", "-n", "2", "--out", "d.png", "--ckpt", "runs/tiny:best"});
  EXPECT_EQ(no_best.code, 1);
  EXPECT_EQ(error_lines(no_best.err), 1u) << no_best.err;
  EXPECT_NE(no_best.err.find("runs/tiny:best: runs/tiny/checkpoints/best.pt does not exist"), std::string::npos)
      << no_best.err;
  EXPECT_FALSE(fs::exists(*dir_ / "d.png"));
  const Result without_best = vae_run(*dir_, {"sample", "-n", "2", "--out", "e.png", "--ckpt", "runs/tiny"});
  EXPECT_EQ(without_best.code, 0) << without_best.err;
  EXPECT_NE(without_best.err.find("the run's last.pt (it has no best.pt)"), std::string::npos) << without_best.err;
}

TEST_F(Chain, TrainingLowersTheValidationLoss) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const auto rows = metric_rows(*dir_ / "runs" / "tiny");
  const double first = std::stod(loss_columns(row_for(rows, "val", 8)));
  const double second = std::stod(loss_columns(row_for(rows, "val", 16)));
  EXPECT_LT(second, first);
}

TEST_F(Chain, SampleUsesTheNewestCheckpointAndWritesAGrid) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const Result result = vae_run(*dir_, {"sample", "-n", "6", "--out", "six.png", "--seed", "3"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("newest run's checkpoint"), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("six.png"), std::string::npos);
  const auto grid = vae::load_image((*dir_ / "six.png").string());
  EXPECT_EQ(grid.width, 3 * 18 + 2);  // ceil(sqrt(6)) = 3 per row
  EXPECT_EQ(grid.height, 2 * 18 + 2);
  EXPECT_EQ(grid.channels, 1);
  // The same seed gives the same picture; another seed another one.
  ASSERT_EQ(vae_run(*dir_, {"sample", "-n", "6", "--out", "again.png", "--seed", "3"}).code, 0);
  ASSERT_EQ(vae_run(*dir_, {"sample", "-n", "6", "--out", "other.png", "--seed", "4", "--nrow", "6",
                            "--ckpt", "runs/tiny/checkpoints/best.pt"}).code, 0);
  EXPECT_EQ(vae::load_image((*dir_ / "again.png").string()).pixels, grid.pixels);
  const auto other = vae::load_image((*dir_ / "other.png").string());
  EXPECT_EQ(other.width, 6 * 18 + 2);
  EXPECT_EQ(other.height, 18 + 2);
}

TEST_F(Chain, ReconstructPreparesAnyInputAsTheTrainingDataAndStacksOriginalsAboveReconstructions) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  vae::Image rgb{40, 30, 3, std::vector<uint8_t>(40 * 30 * 3, 0)};
  for (int64_t y = 10; y < 20; ++y) {
    for (int64_t x = 15; x < 25; ++x) {
      for (int64_t c = 0; c < 3; ++c) rgb.pixels[size_t((y * 40 + x) * 3 + c)] = 255;
    }
  }
  vae::write_png((*dir_ / "wide.png").string(), rgb);
  vae::Image gray{16, 16, 1, std::vector<uint8_t>(256, 0)};
  for (size_t i = 100; i < 140; ++i) gray.pixels[i] = 255;
  vae::write_png((*dir_ / "gray.png").string(), gray);

  const Result result = vae_run(*dir_, {"reconstruct", "--input", "wide.png", "--input", "gray.png",
                                        "--out", "rec.png"});
  ASSERT_EQ(result.code, 0) << result.err;
  // The tiny run's shapes data are square, so a wide picture is stretched as data.resize=stretch says.
  EXPECT_NE(result.err.find("stretched 40x30 to 16x16"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("(the model's data transforms)"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("converted RGB to gray"), std::string::npos) << result.err;
  const auto picture = vae::load_image((*dir_ / "rec.png").string());
  // Two tiles of 16 px per row, then the label column: "recon" is 5 letters of 5 px, 1 px apart,
  // and the grid's 2 px margin.
  EXPECT_EQ(picture.width, 2 * 18 + 2 + 29 + 2);
  EXPECT_EQ(picture.height, 2 * 18 + 2);
  // Top-left tile is the first original: the grayscale, stretched input (bright square centred).
  EXPECT_GT(picture.pixels[size_t((2 + 8) * picture.width + 2 + 8)], 200);
}

// A folder of 10 pictures, 8 per row: the short third row is filled up with blank tiles, so that
// each reconstruction stays under its original.
TEST_F(Chain, ReconstructTakesAFolderAndKeepsEachReconstructionUnderItsOriginal) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  fs::create_directories(*dir_ / "pics");
  for (int i = 0; i < 10; ++i) {
    vae::Image picture{16, 16, 1, std::vector<uint8_t>(256, uint8_t(20 * i))};
    vae::write_png((*dir_ / "pics" / ("p" + std::to_string(i) + ".png")).string(), picture);
  }
  const Result result = vae_run(*dir_, {"reconstruct", "--input", "pics", "--out", "many.png"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("10 image(s) reconstructed"), std::string::npos) << result.err;
  const auto grid = vae::load_image((*dir_ / "many.png").string());
  EXPECT_EQ(grid.width, 8 * 18 + 2 + 29 + 2);  // the tiles, then the labels' column
  EXPECT_EQ(grid.height, 4 * 18 + 2);  // originals, reconstructions, 2 originals, 2 reconstructions
  const auto pixel = [&](int64_t row, int64_t column) {  // the centre of a tile
    return int(grid.pixels[size_t((row * 18 + 2 + 8) * grid.width + column * 18 + 2 + 8)]);
  };
  const int pad = int(grid.pixels[0]);
  EXPECT_NEAR(pixel(2, 0), 20 * 8, 1);  // the 9th original starts the third row
  EXPECT_NEAR(pixel(2, 1), 20 * 9, 1);
  for (int64_t column = 2; column < 8; ++column) {
    EXPECT_EQ(pixel(2, column), pad) << column;
    EXPECT_EQ(pixel(3, column), pad) << column;
  }
  const Result empty = vae_run(*dir_, {"reconstruct", "--input", "runs/tiny/tb", "--out", "none.png"});
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.err.find("no .png, .jpg, .jpeg or .bmp files"), std::string::npos) << empty.err;
}

// Every command that writes a picture refuses an --out that is not .png, before doing any work.
TEST_F(Chain, PictureOutputsMustBePng) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const std::vector<std::vector<std::string>> commands = {
      {"sample", "-n", "2", "--out", "x.jpg"},
      {"traverse", "--out", "x.JPEG"},
      {"plot", "--run", "runs/tiny", "--out", "x.svg"},
      {"data", "info", "--config", "tiny.json", "--out", "x"}};
  for (const auto& args : commands) {
    const Result result = vae_run(*dir_, args);
    EXPECT_EQ(result.code, 2) << args[0];
    EXPECT_NE(result.err.find("vae writes PNG pictures; give a name ending in .png"), std::string::npos)
        << result.err;
    EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  }
  for (const char* name : {"x.jpg", "x.JPEG", "x.svg", "x"}) EXPECT_FALSE(fs::exists(*dir_ / name)) << name;
  ASSERT_EQ(vae_run(*dir_, {"sample", "-n", "2", "--out", "upper.PNG"}).code, 0);
}

TEST_F(Chain, CommandsWithoutACheckpointExplainWhatToDo) {
  const fs::path empty = fresh_dir("no_runs");
  const Result sample = vae_run(empty, {"sample", "-n", "4"});
  EXPECT_EQ(sample.code, 1);
  EXPECT_NE(sample.err.find("no checkpoint found"), std::string::npos) << sample.err;
  EXPECT_EQ(error_lines(sample.err), 1u) << sample.err;
  const Result missing = vae_run(empty, {"sample", "--ckpt", "nope.pt"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope.pt"), std::string::npos);
  std::ofstream(empty / "broken.pt") << "garbage";
  const Result broken = vae_run(empty, {"sample", "--ckpt", "broken.pt"});
  EXPECT_EQ(broken.code, 1);
  EXPECT_NE(broken.err.find("broken.pt"), std::string::npos);
  EXPECT_FALSE(fs::exists(empty / "samples.png"));
}

TEST_F(Chain, ReconstructRejectsUnreadableImages) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  std::ofstream(*dir_ / "fake.png") << "not a png";
  const Result result = vae_run(*dir_, {"reconstruct", "--input", "fake.png", "--out", "x.png"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("fake.png"), std::string::npos) << result.err;
  EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  EXPECT_FALSE(fs::exists(*dir_ / "x.png"));
  EXPECT_EQ(vae_run(*dir_, {"reconstruct", "--input", "absent.png"}).code, 1);
}

TEST(Cli, VersionAndHelp) {
  const fs::path dir = fresh_dir("version");
  const Result version = vae_run(dir, {"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("vae 0."), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("LibTorch"), std::string::npos) << version.out;
  EXPECT_NE(version.out.find("devices: cpu"), std::string::npos) << version.out;
  const Result help = vae_run(dir, {"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* command : {"train", "sample", "reconstruct"}) {
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  }
  EXPECT_EQ(vae_run(dir, {"train", "--help"}).code, 0);
}

struct BadInput {
  std::string name;
  std::vector<std::string> args;
  std::string config;  // written to bad.json when not empty
  std::string expected;
};

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, ExitsTwoWithOneLineNamingTheProblem) {
  const fs::path dir = fresh_dir("bad");
  if (!GetParam().config.empty()) std::ofstream(dir / "bad.json") << GetParam().config;
  write_tiny_config(dir);
  const Result result = vae_run(dir, GetParam().args);
  EXPECT_EQ(result.code, 2) << result.err;
  EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find(GetParam().expected), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(dir / "runs" / "tiny")) << "a failed start must not create a run";
  EXPECT_FALSE(fs::exists(dir / ".." / "outside")) << "a run name left runs/";
  EXPECT_LT(result.err.size(), 4000u) << "the error line is bounded";
}

INSTANTIATE_TEST_SUITE_P(
    Configs, CliBadInput,
    ::testing::Values(
        BadInput{"UnknownKey", {"train", "--config", "bad.json"}, R"({"train": {"epoch": 1}})", "did you mean 'train.epochs'"},
        BadInput{"MalformedJson", {"train", "--config", "bad.json"}, "{\n\"train\": {\"epochs\": 1,}\n}", "bad.json:2:"},
        BadInput{"OutOfRange", {"train", "--config", "bad.json"}, R"({"optim": {"lr": -1}})", "optim.lr must be a number in"},
        BadInput{"MissingConfig", {"train", "--config", "missing.json"}, "", "missing.json"},
        BadInput{"SetOutOfRange", {"train", "--config", "tiny.json", "--set", "train.batch_size=0"}, "", "train.batch_size"},
        BadInput{"SetUnknownKey", {"train", "--config", "tiny.json", "--set", "model.hiden_dims=[4]"}, "", "model.hidden_dims"},
        BadInput{"GeometryTooSmall", {"train", "--config", "tiny.json", "--set", "data.image_size=8", "--set",
                  "model.hidden_dims=[4,4,4,4,4]"}, "", "model.hidden_dims"},
        BadInput{"UnknownDevice", {"train", "--config", "tiny.json", "--device", "tpu"}, "", "unknown device 'tpu'"},
        BadInput{"NoConfig", {"train"}, "", "--config"},
        BadInput{"UnknownOption", {"train", "--config", "tiny.json", "--bogus"}, "", "--bogus"},
        BadInput{"UnknownCommand", {"frobnicate"}, "", "unknown command 'frobnicate'"},
        BadInput{"RepeatedKey", {"train", "--config", "bad.json"}, R"({"train": {"epochs": 1}, "train": {"seed": 2}})",
                 "key train appears twice in one object"},
        BadInput{"HugeNumber", {"train", "--config", "bad.json"}, R"({"optim": {"lr": 1e400}})", "bad.json: malformed JSON"},
        BadInput{"RunNameLeavesRuns", {"train", "--config", "tiny.json", "--set", "name=../../outside"}, "",
                 "is not a run name"},
        // A control byte and a huge key in the message: the error stays one bounded, printable line.
        BadInput{"ControlBytesAndAHugeKey", {"train", "--config", "tiny.json", "--set", "a\x01" + std::string(100000, 'k') + "=1"}, "",
                 "unknown key 'a?kkkk"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

// Valid but absurd sizes (a 4 x 4096 MLP on 1024 x 1024 x 3 pictures: 48 GiB for the first
// layer) are one line naming the settings, not the allocator's text. Needs the kernel to refuse
// an allocation larger than memory (overcommit mode 0 or 2), which is the default.
TEST(Cli, AModelTooLargeForMemoryNamesTheSettings) {
  std::ifstream mode_file("/proc/sys/vm/overcommit_memory");
  int mode = -1;
  mode_file >> mode;
  if (mode != 0 && mode != 2) GTEST_SKIP() << "overcommit_memory is " << mode << ": the kernel would grant the memory";
  const fs::path dir = fresh_dir("huge_model");
  write_tiny_config(dir);
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--set", "model.type=mlp", "--set",
                                      "model.hidden_dims=[4096,4096,4096,4096]", "--set", "data.image_size=1024",
                                      "--set", "data.channels=3", "--out", "run"});
  EXPECT_EQ(result.code, 2) << result.err;
  EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find("the weights of this config do not fit in memory (one weight alone needs 48.0 GiB)"),
            std::string::npos) << result.err;
  EXPECT_NE(result.err.find("or use model.type=conv"), std::string::npos) << result.err;
}

TEST(Cli, CudaRequestWithoutCudaIsAConfigError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA present";
  const fs::path dir = fresh_dir("cuda");
  write_tiny_config(dir);
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--device", "cuda"});
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find("CUDA is not available"), std::string::npos) << result.err;
}

TEST(Cli, PrintConfigShowsResolvedValues) {
  const fs::path dir = fresh_dir("print");
  write_tiny_config(dir);
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--set", "loss.beta=4", "--print-config"});
  ASSERT_EQ(result.code, 0) << result.err;
  const auto printed = nlohmann::json::parse(result.out);
  EXPECT_EQ(printed["loss"]["beta"], 4);
  EXPECT_EQ(printed["data"]["image_size"], 16);
  EXPECT_EQ(printed["optim"]["name"], "adam");  // default filled in
  EXPECT_FALSE(fs::exists(dir / "runs"));
  // The device is checked too: one this machine lacks, or no device at all, is exit 2 naming the key.
  const std::string absent_gpu = "train.device=cuda:" + std::to_string(torch::cuda::device_count() + 99);
  for (const std::string& device : {absent_gpu, std::string("train.device=gpu")}) {
    const Result bad = vae_run(dir, {"train", "--config", "tiny.json", "--set", device, "--print-config"});
    EXPECT_EQ(bad.code, 2) << device << ": " << bad.err;
    EXPECT_EQ(error_lines(bad.err), 1u) << bad.err;
    EXPECT_NE(bad.err.find("train.device"), std::string::npos) << bad.err;
    EXPECT_TRUE(bad.out.empty()) << bad.out;
  }
  const Result keys = vae_run(dir, {"train", "--list-keys"});
  EXPECT_EQ(keys.code, 0);
  EXPECT_NE(keys.out.find("train.max_steps = 0"), std::string::npos) << keys.out;
}

// OpenMP's passive wait policy is the default (the spinning one collapses a busy machine), and
// the user's choice wins; libgomp prints what it read with OMP_DISPLAY_ENV.
TEST(Cli, OpenMpWaitsPassivelyUnlessTheUserChoseAPolicy) {
  const fs::path dir = fresh_dir("omp");
  const Result passive = vae_run(dir, {"--version"}, "env -u OMP_WAIT_POLICY OMP_DISPLAY_ENV=TRUE");
  ASSERT_EQ(passive.code, 0) << passive.err;
  if (passive.err.find("OMP_WAIT_POLICY") == std::string::npos) GTEST_SKIP() << "this OpenMP prints no settings";
  EXPECT_NE(passive.err.find("OMP_WAIT_POLICY = 'PASSIVE'"), std::string::npos) << passive.err;
  const Result active = vae_run(dir, {"--version"}, "OMP_WAIT_POLICY=active OMP_DISPLAY_ENV=TRUE");
  EXPECT_NE(active.err.find("OMP_WAIT_POLICY = 'ACTIVE'"), std::string::npos) << active.err;
}

// A batch larger than the whole training split (cinic10's 4096 on a small folder) is said, not silent.
TEST(Cli, ABatchLargerThanTheTrainingSplitIsWarnedAbout) {
  const fs::path dir = fresh_dir("big_batch");
  write_tiny_config(dir);
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--set", "data.train_size=40", "--set",
                                      "train.batch_size=64", "--set", "train.epochs=1", "--out", "run"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("train.batch_size 64 is larger than the training split (40 images)"), std::string::npos)
      << result.err;
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/last.pt").string()).meta().step, 1);
}

TEST(Cli, OutDirThatHoldsARunIsRefused) {
  const fs::path dir = fresh_dir("out_taken");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1", "--out", "mine"}).code, 0);
  const Result again = vae_run(dir, {"train", "--config", "tiny.json", "--out", "mine"});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  // Default run names are numbered instead.
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1"}).code, 0);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1"}).code, 0);
  EXPECT_TRUE(fs::exists(dir / "runs" / "tiny-2" / "checkpoints" / "last.pt"));
  EXPECT_EQ(fs::canonical(dir / "runs" / "latest"), fs::canonical(dir / "runs" / "tiny-2"));
}

// runs/latest in the current folder names the newest run trained from here, wherever --out put
// it; a file of the user's at that path is never replaced.
TEST(Cli, RunsLatestFollowsTheNewestRunAndLeavesAUsersFileAlone) {
  const fs::path dir = fresh_dir("latest_link");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1"}).code, 0);
  const Result elsewhere =
      vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1", "--out", "elsewhere/mine"});
  ASSERT_EQ(elsewhere.code, 0) << elsewhere.err;
  EXPECT_NE(elsewhere.err.find("(runs/latest points at it)"), std::string::npos) << elsewhere.err;
  ASSERT_TRUE(fs::is_symlink(dir / "runs" / "latest"));
  EXPECT_EQ(fs::canonical(dir / "runs" / "latest"), fs::canonical(dir / "elsewhere" / "mine"));
  const Result sample = vae_run(dir, {"sample", "-n", "2", "--out", "s.png"});
  ASSERT_EQ(sample.code, 0) << sample.err;
  EXPECT_NE(sample.err.find("elsewhere/mine/checkpoints/last.pt"), std::string::npos) << sample.err;
  // A regular file named latest stays as it is; training says so and goes on.
  fs::remove(dir / "runs" / "latest");
  std::ofstream(dir / "runs" / "latest") << "my notes";
  const Result third = vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=1"});
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_NE(third.err.find("is not a link made by vae; it is left as it is"), std::string::npos) << third.err;
  EXPECT_EQ(read_bytes(dir / "runs" / "latest"), "my notes");
}

// vae runs lists the runs under a folder with their state; vae info says what a checkpoint holds.
TEST(Cli, RunsAndInfoDescribeRunsAndCheckpoints) {
  const fs::path dir = fresh_dir("runs_info");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.epochs=2", "--set", "train.max_steps=6",
                          "--out", "runs/done"}).code, 0);
  const Result bad = vae_run(dir, {"train", "--config", "tiny.json", "--nan-at-step", "1", "--out", "runs/bad"});
  EXPECT_EQ(bad.code, 1);
  const Result runs = vae_run(dir, {"runs"});
  ASSERT_EQ(runs.code, 0) << runs.err;
  const auto lines = lines_of(runs.out);
  ASSERT_GE(lines.size(), 3u) << runs.out;
  EXPECT_EQ(lines[0].rfind("state", 0), 0u) << runs.out;
  EXPECT_NE(lines[1].find("failed"), std::string::npos) << runs.out;
  EXPECT_NE(lines[1].find("runs/bad"), std::string::npos) << runs.out;
  EXPECT_NE(lines[2].find("finished"), std::string::npos) << runs.out;
  EXPECT_NE(lines[2].find("shapes"), std::string::npos) << runs.out;
  EXPECT_NE(lines[2].find(" 6 "), std::string::npos) << runs.out;  // steps
  EXPECT_NE(runs.out.find("runs/bad: non-finite loss"), std::string::npos) << runs.out;
  EXPECT_EQ(runs.out.find("latest"), std::string::npos) << "the latest link is not a run of its own";

  const Result info = vae_run(dir, {"info", "runs/done:last"});
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("checkpoint:  runs/done/checkpoints/last.pt"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("(finished)"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("progress:    "), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(", step 6"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("LibTorch"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("parameters"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("validation:  loss "), std::string::npos) << info.out;
  const Result missing = vae_run(dir, {"info", "runs/nothing"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("runs/nothing"), std::string::npos) << missing.err;
  const Result no_folder = vae_run(dir, {"runs", "nowhere"});
  EXPECT_EQ(no_folder.code, 1);
  EXPECT_NE(no_folder.err.find("nowhere: no such folder"), std::string::npos) << no_folder.err;
}

// Trains 12 steps at once and as 6 + 6 with --resume, with `extra` settings; the losses must agree.
void expect_resume_matches(const std::string& name, const std::vector<std::string>& extra) {
  const fs::path dir = fresh_dir(name);
  write_tiny_config(dir);
  auto args = [&](std::vector<std::string> base) {
    for (const auto& setting : extra) {
      base.push_back("--set");
      base.push_back(setting);
    }
    return base;
  };
  const Result whole = vae_run(dir, args({"train", "--config", "tiny.json", "--set", "train.max_steps=12", "--out", "whole"}));
  ASSERT_EQ(whole.code, 0) << whole.err;
  const Result first = vae_run(dir, args({"train", "--config", "tiny.json", "--set", "train.max_steps=6", "--out", "split"}));
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(vae::CheckpointReader((dir / "split/checkpoints/last.pt").string()).meta().step, 6);
  const Result second = vae_run(dir, {"train", "--resume", "split", "--set", "train.max_steps=12"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("resuming at epoch 1 step 6"), std::string::npos) << second.err;

  const auto a = metric_rows(dir / "whole"), b = metric_rows(dir / "split");
  for (int64_t step : {8, 10, 12}) {
    ASSERT_NE(row_for(a, "train", step), "") << step;
    EXPECT_EQ(loss_columns(row_for(a, "train", step)), loss_columns(row_for(b, "train", step))) << step;
  }
  EXPECT_EQ(loss_columns(row_for(a, "val", 8)), loss_columns(row_for(b, "val", 8)));
  EXPECT_EQ(loss_columns(row_for(a, "val", 12)), loss_columns(row_for(b, "val", 12)));
  EXPECT_EQ(vae::CheckpointReader((dir / "split/checkpoints/last.pt").string()).meta().step, 12);
}

TEST(Cli, ResumedRunMatchesTheUninterruptedRun) { expect_resume_matches("resume", {}); }

TEST(Cli, ResumeContinuesEverySchedule) {
  // Cosine learning rate with warm-up, cyclical KL weight, SGD momentum, clipping, flips and
  // dynamic binarisation: each depends on the step, the epoch or the RNG.
  expect_resume_matches("resume_schedules",
                        {"optim.name=sgd", "optim.lr=0.05", "optim.lr_schedule=cosine", "optim.warmup_steps=3",
                         "optim.grad_clip=5", "loss.kl_schedule=cyclical", "loss.kl_cycle_steps=5",
                         "data.binarize=true", "loss.free_bits=0.1"});
}

TEST(Cli, KeepsTheBestTwoCheckpointsAndStopsEarly) {
  const fs::path dir = fresh_dir("best_two");
  write_tiny_config(dir);
  // A target capacity that rises faster than the KL can follow makes the validation objective
  // (beta * |KL - C|) rise after the first epoch.
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--out", "run", "--set", "train.epochs=5",
                                      "--set", "train.keep_best=2", "--set", "train.early_stop_patience=2",
                                      "--set", "loss.kl_schedule=capacity", "--set", "loss.capacity_max=100",
                                      "--set", "loss.capacity_steps=40", "--set", "loss.beta=1000",
                                      "--set", "train.sample_every=2"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_NE(result.err.find("early stop"), std::string::npos) << result.err;
  const vae::CheckpointReader last((dir / "run/checkpoints/last.pt").string());
  EXPECT_EQ(last.meta().epoch, 3);  // epoch 1 best, epochs 2 and 3 worse: stop
  const auto best = last.meta().metrics["best"];
  ASSERT_EQ(best.size(), 2u);
  EXPECT_LE(best[0]["loss"].get<double>(), best[1]["loss"].get<double>());
  EXPECT_EQ(best[0]["epoch"], 1);
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/best.pt").string()).meta().epoch, 1);
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/best-2.pt").string()).meta().epoch,
            best[1]["epoch"].get<int64_t>());
  EXPECT_FALSE(fs::exists(dir / "run/checkpoints/best-3.pt"));
  // sample_every: grids only every second epoch and at the last one.
  EXPECT_FALSE(fs::exists(dir / "run/samples/epoch_001.png"));
  EXPECT_TRUE(fs::exists(dir / "run/samples/epoch_002.png"));
  EXPECT_TRUE(fs::exists(dir / "run/reconstructions/epoch_003.png"));
}

TEST(Cli, SkipPolicyPassesOverNonFiniteStepsAndStopsAfterTooMany) {
  const fs::path dir = fresh_dir("nan_skip");
  write_tiny_config(dir);
  const Result skipped = vae_run(dir, {"train", "--config", "tiny.json", "--out", "run", "--set", "train.nonfinite=skip", "--nan-at-step", "3"});
  ASSERT_EQ(skipped.code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("non-finite loss at step 3: step skipped (1 in a row, 1 in all)"), std::string::npos)
      << skipped.err;
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/last.pt").string()).meta().step, 16);
  const Result limited = vae_run(dir, {"train", "--config", "tiny.json", "--out", "run2", "--set",
                                       "train.nonfinite=skip", "--set", "train.max_nonfinite=1", "--nan-at-step", "3"});
  EXPECT_EQ(limited.code, 1);
  EXPECT_NE(limited.err.find("non-finite loss"), std::string::npos) << limited.err;
}

TEST(Cli, ResumeRejectsAConfigAndMissingRuns) {
  const fs::path dir = fresh_dir("resume_bad");
  write_tiny_config(dir);
  const Result missing = vae_run(dir, {"train", "--resume", "nowhere"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos);
  const Result both = vae_run(dir, {"train", "--resume", "nowhere", "--config", "tiny.json"});
  EXPECT_EQ(both.code, 2);
}

// Keys that change the model, the data or the objective are refused on resume, with the way to
// branch; --out is refused; the keys a resume may change are accepted.
TEST(Cli, ResumeRefusesKeysThatChangeTheModelDataOrObjective) {
  const fs::path dir = fresh_dir("resume_keys");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=2", "--out", "run"}).code, 0);
  for (const char* key : {"model.latent_dim=8", "loss.beta=2", "data.image_size=32", "optim.lr=0.5"}) {
    const Result refused = vae_run(dir, {"train", "--resume", "run", "--set", key});
    EXPECT_EQ(refused.code, 2) << key;
    EXPECT_EQ(error_lines(refused.err), 1u) << refused.err;
    const std::string name = std::string(key).substr(0, std::string(key).find('='));
    EXPECT_NE(refused.err.find(name + " cannot change when resuming"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("--config run/config.json --set " + name + "="), std::string::npos) << refused.err;
  }
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/last.pt").string()).meta().step, 2);
  const Result out = vae_run(dir, {"train", "--resume", "run", "--out", "elsewhere"});
  EXPECT_EQ(out.code, 2);
  EXPECT_NE(out.err.find("--out cannot be combined with --resume"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(dir / "elsewhere"));
  const Result allowed = vae_run(dir, {"train", "--resume", "run", "--set", "train.max_steps=4", "--set",
                                       "train.log_every=1", "--set", "data.workers=1"});
  EXPECT_EQ(allowed.code, 0) << allowed.err;
}

// A run that died after its checkpoint left rows of later steps (and half a line) in metrics.csv:
// the resumed run drops them first, so that no step has two rows.
TEST(Cli, ResumeDropsTheRowsWrittenAfterTheCheckpoint) {
  const fs::path dir = fresh_dir("resume_rows");
  write_tiny_config(dir);
  ASSERT_EQ(vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.max_steps=4", "--set",
                          "train.log_every=1", "--set", "train.tensorboard=true", "--out", "run"}).code, 0);
  const auto before = metric_rows(dir / "run");
  {
    std::ofstream csv(dir / "run" / "metrics.csv", std::ios::app);
    csv << "1,5,train,1,1,1,-2,0.001,10,1,1\n1,6,train,1,1,1,-2,0.001,10,1,1\n1,7,tr";
  }
  const Result resumed = vae_run(dir, {"train", "--resume", "run", "--set", "train.max_steps=8"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("dropped 3 rows of metrics.csv written after the checkpoint"), std::string::npos)
      << resumed.err;
  const auto after = metric_rows(dir / "run");
  std::set<std::string> seen;
  for (const auto& line : after) {
    const std::string key = line.substr(line.find(',') + 1, line.find(',', line.find(',', line.find(',') + 1) + 1));
    EXPECT_TRUE(seen.insert(key).second) << "two rows for " << key;
  }
  ASSERT_GE(after.size(), before.size());
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
  EXPECT_NE(row_for(after, "train", 8), "");
  // TensorBoard: the resumed process's event file starts a session at step 5 (checkpoint 4 + 1),
  // which hides the first file's events from step 5 on: Event{step: 5, session_log{status: START}}.
  std::vector<fs::path> event_files;
  for (const auto& entry : fs::directory_iterator(dir / "run" / "tb")) event_files.push_back(entry.path());
  ASSERT_EQ(event_files.size(), 2u);
  const std::string session_start = "\x10\x05\x3a\x02\x08\x01";
  int starts = 0;
  for (const auto& file : event_files) starts += vae_test::read_bytes(file).find(session_start) != std::string::npos;
  EXPECT_EQ(starts, 1);
}

// One process per run folder: a second `--resume` of a run being trained is refused while the
// first holds the lock, and vae runs shows it running. SIGHUP (a closed terminal) stops it like
// SIGTERM: state saved, exit 128 + 1.
TEST(Cli, ASecondProcessOnARunIsRefusedAndSighupSavesTheRun) {
  const fs::path dir = fresh_dir("run_lock");
  write_tiny_config(dir);
  const std::vector<std::string> base = {"--set", "data.train_size=200000", "--set", "train.log_every=1"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), base.begin(), base.end());
    return args;
  };
  ASSERT_EQ(vae_run(dir, with({"train", "--config", "tiny.json", "--set", "train.max_steps=2", "--out", "run"})).code, 0);
  const pid_t pid = spawn_vae(dir, with({"train", "--resume", "run", "--set", "train.max_steps=0"}));
  ASSERT_GT(pid, 0);
  wait_until([&] { return metric_rows(dir / "run").size() >= 6; });
  const Result second = vae_run(dir, {"train", "--resume", "run", "--set", "train.max_steps=3"});
  EXPECT_EQ(second.code, 2);
  EXPECT_NE(second.err.find("run: another vae process (pid " + std::to_string(pid) + ") is training this run"),
            std::string::npos) << second.err;
  const Result runs = vae_run(dir, {"runs", "."});
  EXPECT_NE(runs.out.find("running"), std::string::npos) << runs.out;

  EXPECT_EQ(interrupt_when(pid, [] { return true; }, 0, SIGHUP), 129);
  const std::string err = read_bytes(dir / ".stderr");
  EXPECT_NE(err.find("stopped by SIGHUP"), std::string::npos) << err;
  const vae::CheckpointReader saved((dir / "run/checkpoints/last.pt").string());
  EXPECT_GT(saved.meta().step, 2);
  EXPECT_EQ(saved.meta().metrics.value("state", ""), "interrupted");
  // The lock went with the process: the run resumes.
  EXPECT_EQ(vae_run(dir, {"train", "--resume", "run", "--set", "train.max_steps=" + std::to_string(saved.meta().step + 1)}).code, 0);
}

// Deleting the run folder under a training run stops it with one line and exit 1, instead of
// training on into files that no longer exist.
TEST(Cli, DeletingTheRunFolderStopsTraining) {
  const fs::path dir = fresh_dir("deleted_run");
  write_tiny_config(dir);
  const pid_t pid = spawn_vae(dir, {"train", "--config", "tiny.json", "--set", "data.train_size=200000", "--set",
                                    "train.log_every=1", "--out", "run"});
  ASSERT_GT(pid, 0);
  wait_until([&] { return fs::exists(dir / "run" / "metrics.csv") && metric_rows(dir / "run").size() >= 2; });
  fs::remove_all(dir / "run");
  EXPECT_EQ(exit_status_of(pid), 1);
  const std::string err = read_bytes(dir / ".stderr");
  EXPECT_NE(err.find("the run folder (or its checkpoints/) was removed while training"), std::string::npos) << err;
}

// A full disk at several fill levels (start-up, the first rows, at checkpoint time) on a small
// tmpfs: one error line, exit 1, no temporary file left, every checkpoint already there still
// loads; after space is freed the run resumes (or, with no checkpoint yet, starts) and finishes.
TEST(Cli, AFullDiskIsAnIoErrorAndTheRunContinuesOnceSpaceIsFreed) {
  const fs::path dir = fresh_dir("full_disk");
  write_tiny_config(dir);
  const fs::path disk = dir / "disk";
  fs::create_directories(disk);
  if (std::system(("mount -t tmpfs -o size=2m tmpfs '" + disk.string() + "' 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root and mount rights)";
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { (void)std::system(("umount -l '" + path.string() + "'").c_str()); }
  } unmount{disk};
  for (const int free_kb : {30, 60, 120, 200}) {
    SCOPED_TRACE(std::to_string(free_kb) + " KB free");
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(disk)) fs::remove_all(entry.path(), ignored);
    {
      std::ofstream filler(disk / "filler", std::ios::binary);
      const std::string block(1024, '\0');
      for (int k = 0; k < 2048 - free_kb; ++k) filler << block;
    }
    const Result full = vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.epochs=3", "--out", (disk / "run").string()});
    EXPECT_EQ(full.code, 1) << full.err;
    EXPECT_EQ(error_lines(full.err), 1u) << full.err;
    EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
    for (const auto& entry : fs::recursive_directory_iterator(disk)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << "left behind: " << entry.path();
    }
    for (const char* name : {"last.pt", "best.pt"}) {
      const fs::path checkpoint = disk / "run" / "checkpoints" / name;
      if (fs::exists(checkpoint)) EXPECT_NO_THROW(vae::CheckpointReader(checkpoint.string()).load_model(torch::kCPU)) << name;
    }
    fs::remove(disk / "filler");
    const bool saved = fs::exists(disk / "run" / "checkpoints" / "last.pt");
    if (!saved) fs::remove_all(disk / "run", ignored);
    const Result again = saved ? vae_run(dir, {"train", "--resume", (disk / "run").string()})
                               : vae_run(dir, {"train", "--config", "tiny.json", "--set", "train.epochs=3", "--out",
                                               (disk / "run").string()});
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_EQ(vae::CheckpointReader((disk / "run" / "checkpoints" / "last.pt").string()).meta().epoch, 3);
  }
}

TEST(Cli, InterruptSavesStateAndResumeContinues) {
  const fs::path dir = fresh_dir("sigint");
  write_tiny_config(dir);
  const pid_t pid = spawn_vae(dir, {"train", "--config", "tiny.json", "--set", "data.train_size=200000",
                                    "--set", "train.log_every=1", "--out", "run"});
  ASSERT_GT(pid, 0);
  // Press Ctrl-C once at least two training steps are logged.
  EXPECT_EQ(interrupt_when(pid, [&] {
              return fs::exists(dir / "run" / "metrics.csv") && metric_rows(dir / "run").size() >= 2;
            }),
            130);
  const std::string err = read_bytes(dir / ".stderr");
  EXPECT_NE(err.find("stopped by SIGINT"), std::string::npos) << err;
  EXPECT_EQ(err.find("stopped by SIGINT", err.find("stopped by SIGINT") + 1), std::string::npos)
      << "the stop is said once on stderr: " << err;
  EXPECT_NE(read_bytes(dir / "run" / "train.log").find("warning stopped by SIGINT"), std::string::npos);
  EXPECT_NE(err.find("vae train --resume run"), std::string::npos) << err;
  // The checkpoint records the stop, and vae runs shows it.
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/last.pt").string()).meta().metrics.value("state", ""),
            "interrupted");
  EXPECT_NE(vae_run(dir, {"runs", "."}).out.find("interrupted"), std::string::npos);

  const vae::CheckpointReader saved((dir / "run/checkpoints/last.pt").string());
  const int64_t step = saved.meta().step;
  EXPECT_GE(step, 2);
  EXPECT_EQ(saved.meta().epoch, 0);
  EXPECT_EQ(saved.meta().epoch_step, step);

  const Result resumed = vae_run(dir, {"train", "--resume", "run", "--set",
                                       "train.max_steps=" + std::to_string(step + 2)});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(vae::CheckpointReader((dir / "run/checkpoints/last.pt").string()).meta().step, step + 2);
  EXPECT_NE(row_for(metric_rows(dir / "run"), "train", step + 2), "");
}

TEST(Cli, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  const fs::path dir = fresh_dir("nan");
  write_tiny_config(dir);
  // --nan-at-step: poison the loss at step 11, after epoch 1 (8 steps) was checkpointed.
  const Result result = vae_run(dir, {"train", "--config", "tiny.json", "--out", "run", "--nan-at-step", "11"});
  EXPECT_EQ(result.code, 1);
  EXPECT_NE(result.err.find("non-finite loss"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("at step 11"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("last finite loss"), std::string::npos) << result.err;
  const vae::CheckpointReader last((dir / "run/checkpoints/last.pt").string());
  EXPECT_EQ(last.meta().step, 8);
  EXPECT_NE(read_bytes(dir / "run" / "train.log").find("non-finite loss"), std::string::npos);
}

const fs::path kSharedData = fs::path(VAE_SOURCE_DIR) / ".." / "shared" / "data";

// data info says what happens to a picture that is not square, and only looks: with data.cache
// on it builds no cache.
TEST(CliData, InfoStatesTheResizeRuleAndBuildsNoCache) {
  const fs::path dir = fresh_dir("data_info_rule");
  fs::create_directories(dir / "photos");
  for (int i = 0; i < 6; ++i) {
    vae::Image picture{30, 20, 3, std::vector<uint8_t>(30 * 20 * 3, uint8_t(30 * i))};
    vae::write_png((dir / "photos" / ("p" + std::to_string(i) + ".png")).string(), picture);
  }
  const std::vector<std::string> base = {"data", "info", "--out", "preview.png", "--set", "data.dataset=folder",
                                         "--set", "data.root=photos", "--set", "data.image_size=16", "--set",
                                         "data.channels=3", "--set", "data.cache=true", "--set",
                                         "data.cache_dir=cache"};
  const Result stretch = vae_run(dir, base);
  ASSERT_EQ(stretch.code, 0) << stretch.err;
  EXPECT_NE(stretch.out.find("transforms: resize to 16x16; a picture that is not square is stretched to a square"),
            std::string::npos) << stretch.out;
  EXPECT_NE(stretch.out.find("cache: on"), std::string::npos) << stretch.out;
  EXPECT_FALSE(fs::exists(dir / "cache") && !fs::is_empty(dir / "cache")) << "data info built a cache";
  auto shorter_args = base;
  shorter_args.insert(shorter_args.end(), {"--set", "data.resize=shorter_side"});
  const Result shorter = vae_run(dir, shorter_args);
  ASSERT_EQ(shorter.code, 0) << shorter.err;
  EXPECT_NE(shorter.out.find("transforms: resize the shorter side to 16 and keep the centre 16x16"),
            std::string::npos) << shorter.out;
}

TEST(CliData, InfoBenchAndTrainOnTheCifarSubset) {
  const fs::path cifar = kSharedData / "cifar10-subset";
  if (!fs::exists(cifar)) GTEST_SKIP() << "no CIFAR-10 subset";
  const fs::path dir = fresh_dir("data_cifar");
  const std::vector<std::string> data = {"--set", "data.dataset=cifar10", "--set", "data.root=" + cifar.string(),
                                         "--set", "data.channels=3"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), data.begin(), data.end());
    return args;
  };
  const Result info = vae_run(dir, with({"data", "info", "--out", "preview.png"}));
  ASSERT_EQ(info.code, 0) << info.err;
  // The subset holds 1 of CIFAR's 5 training batches: said once, though train and val both read it.
  const size_t warning = info.err.find("of the 5 training batches present");
  if (warning != std::string::npos) {
    EXPECT_EQ(info.err.find("of the 5 training batches present", warning + 1), std::string::npos) << info.err;
  }
  EXPECT_NE(info.out.find("train: 3600 images"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("val: 400 images"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("test: 1000 images"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("3x32x32"), std::string::npos) << info.out;
  const auto preview = vae::load_image((dir / "preview.png").string());
  EXPECT_EQ(preview.width, 8 * 34 + 2);  // 64 images of 32x32, 8 per row
  EXPECT_EQ(preview.channels, 3);

  const Result bench = vae_run(dir, with({"data", "bench", "--epochs", "2"}));
  ASSERT_EQ(bench.code, 0) << bench.err;
  std::istringstream lines(bench.out);
  std::string line;
  int epochs = 0;
  while (std::getline(lines, line)) {
    const auto record = nlohmann::json::parse(line);
    ++epochs;
    EXPECT_EQ(record["epoch"], epochs);
    EXPECT_EQ(record["images"], 3600);
    EXPECT_GT(record["images_per_s"].get<double>(), 0.0);
    EXPECT_TRUE(record.contains("seconds"));
    EXPECT_TRUE(record.contains("cached"));
  }
  EXPECT_EQ(epochs, 2);

  const Result train = vae_run(dir, with({"train", "--config", write_tiny_config(dir).string(), "--set",
                                          "data.image_size=32", "--set", "train.max_steps=3", "--out", "run"}));
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_NE(train.err.find("cifar10 train: 3600 images 3x32x32"), std::string::npos) << train.err;
}

TEST(CliData, DamagedFilesGiveOneLineNamingTheFile) {
  const fs::path cifar = kSharedData / "cifar10-subset" / "cifar-10-batches-bin";
  if (!fs::exists(cifar)) GTEST_SKIP() << "no CIFAR-10 subset";
  const fs::path dir = fresh_dir("data_damaged");
  fs::create_directories(dir / "cifar-10-batches-bin");
  fs::copy_file(cifar / "test_batch.bin", dir / "cifar-10-batches-bin" / "test_batch.bin");
  fs::copy_file(cifar / "data_batch_1.bin", dir / "cifar-10-batches-bin" / "data_batch_1.bin");
  std::ofstream(dir / "cifar-10-batches-bin" / "data_batch_1.bin", std::ios::app) << "extra";
  const Result damaged = vae_run(dir, {"data", "info", "--set", "data.dataset=cifar10", "--set",
                                       "data.root=" + dir.string()});
  EXPECT_EQ(damaged.code, 1);
  EXPECT_EQ(error_lines(damaged.err), 1u) << damaged.err;
  EXPECT_NE(damaged.err.find("data_batch_1.bin"), std::string::npos) << damaged.err;

  const Result wrong_root = vae_run(dir, {"data", "bench", "--set", "data.dataset=mnist", "--set",
                                          "data.root=" + (dir / "nowhere").string()});
  EXPECT_EQ(wrong_root.code, 1);
  EXPECT_NE(wrong_root.err.find("nowhere"), std::string::npos) << wrong_root.err;
  EXPECT_EQ(error_lines(wrong_root.err), 1u) << wrong_root.err;
}

// data.skip_corrupt may drop every image of a split: said before any run folder is made (with
// data.val_split=last the validation split is the last data.val_fraction of the files, in order).
TEST(CliData, ASplitLeftEmptyByCorruptImagesIsSaidBeforeAnyRunFolder) {
  const fs::path dir = fresh_dir("empty_split");
  write_tiny_config(dir);
  fs::create_directories(dir / "pics");
  const auto write_pictures = [&](int first_corrupt, int last_corrupt) {
    for (int i = 0; i < 10; ++i) {
      const fs::path path = dir / "pics" / ("p" + std::to_string(i) + ".png");
      if (i >= first_corrupt && i <= last_corrupt) {
        std::ofstream(path, std::ios::trunc) << "\x89PNG damaged";
      } else {
        vae::write_png(path.string(), vae::Image{16, 16, 1, std::vector<uint8_t>(256, uint8_t(20 * i))});
      }
    }
  };
  const std::vector<std::string> train = {"train", "--config", "tiny.json", "--set", "data.dataset=folder",
                                          "--set", "data.root=pics", "--set", "data.val_fraction=0.2", "--set", "data.val_split=last",
                                          "--set", "data.skip_corrupt=true", "--set", "train.max_steps=1",
                                          "--out", "runs/x"};
  struct Case { int first, last; const char* split; };
  for (const Case& c : {Case{8, 9, "validation"}, Case{0, 7, "training"}}) {
    write_pictures(c.first, c.last);
    const Result result = vae_run(dir, train);
    EXPECT_EQ(result.code, 1) << result.err;
    EXPECT_EQ(error_lines(result.err), 1u) << result.err;
    EXPECT_NE(result.err.find(std::string("the ") + c.split + " split is empty after skipping corrupt images"),
              std::string::npos) << result.err;
    EXPECT_NE(result.err.find("none of its " + std::to_string(c.last - c.first + 1) + " image(s)"),
              std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(dir / "runs")) << c.split;
  }
  // One readable validation image is enough: the run trains, its grid shows that image.
  write_pictures(8, 8);
  const Result one = vae_run(dir, train);
  EXPECT_EQ(one.code, 0) << one.err;
  EXPECT_TRUE(fs::exists(dir / "runs" / "x" / "reconstructions" / "epoch_001.png"));
}

// `vae bench train`: one JSON line whose figures agree with each other and with the model.
TEST(CliBench, TrainPrintsOneJsonLineOfConsistentFigures) {
  const fs::path dir = fresh_dir("bench");
  write_tiny_config(dir);
  const Result result = vae_run(dir, {"bench", "train", "--config", "tiny.json", "--steps", "2", "--warmup", "1", "--batch", "8"});
  ASSERT_EQ(result.code, 0) << result.err;
  ASSERT_EQ(std::count(result.out.begin(), result.out.end(), '\n'), 1) << result.out;
  const auto line = nlohmann::json::parse(result.out);
  EXPECT_EQ(line["batch"], 8);
  EXPECT_EQ(line["steps"], 2);
  EXPECT_EQ(line["threads"], 1);  // the config's train.threads
  EXPECT_EQ(line["config"], "tiny");
  // 6 FLOPs per multiply-add (forward 1, backward 2, two FLOPs each) of the model the config builds.
  vae::VAE model(vae::ModelOptions::from_config(vae::config_from_json(vae::config_json_or_defaults((dir / "tiny.json").string(), {}))));
  EXPECT_NEAR(line["mflop_per_image"].get<double>(), 6.0 * double(model->multiply_adds_per_image()) / 1e6, 1e-3);
  const double images_per_s = line["images_per_s"];
  EXPECT_GT(images_per_s, 0.0);
  EXPECT_NEAR(images_per_s, 8 * 2 / line["seconds"].get<double>(), 0.01 * images_per_s + 0.1);  // both rounded
  EXPECT_NEAR(line["gflop_per_s"].get<double>(), images_per_s * line["mflop_per_image"].get<double>() / 1e3,
              0.01 * line["gflop_per_s"].get<double>() + 0.01);
  EXPECT_GT(line["matmul_gflop_per_s"].get<double>(), 0.0);
  EXPECT_NEAR(line["fraction_of_matmul"].get<double>(),
              line["gflop_per_s"].get<double>() / line["matmul_gflop_per_s"].get<double>(), 2e-3);
  EXPECT_TRUE(std::isfinite(line["mean_loss"].get<double>()));
  for (const char* phase : {"forward_ms", "backward_ms", "optimizer_ms"}) EXPECT_GT(line[phase].get<double>(), 0.0) << phase;
  EXPECT_FALSE(fs::exists(dir / "runs")) << "a benchmark writes no run";
}

TEST(CliBench, BadInputIsOneLineAndExitTwo) {
  const fs::path dir = fresh_dir("bench_bad");
  write_tiny_config(dir);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"bench", "train", "--config", "missing.json"},
           {"bench", "train", "--config", "tiny.json", "--steps", "0"},
           {"bench", "train", "--config", "tiny.json", "--set", "model.latent_dim=0"},
           {"bench"}}) {
    const Result result = vae_run(dir, args);
    EXPECT_EQ(result.code, 2) << args.back() << ": " << result.err;
    EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  }
}

}  // namespace
