// CIFAR-10/100 binary batches: fixed-size records of label bytes then planar 32x32 RGB pixels.
#include <stdexcept>
#include <string>
#include <vector>

#include "vae/base/errors.h"
#include "vae/io/formats.h"

namespace vae {
namespace {
constexpr int64_t kSide = 32;
constexpr int64_t kPlane = kSide * kSide;  // bytes per colour plane
constexpr int64_t kPixelBytes = 3 * kPlane;
}  // namespace

ImageArray read_cifar_batch(const std::string& path, int label_bytes, int label_index) {
  if (label_bytes < 1 || label_index < 0 || label_index >= label_bytes) {
    throw std::invalid_argument("read_cifar_batch: label_index " + std::to_string(label_index) +
                                " is not within " + std::to_string(label_bytes) + " label bytes");
  }
  // Batches are plain binary, but a gzipped copy is read just as well.
  const std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
  const int64_t record = label_bytes + kPixelBytes;
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0) throw DataError(path + ": the file is empty; re-download the dataset");
  if (size % record != 0) {
    // The commonest mix-up is CIFAR-10 data read as CIFAR-100 or the reverse.
    const int64_t other_record = (label_bytes == 1 ? 2 : 1) + kPixelBytes;
    const std::string hint = size % other_record == 0
                                 ? "it is a multiple of the " + std::to_string(other_record) +
                                       "-byte record: is this " +
                                       (label_bytes == 1 ? "CIFAR-100" : "CIFAR-10") + " data?"
                                 : "truncated or not a CIFAR binary batch; re-download the dataset";
    throw DataError(path + ": size " + std::to_string(size) + " is not a multiple of the " +
                    std::to_string(record) + "-byte record; " + hint);
  }

  ImageArray images;
  images.count = size / record;
  images.height = kSide;
  images.width = kSide;
  images.channels = 3;
  images.pixels.resize(static_cast<size_t>(images.count * kPixelBytes));
  images.labels.resize(static_cast<size_t>(images.count));
  for (int64_t n = 0; n < images.count; ++n) {
    const uint8_t* source = bytes.data() + n * record;
    images.labels[n] = source[label_index];
    const uint8_t* planes = source + label_bytes;
    uint8_t* target = images.pixels.data() + n * kPixelBytes;
    // Planar R, G, B to interleaved HWC.
    for (int64_t i = 0; i < kPlane; ++i) {
      for (int64_t c = 0; c < 3; ++c) target[i * 3 + c] = planes[c * kPlane + i];
    }
  }
  return images;
}

}  // namespace vae
