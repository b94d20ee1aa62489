// Sweeps: one training run per combination of grid values (the cartesian product, the first axis
// varying slowest), each in its own numbered folder of the sweep folder, then a summary of the runs
// (summary.csv, summary.md) and one picture with a row of samples per run (samples.png).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vae {

// One --grid option: a key and its values as typed.
struct GridAxis {
  std::string key;
  std::vector<std::string> values;
};

// One combination of grid values and what became of its training run.
struct SweepRun {
  int64_t index = 0;                 // 1-based, in sweep order
  std::vector<std::string> values;   // one per axis, as the resolved config holds them
  nlohmann::json config;             // resolved config of this run
  std::filesystem::path dir;         // <sweep>/<index>-<label>
  std::string status = "pending";    // pending | ok | failed | interrupted
  std::string action = "trained";    // trained (from scratch) | resumed (from its checkpoint) | kept (finished earlier)
  std::string message;               // failed / interrupted: why
  double epochs = -1.0;              // epochs done as a decimal (epochs_done); -1 = unknown
  int64_t steps = -1;
  nlohmann::json validation;         // {loss, recon, kl, elbo} of the last validation, or null
  double seconds = 0.0;
};

struct SweepOptions {
  std::string config_path;
  std::vector<std::string> grids;      // "KEY=V1,V2,..." each
  std::vector<std::string> overrides;  // --set "KEY=VALUE", applied to every run
  std::string out;                     // sweep folder; empty: runs/<name>-sweep, numbered if taken
  std::string device;                  // empty: each run's train.device
  int64_t threads = -1;                // < 0: each run's train.threads
  int64_t seed = 0;                    // latent noise of samples.png
  int64_t nan_at_step = 0;             // TrainOptions::nan_at_step of every run
  // Called with each summary file and picture once written (the CLI prints them).
  std::function<void(const std::filesystem::path&)> on_output;
};

// "KEY=V1,V2,..." with commas inside brackets, braces and strings kept: model.hidden_dims=[8],[8,16].
// Throws ConfigError for a missing '=', an empty value or unbalanced brackets.
GridAxis parse_grid_option(const std::string& option);

// Every --grid option parsed; throws ConfigError when a key is given twice.
std::vector<GridAxis> parse_grid(const std::vector<std::string>& options);

// "latent_dim=2_hidden_dims=8-16": readable, and safe as a file name on every system.
std::string run_label(const std::vector<GridAxis>& axes, const std::vector<std::string>& values);

// Every combination applied to `base` (a resolved config), each validated (config checks, device,
// model arithmetic) before anything is trained or created on disk. Runs are numbered from 1 and
// have no folder yet. Throws ConfigError naming the combination.
std::vector<SweepRun> plan_sweep(const std::vector<GridAxis>& axes, const nlohmann::json& base);

// `out` when new or an empty folder, or runs/<name>-sweep, runs/<name>-sweep-2, ..., whichever is
// free; created. An `out` that already holds this sweep (its summary.csv or some of the planned
// `run_folders`, and no run folder outside the plan) is reopened and `*resuming` set; any other
// non-empty `out` is a ConfigError.
std::filesystem::path open_sweep_dir(const std::string& out, const std::string& name,
                                     const std::vector<std::string>& run_folders, bool* resuming);

// summary.csv: one row per run, a column per axis, the last validation terms, status and error.
void write_sweep_csv(const std::filesystem::path& path, const std::vector<GridAxis>& axes,
                     const std::vector<SweepRun>& runs);

// summary.md: the same table in Markdown, notes on failed runs, and how far a stopped sweep got.
void write_sweep_markdown(const std::filesystem::path& path, const std::string& config_path,
                          const std::vector<std::string>& overrides, const std::vector<GridAxis>& axes,
                          const std::vector<SweepRun>& runs, size_t planned);

// Plans, trains every run (a failed run is recorded and the sweep goes on; a signal stops it after
// writing the summary) and writes the summaries and samples. Run again into the same --out, it
// keeps finished runs, resumes the others from their last checkpoint and trains the missing ones
// (a run's stored config must agree with the plan on every key that --resume may not change).
// Throws ConfigError before anything is trained for a bad grid or a folder of another sweep,
// Interrupted when stopped, Error when any run failed.
void run_sweep(const SweepOptions& options);

}  // namespace vae
