// The memory-mapped uint8 store behind data.cache; see cache.h.
//
// File layout (little-endian): a 64-byte header {magic "VAESTOR1", uint64 count, channels, side,
// key hash, item bytes, reserved}, then count x item bytes of pixels [C, S, S], then one status
// byte per item (1 = decoded, 2 = could not be decoded and was skipped), then the end marker
// "VAEEND!!". Only complete files carry the final name; builds go to a temporary name first.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "vae/base/clock.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"
#include "vae/data/cache.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'V', 'A', 'E', 'S', 'T', 'O', 'R', '1'};
constexpr char kEndMarker[8] = {'V', 'A', 'E', 'E', 'N', 'D', '!', '!'};
constexpr size_t kHeaderBytes = 64;
constexpr uint8_t kItemOk = 1;
constexpr uint8_t kItemCorrupt = 2;
// Bump when the store layout or the transforms' results change, so old stores are rebuilt.
constexpr uint64_t kStoreVersion = 1;

struct Header {
  char magic[8];
  uint64_t count, channels, side, key, item_bytes;
  uint64_t reserved[2];
};
static_assert(sizeof(Header) == kHeaderBytes, "store header must be 64 bytes");

// FNV-1a, 64 bit: a stable hash of the store's inputs.
struct KeyHash {
  uint64_t value = 1469598103934665603ULL;
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) value = (value ^ bytes[i]) * 1099511628211ULL;
  }
  void add(const std::string& text) { add(text.data(), text.size() + 1); }
  void add(uint64_t number) { add(&number, sizeof number); }
};

uint64_t store_key(const FileDataset& source) {
  KeyHash hash;
  hash.add(kStoreVersion);
  hash.add(uint64_t(source.spec().center_crop));
  hash.add(uint64_t(source.spec().image_size));
  hash.add(uint64_t(source.spec().channels));
  if (source.spec().keep_aspect) hash.add(std::string("keep_aspect"));  // older stores stay valid
  for (const auto& file : source.files()) {
    hash.add(file.path);
    hash.add(uint64_t(file.label));
    struct stat info {};
    if (::stat(file.path.c_str(), &info) == 0) {
      hash.add(uint64_t(info.st_size));
      hash.add(uint64_t(info.st_mtim.tv_sec) * 1000000000ULL + uint64_t(info.st_mtim.tv_nsec));
    }
  }
  return hash.value;
}

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

CachedDataset::CachedDataset(const FileDataset& source, const Options& options)
    : description_(source.describe() + " (cached)"),
      count_(int64_t(source.files().size())),
      channels_(source.spec().channels),
      side_(source.spec().image_size) {
  for (const auto& file : source.files()) labels_.push_back(file.label);
  const uint64_t key = store_key(source);
  path_ = options.folder / (options.name + "-" + std::to_string(side_) + "px-" + hex(key) + ".u8");
  if (fs::is_regular_file(path_)) {
    try {
      map();
      const auto* header = static_cast<const Header*>(mapping_);
      if (std::memcmp(header->magic, kMagic, 8) != 0 || header->key != key ||
          int64_t(header->count) != count_) {
        throw DataError(path_.string() + ": cache store does not match its inputs");
      }
    } catch (const DataError& error) {
      spdlog::warn("{}; rebuilding it", error.what());
      if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
      mapping_ = nullptr;
      std::error_code ignored;
      fs::remove(path_, ignored);
    }
  }
  if (mapping_ == nullptr) {
    build(source, options);
    map();
  }
  const uint8_t* status = item(size_t(count_));
  for (int64_t i = 0; i < count_; ++i) corrupt_ += status[i] == kItemCorrupt ? 1 : 0;
}

CachedDataset::~CachedDataset() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

const uint8_t* CachedDataset::item(size_t index) const {
  const size_t item_bytes = size_t(channels_ * side_ * side_);
  return static_cast<const uint8_t*>(mapping_) + kHeaderBytes + index * item_bytes;
}

void CachedDataset::map() {
  const int fd = ::open(path_.c_str(), O_RDONLY);
  if (fd < 0) throw IoError(path_.string() + ": cannot open cache store");
  struct stat info {};
  ::fstat(fd, &info);
  const size_t item_bytes = size_t(channels_ * side_ * side_);
  const size_t expected = kHeaderBytes + size_t(count_) * (item_bytes + 1) + sizeof kEndMarker;
  if (size_t(info.st_size) != expected) {
    ::close(fd);
    throw DataError(path_.string() + ": cache store has the wrong size");
  }
  mapping_ = ::mmap(nullptr, expected, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw IoError(path_.string() + ": cannot memory-map cache store");
  }
  mapping_size_ = expected;
  const char* end = static_cast<const char*>(mapping_) + expected - sizeof kEndMarker;
  if (std::memcmp(end, kEndMarker, sizeof kEndMarker) != 0) {
    throw DataError(path_.string() + ": cache store is incomplete");
  }
}

void CachedDataset::build(const FileDataset& source, const Options& options) {
  ensure_directory(options.folder);
  const size_t item_bytes = size_t(channels_ * side_ * side_);
  const size_t total = kHeaderBytes + size_t(count_) * (item_bytes + 1) + sizeof kEndMarker;
  const fs::path temporary = temporary_path_for(path_);
  const int fd = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IoError(temporary.string() + ": cannot create cache store; check data.cache_dir");
  if (::ftruncate(fd, off_t(total)) != 0) {
    ::close(fd);
    fs::remove(temporary);
    throw IoError(path_.string() + ": cannot size cache store (" + std::to_string(total) +
                  " bytes); is the disk full?");
  }
  void* memory = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (memory == MAP_FAILED) {
    fs::remove(temporary);
    throw IoError(temporary.string() + ": cannot memory-map cache store for writing");
  }
  auto* base = static_cast<uint8_t*>(memory);
  uint8_t* status = base + kHeaderBytes + size_t(count_) * item_bytes;

  spdlog::info("building cache {} ({} images, {:.1f} MB)", path_.string(), count_,
               double(total) / 1e6);
  const auto start = Clock::now();
  std::atomic<int64_t> next{0}, done{0};
  std::mutex failure_mutex;
  std::string failure;
  auto work = [&] {
    for (int64_t i = next++; i < count_; i = next++) {
      {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure.empty()) return;
      }
      try {
        const Image image =
            load_and_transform(source.files()[size_t(i)].path, source.spec());
        const torch::Tensor chw = image_to_tensor(image);
        std::memcpy(base + kHeaderBytes + size_t(i) * item_bytes, chw.data_ptr<uint8_t>(), item_bytes);
        status[i] = kItemOk;
      } catch (const DataError& error) {
        if (!options.skip_corrupt) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (failure.empty()) failure = error.what();
          return;
        }
        status[i] = kItemCorrupt;
      } catch (const std::exception& error) {
        // Anything else (an unreadable file, no memory) ends the build; never leave a thread.
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (failure.empty()) failure = error.what();
        return;
      }
      ++done;
    }
  };
  std::vector<std::thread> threads;
  for (int64_t t = 0; t < std::max<int64_t>(1, options.workers); ++t) threads.emplace_back(work);
  for (auto& thread : threads) thread.join();
  if (!failure.empty()) {
    ::munmap(memory, total);
    fs::remove(temporary);
    throw DataError(failure + " (set data.skip_corrupt=true to skip such images)");
  }
  Header header{};
  std::memcpy(header.magic, kMagic, 8);
  header.count = uint64_t(count_);
  header.channels = uint64_t(channels_);
  header.side = uint64_t(side_);
  header.key = store_key(source);
  header.item_bytes = item_bytes;
  std::memcpy(base, &header, sizeof header);
  std::memcpy(base + total - sizeof kEndMarker, kEndMarker, sizeof kEndMarker);
  ::msync(memory, total, MS_SYNC);
  ::munmap(memory, total);
  commit_file(temporary, path_);
  built_ = true;
  spdlog::info("cache built in {:.1f} s", seconds_since(start));
}

torch::data::Example<> CachedDataset::get(size_t index) {
  if (index >= size_t(count_)) throw DataError("cache index out of range");
  if (item(size_t(count_))[index] != kItemOk) {
    throw DataError(path_.string() + ": item " + std::to_string(index) +
                    " could not be decoded when the cache was built");
  }
  auto image = torch::from_blob(const_cast<uint8_t*>(item(index)), {channels_, side_, side_},
                                torch::kUInt8)
                   .clone();
  return {image, torch::tensor(float(labels_[index]), torch::kFloat)};
}

torch::Tensor CachedDataset::images(const std::vector<size_t>& indices) {
  auto out = torch::empty({int64_t(indices.size()), channels_, side_, side_}, torch::kUInt8);
  const size_t item_bytes = size_t(channels_ * side_ * side_);
  uint8_t* target = out.data_ptr<uint8_t>();
  const uint8_t* status = item(size_t(count_));
  for (size_t i = 0; i < indices.size(); ++i) {
    if (status[indices[i]] != kItemOk) return ImageDataset::images(indices);  // slow path skips
    std::memcpy(target + i * item_bytes, item(indices[i]), item_bytes);
  }
  return out;
}

}  // namespace vae
