// Helpers shared by the tests that run the real `vae` program (VAE_BINARY): run it and capture
// its output, start it in the background, make fresh working folders.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace vae_test
