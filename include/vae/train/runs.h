// What a run folder holds, read back without training: its state (finished, interrupted, failed,
// incomplete), dataset, progress and best validation loss, for `vae runs`, `vae info` and sweeps
// that resume. The trainer records the state in every checkpoint it writes (metrics "state").
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vae/train/checkpoint.h"

namespace vae {

enum class RunState {
  Running,      // a process holds the run's lock: training now (a checkpoint says so at epoch ends)
  Finished,     // reached train.epochs, train.max_steps or an early stop
  Interrupted,  // stopped by SIGINT/SIGTERM with its state saved; resume it
  Failed,       // stopped by an error (train.log ends with it); its last good checkpoint is kept
  Incomplete,   // no end recorded and no process on it: killed (kill -9, power loss)
  Empty,        // no checkpoint yet
};
std::string to_string(RunState state);

// Epochs done as a decimal (2.25 = two epochs and a quarter of the third), from the checkpoint's
// epoch, epoch_step and batches per epoch (0 when unknown: older checkpoints count whole epochs).
double epochs_done(const CheckpointMeta& meta);

// Epochs done for tables: whole epochs as integers ("3"), a part-done one to three significant
// digits ("0.0035", "2.25", "12.3"; one decimal from 100 on), "" when negative (unknown).
std::string epochs_text(double epochs);

// "2 of 10 epochs, step 1400" or "0 of 1000 epochs + 140 steps, step 140": where a checkpoint is
// in its run, numbered as the training log numbers it.
std::string training_progress(const CheckpointMeta& meta);

struct RunRecord {
  std::filesystem::path dir;
  RunState state = RunState::Empty;
  bool has_checkpoint = false;     // checkpoints/last.pt exists (epochs, steps and losses come from it)
  std::string dataset;             // data.dataset of its config ("" when unreadable)
  double epochs = 0.0;             // epochs_done
  int64_t planned_epochs = 0;      // train.epochs
  int64_t steps = 0;
  double best_val_loss = 0.0;      // NaN when no validation yet
  std::string message;             // why a run failed or could not be read
};

// The state of the run in `dir` from its checkpoints/last.pt and train.log; never throws (an
// unreadable checkpoint gives Failed with the reason in `message`).
RunRecord read_run(const std::filesystem::path& dir);

// Every run folder under `root` (itself, its subfolders, and sweep folders below them), sorted by
// path. A run folder is one that holds checkpoints/ or metrics.csv.
std::vector<RunRecord> find_runs(const std::filesystem::path& root);

}  // namespace vae
