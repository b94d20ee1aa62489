// Run folders read back; see runs.h.
#include "vae/train/runs.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "vae/base/errors.h"
#include "vae/train/run_dir.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

// The last non-empty line of train.log, when it records an error ("[date time] error ...").
std::string logged_error(const fs::path& dir) {
  std::ifstream log(dir / "train.log");
  std::string line, last;
  while (std::getline(log, line)) {
    if (!line.empty()) last = line;
  }
  const auto mark = last.find("] error ");
  return mark == std::string::npos ? std::string() : last.substr(mark + 8);
}

RunState state_named(const std::string& word) {
  for (RunState state : {RunState::Running, RunState::Finished, RunState::Interrupted}) {
    if (to_string(state) == word) return state;
  }
  return RunState::Incomplete;
}

}  // namespace

std::string to_string(RunState state) {
  switch (state) {
    case RunState::Running: return "running";
    case RunState::Finished: return "finished";
    case RunState::Interrupted: return "interrupted";
    case RunState::Failed: return "failed";
    case RunState::Incomplete: return "incomplete";
    case RunState::Empty: return "no checkpoint";
  }
  return "unknown";
}

double epochs_done(const CheckpointMeta& meta) {
  const int64_t batches = meta.metrics.value("batches_per_epoch", int64_t(0));
  if (batches <= 0 || meta.epoch_step <= 0) return double(meta.epoch);
  return double(meta.epoch) + double(meta.epoch_step) / double(batches);
}

std::string epochs_text(double epochs) {
  if (epochs < 0) return "";
  if (epochs == std::floor(epochs)) return std::to_string(int64_t(epochs));
  return epochs < 100 ? fmt::format("{:.3g}", epochs) : fmt::format("{:.1f}", epochs);
}

std::string training_progress(const CheckpointMeta& meta) {
  const int64_t planned = meta.config.contains("train") ? meta.config["train"].value("epochs", int64_t(0)) : 0;
  std::string text = fmt::format("{} of {} epochs", meta.epoch, planned);
  if (meta.epoch_step > 0) text += fmt::format(" + {} steps", meta.epoch_step);
  return text + fmt::format(", step {}", meta.step);
}

RunRecord read_run(const fs::path& dir) {
  RunRecord record;
  record.dir = dir;
  record.best_val_loss = std::numeric_limits<double>::quiet_NaN();
  const fs::path last = dir / "checkpoints" / "last.pt";
  std::error_code error;
  const std::string failure = logged_error(dir);
  if (!fs::is_regular_file(last, error)) {
    record.state = run_is_locked(dir) ? RunState::Running : failure.empty() ? RunState::Empty : RunState::Failed;
    if (record.state == RunState::Failed) record.message = failure;
    // The dataset and length from the config.json the run wrote at its start.
    try {
      std::ifstream file(dir / "config.json");
      const nlohmann::json config = file ? nlohmann::json::parse(file) : nlohmann::json();
      record.dataset = config.at("data").value("dataset", std::string());
      record.planned_epochs = config.at("train").value("epochs", int64_t(0));
    } catch (const std::exception&) {
    }
    return record;
  }
  record.has_checkpoint = true;
  try {
    const CheckpointReader reader(last.string());
    const CheckpointMeta& meta = reader.meta();
    record.dataset = meta.config["data"].value("dataset", std::string());
    record.planned_epochs = meta.config["train"].value("epochs", int64_t(0));
    record.epochs = epochs_done(meta);
    record.steps = meta.step;
    if (meta.metrics.contains("best_val_loss")) record.best_val_loss = meta.metrics["best_val_loss"].get<double>();
    const RunState stored = state_named(meta.metrics.value("state", std::string()));
    // A checkpoint written at an epoch end says "running"; after it the run either went on (and
    // was killed, or is still training) or stopped with an error that train.log ends with.
    record.state = stored != RunState::Running ? stored : failure.empty() ? RunState::Incomplete : RunState::Failed;
    // A process holding the run's lock is training it now (a resumed run of any earlier state).
    if (run_is_locked(dir)) record.state = RunState::Running;
    if (record.state == RunState::Failed) record.message = failure;
  } catch (const Error& read_error) {
    record.state = RunState::Failed;
    record.message = read_error.what();
  }
  return record;
}

std::vector<RunRecord> find_runs(const fs::path& root) {
  // A run's subfolders (checkpoints/, samples/, ...) are its own outputs, not runs.
  if (holds_run(root)) return {read_run(root)};
  std::vector<RunRecord> runs;
  std::error_code error;
  if (!fs::is_directory(root, error)) return runs;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(root, error)) {
    // runs/latest is a link to one of the others; checkpoints/ and friends are a run's own.
    if (entry.is_symlink(error) || !entry.is_directory(error)) continue;
    folders.push_back(entry.path());
  }
  std::sort(folders.begin(), folders.end());
  for (const auto& folder : folders) {
    for (auto& run : find_runs(folder)) runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace vae
