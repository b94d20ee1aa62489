// Decoding encoded images held in memory: JPEG through libjpeg-turbo's TurboJPEG API (with DCT
// scaling to 1/2, 1/4 or 1/8 when the output is much smaller than the picture, which is what makes
// folders of large photos fast), PNG and BMP through stb_image (whose implementation lives in
// image_io.cpp). Gray pictures stay 1 channel, everything else becomes RGB (alpha dropped).
// Limits: 8-bit output only; CMYK/YCCK JPEGs go through stb_image at full size; sides larger
// than kMaxImageSide are refused before any pixel buffer is allocated.
#include <stb_image.h>
#if VAE_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "vae/base/errors.h"
#include "vae/io/image_codec.h"
#include "vae/io/transforms.h"
#include "io/scaled_decode.h"

namespace vae {
namespace {

[[maybe_unused]] bool looks_like_jpeg(const uint8_t* data, size_t size) {
  // Every JPEG starts with the SOI marker FF D8 followed by another marker.
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

void check_dimensions(int64_t width, int64_t height, const std::string& name) {
  if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide) {
    throw DataError(name + ": header declares " + std::to_string(width) + "x" +
                    std::to_string(height) + " pixels; at most " + std::to_string(kMaxImageSide) +
                    " per side is accepted");
  }
}

// BMP, strictly: stb_image makes up the rows a truncated file lacks, so the pixel array the header
// describes must fit in the file (uncompressed and bit-field BMPs; RLE ones are checked by the
// decoder). A negative height is a valid top-down BMP, which stb_image reads.
void check_bmp(const uint8_t* data, size_t size, const std::string& name) {
  auto u16 = [&](size_t at) { return uint32_t(data[at]) | (uint32_t(data[at + 1]) << 8); };
  auto u32 = [&](size_t at) { return u16(at) | (u16(at + 2) << 16); };
  if (size < 26) throw DataError(name + ": " + std::to_string(size) + " bytes is too short for a BMP header; the file is truncated");
  const uint64_t offset = u32(10), header = u32(14);
  int64_t width = 0, height = 0;
  uint32_t bits = 0, compression = 0;
  if (header == 12) {
    width = u16(18);
    height = u16(20);
    bits = size >= 26 ? u16(24) : 0;
  } else if (header >= 40 && size >= 34) {
    width = int32_t(u32(18));
    height = int32_t(u32(22));
    bits = u16(28);
    compression = u32(30);
  } else {
    throw DataError(name + ": BMP header of " + std::to_string(header) + " bytes is not one vae reads; the file is damaged");
  }
  const int64_t rows = height < 0 ? -height : height;
  check_dimensions(width, rows, name);
  if (compression != 0 && compression != 3) return;  // RLE: its length is not fixed by the header
  if (bits == 0 || bits > 32) throw DataError(name + ": BMP declares " + std::to_string(bits) + " bits per pixel; the file is damaged");
  const uint64_t stride = (uint64_t(bits) * uint64_t(width) + 31) / 32 * 4;
  const uint64_t needed = offset + stride * uint64_t(rows);
  if (needed > size) {
    throw DataError(name + ": truncated BMP: " + std::to_string(size) + " bytes, but its header describes " +
                    std::to_string(width) + "x" + std::to_string(rows) + " pixels ending at byte " + std::to_string(needed) +
                    " (interrupted download?)");
  }
}

// JPEG for stb_image, whose v2.27 (Debian's) writes past its Huffman size table when a DHT
// segment declares more than 256 codes (found by fuzzing; later stb versions refuse it). Walks the
// markers as stb_image does (fill bytes FF skipped; junk between segments skipped byte by byte;
// entropy-coded data up to the next FF that is not FF 00 or a restart marker) and refuses such a
// table before stb_image sees the file. Anything stb_image would not take for a JPEG passes.
void check_jpeg_for_stb(const uint8_t* data, size_t size, const std::string& name) {
  size_t at = 0;
  // The marker at `at`, or -1 when there is none there (one byte skipped, as stb_image does).
  auto marker = [&]() -> int {
    if (data[at++] != 0xFF) return -1;
    while (at < size && data[at] == 0xFF) ++at;
    return at < size ? int(data[at++]) : -1;
  };
  if (size < 2 || marker() != 0xD8) return;  // no SOI: stb_image does not read it as a JPEG
  auto be16 = [&](size_t where) { return size_t(data[where]) << 8 | size_t(data[where + 1]); };
  while (at < size) {
    const int m = marker();
    if (m < 0 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // junk, TEM, restarts: no length
    if (m == 0xD9 || at + 2 > size) return;                            // EOI, or cut short
    const size_t length = be16(at);
    if (m == 0xC4) {  // DHT: tables of (class/id, 16 counts, the symbols)
      size_t table = at + 2;
      const size_t end = std::min(size, at + length);
      while (table + 17 <= end) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; ++i) codes += data[table + i];
        if (codes > 256) {
          throw DataError(name + ": corrupt JPEG: a Huffman table declares " + std::to_string(codes) +
                          " codes (at most 256 exist); the file is damaged");
        }
        table += 17 + codes;
      }
    }
    at += std::max<size_t>(length, 2);
    if (m == 0xDA) {  // SOS: entropy-coded data until a marker
      while (at + 1 < size && !(data[at] == 0xFF && data[at + 1] != 0x00 && (data[at + 1] < 0xD0 || data[at + 1] > 0xD7))) {
        ++at;
      }
    }
  }
}

Image decode_with_stb(const uint8_t* data, size_t size, const std::string& name) {
  if (size > size_t(INT_MAX)) {
    throw DataError(name + ": " + std::to_string(size) +
                    " bytes is too large for the PNG/BMP decoder; convert it to JPEG or shrink it");
  }
  // stb_image refuses some absurd PNG sizes with a vague "corrupt" message; read IHDR (width and
  // height, big-endian, at bytes 16 and 20 after the 8-byte signature) to say what is wrong.
  static const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size >= 24 && std::memcmp(data, kPngSignature, 8) == 0) {
    auto big_endian = [&](size_t at) {
      return (int64_t(data[at]) << 24) | (int64_t(data[at + 1]) << 16) |
             (int64_t(data[at + 2]) << 8) | int64_t(data[at + 3]);
    };
    check_dimensions(big_endian(16), big_endian(20), name);
  }
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') check_bmp(data, size, name);
  check_jpeg_for_stb(data, size, name);
  int width = 0, height = 0, file_channels = 0;
  if (!stbi_info_from_memory(data, int(size), &width, &height, &file_channels)) {
    throw DataError(name + ": not a readable PNG, JPEG or BMP image (" +
                    std::string(stbi_failure_reason()) + ")");
  }
  if (size >= 2 && data[0] == 'B' && data[1] == 'M' && height < 0) height = -height;  // top-down BMP
  check_dimensions(width, height, name);
  // Gray and gray+alpha stay gray; RGB, RGBA and palettes become RGB (alpha dropped, as PIL's
  // convert("RGB") / convert("L") do).
  const int wanted = (file_channels == 1 || file_channels == 2) ? 1 : 3;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, int(size), &width, &height, &file_channels, wanted),
      stbi_image_free);
  if (decoded == nullptr) {
    throw DataError(name + ": cannot decode image (" + std::string(stbi_failure_reason()) +
                    "); the file may be truncated or damaged");
  }
  Image image{width, height, wanted, {}};
  image.pixels.assign(decoded.get(),
                      decoded.get() + size_t(width) * size_t(height) * size_t(wanted));
  return image;
}

void check_not_empty(const uint8_t* data, size_t size, const std::string& name) {
  if (data == nullptr || size == 0) throw DataError(name + ": empty file, not an image");
}

#if VAE_HAVE_TURBOJPEG
// A TurboJPEG handle is not safe to share between threads and costs allocations to create, so
// every decoding thread keeps its own for its lifetime.
class ThreadJpegDecoder {
 public:
  static tjhandle handle(const std::string& name) {
    ThreadJpegDecoder& decoder = instance();
    if (decoder.handle_ == nullptr) decoder.handle_ = tjInitDecompress();
    if (decoder.handle_ == nullptr) {
      throw Error(name + ": cannot start the JPEG decoder (" +
                  std::string(tjGetErrorStr2(nullptr)) + "); the system may be out of memory");
    }
    return decoder.handle_;
  }
  // After a failed decode libjpeg's state is not reliably reset (later files then fail with the
  // same error), so a failure discards this thread's handle; the next decode makes a fresh one.
  static void discard() {
    ThreadJpegDecoder& decoder = instance();
    if (decoder.handle_ != nullptr) tjDestroy(decoder.handle_);
    decoder.handle_ = nullptr;
  }
  ThreadJpegDecoder(const ThreadJpegDecoder&) = delete;
  ThreadJpegDecoder& operator=(const ThreadJpegDecoder&) = delete;
  ~ThreadJpegDecoder() {
    if (handle_ != nullptr) tjDestroy(handle_);
  }

 private:
  ThreadJpegDecoder() : handle_(tjInitDecompress()) {}
  static ThreadJpegDecoder& instance() {
    thread_local ThreadJpegDecoder decoder;
    return decoder;
  }
  tjhandle handle_;
};

struct JpegHeader {
  int width = 0;
  int height = 0;
  int colorspace = 0;
};

// libjpeg reports "N extraneous bytes before marker" when junk sits between segments; the picture
// itself is complete, and PIL accepts such files, so this one warning is not an error. Every other
// warning (premature end of file, corrupt entropy data...) means some pixels were invented.
bool is_harmless_jpeg_warning(tjhandle handle) {
  if (tjGetErrorCode(handle) != TJERR_WARNING) return false;
  return std::strstr(tjGetErrorStr2(handle), "extraneous bytes before marker") != nullptr;
}

JpegHeader read_jpeg_header(tjhandle handle, const uint8_t* data, size_t size,
                            const std::string& name) {
  JpegHeader header;
  int subsampling = 0;
  if (tjDecompressHeader3(handle, data, static_cast<unsigned long>(size), &header.width,
                          &header.height, &subsampling, &header.colorspace) != 0 &&
      !is_harmless_jpeg_warning(handle)) {
    const std::string reason = tjGetErrorStr2(handle);
    ThreadJpegDecoder::discard();
    throw DataError(name + ": not a readable JPEG (" + reason +
                    "); the file may be truncated or damaged");
  }
  check_dimensions(header.width, header.height, name);
  return header;
}

// Decodes at scale numerator/denominator (one of TurboJPEG's scaling factors).
Image decode_jpeg(tjhandle handle, const uint8_t* data, size_t size, const std::string& name,
                  const JpegHeader& header, tjscalingfactor scale) {
  const bool gray = header.colorspace == TJCS_GRAY;
  Image image;
  image.width = TJSCALED(header.width, scale);
  image.height = TJSCALED(header.height, scale);
  image.channels = gray ? 1 : 3;
  image.pixels.resize(size_t(image.width * image.height * image.channels));
  // Flags 0: accurate integer IDCT and smooth ("fancy") chroma upsampling, libjpeg's defaults,
  // which are what PIL uses, so full-size decodes match PIL's.
  const int status =
      tjDecompress2(handle, data, static_cast<unsigned long>(size), image.pixels.data(),
                    int(image.width), 0, int(image.height), gray ? TJPF_GRAY : TJPF_RGB, 0);
  if (status != 0 && !is_harmless_jpeg_warning(handle)) {
    const std::string reason = tjGetErrorStr2(handle);
    ThreadJpegDecoder::discard();
    throw DataError(name + ": cannot decode JPEG (" + reason +
                    "); the file may be truncated or damaged");
  }
  return image;
}

bool needs_stb_for_jpeg(const JpegHeader& header) {
  // TurboJPEG cannot turn CMYK/YCCK into RGB; stb_image can (Adobe inverted CMYK included).
  return header.colorspace == TJCS_CMYK || header.colorspace == TJCS_YCCK;
}

// The smallest DCT scale (1/8, 1/4, 1/2, else 1) at which the part of the picture that survives
// the centre crop still has both sides at least twice the output size, so that the antialiased
// resize afterwards still reduces by 2x or more and the result stays close to a full-size decode.
tjscalingfactor choose_jpeg_scale(const JpegHeader& header, const TransformSpec& spec) {
  const tjscalingfactor full{1, 1};
  int available = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&available);
  if (factors == nullptr || spec.image_size <= 0) return full;
  const int64_t needed = 2 * spec.image_size;
  for (const int denominator : {8, 4, 2}) {
    const bool offered = std::any_of(factors, factors + available, [&](const tjscalingfactor& f) {
      return f.num == 1 && f.denom == denominator;
    });
    if (!offered) continue;
    const tjscalingfactor scale{1, denominator};
    int64_t kept_width = TJSCALED(header.width, scale);
    int64_t kept_height = TJSCALED(header.height, scale);
    if (spec.center_crop > 0) {
      const int64_t crop = std::llround(double(spec.center_crop) / denominator);
      kept_width = std::min(kept_width, crop);
      kept_height = std::min(kept_height, crop);
    }
    if (kept_width >= needed && kept_height >= needed) return scale;
  }
  return full;
}

#endif  // VAE_HAVE_TURBOJPEG

}  // namespace

const char* jpeg_decoder_name() { return VAE_HAVE_TURBOJPEG ? "libjpeg-turbo" : "stb_image"; }

Image decode_image(const uint8_t* data, size_t size, const std::string& name) {
  check_not_empty(data, size, name);
#if VAE_HAVE_TURBOJPEG
  if (looks_like_jpeg(data, size)) {
    const tjhandle handle = ThreadJpegDecoder::handle(name);
    const JpegHeader header = read_jpeg_header(handle, data, size, name);
    if (!needs_stb_for_jpeg(header)) return decode_jpeg(handle, data, size, name, header, {1, 1});
  }
#endif
  return decode_with_stb(data, size, name);
}

Image decode_and_transform(const uint8_t* data, size_t size, const std::string& name,
                           const TransformSpec& spec, PictureSize* stored) {
  check_not_empty(data, size, name);
#if VAE_HAVE_TURBOJPEG
  if (looks_like_jpeg(data, size)) {
    const tjhandle handle = ThreadJpegDecoder::handle(name);
    const JpegHeader header = read_jpeg_header(handle, data, size, name);
    if (!needs_stb_for_jpeg(header)) {
      const tjscalingfactor scale = choose_jpeg_scale(header, spec);
      const Image decoded = decode_jpeg(handle, data, size, name, header, scale);
      if (stored) *stored = {header.width, header.height, decoded.channels};
      return detail::transform_scaled_decode(decoded, header.width, header.height, scale.denom,
                                             spec);
    }
  }
#endif
  const Image decoded = decode_with_stb(data, size, name);
  if (stored) *stored = {decoded.width, decoded.height, decoded.channels};
  return apply_transforms(decoded, spec);
}

Image load_and_transform(const std::string& path, const TransformSpec& spec, PictureSize* stored) {
  // Ask for the size first so that the whole file is read with one allocation and one read.
  std::error_code error;
  const auto length = std::filesystem::file_size(path, error);
  if (error) {
    throw IoError(path + ": cannot open image file (" + error.message() +
                  "); check that it exists, is a regular file and is readable");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open image file; check that it exists and is readable");
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  if (!bytes.empty() &&
      !file.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()))) {
    throw IoError(path + ": read failed after " + std::to_string(file.gcount()) + " of " +
                  std::to_string(length) + " bytes; check the disk and whether the file changed");
  }
  return decode_and_transform(bytes.data(), bytes.size(), path, spec, stored);
}

}  // namespace vae
