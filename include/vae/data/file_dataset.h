// Image files decoded on every use (image folders, CINIC-10, Flowers102, CelebA).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "vae/data/dataset.h"
#include "vae/io/formats.h"
#include "vae/io/transforms.h"

namespace vae {

// Image files decoded and transformed on every use.
class FileDataset : public ImageDataset {
 public:
  FileDataset(std::string description, std::vector<LabeledFile> files, TransformSpec spec);
  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override { return files_.size(); }
  std::string describe() const override { return description_; }
  bool decodes_files() const override { return true; }
  const std::vector<LabeledFile>& files() const { return files_; }
  const TransformSpec& spec() const { return spec_; }

 private:
  std::string description_;
  std::vector<LabeledFile> files_;
  TransformSpec spec_;
};

}  // namespace vae
