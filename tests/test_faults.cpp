// Faults the program must survive without losing a run: kill -9 at random moments, resumed each
// time, and two processes racing for one run folder. (The full disk, crafted checkpoints, FIFOs,
// links, a second resume, SIGHUP and a deleted run folder are in test_cli.cpp and
// test_checkpoint.cpp; the readers are fuzzed by scripts/fuzz.sh.)
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "cli_support.h"
#include "vae/train/checkpoint.h"

namespace {
namespace fs = std::filesystem;
using namespace vae_test;

// metrics.csv split into fields, the header first.
std::vector<std::vector<std::string>> csv_fields(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : lines_of(read_bytes(path))) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, ',')) fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

// Every checkpoint of the run opens, passes its checks (archive CRCs, tensor sizes, finiteness)
// and builds its model.
void expect_checkpoints_load(const fs::path& run, int round) {
  for (const auto& entry : fs::directory_iterator(run / "checkpoints")) {
    if (entry.path().extension() != ".pt") continue;
    try {
      vae::CheckpointReader reader(entry.path().string());
      reader.load_model(torch::kCPU);
      EXPECT_GT(reader.meta().step, 0) << entry.path();
    } catch (const std::exception& error) {
      ADD_FAILURE() << "round " << round << ": " << entry.path() << ": " << error.what();
    }
  }
}

// kill -9 at seeded random moments (start-up, mid-epoch, while checkpoints are written), then
// resume: every checkpoint left behind loads, each resume is accepted (the lock died with the
// process), and the finished run's metrics.csv holds whole lines, each (split, step) once, the
// training steps in order up to the last, with no temporary file left in the run folder.
TEST(Faults, KillNineAtRandomMomentsNeverCostsTheRun) {
  const fs::path dir = fresh_dir("kill9");
  // 6 steps per epoch of 16, 600 epochs (about 11 s uninterrupted here): 3,600 steps, a checkpoint
  // at the end of every epoch, so that many kills land while one is written.
  write_tiny_config(dir, nlohmann::json::parse(R"({"data": {"train_size": 96, "val_size": 32},
      "train": {"epochs": 600, "batch_size": 16, "log_every": 1, "grid_images": 4}})"));
  const fs::path run = dir / "run";
  std::mt19937 random(20261206);
  std::uniform_int_distribution<int> delay_ms(150, 1500);
  int kills = 0, rounds = 0;
  bool finished = false;
  for (; rounds < 12 && !finished; ++rounds) {
    const bool started = fs::exists(run / "checkpoints" / "last.pt");
    if (!started) fs::remove_all(run);  // killed before its first checkpoint: nothing to resume
    const pid_t pid = spawn_vae(dir, started ? std::vector<std::string>{"train", "--resume", "run"}
                                             : std::vector<std::string>{"train", "--config", "tiny.json", "--out", "run"});
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++kills;
    } else {
      // It ended before the kill: only by finishing the run.
      ASSERT_TRUE(WIFEXITED(status)) << "round " << rounds;
      ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << rounds << ": " << read_bytes(dir / ".stderr");
      finished = true;
    }
    if (fs::exists(run / "checkpoints")) expect_checkpoints_load(run, rounds);
  }
  EXPECT_GE(kills, 4) << "too few kills landed for the test to mean much";
  std::cout << "kill -9: " << kills << " kills in " << rounds << " rounds" << std::endl;
  if (!finished) {
    const Result last = vae_run(dir, {"train", "--resume", "run"});
    ASSERT_EQ(last.code, 0) << last.err;
  }
  expect_checkpoints_load(run, rounds);
  const vae::CheckpointReader final_state((run / "checkpoints" / "last.pt").string());
  EXPECT_EQ(final_state.meta().step, 3600);
  EXPECT_EQ(final_state.meta().metrics.value("state", ""), "finished");

  const auto rows = csv_fields(run / "metrics.csv");
  ASSERT_GT(rows.size(), 1u);
  const size_t columns = rows[0].size();
  std::set<std::pair<std::string, int64_t>> seen;
  int64_t last_train_step = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), columns) << "line " << i + 1 << " is cut";
    const int64_t step = std::stoll(rows[i][1]);
    EXPECT_TRUE(seen.insert({rows[i][2], step}).second) << "two rows for " << rows[i][2] << " step " << step;
    if (rows[i][2] == "train") {
      EXPECT_GT(step, last_train_step) << "line " << i + 1;
      last_train_step = step;
    }
  }
  EXPECT_EQ(last_train_step, 3600);
  EXPECT_EQ(seen.count({"val", 3600}), 1u);
  for (const auto& entry : fs::recursive_directory_iterator(run)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

// Two `vae train` started together into one --out folder: one trains, the other is refused with
// one line and exit 2, and the run is the winner's alone (one TensorBoard file, one row per step).
TEST(Faults, TwoRunsRacingForOneFolderLeaveOneRun) {
  const fs::path dir = fresh_dir("race");
  write_tiny_config(dir, nlohmann::json::parse(R"({"train": {"epochs": 1, "log_every": 1}})"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string out = "run" + std::to_string(attempt);
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    fs::copy_file(dir / "tiny.json", dir / "a" / "tiny.json", fs::copy_options::overwrite_existing);
    fs::copy_file(dir / "tiny.json", dir / "b" / "tiny.json", fs::copy_options::overwrite_existing);
    const std::string target = (dir / out).string();
    const pid_t first = spawn_vae(dir / "a", {"train", "--config", "tiny.json", "--out", target});
    const pid_t second = spawn_vae(dir / "b", {"train", "--config", "tiny.json", "--out", target});
    ASSERT_GT(first, 0);
    ASSERT_GT(second, 0);
    const int codes[2] = {exit_status_of(first), exit_status_of(second)};
    const int winner = codes[0] == 0 ? 0 : 1;
    EXPECT_EQ(codes[winner], 0) << attempt;
    EXPECT_EQ(codes[1 - winner], 2) << attempt;
    const std::string loser_err = read_bytes(dir / (winner == 0 ? "b" : "a") / ".stderr");
    EXPECT_EQ(error_lines(loser_err), 1u) << loser_err;
    EXPECT_NE(loser_err.find(out), std::string::npos) << loser_err;
    size_t event_files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir / out / "tb")) ++event_files;
    EXPECT_EQ(event_files, 1u);
    const auto rows = csv_fields(dir / out / "metrics.csv");
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 1; i < rows.size(); ++i) EXPECT_TRUE(seen.insert({rows[i][2], rows[i][1]}).second) << attempt;
    EXPECT_EQ(vae::CheckpointReader((dir / out / "checkpoints" / "last.pt").string()).meta().step, 8);
  }
}

}  // namespace
