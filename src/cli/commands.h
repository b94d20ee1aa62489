// The subcommands of the `vae` program. Each add_*_command registers its options on the parent
// CLI11 app and returns the subcommand with the function that runs it after parsing; `main` only
// parses, dispatches and maps errors to exit codes.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace vae {

struct Command {
  CLI::App* app;
  std::function<int()> run;  // returns the exit status; throws vae::Error on failure
};

Command add_train_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_reconstruct_command(CLI::App& parent);
Command add_data_command(CLI::App& parent);
Command add_sweep_command(CLI::App& parent);
Command add_plot_command(CLI::App& parent);
Command add_interpolate_command(CLI::App& parent);
Command add_traverse_command(CLI::App& parent);
Command add_encode_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_runs_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);

// Text of `vae --version`: project version, LibTorch version, devices.
std::string version_text();

}  // namespace vae
