// One training run: builds data, model and optimizer from a resolved config, trains with the
// beta-weighted negative ELBO, validates every epoch, writes metrics.csv, grids and checkpoints,
// stops cleanly on SIGINT/SIGTERM and refuses to continue past a non-finite loss.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace vae {

struct TrainOptions {
  nlohmann::json config;       // resolved config (for --resume: the stored one plus --set)
  std::string out_dir;         // --out; empty = runs/<name>
  std::string device;          // --device; empty = train.device
  int64_t threads = -1;        // --threads; -1 = train.threads
  std::string resume;          // --resume RUN_DIR|CKPT; empty = fresh run
};

struct TrainSummary {
  std::filesystem::path run_dir;
  std::filesystem::path last_checkpoint;
  int64_t epochs = 0;  // epochs completed
  int64_t steps = 0;   // optimizer steps completed
  nlohmann::json final_validation;  // {loss, recon, kl, elbo} of the last validation
};

TrainSummary run_training(const TrainOptions& options);

}  // namespace vae
