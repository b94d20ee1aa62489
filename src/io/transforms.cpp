// Deterministic image transforms on 8-bit interleaved images, reproducing what torchvision does on
// PIL images so that a model trained here sees the same pixels as the Python reference:
// CenterCrop (with its rounding and zero padding), Resize (PIL's antialiased bilinear filter, in
// PIL's fixed-point arithmetic), and convert("L") / convert("RGB").
// Limits: 1 (gray) or 3 (RGB) channels only; sizes up to kMaxImageSide; no other filters.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "vae/base/errors.h"
#include "vae/io/transforms.h"
#include "io/scaled_decode.h"

// On x86-64 with GCC or Clang the two resampling passes get SIMD versions (SSE4.1 for the
// horizontal RGB pass, AVX2 clones of the vertical pass), chosen at run time so that the binary
// still runs on any x86-64. Elsewhere the portable loops are used; results are identical.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VAE_RESAMPLE_X86_SIMD 1
#endif

namespace vae {
namespace {

void check_image(const Image& image, const char* operation) {
  const bool shape_ok = image.width > 0 && image.height > 0 &&
                        (image.channels == 1 || image.channels == 3) &&
                        image.pixels.size() == size_t(image.width * image.height * image.channels);
  if (!shape_ok) {
    throw DataError(std::string(operation) + ": got an image of " + std::to_string(image.width) +
                    "x" + std::to_string(image.height) + "x" + std::to_string(image.channels) +
                    " with " + std::to_string(image.pixels.size()) +
                    " bytes; expected a non-empty gray or RGB image (decode it first)");
  }
}

void check_output_size(int64_t width, int64_t height, const char* operation) {
  if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide) {
    throw ConfigError(std::string(operation) + ": output size " + std::to_string(width) + "x" +
                      std::to_string(height) + " is invalid; use 1.." +
                      std::to_string(kMaxImageSide) + " per side");
  }
}

// Python's round() on a non-negative half-integer d / 2: halves go to the even neighbour.
// torchvision's CenterCrop computes int(round((size_in - size_out) / 2.0)).
int64_t half_rounded_to_even(int64_t d) {
  const int64_t floor_half = d / 2;
  if (d % 2 == 0) return floor_half;
  return (floor_half % 2 == 0) ? floor_half : floor_half + 1;
}

// ---- Resize: PIL's ImagingResample (Resample.c) with the bilinear (triangle) filter ----------
//
// PIL computes, per output coordinate i, a window of input samples and normalised weights in
// double precision, turns the weights into fixed point with PRECISION_BITS = 32 - 8 - 2 = 22,
// and accumulates integer products starting from 1 << 21 (rounding), shifting right by 22 and
// clipping to 0..255. Both passes round to 8 bits; horizontal runs first. Doing the same
// arithmetic gives PIL's bytes exactly (the tests check this on golden outputs).
constexpr int kPrecisionBits = 22;
constexpr int32_t kRoundingHalf = int32_t(1) << (kPrecisionBits - 1);

struct ResampleTaps {
  std::vector<int32_t> first;    // first input index used by output i
  std::vector<int32_t> count;    // number of input samples used by output i
  std::vector<int32_t> weights;  // fixed-point weights, `stride` slots per output
  int32_t stride = 0;
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Input interval [begin, end) (fractional pixels) to resample, and the input pixels [first, last)
// that the filter may read (PIL reads the whole axis; a crop restricts it to the crop).
struct SourceSpan {
  double begin = 0.0;
  double end = 0.0;
  int64_t first = 0;
  int64_t last = 0;
};

ResampleTaps compute_taps(const SourceSpan& span, int64_t out_size) {
  const double scale = (span.end - span.begin) / double(out_size);
  const double filter_scale = std::max(scale, 1.0);  // widen the filter when reducing (antialias)
  const double support = 1.0 * filter_scale;         // the triangle's support is 1
  const double inverse_filter_scale = 1.0 / filter_scale;
  ResampleTaps taps;
  taps.stride = int32_t(std::ceil(support)) * 2 + 1;
  taps.first.resize(size_t(out_size));
  taps.count.resize(size_t(out_size));
  taps.weights.assign(size_t(out_size * taps.stride), 0);
  std::vector<double> window(size_t(taps.stride));
  for (int64_t i = 0; i < out_size; ++i) {
    const double center = span.begin + (double(i) + 0.5) * scale;
    // PIL rounds the window ends with a truncating cast of (end + 0.5), then clips to the image.
    const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), span.first);
    const int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), span.last);
    const int64_t n = hi - lo;
    double total = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      window[size_t(k)] = triangle((double(k + lo) - center + 0.5) * inverse_filter_scale);
      total += window[size_t(k)];
    }
    int32_t* fixed = &taps.weights[size_t(i * taps.stride)];
    for (int64_t k = 0; k < n; ++k) {
      const double w = total != 0.0 ? window[size_t(k)] / total : window[size_t(k)];
      // Triangle weights are never negative, so PIL's rounding is a plain + 0.5 and truncation.
      fixed[k] = int32_t(0.5 + w * double(1 << kPrecisionBits));
    }
    taps.first[size_t(i)] = int32_t(lo);
    taps.count[size_t(i)] = int32_t(n);
  }
  return taps;
}

inline uint8_t clip_fixed_to_byte(int32_t accumulated) {
  const int32_t value = accumulated >> kPrecisionBits;
  return uint8_t(value < 0 ? 0 : (value > 255 ? 255 : value));
}

// Gives every output the same number of taps (the largest) by moving windows that would run past
// `readable_end` back and padding with zero weights: the sums are unchanged, and the horizontal
// loop gets a fixed trip count (no mispredicted branches, unrollable).
ResampleTaps with_uniform_count(const ResampleTaps& taps, int64_t readable_end) {
  const int32_t taps_per_output = *std::max_element(taps.count.begin(), taps.count.end());
  ResampleTaps uniform;
  uniform.stride = taps_per_output;
  uniform.first = taps.first;
  uniform.count.assign(taps.count.size(), taps_per_output);
  uniform.weights.assign(taps.count.size() * size_t(taps_per_output), 0);
  for (size_t i = 0; i < taps.count.size(); ++i) {
    const int64_t overrun = std::max<int64_t>(0, taps.first[i] + taps_per_output - readable_end);
    uniform.first[i] = int32_t(taps.first[i] - overrun);
    for (int32_t k = 0; k < taps.count[i]; ++k) {
      uniform.weights[i * size_t(taps_per_output) + size_t(overrun + k)] =
          taps.weights[i * size_t(taps.stride) + size_t(k)];
    }
  }
  return uniform;
}

// Horizontal pass over input rows [row_begin, row_end), written to `out` (out_width wide).
// `taps` come from with_uniform_count; kTaps is their count when known at compile time, else 0.
template <int kChannels, int kTaps>
void resample_rows(const uint8_t* in, int64_t in_width, int64_t row_begin, int64_t row_end,
                   const ResampleTaps& taps, int64_t out_width, uint8_t* out) {
  const int32_t n = kTaps > 0 ? kTaps : taps.stride;
  for (int64_t y = row_begin; y < row_end; ++y) {
    const uint8_t* in_row = in + y * in_width * kChannels;
    uint8_t* out_row = out + (y - row_begin) * out_width * kChannels;
    const int32_t* w = taps.weights.data();
    for (int64_t x = 0; x < out_width; ++x, w += n) {
      const uint8_t* src = in_row + int64_t(taps.first[size_t(x)]) * kChannels;
      int32_t sums[kChannels];
      for (int c = 0; c < kChannels; ++c) sums[c] = kRoundingHalf;
      for (int32_t k = 0; k < n; ++k) {
        for (int c = 0; c < kChannels; ++c) sums[c] += int32_t(src[k * kChannels + c]) * w[k];
      }
      for (int c = 0; c < kChannels; ++c) out_row[x * kChannels + c] = clip_fixed_to_byte(sums[c]);
    }
  }
}

#ifdef VAE_RESAMPLE_X86_SIMD
// The RGB horizontal pass with the three channel sums in one SSE register: each tap loads 4 bytes
// (R, G, B and the next pixel's R, whose lane is ignored), widens them to 32 bits and adds
// weight * value, the same integer arithmetic as the portable loop. Rows whose last tap could read
// past the end of the buffer (only the image's last row) must use the portable loop.
template <int kTaps>
__attribute__((target("sse4.1"))) void resample_rgb_rows_sse41(const uint8_t* in, int64_t in_width,
                                                               int64_t row_begin, int64_t row_end,
                                                               const ResampleTaps& taps,
                                                               int64_t out_width, uint8_t* out) {
  const int32_t n = kTaps > 0 ? kTaps : taps.stride;
  // Each weight broadcast to four lanes once per call rather than once per pixel.
  std::vector<int32_t> broadcast(taps.weights.size() * 4);
  for (size_t i = 0; i < broadcast.size(); ++i) broadcast[i] = taps.weights[i / 4];
  const __m128i rounding = _mm_set1_epi32(kRoundingHalf);
  for (int64_t y = row_begin; y < row_end; ++y) {
    const uint8_t* in_row = in + y * in_width * 3;
    uint8_t* out_row = out + (y - row_begin) * out_width * 3;
    const int32_t* w = broadcast.data();
    for (int64_t x = 0; x < out_width; ++x, w += 4 * n) {
      const uint8_t* src = in_row + int64_t(taps.first[size_t(x)]) * 3;
      __m128i sums = rounding;
      for (int32_t k = 0; k < n; ++k) {
        int32_t four_bytes;
        std::memcpy(&four_bytes, src + 3 * k, 4);
        const __m128i values = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four_bytes));
        const __m128i weight = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 4 * k));
        sums = _mm_add_epi32(sums, _mm_mullo_epi32(values, weight));
      }
      // Shift out the fraction; the saturating packs clip to 0..255 exactly like
      // clip_fixed_to_byte.
      const __m128i shifted = _mm_srai_epi32(sums, kPrecisionBits);
      const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(shifted, shifted), shifted);
      const int32_t packed = _mm_cvtsi128_si32(bytes);
      std::memcpy(out_row + x * 3, &packed, 3);
    }
  }
}

void resample_rgb_rows_simd(const uint8_t* in, int64_t in_width, int64_t row_begin, int64_t row_end,
                            const ResampleTaps& taps, int64_t out_width, uint8_t* out) {
  switch (taps.stride) {
    case 3:
      return resample_rgb_rows_sse41<3>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 4:
      return resample_rgb_rows_sse41<4>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 5:
      return resample_rgb_rows_sse41<5>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 6:
      return resample_rgb_rows_sse41<6>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 7:
      return resample_rgb_rows_sse41<7>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 8:
      return resample_rgb_rows_sse41<8>(in, in_width, row_begin, row_end, taps, out_width, out);
    default:
      return resample_rgb_rows_sse41<0>(in, in_width, row_begin, row_end, taps, out_width, out);
  }
}

bool cpu_has_sse41() {
  // Initialised once, on first use (thread-safe); __builtin_cpu_init makes it valid even if the
  // first use happens during static initialisation.
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("sse4.1"));
  return has;
}
#endif

template <int kChannels>
void resample_rows_portable(const uint8_t* in, int64_t in_width, int64_t row_begin, int64_t row_end,
                            const ResampleTaps& taps, int64_t out_width, uint8_t* out) {
  // Reductions up to about 3.5x (the common case: photos to 32..128 pixels after DCT scaling)
  // get a fully unrolled loop; larger ones use the same loop with a run-time count.
  switch (taps.stride) {
    case 1:
      return resample_rows<kChannels, 1>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 2:
      return resample_rows<kChannels, 2>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 3:
      return resample_rows<kChannels, 3>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 4:
      return resample_rows<kChannels, 4>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 5:
      return resample_rows<kChannels, 5>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 6:
      return resample_rows<kChannels, 6>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 7:
      return resample_rows<kChannels, 7>(in, in_width, row_begin, row_end, taps, out_width, out);
    case 8:
      return resample_rows<kChannels, 8>(in, in_width, row_begin, row_end, taps, out_width, out);
    default:
      return resample_rows<kChannels, 0>(in, in_width, row_begin, row_end, taps, out_width, out);
  }
}

// Horizontal pass over rows [row_begin, row_end) of `image`.
void resample_horizontal(const Image& image, int64_t row_begin, int64_t row_end,
                         const ResampleTaps& taps, int64_t out_width, uint8_t* out) {
  const uint8_t* in = image.pixels.data();
  if (image.channels == 1) {
    resample_rows_portable<1>(in, image.width, row_begin, row_end, taps, out_width, out);
    return;
  }
#ifdef VAE_RESAMPLE_X86_SIMD
  if (cpu_has_sse41()) {
    // The SIMD loop reads one byte past a pixel: fine inside the buffer, so only the image's
    // very last row (when it is used) goes through the portable loop.
    const int64_t simd_end = std::min(row_end, image.height - 1);
    if (simd_end > row_begin) {
      resample_rgb_rows_simd(in, image.width, row_begin, simd_end, taps, out_width, out);
    }
    const int64_t rest_begin = std::max(row_begin, simd_end);
    if (rest_begin < row_end) {
      resample_rows_portable<3>(in, image.width, rest_begin, row_end, taps, out_width,
                                out + (rest_begin - row_begin) * out_width * 3);
    }
    return;
  }
#endif
  resample_rows_portable<3>(in, image.width, row_begin, row_end, taps, out_width, out);
}

// Vertical pass: each output row is a weighted sum of whole input rows (vectorisable; AVX2 clone
// where available). `first_row_offset` is subtracted from the tap positions (the input may start
// at a later row).
#if defined(VAE_RESAMPLE_X86_SIMD) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void resample_columns(const uint8_t* in, int64_t row_bytes, int64_t first_row_offset,
                      const ResampleTaps& taps, int64_t out_height, uint8_t* out) {
  std::vector<int32_t> sums(static_cast<size_t>(row_bytes));
  for (int64_t y = 0; y < out_height; ++y) {
    std::fill(sums.begin(), sums.end(), kRoundingHalf);
    const int32_t* w = &taps.weights[size_t(y * taps.stride)];
    const int64_t first = taps.first[size_t(y)] - first_row_offset;
    for (int32_t k = 0; k < taps.count[size_t(y)]; ++k) {
      const uint8_t* src = in + (first + k) * row_bytes;
      const int32_t weight = w[k];
      int32_t* acc = sums.data();
      for (int64_t i = 0; i < row_bytes; ++i) acc[i] += int32_t(src[i]) * weight;
    }
    uint8_t* out_row = out + y * row_bytes;
    for (int64_t i = 0; i < row_bytes; ++i) out_row[i] = clip_fixed_to_byte(sums[size_t(i)]);
  }
}

}  // namespace

Image center_crop(const Image& image, int64_t size) {
  check_image(image, "center crop");
  check_output_size(size, size, "center crop");
  // torchvision pads with zeros when the crop is larger than the image: left/top get
  // (size - side) // 2, right/bottom the rest; then it crops at int(round((side - size) / 2)).
  const int64_t pad_left = size > image.width ? (size - image.width) / 2 : 0;
  const int64_t pad_top = size > image.height ? (size - image.height) / 2 : 0;
  const int64_t padded_width = std::max(image.width, size);
  const int64_t padded_height = std::max(image.height, size);
  const int64_t left = half_rounded_to_even(padded_width - size) - pad_left;
  const int64_t top = half_rounded_to_even(padded_height - size) - pad_top;

  const int64_t channels = image.channels;
  Image out{size, size, channels, std::vector<uint8_t>(size_t(size * size * channels), 0)};
  // Output columns [x_begin, x_end) come from input columns starting at x_begin + left.
  const int64_t x_begin = std::max<int64_t>(0, -left);
  const int64_t x_end = std::min<int64_t>(size, image.width - left);
  if (x_end <= x_begin) return out;
  for (int64_t y = 0; y < size; ++y) {
    const int64_t source_y = y + top;
    if (source_y < 0 || source_y >= image.height) continue;
    const uint8_t* from =
        &image.pixels[size_t((source_y * image.width + x_begin + left) * channels)];
    std::memcpy(&out.pixels[size_t((y * size + x_begin) * channels)], from,
                size_t((x_end - x_begin) * channels));
  }
  return out;
}

namespace {

// Separable resampling of the region `x` x `y` of `image` to width x height: horizontal pass
// first (only over the rows the vertical pass reads, as PIL does), then vertical.
Image resample(const Image& image, const SourceSpan& x, const SourceSpan& y, int64_t width,
               int64_t height, bool need_horizontal, bool need_vertical) {
  const int64_t channels = image.channels;
  const ResampleTaps vertical = compute_taps(y, height);
  const int64_t row_begin = need_vertical ? vertical.first.front() : y.first;
  const int64_t row_end =
      need_vertical ? int64_t(vertical.first.back()) + vertical.count.back() : y.last;

  std::vector<uint8_t> horizontal_out;
  const uint8_t* rows = image.pixels.data();
  int64_t rows_offset = 0;  // index of the input row that `rows` starts at
  int64_t row_bytes = image.width * channels;
  if (need_horizontal) {
    const ResampleTaps horizontal = with_uniform_count(compute_taps(x, width), x.last);
    horizontal_out.resize(size_t((row_end - row_begin) * width * channels));
    resample_horizontal(image, row_begin, row_end, horizontal, width, horizontal_out.data());
    if (!need_vertical) return Image{width, height, channels, std::move(horizontal_out)};
    rows = horizontal_out.data();
    rows_offset = row_begin;
    row_bytes = width * channels;
  }
  Image out{width, height, channels, std::vector<uint8_t>(size_t(width * height * channels))};
  resample_columns(rows, row_bytes, rows_offset, vertical, height, out.pixels.data());
  return out;
}

// Crop offset of torchvision's CenterCrop along one axis: int(round((side - size) / 2.0)).
int64_t crop_offset(int64_t side, int64_t size) { return half_rounded_to_even(side - size); }

// torchvision's Resize(int) length of the longer side: int(size * long / short).
int64_t scaled_long_side(int64_t size, int64_t long_side, int64_t short_side) {
  return int64_t(double(size) * double(long_side) / double(short_side));
}

// The source spans of resize-shorter-side-then-centre-crop on a width x height picture: the
// shorter axis is resampled whole to `size`; on the longer one, output pixels [o, o + size) of
// its resize to L = scaled_long_side are kept, which is the source interval [o, o + size) * long / L
// with the filter free to read the whole axis (as it does in the full resize).
std::pair<SourceSpan, SourceSpan> shorter_side_spans(int64_t width, int64_t height, int64_t size) {
  const int64_t short_side = std::min(width, height), long_side = std::max(width, height);
  const int64_t resized = scaled_long_side(size, long_side, short_side);
  const int64_t offset = crop_offset(resized, size);
  const double scale = double(long_side) / double(resized);
  const SourceSpan whole_short{0.0, double(short_side), 0, short_side};
  const SourceSpan kept_long{double(offset) * scale, double(offset + size) * scale, 0, long_side};
  return width <= height ? std::make_pair(whole_short, kept_long) : std::make_pair(kept_long, whole_short);
}

SourceSpan scaled_span(const SourceSpan& span, int denominator, int64_t scaled_side) {
  SourceSpan out;
  out.begin = span.begin / denominator;
  out.end = span.end / denominator;
  out.first = int64_t(std::floor(double(span.first) / denominator));
  out.last = std::min<int64_t>(scaled_side, int64_t(std::ceil(double(span.last) / denominator)));
  return out;
}

}  // namespace

namespace detail {

// apply_transforms for a picture that libjpeg-turbo decoded at 1/`denominator` of its
// `full_width` x `full_height`. The crop is placed where torchvision would place it on the full
// picture and mapped to fractional coordinates of the small one, which is then resampled
// straight from that region; cropping the small picture at whole pixels instead would shift the
// result by up to half a small pixel and double the difference from the full-size pipeline.
// Crops larger than the picture (zero padding) fall back to cropping the small picture.
Image transform_scaled_decode(const Image& scaled, int64_t full_width, int64_t full_height,
                              int denominator, const TransformSpec& spec) {
  if (denominator == 1) return apply_transforms(scaled, spec);
  check_image(scaled, "transforms");
  check_output_size(spec.image_size, spec.image_size, "transforms: image_size");
  const int64_t crop = spec.center_crop;
  if (crop > full_width || crop > full_height || crop < 0) {
    TransformSpec scaled_spec = spec;
    scaled_spec.center_crop = std::max<int64_t>(1, std::llround(double(crop) / denominator));
    return apply_transforms(scaled, scaled_spec);
  }
  // The full picture's region [left, left + size) maps to [left / d, (left + size) / d).
  auto crop_span = [&](int64_t full_side) {
    const int64_t size = crop > 0 ? crop : full_side;
    const int64_t offset = crop > 0 ? crop_offset(full_side, crop) : 0;
    return SourceSpan{double(offset), double(offset + size), offset, offset + size};
  };
  SourceSpan x = crop_span(full_width), y = crop_span(full_height);
  if (crop == 0 && spec.keep_aspect && full_width != full_height) {
    std::tie(x, y) = shorter_side_spans(full_width, full_height, spec.image_size);
  }
  const Image resized =
      resample(scaled, scaled_span(x, denominator, scaled.width), scaled_span(y, denominator, scaled.height),
               spec.image_size, spec.image_size, true, true);
  return resized.channels == spec.channels ? resized : convert_channels(resized, spec.channels);
}

}  // namespace detail

Image resize_bilinear_antialias(const Image& image, int64_t width, int64_t height) {
  check_image(image, "resize");
  check_output_size(width, height, "resize");
  const bool need_horizontal = width != image.width;
  const bool need_vertical = height != image.height;
  if (!need_horizontal && !need_vertical) return image;
  const SourceSpan x{0.0, double(image.width), 0, image.width};
  const SourceSpan y{0.0, double(image.height), 0, image.height};
  return resample(image, x, y, width, height, need_horizontal, need_vertical);
}

Image convert_channels(const Image& image, int64_t channels) {
  check_image(image, "channel conversion");
  if (channels != 1 && channels != 3) {
    throw ConfigError("channel conversion: " + std::to_string(channels) +
                      " channels requested; use 1 (gray) or 3 (RGB)");
  }
  if (image.channels == channels) return image;
  const size_t pixel_count = size_t(image.width * image.height);
  Image out{image.width, image.height, channels,
            std::vector<uint8_t>(pixel_count * size_t(channels))};
  if (channels == 1) {
    // PIL's convert("L") (Convert.c, rgb2l): ITU-R BT.601 luma in 16-bit fixed point,
    // (19595 R + 38470 G + 7471 B + 0x8000) >> 16, i.e. 0.299/0.587/0.114 rounded.
    const uint8_t* rgb = image.pixels.data();
    for (size_t p = 0; p < pixel_count; ++p, rgb += 3) {
      out.pixels[p] = uint8_t((uint32_t(rgb[0]) * 19595u + uint32_t(rgb[1]) * 38470u +
                               uint32_t(rgb[2]) * 7471u + 0x8000u) >>
                              16);
    }
  } else {
    for (size_t p = 0; p < pixel_count; ++p) {
      const uint8_t value = image.pixels[p];
      out.pixels[3 * p] = value;
      out.pixels[3 * p + 1] = value;
      out.pixels[3 * p + 2] = value;
    }
  }
  return out;
}

Image apply_transforms(const Image& image, const TransformSpec& spec) {
  if (spec.center_crop < 0) {
    throw ConfigError("transforms: center_crop " + std::to_string(spec.center_crop) +
                      " is negative; use 0 for no crop or a positive size");
  }
  check_output_size(spec.image_size, spec.image_size, "transforms: image_size");
  if (spec.channels != 1 && spec.channels != 3) {
    throw ConfigError("transforms: channels " + std::to_string(spec.channels) +
                      " is not supported; use 1 (gray) or 3 (RGB)");
  }
  check_image(image, "transforms");
  // Each step only runs when it changes something, so no full-image copy is made needlessly.
  Image cropped;
  const Image* current = &image;
  if (spec.center_crop > 0) {
    cropped = center_crop(*current, spec.center_crop);
    current = &cropped;
  }
  Image resized;
  if (current->width != spec.image_size || current->height != spec.image_size) {
    resized = spec.keep_aspect ? resize_shorter_side_and_crop(*current, spec.image_size)
                               : resize_bilinear_antialias(*current, spec.image_size, spec.image_size);
    current = &resized;
  }
  if (current->channels != spec.channels) return convert_channels(*current, spec.channels);
  if (current == &resized) return resized;
  if (current == &cropped) return cropped;
  return image;
}

Image resize_shorter_side_and_crop(const Image& image, int64_t size) {
  check_image(image, "resize");
  check_output_size(size, size, "resize");
  if (image.width == image.height) return resize_bilinear_antialias(image, size, size);
  // torchvision leaves a picture whose shorter side is already `size` as it is, then crops.
  if (std::min(image.width, image.height) == size) return center_crop(image, size);
  const auto [x, y] = shorter_side_spans(image.width, image.height, size);
  return resample(image, x, y, size, size, true, true);
}

namespace {

std::string dims(int64_t width, int64_t height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

}  // namespace

std::string describe_transforms(int64_t width, int64_t height, int64_t channels, const TransformSpec& spec) {
  std::vector<std::string> done;
  const int64_t size = spec.image_size;
  if (spec.center_crop > 0 && (width != spec.center_crop || height != spec.center_crop)) {
    done.push_back("centre-cropped " + dims(width, height) + " to " + dims(spec.center_crop, spec.center_crop));
    width = height = spec.center_crop;
  }
  if (width != size || height != size) {
    if (width == height) {
      done.push_back("resized to " + dims(size, size));
    } else if (!spec.keep_aspect) {
      done.push_back("stretched " + dims(width, height) + " to " + dims(size, size));
    } else if (std::min(width, height) == size) {
      done.push_back("centre-cropped " + dims(width, height) + " to " + dims(size, size));
    } else {
      const int64_t resized = scaled_long_side(size, std::max(width, height), std::min(width, height));
      done.push_back("resized " + dims(width, height) + " to " +
                     (width < height ? dims(size, resized) : dims(resized, size)) + " (shorter side " +
                     std::to_string(size) + "), centre-cropped to " + dims(size, size));
    }
  }
  if (channels != spec.channels) done.push_back(spec.channels == 1 ? "converted RGB to gray" : "converted gray to RGB");
  if (done.empty()) return "used as is";
  std::string text = done.front();
  for (size_t i = 1; i < done.size(); ++i) text += ", " + done[i];
  return text;
}

std::string describe_transform_spec(const TransformSpec& spec) {
  const std::string size = dims(spec.image_size, spec.image_size);
  if (spec.center_crop > 0) {
    return "centre crop " + dims(spec.center_crop, spec.center_crop) +
           " (zero padding where a side is shorter), then resize to " + size;
  }
  return spec.keep_aspect ? "resize the shorter side to " + std::to_string(spec.image_size) +
                                " and keep the centre " + size + "; a picture that is not square loses the ends of its longer side"
                          : "resize to " + size + "; a picture that is not square is stretched to a square";
}

}  // namespace vae
