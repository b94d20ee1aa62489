// Batches from an ImageDataset in an order fixed by (seed, epoch): the same batches whatever the
// number of threads, reshuffled every epoch, and any batch of any epoch can be produced directly,
// so a resumed run sees exactly the data the interrupted one would have seen. Worker threads
// decode batches ahead of the trainer (data.workers, data.prefetch). Batches stay uint8 until
// to_model_input turns them into floats on the device (4x less to copy).
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vae/config/config.h"
#include "vae/data/dataset.h"

namespace vae {

// The defaults are those of a training split of the default config (default_config()), except
// `workers`: a thread count, which loader_options resolves from data.workers (0 = one per core).
struct LoaderOptions {
  int64_t batch_size = default_config().train.batch_size;
  uint64_t seed = uint64_t(default_config().train.seed);
  bool shuffle = true;                                 // loader_options: the training split only
  bool drop_last = default_config().data.drop_last;
  bool flip = default_config().data.flip;              // random horizontal flip, per (seed, epoch, item)
  int64_t workers = 1;                                 // threads preparing batches in stream()
  int64_t prefetch = default_config().data.prefetch;   // batches prepared ahead of the consumer
  // Drop undecodable items from their batch (counted) instead of failing.
  bool skip_corrupt = default_config().data.skip_corrupt;
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<ImageDataset> dataset, LoaderOptions options);

  int64_t batches_per_epoch() const;
  // Item indices of batch `batch` of epoch `epoch` (0-based both).
  std::vector<size_t> batch_indices(int64_t epoch, int64_t batch) const;
  // uint8 [B, C, H, W], prepared on the calling thread.
  torch::Tensor batch(int64_t epoch, int64_t batch) const;
  // uint8 [N, C, H, W] of the given items in that order, without flips.
  torch::Tensor gather(const std::vector<size_t>& indices) const;
  size_t dataset_size() const { return size_; }
  // uint8 [n, C, H, W], without flips: the first `count` items that decode, in order; n < count
  // only when the dataset holds fewer readable items (every item is then tried, so a split whose
  // images are all corrupt is found at once); undefined when none decodes.
  torch::Tensor first_readable(size_t count) const;
  // Items skipped so far because they could not be decoded (data.skip_corrupt).
  int64_t skipped_items() const { return skipped_->load(); }

  // Batches first..end of one epoch, prepared by worker threads ahead of the consumer.
  class Stream {
   public:
    Stream(const BatchLoader& loader, int64_t epoch, int64_t first_batch);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    // The next batch in order, or an undefined tensor after the last. Rethrows a worker's error.
    torch::Tensor next();

   private:
    void work();
    const BatchLoader& loader_;
    int64_t epoch_, next_to_take_, end_;
    int64_t next_to_start_;
    bool stopping_ = false;
    std::map<int64_t, torch::Tensor> ready_;
    std::map<int64_t, std::exception_ptr> failed_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::thread> threads_;
  };
  std::unique_ptr<Stream> stream(int64_t epoch, int64_t first_batch = 0) const;

 private:
  void prepare_order(int64_t epoch) const;
  torch::Tensor assemble(int64_t epoch, const std::vector<size_t>& indices) const;
  // gather, also listing the items that were decoded (the others were skipped as corrupt).
  torch::Tensor gather_kept(const std::vector<size_t>& indices, std::vector<size_t>* kept) const;

  std::shared_ptr<ImageDataset> dataset_;
  LoaderOptions options_;
  size_t size_;
  std::shared_ptr<std::atomic<int64_t>> skipped_;
  mutable std::mutex order_mutex_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<size_t> cached_order_;
};

// The loader settings of a split: training shuffles, flips (data.flip) and may drop the last
// batch; validation and test keep file order and never flip.
LoaderOptions loader_options(const Config& config, Split split);

}  // namespace vae
