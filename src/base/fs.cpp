// Whole-file reads and atomic file writes; see fs.h.
#include "vae/base/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "vae/base/errors.h"

namespace vae {
namespace fs = std::filesystem;

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw IoError(path + ": is a folder, expected a file");
  // A FIFO, socket or device would block the read or never end: only regular files are read
  // (symbolic links to them are followed).
  const fs::file_status status = fs::status(path, error);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    throw IoError(path + ": not a regular file (a FIFO, socket or device); give the file itself");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = fs::exists(path, error) ? std::strerror(errno) : "no such file";
    throw IoError(path + ": cannot open (" + reason + ")");
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) throw IoError(path + ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw IoError(path + ": read failed after " + std::to_string(in.gcount()) + " of " +
                  std::to_string(size) + " bytes");
  }
  return bytes;
}

namespace {
void sync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort for folders; files are checked below
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

namespace {

// Where a write to `target` lands: the target itself, or the regular file a symbolic link names
// (written through, so the link stays). Anything that is not a regular file is refused: a rename
// over a directory, FIFO, socket or device node (`--out /dev/stdout` as root) would replace it.
fs::path writable_target(const fs::path& target) {
  std::error_code error;
  const fs::file_status own = fs::symlink_status(target, error);
  if (!fs::exists(own)) return target;
  if (fs::is_symlink(own)) {
    const fs::file_status pointed = fs::status(target, error);
    if (!fs::exists(pointed)) {
      throw IoError(target.string() + ": is a symbolic link to nothing (" + fs::read_symlink(target, error).string() +
                    "); remove it or give another path");
    }
    if (!fs::is_regular_file(pointed)) {
      throw IoError(target.string() + ": is a link to something that is not a regular file (a folder, FIFO or "
                    "device); vae only writes files: give a file path");
    }
    return fs::canonical(target, error);
  }
  if (!fs::is_regular_file(own)) {
    const char* kind = fs::is_directory(own) ? "a folder" : fs::is_fifo(own) ? "a FIFO"
                       : fs::is_socket(own) ? "a socket" : "a device or other special file";
    throw IoError(target.string() + ": is " + kind + ", not a file; vae replaces only regular files: give a "
                  "file path");
  }
  return target;
}

}  // namespace

fs::path temporary_path_for(const fs::path& target) {
  return fs::path(writable_target(target).string() + ".tmp." + std::to_string(::getpid()));
}

void ensure_directory(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    throw IoError(folder.string() + ": cannot create folder (" + error.message() +
                  "); check permissions and free space");
  }
}

void commit_file(const fs::path& temporary, const fs::path& target) {
  sync_path(temporary, /*directory=*/false);
  std::error_code error;
  fs::path destination;
  try {
    destination = writable_target(target);  // checked again: the path may have changed meanwhile
  } catch (const IoError&) {
    fs::remove(temporary, error);
    throw;
  }
  fs::rename(temporary, destination, error);
  if (error) {
    fs::remove(temporary, error);
    throw IoError(target.string() + ": cannot move the finished file into place (" +
                  error.message() + ")");
  }
  sync_path(destination.parent_path().empty() ? fs::path(".") : destination.parent_path(), true);
}

void write_file_atomically(const std::string& path, const void* data, size_t size) {
  const fs::path target(path);
  if (!target.parent_path().empty()) ensure_directory(target.parent_path());
  const fs::path temporary = temporary_path_for(target);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw IoError(path + ": cannot open for writing (" + std::strerror(errno) +
                    "); check the folder exists and is writable");
    }
    out.write(static_cast<const char*>(data), std::streamsize(size));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw IoError(path + ": write failed (" + std::strerror(errno) + "); is the disk full?");
    }
  }
  commit_file(temporary, target);
}

fs::path first_free_path(const fs::path& folder, const std::string& name) {
  fs::path path = folder / name;
  for (int suffix = 2; fs::exists(path); ++suffix) path = folder / (name + "-" + std::to_string(suffix));
  return path;
}

}  // namespace vae
