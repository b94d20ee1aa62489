// `vae plot`: the loss curves of a run (its metrics.csv) as a PNG, on demand; the trainer draws
// the same picture at the end of training.
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
  std::string run = "runs/latest";
  std::string out;  // default: <run>/curves.png
};

int run_plot(const PlotArguments& args) {
  std::error_code error;
  const fs::file_status status = fs::status(args.run, error);
  if (!fs::exists(status)) {
    throw IoError(args.run + ": no such run directory; give a folder written by vae train "
                  "(runs/<name>, or runs/latest for the newest)");
  }
  if (!fs::is_directory(status)) {
    throw IoError(args.run + ": not a directory; --run takes a run directory (runs/<name>), "
                  "not a file in it");
  }
  // runs/latest is a link: name the run it points at in the log and the title.
  const fs::path run = fs::canonical(args.run, error);
  const fs::path run_dir = error ? fs::path(args.run) : run;
  const fs::path out = args.out.empty() ? fs::path(args.run) / "curves.png" : fs::path(args.out);
  write_curves_png(fs::path(args.run) / "metrics.csv", out,
                   run_dir.filename().string() + ": loss curves");
  spdlog::info("loss curves of {} drawn from its metrics.csv", run_dir.string());
  std::cout << out.string() << std::endl;
  return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
  auto args = std::make_shared<PlotArguments>();
  CLI::App* app = parent.add_subcommand(
      "plot", "Draw a run's training and validation loss curves (metrics.csv) into a PNG");
  app->add_option("--run", args->run, "Run directory, e.g. runs/<name> or runs/latest")
      ->capture_default_str();
  add_png_out_option(app, args->out, "Output PNG (default: <run>/curves.png)");
  return {app, [args] { return run_plot(*args); }};
}

}  // namespace vae
