// One training run: builds data, model and optimizer from a resolved config and runs the epoch
// loop: TrainStep on every batch (train_step.h), NonFinitePolicy on its result, a validation,
// picture grids and checkpoints (last.pt, the best K by BestCheckpoints) at the end of each epoch,
// metrics.csv and TensorBoard through RunLog. Stops cleanly, with its state saved, on
// SIGINT/SIGTERM; a non-finite step ends the run (train.nonfinite=stop) or is skipped
// (train.nonfinite=skip, up to train.max_nonfinite in a row), the last good checkpoint untouched.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace vae {

struct TrainOptions {
  nlohmann::json config;       // resolved config (for --resume: the stored one plus --set)
  std::string out_dir;         // --out; empty = runs/<name>
  std::string resume;          // --resume RUN_DIR|CKPT; empty = fresh run
  // Fault injection (`vae train --nan-at-step N`): > 0 makes the loss of step N (1-based) NaN, to
  // see what train.nonfinite does to a run without waiting for a real divergence.
  int64_t nan_at_step = 0;
};

// Applies a command's --device, --threads and (when batch > 0) --batch to a resolved config as
// train.device, train.threads and train.batch_size, with the checks of --set and messages naming
// the option; --device must also be present on this machine. Empty / negative leave a key as is.
void apply_run_options(nlohmann::json& resolved, const std::string& device, int64_t threads,
                       int64_t batch = 0);

struct TrainSummary {
  std::filesystem::path run_dir;
  std::filesystem::path last_checkpoint;
  int64_t epochs = 0;  // epochs completed
  int64_t steps = 0;   // optimizer steps completed
  nlohmann::json final_validation;  // {loss, recon, kl, elbo} of the last validation
};

TrainSummary run_training(const TrainOptions& options);

// The warning the trainer logs (once per run) when the validation KL of an epoch (1-based) exceeds
// 1,000 nats per latent dimension, a run diverging behind a clamped logvar; "" when it does not.
std::string kl_runaway_warning(double kl, int64_t latent_dim, int64_t epoch);

}  // namespace vae
