#include "vae/train/best_checkpoints.h"

#include <string>
#include <system_error>

namespace vae {
namespace fs = std::filesystem;

BestCheckpoints::BestCheckpoints(fs::path folder, int64_t keep, const nlohmann::json& saved)
    : folder_(std::move(folder)), keep_(keep) {
  if (saved.is_array()) {
    for (const auto& entry : saved) ranked_.push_back({entry.at("loss"), entry.at("epoch")});
  }
}

fs::path BestCheckpoints::admit(double loss, int64_t epoch) {
  size_t rank = 0;
  while (rank < ranked_.size() && ranked_[rank].first <= loss) ++rank;
  if (keep_ <= 0 || rank >= size_t(keep_)) return {};
  std::error_code ignored;
  if (ranked_.size() == size_t(keep_)) {
    fs::remove(path_of(ranked_.size() - 1), ignored);
    ranked_.pop_back();
  }
  for (size_t i = ranked_.size(); i-- > rank;) fs::rename(path_of(i), path_of(i + 1), ignored);
  ranked_.insert(ranked_.begin() + long(rank), {loss, epoch});
  return path_of(rank);
}

nlohmann::json BestCheckpoints::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [loss, epoch] : ranked_) list.push_back({{"loss", loss}, {"epoch", epoch}});
  return list;
}

fs::path BestCheckpoints::path_of(size_t rank) const {
  return folder_ / (rank == 0 ? std::string("best.pt") : "best-" + std::to_string(rank + 1) + ".pt");
}

}  // namespace vae
