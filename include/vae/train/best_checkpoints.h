// The K best checkpoints of a run by validation loss: best.pt (rank 1), best-2.pt, ..., best-K.pt
// in its checkpoints/ folder, with the ranking stored in last.pt's metrics so a resumed run goes on
// with it.
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

}  // namespace vae
