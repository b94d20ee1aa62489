// Images held in memory (MNIST, CIFAR): decoded and transformed once at start-up, then every
// batch is a gather.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "vae/data/dataset.h"
#include "vae/io/formats.h"
#include "vae/io/transforms.h"

namespace vae {

// Images held in memory as one uint8 tensor [N, C, S, S] with int64 labels [N].
class ArrayDataset : public ImageDataset {
 public:
  ArrayDataset(std::string description, torch::Tensor images, torch::Tensor labels);
  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override { return size_t(images_.size(0)); }
  std::string describe() const override { return description_; }
  torch::Tensor images(const std::vector<size_t>& indices) override;

 private:
  std::string description_;
  torch::Tensor images_;
  torch::Tensor labels_;
};

// The items `indices` of `array`, transformed by `spec` (in parallel), as uint8 [n, C, S, S].
torch::Tensor transform_array(const ImageArray& array, const std::vector<size_t>& indices,
                              const TransformSpec& spec);

}  // namespace vae
