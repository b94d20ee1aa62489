// Deterministic batching; see loader.h.
#include "vae/loader.h"

#include <ATen/Parallel.h>

#include "vae/errors.h"
#include "vae/random.h"

namespace vae {

BatchLoader::BatchLoader(std::shared_ptr<ImageDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options), size_(dataset_->size().value_or(0)) {
  if (size_ == 0) throw DataError(dataset_->describe() + ": the split holds no images");
}

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = int64_t(size_), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<size_t> BatchLoader::batch_indices(int64_t epoch, int64_t batch) const {
  if (cached_epoch_ != epoch) {
    if (options_.shuffle) {
      cached_order_ = shuffled_indices(size_, options_.seed, uint64_t(epoch));
    } else {
      cached_order_.resize(size_);
      for (size_t i = 0; i < size_; ++i) cached_order_[i] = i;
    }
    cached_epoch_ = epoch;
  }
  const size_t begin = size_t(batch * options_.batch_size);
  const size_t end = std::min(size_, begin + size_t(options_.batch_size));
  return {cached_order_.begin() + long(begin), cached_order_.begin() + long(end)};
}

torch::Tensor BatchLoader::gather(const std::vector<size_t>& indices) const {
  std::vector<torch::Tensor> items(indices.size());
  at::parallel_for(0, int64_t(indices.size()), /*grain_size=*/4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) items[size_t(i)] = dataset_->get(indices[size_t(i)]).data;
  });
  return torch::stack(items);
}

torch::Tensor BatchLoader::batch(int64_t epoch, int64_t batch) const {
  return gather(batch_indices(epoch, batch));
}

torch::Tensor to_model_input(const torch::Tensor& batch, const torch::Device& device,
                             const std::string& range) {
  auto x = batch.to(device, /*non_blocking=*/true).to(torch::kFloat);
  return range == "symmetric" ? x / 127.5 - 1.0 : x / 255.0;
}

torch::Tensor to_unit_range(const torch::Tensor& images, const std::string& range) {
  auto unit = range == "symmetric" ? (images + 1.0) / 2.0 : images;
  return unit.clamp(0.0, 1.0);
}

}  // namespace vae
