// Helpers shared by the tests that run the real `vae` program (VAE_BINARY): run it and capture
// its output, start it in the background, make fresh working folders, and the CTest fixtures: a
// run that `vae` trains once and several tests work on (FixtureTest).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_files.h"

extern char** environ;

namespace vae_test {
namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The small configuration the CLI tests train in seconds: built-in 16x16 shapes (256 training and 64
// validation sprites), conv 8-16, latent 4, 2 epochs of 8 batches of 32 on one thread, a training
// row every 2 steps. `changes` is merged over it (a JSON merge patch), e.g. {"train": {"epochs": 1}}.
inline nlohmann::json tiny_config(const nlohmann::json& changes = nlohmann::json::object()) {
  auto config = nlohmann::json::parse(R"({
    "name": "tiny",
    "data": {"image_size": 16, "train_size": 256, "val_size": 64},
    "model": {"latent_dim": 4, "hidden_dims": [8, 16]},
    "train": {"epochs": 2, "batch_size": 32, "log_every": 2, "grid_images": 16, "threads": 1}
  })");
  config.merge_patch(changes);
  return config;
}

// Writes tiny_config(changes) to DIR/tiny.json and returns that path.
inline fs::path write_tiny_config(const fs::path& dir, const nlohmann::json& changes = nlohmann::json::object()) {
  std::ofstream(dir / "tiny.json") << tiny_config(changes).dump(2);
  return dir / "tiny.json";
}

// Runs `vae ARGS` in `cwd` with optional environment assignments; captures stdout and stderr.
inline Result vae_run(const fs::path& cwd, const std::vector<std::string>& args, const std::string& env = "") {
  const fs::path out = cwd / ".stdout", err = cwd / ".stderr";
  std::string command = "cd " + quote(cwd.string()) + " && " + env + " " + quote(VAE_BINARY);
  for (const auto& arg : args) command += " " + quote(arg);
  command += " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
  const int status = std::system(command.c_str());
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_bytes(out);
  result.err = read_bytes(err);
  return result;
}

// Lines of stderr that report an error (informational log lines do not count).
inline size_t error_lines(const std::string& text) {
  size_t count = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) count += line.find("error") != std::string::npos ? 1 : 0;
  return count;
}

inline fs::path fresh_dir(const std::string& name) { return scratch_dir("cli", name); }

// Starts `vae ARGS` in the background with output to files; returns its pid.
inline pid_t spawn_vae(const fs::path& cwd, const std::vector<std::string>& args) {
  std::vector<std::string> argv_storage = {VAE_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (cwd / ".stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (cwd / ".stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const fs::path previous = fs::current_path();
  fs::current_path(cwd);
  pid_t pid = -1;
  const int failed = posix_spawn(&pid, VAE_BINARY, &actions, nullptr, argv.data(), environ);
  fs::current_path(previous);
  posix_spawn_file_actions_destroy(&actions);
  return failed ? -1 : pid;
}

// Polls ready() every 50 ms until it holds or `seconds` have passed.
template <class Ready>
void wait_until(Ready ready, int seconds = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline && !ready()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Waits for the `vae` of spawn_vae: its exit status, or -1 when it did not exit normally.
inline int exit_status_of(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Sends `signal_number` (Ctrl-C's SIGINT unless told) to the `vae` of spawn_vae once ready()
// holds (or after `seconds`) and waits for it: its exit status, or -1 when it did not exit normally.
template <class Ready>
int interrupt_when(pid_t pid, Ready ready, int seconds = 60, int signal_number = SIGINT) {
  wait_until(ready, seconds);
  if (::kill(pid, signal_number) != 0) return -1;
  return exit_status_of(pid);
}

// The lines of a text, without their line ends.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The CTest fixtures of the CLI suites (tests/CMakeLists.txt): each is one `vae` command, run in a
// folder holding tiny_config(changes) as tiny.json. ctest makes each once per run
// (CliFixture.<name>, through vae_cli_fixture); a test run on its own makes what is missing.
struct Fixture {
  std::string name;
  nlohmann::json changes;  // over tiny_config()
  std::vector<std::string> args;
};

// tiny_config() with 4 batches of 32 per epoch, one epoch: a run takes well under a second.
inline const nlohmann::json kSweepChanges = nlohmann::json::parse(R"({
  "data": {"train_size": 128, "val_size": 32},
  "train": {"epochs": 1, "max_steps": 4, "grid_images": 4}
})");

inline const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = {
      // Chain and Latent: tiny_config() as it is, 2 epochs of 8 steps.
      {"tiny_run", nlohmann::json::object(), {"train", "--config", "tiny.json"}},
      // Plot: 2 epochs of 4 steps, a training row every 2 steps: a few seconds.
      {"plot_run", nlohmann::json::parse(R"({"data": {"train_size": 128, "val_size": 32}, "train": {"grid_images": 4}})"),
       {"train", "--config", "tiny.json"}},
      // EvalCli: more training images and a test split of 80, into the folder `run`.
      {"eval_run",
       nlohmann::json::parse(R"({"data": {"train_size": 512, "val_size": 96, "test_size": 80},
                                 "train": {"log_every": 4, "grid_images": 4}})"),
       {"train", "--config", "tiny.json", "--out", "run"}},
      // SweepGrid: a 2 x 2 grid into the folder `sweep`.
      {"sweep_grid", kSweepChanges,
       {"sweep", "--config", "tiny.json", "--grid", "model.latent_dim=2,4", "--grid", "loss.beta=0.5,1", "--out", "sweep"}},
  };
  return all;
}

// VAE_FIXTURE_DIR/<name>: where fixture `name` is made.
inline fs::path fixture_dir(const std::string& name) { return fs::path(VAE_FIXTURE_DIR) / name; }

// Makes fixture `name` anew: runs its command in <name>.tmp.<pid> beside the final folder, records
// the exit status in .code (stdout and stderr are in .stdout and .stderr), then renames the folder
// into place, replacing a stale one. Returns what the command returned.
inline Result make_fixture(const std::string& name) {
  const auto recipe = std::find_if(fixtures().begin(), fixtures().end(),
                                   [&](const Fixture& fixture) { return fixture.name == name; });
  if (recipe == fixtures().end()) throw std::invalid_argument("no CLI test fixture named '" + name + "'");
  const fs::path dir = fixture_dir(name);
  const fs::path building = dir.string() + ".tmp." + std::to_string(::getpid());
  fs::remove_all(building);
  fs::create_directories(building);
  write_tiny_config(building, recipe->changes);
  const Result result = vae_run(building, recipe->args);
  std::ofstream(building / ".code") << result.code;
  fs::remove_all(dir);
  std::error_code taken;
  fs::rename(building, dir, taken);
  if (taken) fs::remove_all(building);  // another process has just made it
  return result;
}

// What fixture `name` holds: made when missing or older than `vae` or this test program (a test
// run on its own, outside ctest); the exit status and output of its command are returned.
inline Result fixture_result(const std::string& name) {
  const fs::path dir = fixture_dir(name), code = dir / ".code";
  const auto newer_than_code = [&](const fs::path& program) {
    return fs::last_write_time(program) > fs::last_write_time(code);
  };
  if (!fs::exists(code) || newer_than_code(VAE_BINARY) || newer_than_code(fs::read_symlink("/proc/self/exe"))) {
    make_fixture(name);
  }
  Result result;
  result.code = std::stoi(read_bytes(code));
  result.out = read_bytes(dir / ".stdout");
  result.err = read_bytes(dir / ".stderr");
  return result;
}

// The base of a suite whose tests work on one CTest fixture: before each test, *dir_ is a fresh
// copy of the fixture's folder (the test may write into it) and train_ what its command returned.
class FixtureTest : public ::testing::Test {
 protected:
  explicit FixtureTest(std::string fixture) : fixture_(std::move(fixture)) {}
  void SetUp() override {
    train_.emplace(fixture_result(fixture_));
    dir_.emplace(fresh_dir(fixture_));
    fs::copy(fixture_dir(fixture_), *dir_, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  std::optional<fs::path> dir_;
  std::optional<Result> train_;

 private:
  std::string fixture_;
};

}  // namespace vae_test
