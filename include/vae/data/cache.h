// The memory-mapped uint8 store behind data.cache: a FileDataset decoded once.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "vae/data/dataset.h"
#include "vae/data/file_dataset.h"

namespace vae {

// A FileDataset decoded once into a memory-mapped file of uint8 [N, C, S, S] plus one status
// byte per item. The store is keyed by the dataset, split, file list (paths, sizes, times) and
// transforms; it is built into a temporary file and renamed when complete, so an interrupted build
// is never used, and rebuilt when its key changes.
class CachedDataset : public ImageDataset {
 public:
  struct Options {
    std::filesystem::path folder;  // where stores live
    std::string name;              // e.g. "celeba-train", part of the file name
    int64_t workers = 1;           // decoding threads while building
    bool skip_corrupt = false;     // mark undecodable items instead of failing the build
  };
  // Opens the store for `source`, building it first when there is none for this key.
  CachedDataset(const FileDataset& source, const Options& options);
  ~CachedDataset() override;
  CachedDataset(const CachedDataset&) = delete;
  CachedDataset& operator=(const CachedDataset&) = delete;

  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override { return size_t(count_); }
  std::string describe() const override { return description_; }
  torch::Tensor images(const std::vector<size_t>& indices) override;

  bool was_built() const { return built_; }              // false when an existing store was used
  int64_t corrupt_items() const { return corrupt_; }     // items marked undecodable
  const std::filesystem::path& path() const { return path_; }

 private:
  void build(const FileDataset& source, const Options& options);
  void map();
  const uint8_t* item(size_t index) const;

  std::string description_;
  std::filesystem::path path_;
  std::vector<int64_t> labels_;
  int64_t count_ = 0, channels_ = 0, side_ = 0;
  int64_t corrupt_ = 0;
  bool built_ = false;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
};

}  // namespace vae
