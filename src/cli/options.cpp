#include "cli/options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/train/run_dir.h"
#include "vae/train/trainer.h"

namespace vae {

namespace {
const char* const kDeviceHelp = "auto | cpu | cuda | cuda:N | mps";
}  // namespace

CLI::App* add_model_subcommand(CLI::App& parent, const std::string& name, const std::string& description,
                               ModelArguments& args) {
  CLI::App* app = parent.add_subcommand(name, description);
  app->add_option("--ckpt", args.ckpt,
                  "Checkpoint: a .pt file, a run folder (its best.pt, else last.pt), RUN:best or RUN:last "
                  "(default: the newest run's last.pt)");
  app->add_option("--device", args.device, kDeviceHelp)->capture_default_str();
  return app;
}

std::string checkpoint_or_latest(const std::string& ckpt) {
  if (!ckpt.empty()) {
    const CheckpointChoice choice = choose_checkpoint(ckpt);
    if (!choice.why.empty()) spdlog::info("checkpoint {}: {}", choice.path.string(), choice.why);
    return choice.path.string();
  }
  const std::string latest = choose_checkpoint(latest_checkpoint().string()).path.string();
  spdlog::info("no --ckpt given: using the newest run's checkpoint {}", latest);
  return latest;
}

LoadedModel open_model(const ModelArguments& args, const std::vector<std::string>& overrides) {
  resolve_device(args.device, "--device");  // a bad --device is reported before a missing checkpoint
  return open_model(checkpoint_or_latest(args.ckpt), args.device, overrides, "--device");
}

const CLI::Validator kFiniteNumber(
    [](std::string& value) {
      char* end = nullptr;
      const double number = std::strtod(value.c_str(), &end);
      if (end != value.c_str() && std::isfinite(number)) return std::string();
      return "'" + value + "' is not a finite number";
    },
    "FINITE");

CLI::Option* add_png_out_option(CLI::App* app, std::string& out, const std::string& help) {
  const CLI::Validator png(
      [](std::string& value) {
        std::string extension = std::filesystem::path(value).extension().string();
        for (char& c : extension) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (extension == ".png") return std::string();
        return "'" + value + "': vae writes PNG pictures; give a name ending in .png";
      },
      "FILE.png");
  return app->add_option("-o,--out", out, help)->check(png);
}

void add_config_options(CLI::App* app, std::string& config_path, std::vector<std::string>& overrides,
                        const std::string& config_help, const std::string& set_help) {
  app->add_option("-c,--config", config_path, config_help);
  app->add_option("--set", overrides, set_help)->type_name("KEY=VALUE");
}

void add_run_options(CLI::App* app, RunArguments& args) {
  app->add_option("--device", args.device, std::string(kDeviceHelp) + " (overrides train.device)");
  app->add_option("--threads", args.threads, "CPU threads (overrides train.threads; 0 = one per core)")
      ->check(CLI::NonNegativeNumber);
}

void add_threads_option(CLI::App* app, int64_t& threads) {
  app->add_option("--threads", threads, "CPU threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

}  // namespace vae
