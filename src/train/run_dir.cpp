// Run directory layout; see run_dir.h.
#include "vae/train/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"
#include "vae/base/fs.h"

namespace vae {
namespace fs = std::filesystem;

bool holds_run(const fs::path& folder) {
  std::error_code error;
  return fs::exists(folder / "checkpoints", error) || fs::exists(folder / "metrics.csv", error);
}

fs::path create_run_dir(const std::string& out, const std::string& name, const fs::path& runs_root) {
  fs::path run_dir;
  if (!out.empty()) {
    run_dir = out;
    if (holds_run(run_dir)) {
      throw ConfigError("--out " + out + ": folder already holds a run; continue it with --resume " +
                        out + " or choose another --out");
    }
  } else {
    run_dir = first_free_path(runs_root, name);
  }
  ensure_directory(run_dir / "checkpoints");
  ensure_directory(run_dir / "samples");
  ensure_directory(run_dir / "reconstructions");
  return run_dir;
}

fs::path update_latest_link(const fs::path& run_dir, const fs::path& runs_root) {
  const fs::path absolute = fs::absolute(run_dir).lexically_normal();
  const fs::path root = fs::absolute(runs_root).lexically_normal();
  const fs::path link = root / "latest";
  std::error_code error;
  const auto status = fs::symlink_status(link, error);
  if (fs::exists(status) && !fs::is_symlink(status)) {
    spdlog::warn("{} is not a link made by vae; it is left as it is, so commands without --ckpt will not "
                 "find this run through it", link.string());
    return {};
  }
  // A missing "latest" link is not worth failing a run for: any error leaves it as it was.
  fs::create_directories(root, error);
  const fs::path temporary = root / (".latest.tmp." + std::to_string(::getpid()));
  fs::remove(temporary, error);
  const fs::path target = absolute.parent_path() == root ? absolute.filename() : absolute;
  fs::create_directory_symlink(target, temporary, error);
  if (!error) fs::rename(temporary, link, error);
  if (error) {
    fs::remove(temporary, error);
    return {};
  }
  return runs_root / "latest";
}

RunLock::RunLock(const fs::path& run_dir) {
  const fs::path path = run_dir / ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw IoError(path.string() + ": cannot open the run's lock file (" + std::strerror(errno) +
                  "); check that the run folder is writable");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    std::string holder;
    std::ifstream(path) >> holder;
    ::close(fd_);
    fd_ = -1;
    throw ConfigError(run_dir.string() + ": another vae process" + (holder.empty() ? "" : " (pid " + holder + ")") +
                      " is training this run; wait for it to end or stop it first (one process per run folder)");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

int64_t remove_stale_temporaries(const fs::path& run_dir) {
  const std::string own = ".tmp." + std::to_string(::getpid());
  int64_t removed = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(run_dir, error), end; !error && it != end; it.increment(error)) {
    if (it.depth() >= 1) it.disable_recursion_pending();  // the run folder and its own subfolders only
    if (!it->is_regular_file(error)) continue;
    const std::string name = it->path().filename().string();
    const size_t mark = name.rfind(".tmp.");
    if (mark == std::string::npos || mark + 5 == name.size()) continue;
    if (name.find_first_not_of("0123456789", mark + 5) != std::string::npos) continue;
    if (name.compare(mark, std::string::npos, own) == 0) continue;
    std::error_code ignored;
    if (fs::remove(it->path(), ignored)) ++removed;
  }
  return removed;
}

bool run_is_locked(const fs::path& run_dir) {
  const int fd = ::open((run_dir / ".lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

fs::path latest_checkpoint(const fs::path& runs_root) {
  const fs::path via_link = runs_root / "latest" / "checkpoints" / "last.pt";
  if (fs::is_regular_file(via_link)) return via_link;
  fs::path newest;
  fs::file_time_type newest_time{};
  std::error_code error;
  if (fs::is_directory(runs_root)) {
    for (const auto& entry : fs::directory_iterator(runs_root, error)) {
      const fs::path candidate = entry.path() / "checkpoints" / "last.pt";
      if (!fs::is_regular_file(candidate)) continue;
      const auto time = fs::last_write_time(candidate, error);
      if (newest.empty() || time > newest_time) {
        newest = candidate;
        newest_time = time;
      }
    }
  }
  if (newest.empty()) {
    throw CheckpointError("no checkpoint found under " + runs_root.string() +
                          "/; train first (vae train --config configs/shapes.json) or pass --ckpt FILE");
  }
  return newest;
}

fs::path checkpoint_for_resume(const std::string& argument) {
  const fs::path path(argument);
  if (fs::is_directory(path)) {
    const fs::path last = path / "checkpoints" / "last.pt";
    if (!fs::is_regular_file(last)) {
      throw CheckpointError(argument + ": no checkpoints/last.pt in this folder; give a run "
                            "directory written by vae train or a checkpoint file");
    }
    return last;
  }
  if (!fs::is_regular_file(path)) {
    throw CheckpointError(argument + ": not found; --resume takes a run directory or a .pt file");
  }
  return path;
}

CheckpointChoice choose_checkpoint(const std::string& argument) {
  std::error_code error;
  // The file itself, links resolved; relative to the working folder when it lies inside it.
  const auto real = [](const fs::path& path) {
    std::error_code ignored;
    const fs::path canonical = fs::canonical(path, ignored);
    if (ignored) return path;
    const std::string here = fs::current_path(ignored).string() + "/";
    const std::string text = canonical.string();
    return text.rfind(here, 0) == 0 ? fs::path(text.substr(here.size())) : canonical;
  };
  const fs::path given(argument);
  if (fs::is_regular_file(given, error)) return {real(given), ""};
  const auto suffix = [&](const std::string& tail) {
    return argument.size() > tail.size() && argument.compare(argument.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const char* which : {"best", "last"}) {
    const std::string tail = std::string(":") + which;
    if (!suffix(tail)) continue;
    const fs::path run = argument.substr(0, argument.size() - tail.size());
    const fs::path file = run / "checkpoints" / (std::string(which) + ".pt");
    if (!fs::is_regular_file(file, error)) {
      throw CheckpointError(argument + ": " + file.string() + " does not exist" +
                            (std::string(which) == "best" ? " (the run keeps none when train.keep_best=0, or has not "
                                                            "finished an epoch yet); try " + run.string() + ":last"
                                                          : "; give a run folder written by vae train"));
    }
    return {real(file), std::string(which) + ".pt, as " + argument + " asks"};
  }
  if (fs::is_directory(given, error)) {
    const fs::path best = given / "checkpoints" / "best.pt", last = given / "checkpoints" / "last.pt";
    if (fs::is_regular_file(best, error)) {
      return {real(best), "the run's best.pt (lowest validation loss); " + argument + ":last for the newest"};
    }
    if (fs::is_regular_file(last, error)) return {real(last), "the run's last.pt (it has no best.pt)"};
    throw CheckpointError(argument + ": no checkpoints/best.pt or last.pt in this folder; give a run folder "
                          "written by vae train, RUN:best, RUN:last or a .pt file");
  }
  throw CheckpointError(argument + ": checkpoint not found; --ckpt takes a .pt file, a run folder, RUN:best or "
                        "RUN:last");
}

fs::path run_dir_of_checkpoint(const fs::path& checkpoint) {
  const fs::path folder = checkpoint.parent_path();
  if (folder.filename() == "checkpoints") return folder.parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

}  // namespace vae
