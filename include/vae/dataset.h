// The interface every image source implements, and the factory that picks one by data.dataset.
// Items are uint8 images [C, H, W] at the configured size and channels; the target is
// source-specific (the shapes dataset returns its ground-truth factors).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "vae/config.h"

namespace vae {

enum class Split { Train, Val, Test };
std::string split_name(Split split);

class ImageDataset : public torch::data::datasets::Dataset<ImageDataset> {
 public:
  // data: uint8 [C, H, W]; target: source-specific, float.
  torch::data::Example<> get(size_t index) override = 0;
  torch::optional<size_t> size() const override = 0;
  // Short description for logs, e.g. "shapes train: 20000 images 1x32x32".
  virtual std::string describe() const = 0;
};

std::shared_ptr<ImageDataset> make_dataset(const Config& config, Split split);

}  // namespace vae
