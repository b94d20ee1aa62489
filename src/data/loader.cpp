// Deterministic, multi-threaded batching; see loader.h.
#include "vae/data/loader.h"

#include <ATen/Parallel.h>

#include "vae/base/errors.h"
#include "vae/base/random.h"
#include "vae/base/text.h"

namespace vae {

namespace {
// Seed stream of the flip decisions (distinct from shuffling).
constexpr uint64_t kFlipStream = 0xF11B;
}  // namespace

BatchLoader::BatchLoader(std::shared_ptr<ImageDataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)),
      options_(options),
      size_(dataset_->size().value_or(0)),
      skipped_(std::make_shared<std::atomic<int64_t>>(0)) {
  if (size_ == 0) throw DataError(dataset_->describe() + ": the split holds no images");
  options_.workers = std::max<int64_t>(1, options_.workers);
  options_.prefetch = std::max<int64_t>(1, options_.prefetch);
}

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = int64_t(size_), b = options_.batch_size;
  const int64_t full = n / b;
  return options_.drop_last && full > 0 ? full : (n + b - 1) / b;
}

void BatchLoader::prepare_order(int64_t epoch) const {
  // Called with order_mutex_ held.
  if (cached_epoch_ == epoch) return;
  if (options_.shuffle) {
    cached_order_ = shuffled_indices(size_, options_.seed, uint64_t(epoch));
  } else {
    cached_order_.resize(size_);
    for (size_t i = 0; i < size_; ++i) cached_order_[i] = i;
  }
  cached_epoch_ = epoch;
}

std::vector<size_t> BatchLoader::batch_indices(int64_t epoch, int64_t batch) const {
  std::lock_guard<std::mutex> lock(order_mutex_);
  prepare_order(epoch);
  const size_t begin = std::min(size_, size_t(batch * options_.batch_size));
  const size_t end = std::min(size_, begin + size_t(options_.batch_size));
  return {cached_order_.begin() + long(begin), cached_order_.begin() + long(end)};
}

torch::Tensor BatchLoader::gather(const std::vector<size_t>& indices) const {
  return gather_kept(indices, nullptr);
}

torch::Tensor BatchLoader::gather_kept(const std::vector<size_t>& indices,
                                       std::vector<size_t>* kept) const {
  if (kept) kept->clear();
  if (!dataset_->decodes_files()) {
    try {
      torch::Tensor images = dataset_->images(indices);
      if (kept) *kept = indices;
      return images;
    } catch (const DataError&) {
      if (!options_.skip_corrupt) throw;  // else: item by item below, skipping the bad ones
    }
  }
  std::vector<torch::Tensor> items;
  items.reserve(indices.size());
  for (size_t index : indices) {
    try {
      items.push_back(dataset_->get(index).data);
      if (kept) kept->push_back(index);
    } catch (const DataError&) {
      if (!options_.skip_corrupt) throw;
      ++*skipped_;
    }
  }
  if (items.empty()) return {};
  return torch::stack(items);
}

torch::Tensor BatchLoader::first_readable(size_t count) const {
  // Asks for as many items as are still missing, so that no image is decoded beyond the first
  // `count` readable ones.
  std::vector<torch::Tensor> parts;
  size_t found = 0;
  for (size_t next = 0; next < size_ && found < count;) {
    std::vector<size_t> indices;
    for (; indices.size() < count - found && next < size_; ++next) indices.push_back(next);
    torch::Tensor images = gather(indices);
    if (!images.defined()) continue;
    found += size_t(images.size(0));
    parts.push_back(images);
  }
  if (parts.empty()) return {};
  return parts.size() == 1 ? parts.front() : torch::cat(parts);
}

torch::Tensor BatchLoader::assemble(int64_t epoch, const std::vector<size_t>& indices) const {
  std::vector<size_t> kept;
  torch::Tensor images = gather_kept(indices, &kept);
  if (!images.defined() || !options_.flip) return images;
  // Flip decided per item from (seed, epoch, item): independent of batching and threads.
  std::vector<uint8_t> flips(kept.size());
  bool any = false;
  for (size_t i = 0; i < kept.size(); ++i) {
    flips[i] = SplitMix64(mix_seed({options_.seed, uint64_t(epoch), kFlipStream, kept[i]})).next() & 1;
    any = any || flips[i];
  }
  if (!any) return images;
  const auto mask = torch::from_blob(flips.data(), {int64_t(flips.size()), 1, 1, 1}, torch::kUInt8)
                        .to(torch::kBool);
  return torch::where(mask, images.flip({3}), images);
}

torch::Tensor BatchLoader::batch(int64_t epoch, int64_t batch) const {
  return assemble(epoch, batch_indices(epoch, batch));
}

std::unique_ptr<BatchLoader::Stream> BatchLoader::stream(int64_t epoch, int64_t first_batch) const {
  return std::make_unique<Stream>(*this, epoch, first_batch);
}

BatchLoader::Stream::Stream(const BatchLoader& loader, int64_t epoch, int64_t first_batch)
    : loader_(loader),
      epoch_(epoch),
      next_to_take_(first_batch),
      end_(loader.batches_per_epoch()),
      next_to_start_(first_batch) {
  loader_.batch_indices(epoch_, 0);  // compute the epoch's order once, before the threads start
  for (int64_t t = 0; t < loader_.options_.workers; ++t) threads_.emplace_back([this] { work(); });
}

BatchLoader::Stream::~Stream() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void BatchLoader::Stream::work() {
  while (true) {
    int64_t batch = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || next_to_start_ >= end_ ||
               next_to_start_ < next_to_take_ + loader_.options_.prefetch;
      });
      if (stopping_ || next_to_start_ >= end_) return;
      batch = next_to_start_++;
    }
    torch::Tensor images;
    std::exception_ptr error;
    try {
      images = loader_.assemble(epoch_, loader_.batch_indices(epoch_, batch));
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        failed_[batch] = error;
      } else {
        ready_[batch] = images;
      }
    }
    changed_.notify_all();
  }
}

torch::Tensor BatchLoader::Stream::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (next_to_take_ < end_) {
    changed_.wait(lock, [&] { return ready_.count(next_to_take_) || failed_.count(next_to_take_); });
    const int64_t batch = next_to_take_++;
    if (auto failure = failed_.find(batch); failure != failed_.end()) {
      std::rethrow_exception(failure->second);
    }
    torch::Tensor images = std::move(ready_[batch]);
    ready_.erase(batch);
    lock.unlock();
    changed_.notify_all();
    if (images.defined()) return images;  // a batch whose items were all skipped is passed over
    lock.lock();
  }
  return {};
}

LoaderOptions loader_options(const Config& config, Split split) {
  LoaderOptions options;
  const bool train = split == Split::Train;
  options.batch_size = config.train.batch_size;
  options.seed = uint64_t(config.train.seed);
  options.shuffle = train;
  options.drop_last = train && config.data.drop_last;
  options.flip = train && config.data.flip;
  options.workers = config.data.workers > 0 ? config.data.workers : default_threads();
  options.prefetch = config.data.prefetch;
  options.skip_corrupt = config.data.skip_corrupt;
  return options;
}

}  // namespace vae
