// `vae plot`: the loss curves of a run (its metrics.csv) as a PNG, on demand (the trainer draws
// the same picture at the end of training); with several runs, their validation curves overlaid.
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "vae/logs/curves.h"
#include "vae/base/errors.h"

namespace vae {
namespace {
namespace fs = std::filesystem;

struct PlotArguments {
  std::vector<std::string> runs;        // positional
  std::vector<std::string> run_options;  // --run (repeatable); with `runs`, none means runs/latest
  std::string out;  // default: <run>/curves.png for one run, compare.png for several
};

// The run folder `argument` names, with links such as runs/latest resolved.
fs::path run_folder(const std::string& argument) {
  std::error_code error;
  const fs::file_status status = fs::status(argument, error);
  if (!fs::exists(status)) {
    throw IoError(argument + ": no such run directory; give a folder written by vae train "
                  "(runs/<name>, or runs/latest for the newest)");
  }
  if (!fs::is_directory(status)) {
    throw IoError(argument + ": not a directory; vae plot takes run directories (runs/<name>), "
                  "not a file in them");
  }
  const fs::path run = fs::canonical(argument, error);
  return error ? fs::path(argument) : run;
}

int run_plot(PlotArguments args) {
  args.runs.insert(args.runs.end(), args.run_options.begin(), args.run_options.end());
  if (args.runs.empty()) args.runs.push_back("runs/latest");
  if (args.runs.size() == 1) {
    const fs::path run_dir = run_folder(args.runs[0]);
    const fs::path out = args.out.empty() ? fs::path(args.runs[0]) / "curves.png" : fs::path(args.out);
    write_curves_png(fs::path(args.runs[0]) / "metrics.csv", out, run_dir.filename().string() + ": loss curves");
    spdlog::info("loss curves of {} drawn from its metrics.csv", run_dir.string());
    std::cout << out.string() << std::endl;
    return 0;
  }
  // Several runs: each named by its folder, or by the path given where two folders share a name
  // (the same label in two sweeps).
  std::vector<fs::path> folders;
  for (const auto& argument : args.runs) folders.push_back(run_folder(argument));
  std::vector<std::pair<std::string, fs::path>> runs;
  for (size_t i = 0; i < folders.size(); ++i) {
    bool shared = false;
    for (size_t j = 0; j < folders.size(); ++j) {
      shared = shared || (j != i && folders[j].filename() == folders[i].filename());
    }
    runs.emplace_back(shared ? args.runs[i] : folders[i].filename().string(), fs::path(args.runs[i]) / "metrics.csv");
  }
  const fs::path out = args.out.empty() ? fs::path("compare.png") : fs::path(args.out);
  write_comparison_png(runs, out, "validation curves of " + std::to_string(runs.size()) + " runs");
  spdlog::info("validation curves of {} runs overlaid", runs.size());
  std::cout << out.string() << std::endl;
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
  auto args = std::make_shared<PlotArguments>();
  CLI::App* app = parent.add_subcommand(
      "plot", "Draw a run's loss curves (metrics.csv) into a PNG, or overlay the validation curves of several runs");
  app->add_option("runs", args->runs, "Run directories (same as --run)");
  app->add_option("--run", args->run_options, "Run directory, e.g. runs/<name> or runs/latest (the default); "
                                       "repeat it to compare runs");
  add_png_out_option(app, args->out, "Output PNG (default: <run>/curves.png; compare.png for several runs)");
  return {app, [args] { return run_plot(*args); }};
}

}  // namespace vae
