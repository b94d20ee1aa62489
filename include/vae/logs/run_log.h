// Where a training run's numbers and pictures go, behind one interface: metrics.csv always, and
// the same scalars plus the picture grids as TensorBoard events in <run>/tb when asked for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "vae/io/image.h"
#include "vae/logs/metrics_csv.h"
#include "vae/logs/tensorboard.h"

namespace vae {

class RunLog {
 public:
  // Opens (or, for a resumed run, appends to) <run_dir>/metrics.csv; with `tensorboard`, starts a
  // new event file in <run_dir>/tb. A run resumed from a checkpoint at step `resumed_at` (-1: a
  // new run) starts its event file with a session start at resumed_at + 1, so that TensorBoard
  // hides what the earlier files logged after the checkpoint (the steps this process redoes), as
  // metrics.csv drops those rows. IoError when either cannot be written.
  RunLog(const std::filesystem::path& run_dir, bool tensorboard, int64_t resumed_at = -1);

  // A training row; TensorBoard gets train/{loss,recon,kl,elbo,kl_weight,lr,grad_norm,images_per_s}.
  void train(const MetricsRow& row, double grad_norm);
  // A validation row; TensorBoard gets val/{loss,recon,kl,elbo}.
  void validation(const MetricsRow& row);
  // A picture grid (samples, reconstructions): TensorBoard only, the PNG files are the trainer's.
  void picture(const std::string& name, const Image& image, int64_t step);
  void flush();

 private:
  MetricsCsvWriter metrics_;
  std::unique_ptr<EventWriter> events_;  // null without TensorBoard
};

}  // namespace vae
