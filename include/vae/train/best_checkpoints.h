// What the validation loss decides at the end of an epoch: the K best checkpoints of a run
// (best.pt (rank 1), best-2.pt, ..., best-K.pt in its checkpoints/ folder, the ranking stored in
// last.pt's metrics so a resumed run goes on with it), and early stopping.
#pragma once

#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vae {

class BestCheckpoints {
 public:
  // `saved`: the ranking to_json() wrote, or anything else for none yet. keep <= 0 keeps none.
  BestCheckpoints(std::filesystem::path folder, int64_t keep, const nlohmann::json& saved);

  // Makes room for a checkpoint with this validation loss and returns where to write it, or an
  // empty path when it does not make the top K (ties rank after the earlier one). Worse ones move
  // down a rank by renames and the one pushed past K is deleted.
  std::filesystem::path admit(double loss, int64_t epoch);

  // [{"loss": L, "epoch": E}, ...], best first.
  nlohmann::json to_json() const;

  std::filesystem::path path_of(size_t rank) const;  // 0 -> best.pt, 1 -> best-2.pt, ...

 private:
  std::filesystem::path folder_;
  int64_t keep_;
  std::vector<std::pair<double, int64_t>> ranked_;  // (validation loss, epoch), best first
};

// Early stopping (train.early_stop_patience): stop once `patience` epochs in a row brought no
// validation loss below the best so far. patience <= 0 never stops. A resumed run passes the
// best loss and count it had saved.
class EarlyStop {
 public:
  EarlyStop(int64_t patience, double best, int64_t epochs_without_improvement)
      : patience_(patience), best_(best), epochs_without_improvement_(epochs_without_improvement) {}

  // Records one epoch's validation loss; true when the run should stop now.
  bool update(double loss) {
    const bool improved = loss < best_;
    if (improved) best_ = loss;
    epochs_without_improvement_ = improved ? 0 : epochs_without_improvement_ + 1;
    return patience_ > 0 && epochs_without_improvement_ >= patience_;
  }

  double best() const { return best_; }
  int64_t epochs_without_improvement() const { return epochs_without_improvement_; }

 private:
  int64_t patience_;
  double best_;
  int64_t epochs_without_improvement_;
};

}  // namespace vae
