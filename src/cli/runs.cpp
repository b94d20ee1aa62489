// `vae runs [DIR]`: the runs under a folder with their state; `vae info [CKPT]`: what one
// checkpoint holds. Both only read.
#include <cmath>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "vae/base/errors.h"
#include "vae/base/logging.h"
#include "vae/config/config.h"
#include "vae/data/dataset.h"
#include "vae/io/transforms.h"
#include "vae/train/checkpoint.h"
#include "vae/train/run_dir.h"
#include "vae/train/runs.h"

namespace vae {
namespace {
namespace fs = std::filesystem;

std::string epochs_cell(const RunRecord& run) {
  return run.has_checkpoint ? epochs_text(run.epochs) + "/" + std::to_string(run.planned_epochs) : "";
}

int run_runs(const std::string& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    throw IoError(root + ": no such folder; vae runs lists the run folders under a folder (default runs/)");
  }
  const std::vector<RunRecord> runs = find_runs(root);
  if (runs.empty()) {
    std::cout << "no runs under " << root << "/ (train one: vae train --config configs/shapes.json)\n";
    return 0;
  }
  std::cout << fmt::format("{:<13} {:<13} {:>12} {:>9} {:>12}  {}\n", "state", "dataset", "epochs", "steps",
                           "best val", "path");
  for (const auto& run : runs) {
    const std::string best = std::isfinite(run.best_val_loss) ? fmt::format("{:.5g}", run.best_val_loss) : "";
    std::cout << fmt::format("{:<13} {:<13} {:>12} {:>9} {:>12}  {}\n", to_string(run.state), run.dataset,
                             epochs_cell(run), run.has_checkpoint ? std::to_string(run.steps) : "", best,
                             run.dir.string());
  }
  for (const auto& run : runs) {
    if (!run.message.empty()) std::cout << run.dir.string() << ": " << run.message << "\n";
  }
  std::cout << std::flush;
  return 0;
}

std::string terms_text(const nlohmann::json& terms) {
  std::string text;
  for (const char* name : {"loss", "recon", "kl", "elbo"}) {
    if (!terms.contains(name) || !terms[name].is_number()) continue;
    text += fmt::format("{}{} {:.5g}", text.empty() ? "" : ", ", name, terms[name].get<double>());
  }
  return text;
}

int run_info(const std::string& argument) {
  const std::string path = checkpoint_or_latest(argument);
  CheckpointReader reader(path);
  const CheckpointMeta& meta = reader.meta();
  const Config config = config_from_json(meta.config);
  const fs::path run_dir = run_dir_of_checkpoint(path);
  const RunRecord run = read_run(run_dir);
  const int64_t parameters = reader.load_model(torch::kCPU)->parameter_count();
  const auto& metrics = meta.metrics;
  auto line = [](const std::string& label, const std::string& value) {
    std::cout << fmt::format("{:<13}{}\n", label + ":", value);
  };
  line("checkpoint", path);
  line("run", run_dir.string() + " (" + to_string(run.state) + ")");
  line("progress", training_progress(meta));
  line("written by", metrics.value("torch", std::string("an older vae (no LibTorch version recorded)")) +
                         ", model on " + meta.device);
  const DataConfig& data = config.data;
  line("data", fmt::format("{} ({}), {}x{}x{}, values in {}{}", to_string(data.dataset),
                           data.root.empty() ? "built in" : data.root, data.channels, data.image_size,
                           data.image_size, data.range == PixelRange::Unit ? "[0, 1]" : "[-1, 1]",
                           data.binarize ? ", binarised per use" : ""));
  line("transforms", describe_transform_spec(transform_spec(config)) + (data.flip ? "; random flip in training" : ""));
  std::string widths;
  for (const int64_t width : config.model.hidden_dims) widths += (widths.empty() ? "" : "-") + std::to_string(width);
  line("model", fmt::format("{} {}, latent {}, {} parameters", to_string(config.model.type), widths,
                            config.model.latent_dim, parameters));
  line("objective", fmt::format("{} likelihood, beta {} ({} schedule)", to_string(config.loss.likelihood),
                                config.loss.beta, to_string(config.loss.kl_schedule)));
  line("optimizer", fmt::format("{} lr {} ({} schedule), batch {}, seed {}", to_string(config.optim.name),
                                config.optim.lr, to_string(config.optim.lr_schedule), config.train.batch_size,
                                config.train.seed));
  if (metrics.contains("last_val")) line("validation", terms_text(metrics["last_val"]) + " (last epoch)");
  if (metrics.contains("best_val_loss")) line("best val", fmt::format("{:.5g}", metrics["best_val_loss"].get<double>()));
  if (metrics.contains("last_train_loss")) {
    line("train loss", fmt::format("{:.5g} (last finite)", metrics["last_train_loss"].get<double>()));
  }
  if (metrics.contains("seconds")) line("trained for", format_duration(metrics["seconds"].get<double>()));
  std::cout << "the whole config: vae train --resume " << run_dir.string() << " --print-config" << std::endl;
  return 0;
}

}  // namespace

Command add_runs_command(CLI::App& parent) {
  auto root = std::make_shared<std::string>("runs");
  CLI::App* app = parent.add_subcommand(
      "runs", "List the runs under a folder: state (finished, interrupted, failed, incomplete), dataset, "
              "epochs, steps, best validation loss, path");
  app->add_option("dir", *root, "Folder holding run folders (sweep folders included)")->capture_default_str();
  return {app, [root] { return run_runs(*root); }};
}

Command add_info_command(CLI::App& parent) {
  auto ckpt = std::make_shared<std::string>();
  CLI::App* app = parent.add_subcommand(
      "info", "What a checkpoint holds: its run and state, progress, data, model, objective, optimizer, "
              "losses, LibTorch version and device");
  app->add_option("checkpoint,--ckpt", *ckpt,
                  "A .pt file, a run folder (its best.pt, else last.pt), RUN:best or RUN:last "
                  "(default: the newest run's last.pt)");
  return {app, [ckpt] { return run_info(*ckpt); }};
}

}  // namespace vae
