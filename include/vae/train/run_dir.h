// Run directories: runs/<name> (or --out DIR) holding config.json, train.log, metrics.csv,
// checkpoints/, samples/ and reconstructions/; runs/latest points at the newest run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace vae {

// Whether `folder` holds a run (its checkpoints/ or metrics.csv). Never throws.
bool holds_run(const std::filesystem::path& folder);

// Creates a fresh run directory: `out` if given (it must not already hold a run), otherwise
// runs/<name>, runs/<name>-2, runs/<name>-3, ... whichever is free first.
std::filesystem::path create_run_dir(const std::string& out, const std::string& name,
                                     const std::filesystem::path& runs_root = "runs");

// Points <runs_root>/latest (runs/latest in the current folder) at run_dir: the newest run trained
// from here, wherever --out put it and sweep runs included, so that the commands without --ckpt
// find it. The link is relative when run_dir sits in runs_root, absolute otherwise, and replaced
// atomically. Anything at that path that is not a symbolic link (a user's file or folder) is left
// alone with a warning. Returns runs_root / "latest", or empty when the link was not made.
std::filesystem::path update_latest_link(const std::filesystem::path& run_dir,
                                         const std::filesystem::path& runs_root = "runs");

// One process per run folder: an advisory lock (flock) on <run_dir>/.lock, taken before anything
// of the run is read or written and held while the object lives; the kernel releases it when the
// process ends, however it ends. The holder's pid is written into the file. A second process gets
// a ConfigError naming the folder and the pid that holds it.
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes the temporary files (`*.tmp.<pid>`) that a process of this run left in run_dir and its
// subfolders when it was killed mid-write; call it while holding the run's RunLock, so that no
// other process can be writing them. Returns how many were removed.
int64_t remove_stale_temporaries(const std::filesystem::path& run_dir);

// Whether a live process holds the RunLock of run_dir (false when none, or no lock file).
bool run_is_locked(const std::filesystem::path& run_dir);

// The newest run's last checkpoint: runs/latest/checkpoints/last.pt, else the most recently
// written runs/*/checkpoints/last.pt. Throws CheckpointError with a hint when there is none.
std::filesystem::path latest_checkpoint(const std::filesystem::path& runs_root = "runs");

// --resume accepts a run directory or a checkpoint file; returns the checkpoint file.
std::filesystem::path checkpoint_for_resume(const std::string& argument);

// The checkpoint a command's --ckpt names: a checkpoint file; a run folder, meaning its best.pt
// where there is one, else its last.pt; or RUN:best / RUN:last. `path` is the real file (links
// such as runs/latest resolved), `why` says which was chosen and why. CheckpointError when there is
// no such file, naming the argument and what it may be.
struct CheckpointChoice {
  std::filesystem::path path;
  std::string why;
};
CheckpointChoice choose_checkpoint(const std::string& argument);

// The run directory a checkpoint belongs to (<run>/checkpoints/x.pt -> <run>).
std::filesystem::path run_dir_of_checkpoint(const std::filesystem::path& checkpoint);

}  // namespace vae
