// Batches from an ImageDataset in an order fixed by (seed, epoch): the same batches whatever the
// thread count, reshuffled every epoch, and any batch of any epoch can be produced directly, so a
// resumed run sees exactly the data the interrupted one would have seen. Items are decoded in
// parallel (at::parallel_for); batches stay uint8 until to_model_input moves them to the device.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "vae/dataset.h"

namespace vae {

struct LoaderOptions {
  int64_t batch_size = 64;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = false;
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<ImageDataset> dataset, LoaderOptions options);

  int64_t batches_per_epoch() const;
  // Item indices of batch `batch` of epoch `epoch` (0-based both).
  std::vector<size_t> batch_indices(int64_t epoch, int64_t batch) const;
  // uint8 [B, C, H, W].
  torch::Tensor batch(int64_t epoch, int64_t batch) const;
  // uint8 [N, C, H, W] of the given items, in that order.
  torch::Tensor gather(const std::vector<size_t>& indices) const;
  size_t dataset_size() const { return size_; }

 private:
  std::shared_ptr<ImageDataset> dataset_;
  LoaderOptions options_;
  size_t size_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<size_t> cached_order_;
};

// uint8 [B, C, H, W] -> float on `device` in the data range ("unit" [0,1] or "symmetric" [-1,1]).
torch::Tensor to_model_input(const torch::Tensor& batch, const torch::Device& device,
                             const std::string& range);
// Inverse of to_model_input's scaling: model-range float -> [0, 1] float for pictures.
torch::Tensor to_unit_range(const torch::Tensor& images, const std::string& range);

}  // namespace vae
