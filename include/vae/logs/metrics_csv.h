// metrics.csv, a run's table of loss terms: a "train" row every train.log_every steps (the mean
// over those steps) and a "val" row per epoch. Its columns are declared here once: the trainer
// writes rows in this order and `vae plot` finds its columns by these names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace vae {

enum class MetricsColumn : size_t {
  epoch, step, split, loss, recon, kl, elbo, lr, images_per_s, seconds, kl_weight
};

// The column names, in file order: epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds,kl_weight.
inline constexpr std::array<const char*, 11> kMetricsColumns = {
    "epoch", "step", "split", "loss", "recon", "kl", "elbo", "lr", "images_per_s", "seconds", "kl_weight"};

inline const char* column_name(MetricsColumn column) { return kMetricsColumns[size_t(column)]; }

// The header line without its line break.
std::string metrics_header();

// The ELBO terms of a batch or a split, per image: the objective (`loss`, in the units of the
// config's reductions), the reconstruction term, the KL term and the negative ELBO (nats).
struct LossTerms {
  double loss = 0, recon = 0, kl = 0, elbo = 0;
};

struct MetricsRow {
  int64_t epoch = 0;  // 1-based epoch the row belongs to
  int64_t step = 0;   // optimizer steps completed
  std::string split;  // train | val
  LossTerms terms;
  double lr = 0, images_per_s = 0, seconds = 0, kl_weight = 0;
};

// For a run resumed from the checkpoint of step `step`: removes the rows of later steps (written
// after that checkpoint by a run that crashed or was killed), and an unfinished last line, so that
// no step has two rows. The file is rewritten atomically, and only when something goes. Returns the
// number of rows removed; a missing file removes none.
int64_t drop_metrics_rows_after(const std::filesystem::path& path, int64_t step);

// Appends rows to a run's metrics.csv, writing the header first when the file is new or empty
// (a resumed run appends to the same file). Every row is flushed, so a killed run keeps its rows.
class MetricsCsvWriter {
 public:
  explicit MetricsCsvWriter(const std::filesystem::path& path);  // IoError when it cannot open
  void append(const MetricsRow& row);  // IoError when the row does not reach the file

 private:
  std::ofstream out_;
  std::filesystem::path path_;
};

}  // namespace vae
