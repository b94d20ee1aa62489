// Whole-file reads with transparent gunzip, and the IDX format of MNIST and Fashion-MNIST.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/formats.h"

namespace vae {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr uint32_t kMaxImageSide = 100000;
const char* const kRedownloadHint = "re-download the file";

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

bool starts_with_gzip_magic(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// The gzip trailer's ISIZE (uncompressed size mod 2^32), used only as a capacity hint: capped,
// and ignored beyond deflate's ~1032:1 ratio, so a damaged trailer cannot reserve anything absurd.
size_t uncompressed_size_hint(const std::vector<uint8_t>& compressed) {
  const size_t n = compressed.size();
  if (n < 18) return 0;
  const size_t isize = uint32_t{compressed[n - 4]} | (uint32_t{compressed[n - 3]} << 8) |
                       (uint32_t{compressed[n - 2]} << 16) | (uint32_t{compressed[n - 1]} << 24);
  return isize <= n * 1032 ? std::min<size_t>(isize, size_t{1} << 30) : 0;
}

// The most bytes a gzip member may inflate to: what an IDX header at its start declares (4 + 4 x
// rank header bytes and the product of the dimensions) once the header is out, else 2 GiB.
constexpr uint64_t kMaxInflated = uint64_t(2) << 30;

uint64_t inflated_size_limit(const std::vector<uint8_t>& output) {
  if (output.size() < 4 || output[0] != 0 || output[1] != 0 || output[2] != 0x08) return kMaxInflated;
  const uint64_t rank = output[3];
  if (rank == 0 || rank > 4 || output.size() < 4 + 4 * rank) return kMaxInflated;
  uint64_t total = 1;
  for (uint64_t d = 0; d < rank; ++d) {
    const uint64_t at = 4 + 4 * d;
    const uint64_t dim = (uint64_t(output[at]) << 24) | (uint64_t(output[at + 1]) << 16) | (uint64_t(output[at + 2]) << 8) |
                         uint64_t(output[at + 3]);
    total = dim == 0 ? 0 : (total > kMaxInflated / dim ? kMaxInflated : total * dim);
  }
  return std::min(kMaxInflated, 4 + 4 * rank + total);
}

// Inflates one or more concatenated gzip members held in memory.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& compressed, const std::string& path) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    throw DataError(path + ": cannot initialise zlib to decompress the file");
  }
  // Frees zlib's state on every exit path, including the throws below.
  struct Guard {
    z_stream* stream;
    ~Guard() { inflateEnd(stream); }
  } guard{&stream};
  size_t consumed = 0;  // compressed bytes already handed to zlib
  const auto failure = [&](const std::string& what) {
    const size_t position = consumed - stream.avail_in;
    return DataError(path + ": " + what + " (at compressed byte " + std::to_string(position) +
                     " of " + std::to_string(compressed.size()) + "); " + kRedownloadHint);
  };

  std::vector<uint8_t> output;
  output.reserve(uncompressed_size_hint(compressed));
  std::vector<uint8_t> chunk(1 << 18);
  const size_t max_input = std::numeric_limits<uInt>::max();
  for (;;) {
    if (stream.avail_in == 0 && consumed < compressed.size()) {
      const size_t size = std::min(compressed.size() - consumed, max_input);
      stream.next_in = const_cast<Bytef*>(compressed.data() + consumed);
      stream.avail_in = static_cast<uInt>(size);
      consumed += size;
    }
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    output.insert(output.end(), chunk.data(), chunk.data() + (chunk.size() - stream.avail_out));
    // Stop a gzip bomb early: no more bytes than an IDX header declares, and never more than any
    // dataset file vae reads could hold.
    const uint64_t limit = inflated_size_limit(output);
    if (output.size() > limit) {
      throw DataError(path + ": inflates to more than the " + std::to_string(limit) + " bytes " +
                      (limit == kMaxInflated ? std::string("any dataset file could hold") : std::string("its IDX header declares")) +
                      " (a damaged file, or not a dataset file); " + kRedownloadHint);
    }

    const bool input_exhausted = stream.avail_in == 0 && consumed == compressed.size();
    if (status == Z_STREAM_END) {
      // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else is trailing
      // padding, which gzip itself ignores too.
      const bool member_follows = !input_exhausted && stream.avail_in >= 2 &&
                                  stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b;
      if (!member_follows) break;
      if (inflateReset(&stream) != Z_OK) throw failure("cannot restart zlib for the next member");
    } else if (status == Z_OK || status == Z_BUF_ERROR) {
      // Z_OK with output room left, or Z_BUF_ERROR (no progress possible), and no input left:
      // the stream stopped before its end.
      if (input_exhausted && stream.avail_out > 0) {
        throw DataError(path + ": gzip stream ends early, the file is truncated after " +
                        std::to_string(compressed.size()) + " bytes (interrupted download?); " +
                        kRedownloadHint);
      }
    } else if (status == Z_MEM_ERROR) {
      throw failure("out of memory while decompressing");
    } else {
      throw failure(std::string("corrupt gzip data (") + (stream.msg ? stream.msg : "bad stream") +
                    ")");
    }
  }
  if (output.capacity() > output.size() + output.size() / 4) output.shrink_to_fit();
  return output;
}

uint32_t read_big_endian32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

// Checks the IDX magic number and returns the dimensions that follow it.
std::vector<uint32_t> read_idx_header(const std::vector<uint8_t>& bytes, const std::string& path,
                                      uint32_t expected_magic, const char* kind) {
  if (bytes.size() < 4) {
    throw DataError(path + ": " + std::to_string(bytes.size()) +
                    " bytes is too short for an IDX header; " + kRedownloadHint);
  }
  const uint32_t magic = read_big_endian32(bytes.data());
  if (magic != expected_magic) {
    std::string hint = "is this the right file?";
    if (magic == kIdxImagesMagic || magic == kIdxLabelsMagic) {
      hint = "images and labels files look swapped";
    } else if ((magic >> 16) == 0 && (magic & 0xff) == (expected_magic & 0xff)) {
      hint = "only unsigned-byte IDX data (type 0x08) is supported";
    }
    throw DataError(path + ": wrong magic " + hex32(magic) + ", expected " + hex32(expected_magic) +
                    " (" + kind + "); " + hint);
  }
  const size_t rank = expected_magic & 0xff;
  const size_t header_size = 4 + 4 * rank;
  if (bytes.size() < header_size) {
    throw DataError(path + ": file ends inside the IDX header (" + std::to_string(bytes.size()) +
                    " bytes); " + kRedownloadHint);
  }
  std::vector<uint32_t> dims(rank);
  for (size_t i = 0; i < rank; ++i) dims[i] = read_big_endian32(bytes.data() + 4 + 4 * i);
  return dims;
}

}  // namespace

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (!starts_with_gzip_magic(bytes)) return bytes;
  return gunzip(bytes, path);
}

ImageArray read_idx_images(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
  const std::vector<uint32_t> dims = read_idx_header(bytes, path, kIdxImagesMagic, "IDX images");
  const uint64_t count = dims[0], height = dims[1], width = dims[2];
  const std::string shape =
      std::to_string(count) + " x " + std::to_string(height) + " x " + std::to_string(width);
  if (count == 0 || height == 0 || width == 0 || height > kMaxImageSide || width > kMaxImageSide) {
    throw DataError(path + ": absurd IDX image dimensions " + shape + "; the file is damaged");
  }
  const size_t header_size = 16;
  const uint64_t pixel_bytes = bytes.size() - header_size;
  const uint64_t image_bytes = height * width;  // at most 1e10: no overflow
  // Compare by division so that a huge count in a damaged header cannot overflow the product.
  if (pixel_bytes % image_bytes != 0 || pixel_bytes / image_bytes != count) {
    throw DataError(path + ": header says " + shape + " but " + std::to_string(pixel_bytes) +
                    " pixel bytes follow it (" + std::to_string(pixel_bytes / image_bytes) +
                    " whole images); truncated or damaged, " + kRedownloadHint);
  }
  ImageArray images;
  images.count = static_cast<int64_t>(count);
  images.height = static_cast<int64_t>(height);
  images.width = static_cast<int64_t>(width);
  images.channels = 1;
  // IDX pixels are already N x H x W x 1: drop the header and keep the buffer.
  bytes.erase(bytes.begin(), bytes.begin() + header_size);
  images.pixels = std::move(bytes);
  return images;
}

std::vector<int64_t> read_idx_labels(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
  const std::vector<uint32_t> dims = read_idx_header(bytes, path, kIdxLabelsMagic, "IDX labels");
  const size_t header_size = 8;
  const uint64_t count = dims[0];
  if (count == 0) throw DataError(path + ": the IDX header declares no labels");
  if (bytes.size() - header_size != count) {
    throw DataError(path + ": header says " + std::to_string(count) + " labels but " +
                    std::to_string(bytes.size() - header_size) +
                    " bytes follow it; truncated or damaged, " + kRedownloadHint);
  }
  return std::vector<int64_t>(bytes.begin() + header_size, bytes.end());
}

}  // namespace vae
