// `vae sweep` end to end with the real program: run folders, summary.csv / summary.md, the samples
// picture, list-valued grids, validation before training, failed runs and Ctrl-C.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "vae/train/checkpoint.h"
#include "cli_support.h"
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

// tiny_config() with 4 batches of 32 per epoch, one epoch (kSweepChanges).
void write_config(const fs::path& dir) { write_tiny_config(dir, kSweepChanges); }

// One CSV line split into fields, honouring double-quoted fields.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// Rows of a Markdown table (lines starting with '|') without the header and separator.
size_t markdown_rows(const std::string& text) {
  size_t rows = 0;
  for (const auto& line : lines_of(text)) rows += !line.empty() && line[0] == '|' ? 1 : 0;
  return rows >= 2 ? rows - 2 : 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Each test works on its own copy of the CTest fixture sweep_grid: `vae sweep --grid
// model.latent_dim=2,4 --grid loss.beta=0.5,1 --out sweep` (cli_support.h).
class SweepGrid : public FixtureTest {
 protected:
  SweepGrid() : FixtureTest("sweep_grid") {}
  const std::optional<Result>& result_ = train_;  // what `vae sweep` returned
};

const std::vector<std::string> kGridRuns = {"01-latent_dim=2_beta=0.5", "02-latent_dim=2_beta=1",
                                            "03-latent_dim=4_beta=0.5", "04-latent_dim=4_beta=1"};

TEST_F(SweepGrid, TrainsOneRunPerCombinationInOrder) {
  ASSERT_EQ(result_->code, 0) << result_->err;
  for (const auto& run : kGridRuns) {
    EXPECT_TRUE(fs::is_regular_file(*dir_ / "sweep" / run / "checkpoints" / "last.pt")) << run;
    EXPECT_TRUE(fs::is_regular_file(*dir_ / "sweep" / run / "metrics.csv")) << run;
  }
  const vae::CheckpointReader third((*dir_ / "sweep" / kGridRuns[2] / "checkpoints/last.pt").string());
  EXPECT_EQ(third.meta().config["model"]["latent_dim"], 4);
  EXPECT_EQ(third.meta().config["loss"]["beta"], 0.5);
  EXPECT_EQ(third.meta().step, 4);
  EXPECT_TRUE(contains(result_->err, "run 2/4: model.latent_dim=2, loss.beta=1")) << result_->err;
  EXPECT_TRUE(contains(result_->err, "run 4/4: model.latent_dim=4, loss.beta=1")) << result_->err;
}

TEST_F(SweepGrid, SummaryCsvHasARowPerRun) {
  ASSERT_EQ(result_->code, 0) << result_->err;
  const auto lines = lines_of(read_bytes(*dir_ / "sweep" / "summary.csv"));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "run,model.latent_dim,loss.beta,epochs,steps,val_loss,val_recon,val_kl,val_elbo,"
            "seconds,run_dir,status,action,error");
  const std::vector<std::pair<std::string, std::string>> values = {
      {"2", "0.5"}, {"2", "1"}, {"4", "0.5"}, {"4", "1"}};
  for (size_t r = 0; r < 4; ++r) {
    const auto fields = csv_fields(lines[r + 1]);
    ASSERT_EQ(fields.size(), 14u) << lines[r + 1];
    EXPECT_EQ(fields[0], std::to_string(r + 1));
    EXPECT_EQ(fields[1], values[r].first);
    EXPECT_EQ(fields[2], values[r].second);
    EXPECT_EQ(fields[3], "1");  // epochs
    EXPECT_EQ(fields[4], "4");  // steps
    const double loss = std::stod(fields[5]), recon = std::stod(fields[6]), kl = std::stod(fields[7]);
    EXPECT_GT(loss, 0.0);
    EXPECT_GT(recon, 0.0);
    EXPECT_GE(kl, 0.0);
    EXPECT_NEAR(std::stod(fields[8]), -(recon + kl), 1e-3 * (recon + kl));  // elbo = -(recon + kl)
    EXPECT_GT(std::stod(fields[9]), 0.0);
    EXPECT_EQ(fs::path(fields[10]).filename().string(), kGridRuns[r]);
    EXPECT_EQ(fields[11], "ok");
    EXPECT_EQ(fields[12], "trained");
    EXPECT_EQ(fields[13], "");
  }
}

TEST_F(SweepGrid, SummaryMarkdownHasATitleAndATableOfFourRows) {
  ASSERT_EQ(result_->code, 0) << result_->err;
  const std::string markdown = read_bytes(*dir_ / "sweep" / "summary.md");
  const auto lines = lines_of(markdown);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("# ", 0), 0u) << lines[0];
  EXPECT_TRUE(contains(lines[0], "tiny.json")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "model.latent_dim in {2, 4}")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "loss.beta in {0.5, 1}")) << lines[0];
  EXPECT_EQ(markdown_rows(markdown), 4u) << markdown;
  EXPECT_TRUE(contains(markdown, "| run | model.latent_dim | loss.beta | epochs |")) << markdown;
}

TEST_F(SweepGrid, SamplesPictureHasARowOfEightPerRun) {
  ASSERT_EQ(result_->code, 0) << result_->err;
  const auto samples = vae::load_image((*dir_ / "sweep" / "samples.png").string());
  EXPECT_EQ(samples.width, 8 * 18 + 2);
  EXPECT_EQ(samples.height, 4 * 18 + 2);
  EXPECT_EQ(samples.channels, 1);
}

TEST_F(SweepGrid, PrintsThePathsOfWhatItWrote) {
  ASSERT_EQ(result_->code, 0) << result_->err;
  EXPECT_EQ(lines_of(result_->out),
            (std::vector<std::string>{"sweep/summary.csv", "sweep/summary.md", "sweep/samples.png"}));
}

TEST(Sweep, ListValuedGridAndDefaultFolder) {
  const fs::path dir = fresh_dir("lists");
  write_config(dir);
  const Result result = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                      "model.hidden_dims=[8],[8,16]", "--set", "train.max_steps=2"});
  ASSERT_EQ(result.code, 0) << result.err;
  const fs::path sweep = dir / "runs" / "tiny-sweep";
  for (const char* run : {"01-hidden_dims=8", "02-hidden_dims=8-16"}) {
    EXPECT_TRUE(fs::is_regular_file(sweep / run / "checkpoints" / "last.pt")) << run;
  }
  const vae::CheckpointReader second((sweep / "02-hidden_dims=8-16/checkpoints/last.pt").string());
  EXPECT_EQ(second.meta().config["model"]["hidden_dims"], nlohmann::json::parse("[8,16]"));
  EXPECT_EQ(second.meta().step, 2);
  const auto lines = lines_of(read_bytes(sweep / "summary.csv"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(csv_fields(lines[1])[1], "[8]");
  EXPECT_EQ(csv_fields(lines[2])[1], "[8,16]");
  EXPECT_EQ(csv_fields(lines[2]).size(), 13u);
  EXPECT_TRUE(fs::is_regular_file(sweep / "samples.png"));

  // The default folder is numbered when taken.
  const Result again = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                     "train.seed=3", "--set", "train.max_steps=1"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(fs::is_regular_file(dir / "runs" / "tiny-sweep-2" / "01-seed=3" / "checkpoints" / "last.pt"));
}

TEST(Sweep, DifferentImageSizesGiveOnePicturePerRun) {
  const fs::path dir = fresh_dir("sizes");
  write_config(dir);
  const Result result = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                      "data.image_size=16,32", "--set", "train.max_steps=1",
                                      "--out", "sweep"});
  ASSERT_EQ(result.code, 0) << result.err;
  EXPECT_FALSE(fs::exists(dir / "sweep" / "samples.png"));
  const auto first = vae::load_image((dir / "sweep" / "samples-01.png").string());
  const auto second = vae::load_image((dir / "sweep" / "samples-02.png").string());
  EXPECT_EQ(first.width, 8 * 18 + 2);
  EXPECT_EQ(second.width, 8 * 34 + 2);
  EXPECT_EQ(second.height, 34 + 2);
  EXPECT_TRUE(contains(result.err, "samples-<run>.png per run")) << result.err;
  EXPECT_TRUE(contains(result.out, "sweep/samples-02.png")) << result.out;
}

TEST(Sweep, BadGridKeyOrValueIsAConfigErrorBeforeAnyTraining) {
  const fs::path dir = fresh_dir("bad_key");
  write_config(dir);
  const Result key = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid", "model.latnt_dim=2,4",
                                   "--out", "sweep"});
  EXPECT_EQ(key.code, 2);
  EXPECT_EQ(error_lines(key.err), 1u) << key.err;
  EXPECT_TRUE(contains(key.err, "--grid: unknown key 'model.latnt_dim'")) << key.err;
  EXPECT_TRUE(contains(key.err, "model.latent_dim")) << key.err;  // the suggestion
  EXPECT_FALSE(fs::exists(dir / "sweep"));

  // The bad value is the last one: still nothing is trained.
  const Result value = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                     "model.latent_dim=2,0"});
  EXPECT_EQ(value.code, 2);
  EXPECT_TRUE(contains(value.err, "model.latent_dim must be")) << value.err;
  EXPECT_TRUE(contains(value.err, "got 0")) << value.err;
  EXPECT_FALSE(fs::exists(dir / "runs"));

  // A combination the model cannot build (16 px cannot be halved 6 times) is caught too.
  const Result layout = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                      "model.hidden_dims=[8],[8,8,8,8,8,8]"});
  EXPECT_EQ(layout.code, 2) << layout.err;
  EXPECT_TRUE(contains(layout.err, "model.hidden_dims")) << layout.err;
  EXPECT_FALSE(fs::exists(dir / "runs"));
}

TEST(Sweep, MalformedOrRepeatedGridIsAUsageError) {
  const fs::path dir = fresh_dir("malformed");
  write_config(dir);
  for (const std::vector<std::string>& grid :
       {std::vector<std::string>{"--grid", "model.latent_dim"},
        std::vector<std::string>{"--grid", "=2,4"},
        std::vector<std::string>{"--grid", "model.latent_dim=2,,4"},
        std::vector<std::string>{"--grid", "model.hidden_dims=[8,16"},
        std::vector<std::string>{"--grid", "model.latent_dim=2", "--grid", "model.latent_dim=4"}}) {
    std::vector<std::string> args = {"sweep", "--config", "tiny.json"};
    args.insert(args.end(), grid.begin(), grid.end());
    const Result result = vae_run(dir, args);
    EXPECT_EQ(result.code, 2) << grid.back() << "\n" << result.err;
    EXPECT_EQ(error_lines(result.err), 1u) << result.err;
    EXPECT_TRUE(contains(result.err, "--grid")) << result.err;
  }
  const Result missing = vae_run(dir, {"sweep", "--config", "tiny.json"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_FALSE(fs::exists(dir / "runs"));
}

TEST(Sweep, AFailedRunIsRecordedAndTheSweepContinues) {
  const fs::path dir = fresh_dir("failed");
  write_config(dir);
  // --nan-at-step: the loss of step 3 is NaN, which only the first run (4 steps) reaches.
  const Result result = vae_run(dir, {"sweep", "--config", "tiny.json", "--grid",
                                      "train.max_steps=4,2", "--out", "sweep", "--nan-at-step", "3"});
  EXPECT_EQ(result.code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, "1 of 2 sweep runs failed")) << result.err;
  EXPECT_TRUE(contains(result.err, "run 2/2: train.max_steps=2")) << result.err;
  const auto lines = lines_of(read_bytes(dir / "sweep" / "summary.csv"));
  ASSERT_EQ(lines.size(), 3u);
  const auto failed = csv_fields(lines[1]);
  ASSERT_EQ(failed.size(), 13u) << lines[1];
  EXPECT_EQ(failed[10], "failed");
  EXPECT_TRUE(contains(failed[12], "non-finite loss")) << failed[12];
  const auto ok = csv_fields(lines[2]);
  ASSERT_EQ(ok.size(), 13u) << lines[2];
  EXPECT_EQ(ok[10], "ok");
  EXPECT_EQ(ok[3], "2");
  EXPECT_TRUE(contains(read_bytes(dir / "sweep" / "summary.md"), "non-finite loss"));
  // The failed run's log holds only its own lines.
  EXPECT_FALSE(contains(read_bytes(dir / "sweep" / "01-max_steps=4" / "train.log"), "run 2/2"));
  EXPECT_TRUE(fs::is_regular_file(dir / "sweep" / "samples.png"));  // the failed run's row is blank
}

TEST(Sweep, CtrlCWritesTheSummarySoFarAndExits130) {
  const fs::path dir = fresh_dir("sigint");
  write_config(dir);
  const pid_t pid = spawn_vae(dir, {"sweep", "--config", "tiny.json", "--grid", "train.seed=0,1",
                                    "--set", "data.train_size=200000", "--set", "train.max_steps=0",
                                    "--set", "train.log_every=1", "--out", "sweep"});
  ASSERT_GT(pid, 0);
  const fs::path metrics = dir / "sweep" / "01-seed=0" / "metrics.csv";
  EXPECT_EQ(interrupt_when(pid, [&] { return fs::exists(metrics) && lines_of(read_bytes(metrics)).size() >= 3; }),
            130);
  const std::string err = read_bytes(dir / ".stderr");
  EXPECT_TRUE(contains(err, "sweep stopped during run 1/2")) << err;
  EXPECT_FALSE(fs::exists(dir / "sweep" / "02-seed=1"));
  const auto lines = lines_of(read_bytes(dir / "sweep" / "summary.csv"));
  ASSERT_EQ(lines.size(), 2u);
  const auto row = csv_fields(lines[1]);
  ASSERT_EQ(row.size(), 13u) << lines[1];
  EXPECT_EQ(row[10], "interrupted");
  // Stopped a few steps into its first epoch: the part done, not "0".
  EXPECT_GT(std::stod(row[2]), 0.0) << lines[1];
  EXPECT_LT(std::stod(row[2]), 1.0) << lines[1];
  EXPECT_GE(std::stoll(row[3]), 2);  // steps, from the checkpoint saved on Ctrl-C
  EXPECT_TRUE(contains(read_bytes(dir / "sweep" / "summary.md"), "1 of 2 runs were started"));
  EXPECT_TRUE(contains(err, "to continue the sweep, run the same command with --out sweep")) << err;

  // The same command again (with a step budget) continues it: run 1 resumes from its checkpoint,
  // run 2 is trained; a third time keeps both; another grid into the folder is refused.
  const std::vector<std::string> again = {"sweep", "--config", "tiny.json", "--grid", "train.seed=0,1",
                                          "--set", "data.train_size=200000", "--set", "train.max_steps=30",
                                          "--set", "train.log_every=1", "--out", "sweep"};
  const Result continued = vae_run(dir, again);
  ASSERT_EQ(continued.code, 0) << continued.err;
  EXPECT_TRUE(contains(continued.err, "(continuing it)")) << continued.err;
  EXPECT_TRUE(contains(continued.err, "run 1/2: train.seed=0 (resuming it)")) << continued.err;
  auto rows = lines_of(read_bytes(dir / "sweep" / "summary.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(csv_fields(rows[1])[3], "30");
  EXPECT_EQ(csv_fields(rows[1])[11], "resumed") << rows[1];
  EXPECT_EQ(csv_fields(rows[2])[11], "trained") << rows[2];
  EXPECT_TRUE(contains(read_bytes(dir / "sweep" / "summary.md"), "ok (resumed)"));
  // metrics.csv of the resumed run holds each step once.
  std::set<std::string> steps;
  for (const auto& line : lines_of(read_bytes(dir / "sweep" / "01-seed=0" / "metrics.csv"))) {
    if (line.find(",train,") == std::string::npos) continue;
    EXPECT_TRUE(steps.insert(csv_fields(line)[1]).second) << "step " << csv_fields(line)[1] << " twice";
  }
  const Result kept = vae_run(dir, again);
  ASSERT_EQ(kept.code, 0) << kept.err;
  EXPECT_TRUE(contains(kept.err, "run 2/2: train.seed=1: finished earlier, kept")) << kept.err;
  rows = lines_of(read_bytes(dir / "sweep" / "summary.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(csv_fields(rows[1])[11], "kept");
  EXPECT_EQ(csv_fields(rows[2])[11], "kept");
  EXPECT_EQ(csv_fields(rows[2])[3], "30");
  auto other = again;
  other[4] = "train.seed=0,2";
  const Result refused = vae_run(dir, other);
  EXPECT_EQ(refused.code, 2);
  EXPECT_TRUE(contains(refused.err, "holds run 02-seed=1, which this grid does not plan")) << refused.err;
}

}  // namespace
