// Pieces shared by the subcommands.
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "vae/tensor/device.h"
#include "vae/train/run_dir.h"

#ifndef VAE_VERSION
#define VAE_VERSION "unknown"
#endif

namespace vae {

std::string version_text() {
  return std::string("vae ") + VAE_VERSION + "\n" + torch_version_text() +
         "\ndevices: " + available_devices();
}

std::string checkpoint_or_latest(const std::string& ckpt) {
  if (!ckpt.empty()) return ckpt;
  const std::string latest = latest_checkpoint().string();
  spdlog::info("no --ckpt given: using the newest run's checkpoint {}", latest);
  return latest;
}

}  // namespace vae
