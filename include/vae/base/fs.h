// File-system helpers: whole-file reads, and for everything that writes results, atomic writes (temporary file in
// the same folder, flushed to disk, then renamed over the target) so that a crash or a kill never
// leaves a partial or damaged file behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vae {

// The whole file as bytes. IoError naming the path when it is a folder, missing, unreadable or
// cannot be read to its end.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Writes `size` bytes to `path` atomically. Throws IoError naming the path.
void write_file_atomically(const std::string& path, const void* data, size_t size);

// Flushes an already-written file to disk and renames it to `target`. Throws IoError.
void commit_file(const std::filesystem::path& temporary, const std::filesystem::path& target);

// A temporary name next to `target` that no other process uses.
std::filesystem::path temporary_path_for(const std::filesystem::path& target);

// Creates a folder and its parents; throws IoError with a hint on failure.
void ensure_directory(const std::filesystem::path& folder);

// `folder/name` when nothing exists there, else folder/name-2, folder/name-3, ... whichever is
// free first (not created).
std::filesystem::path first_free_path(const std::filesystem::path& folder, const std::string& name);

}  // namespace vae
