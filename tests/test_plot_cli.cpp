// `vae plot` with the real program: the loss curves of a tiny training run (through runs/latest
// and an explicit folder), the PNG's signature, size and content, and one-line errors naming the
// file, with no PNG left, for a missing run folder and missing or damaged metrics files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_support.h"
#include "vae/io/image_codec.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

uint32_t big_endian(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

// Signature, IHDR width and height, and the number of distinct colours (decoded with stb).
void expect_curves_png(const fs::path& path) {
  ASSERT_TRUE(fs::is_regular_file(path)) << path;
  const std::string bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), 33u);
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian(bytes, 16), 1200u);  // width
  EXPECT_EQ(big_endian(bytes, 20), 1200u);  // height
  const vae::Image image = vae::load_image(path.string());
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 2 < image.pixels.size(); i += size_t(image.channels)) {
    colours.insert((uint32_t(image.pixels[i]) << 16) | (uint32_t(image.pixels[i + 1]) << 8) |
                   image.pixels[i + 2]);
  }
  EXPECT_GT(colours.size(), 20u) << "a blank or nearly blank picture";
}

bool holds_png(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename().string().find(".png") != std::string::npos &&
        entry.path().string().find("/samples/") == std::string::npos &&
        entry.path().string().find("/reconstructions/") == std::string::npos) {
      return true;
    }
  }
  return false;
}

// Each test works on its own copy of the CTest fixture plot_run: `vae train` of 2 epochs of 4
// steps, a training row every 2 steps (cli_support.h).
class Plot : public FixtureTest {
 protected:
  Plot() : FixtureTest("plot_run") {}
  void SetUp() override {
    FixtureTest::SetUp();
    const fs::path curves = *dir_ / "runs" / "tiny" / "curves.png";
    if (fs::exists(curves)) fs::copy_file(curves, *dir_ / "trainer_curves.png");  // before `vae plot` redraws it
  }
};

TEST_F(Plot, DrawsTheNewestRunsCurvesIntoItsFolder) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  fs::remove(*dir_ / "runs" / "tiny" / "curves.png");  // in case the trainer drew them already
  const Result result = vae_run(*dir_, {"plot", "--run", "runs/latest"});
  if (!VAE_HAVE_PLPLOT) {  // one line saying what is missing, no picture
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("built without PLplot"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(*dir_ / "runs" / "tiny" / "curves.png"));
    return;
  }
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "runs/latest/curves.png\n");
  expect_curves_png(*dir_ / "runs" / "tiny" / "curves.png");
}

TEST_F(Plot, WritesWhereOutSays) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  SKIP_WITHOUT(VAE_HAVE_PLPLOT, "PLplot");
  const Result result = vae_run(*dir_, {"plot", "--run", "runs/tiny", "--out", "plots/tiny.png"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "plots/tiny.png\n");
  expect_curves_png(*dir_ / "plots" / "tiny.png");
  EXPECT_EQ(std::distance(fs::directory_iterator(*dir_ / "plots"), fs::directory_iterator()), 1)
      << "a temporary file was left";
}

// The trainer itself leaves curves.png and a TensorBoard event file whose records decode (with
// Debian's python3-protobuf, independently of the writer) to the documented tags and steps.
TEST_F(Plot, TrainingWritesCurvesAndTensorBoardEvents) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  const fs::path run = *dir_ / "runs" / "tiny";
  std::vector<fs::path> events;
  for (const auto& entry : fs::directory_iterator(run / "tb")) events.push_back(entry.path());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].filename().string().find("events.out.tfevents."), std::string::npos);
  if (std::system("/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import google.protobuf (install python3-protobuf)";
  }
  const Result decoded = [&] {
    const fs::path out = *dir_ / "events.json";
    const std::string command = "/usr/bin/python3 " + quote(std::string(VAE_SOURCE_DIR) + "/tests/decode_tfevents.py") +
                                " " + quote(events[0].string()) + " > " + quote(out.string());
    Result r;
    r.code = std::system(command.c_str());
    r.out = read_bytes(out);
    return r;
  }();
  ASSERT_EQ(decoded.code, 0);
  const auto records = nlohmann::json::parse(decoded.out);
  std::map<std::string, std::vector<int64_t>> steps;  // tag -> steps
  for (const auto& record : records) {
    if (!record.contains("values")) continue;
    for (const auto& value : record["values"]) steps[value["tag"]].push_back(record["step"]);
  }
  // 2 epochs of 4 steps, train.log_every 2: training scalars at steps 2, 4, 6, 8; validation and
  // grids after each epoch (steps 4 and 8).
  for (const char* tag : {"train/loss", "train/recon", "train/kl", "train/elbo", "train/kl_weight", "train/lr",
                          "train/grad_norm", "train/images_per_s"}) {
    EXPECT_EQ(steps[tag], (std::vector<int64_t>{2, 4, 6, 8})) << tag;
  }
  for (const char* tag : {"val/loss", "val/recon", "val/kl", "val/elbo", "samples", "reconstructions"}) {
    EXPECT_EQ(steps[tag], (std::vector<int64_t>{4, 8})) << tag;
  }
  if (VAE_HAVE_PLPLOT) {
    expect_curves_png(*dir_ / "trainer_curves.png");
  } else {
    EXPECT_NE(read_bytes(run / "train.log").find("curves.png skipped"), std::string::npos);
  }
}

// A copy of the run's folder with its metrics.csv replaced (or removed when `metrics` is null).
fs::path damaged_run(const std::string& name, const char* metrics) {
  const fs::path run = fresh_dir(name) / "run";
  fs::create_directories(run);
  if (metrics != nullptr) std::ofstream(run / "metrics.csv", std::ios::binary) << metrics;
  return run;
}

void expect_one_line_naming(const Result& result, const std::string& file) {
  EXPECT_EQ(result.code, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(error_lines(result.err), 1u) << result.err;
  EXPECT_NE(result.err.find("vae: error: " + file), std::string::npos) << result.err;
}

TEST(PlotErrors, MissingRunFolder) {
  const fs::path dir = fresh_dir("plot_missing");
  const Result result = vae_run(dir, {"plot", "--run", "runs/nothing"});
  expect_one_line_naming(result, "runs/nothing: no such run directory");
  EXPECT_FALSE(holds_png(dir));
}

TEST(PlotErrors, RunThatIsAFile) {
  const fs::path dir = fresh_dir("plot_file");
  std::ofstream(dir / "metrics.csv") << "epoch,step\n";
  const Result result = vae_run(dir, {"plot", "--run", "metrics.csv"});
  expect_one_line_naming(result, "metrics.csv: not a directory");
  EXPECT_FALSE(holds_png(dir));
}

TEST(PlotErrors, MissingMetrics) {
  const fs::path run = damaged_run("plot_no_metrics", nullptr);
  const Result result = vae_run(run.parent_path(), {"plot", "--run", "run"});
  expect_one_line_naming(result, "run/metrics.csv: cannot read metrics file");
  EXPECT_FALSE(holds_png(run.parent_path()));
}

TEST(PlotErrors, EmptyMetrics) {
  const fs::path run = damaged_run("plot_empty", "");
  const Result result = vae_run(run.parent_path(), {"plot", "--run", "run"});
  expect_one_line_naming(result, "run/metrics.csv: metrics file is empty");
  EXPECT_FALSE(holds_png(run.parent_path()));
}

TEST(PlotErrors, GarbledMetrics) {
  const fs::path run = damaged_run(
      "plot_garbled",
      "epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds,kl_weight\n"
      "1,2,train,80,60,20,-80,0.001,900,1,1\n"
      "1,4,train,7#!,60,20,-80,0.001,900,1,1\n");
  const Result result = vae_run(run.parent_path(), {"plot", "--run", "run", "--out", "c.png"});
  expect_one_line_naming(result, "run/metrics.csv:3: loss '7#!' is not a number");
  EXPECT_FALSE(holds_png(run.parent_path()));
}

// Several runs: one PNG with their validation curves, one palette colour per run (the first two
// of matplotlib's tab10), written to compare.png by default.
TEST_F(Plot, OverlaysTheValidationCurvesOfSeveralRuns) {
  ASSERT_EQ(train_->code, 0) << train_->err;
  fs::copy(*dir_ / "runs" / "tiny", *dir_ / "runs" / "other", fs::copy_options::recursive);
  const Result result = vae_run(*dir_, {"plot", "runs/tiny", "--run", "runs/other"});
  if (!VAE_HAVE_PLPLOT) {
    EXPECT_EQ(result.code, 1);
    EXPECT_NE(result.err.find("built without PLplot"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(*dir_ / "compare.png"));
    return;
  }
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_EQ(result.out, "compare.png\n");
  expect_curves_png(*dir_ / "compare.png");
  const vae::Image image = vae::load_image((*dir_ / "compare.png").string());
  auto count = [&](uint8_t r, uint8_t g, uint8_t b) {
    size_t n = 0;
    for (size_t i = 0; i + 2 < image.pixels.size(); i += size_t(image.channels)) {
      n += image.pixels[i] == r && image.pixels[i + 1] == g && image.pixels[i + 2] == b ? 1 : 0;
    }
    return n;
  };
  EXPECT_GT(count(31, 119, 180), 50u) << "no curve in the first run's colour";
  EXPECT_GT(count(255, 127, 14), 50u) << "no curve in the second run's colour";
  // A run without validation rows is named.
  fs::create_directories(*dir_ / "runs" / "fresh");
  {
    std::ofstream train_rows_only(*dir_ / "runs" / "fresh" / "metrics.csv");
    for (const auto& line : lines_of(read_bytes(*dir_ / "runs" / "tiny" / "metrics.csv"))) {
      if (line.find(",val,") == std::string::npos) train_rows_only << line << "\n";
    }
  }
  const Result fresh = vae_run(*dir_, {"plot", "runs/tiny", "runs/fresh", "--out", "two.png"});
  EXPECT_EQ(fresh.code, 1);
  EXPECT_NE(fresh.err.find("runs/fresh/metrics.csv: no validation rows yet"), std::string::npos) << fresh.err;
  EXPECT_FALSE(fs::exists(*dir_ / "two.png"));
}

}  // namespace
