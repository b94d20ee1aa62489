// The container of a LibTorch archive (torch::save / torch::serialize::OutputArchive), checked
// without LibTorch before LibTorch reads it: a zip of stored records, a pickle (data.pkl) that
// names each tensor storage's type, record and element count, and one record per storage.
// LibTorch 1.13 trusts the element counts of the pickle, so a record shorter than its storage
// declares makes it read out of bounds; this check refuses such a file first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vae {

struct StorageRecord {
  std::string key;        // "0", "1", ...: the record <archive>/data/<key>
  std::string type;       // "FloatStorage", "LongStorage", ...
  int64_t elements = 0;   // as the pickle declares them
  int64_t bytes = 0;      // the record's size in the zip
};

// Reads the zip directory of `path` and data.pkl, and checks: the zip's structure (every record
// stored uncompressed and inside the file), the CRC-32 of every record, and that every storage
// the pickle declares has a record at least elements x element size long. Returns the storages.
// CheckpointError naming the file and the record or storage on any failure.
std::vector<StorageRecord> check_torch_archive(const std::string& path);
// The same check on the file's bytes, read once by the caller (which then hands LibTorch the very
// bytes that were checked); `path` names the file in messages.
std::vector<StorageRecord> check_torch_archive(const std::vector<uint8_t>& bytes, const std::string& path);

}  // namespace vae
