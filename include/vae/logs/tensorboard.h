// TensorBoard event files without TensorFlow or a protobuf library: the few messages a run log
// needs (Event, Summary, Summary.Value, Summary.Image) encoded by hand, framed as TFRecords
// (length, masked CRC-32C of the length, payload, masked CRC-32C of the payload) and appended to
// `<dir>/events.out.tfevents.<unix seconds>.<hostname>`. Scalars and PNG images only; no
// histograms, graphs or text. The messages follow TensorFlow's event.proto and summary.proto;
// tests/test_tensorboard.cpp checks the framing against known CRC values and decodes whole files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "vae/io/image.h"

namespace vae {

namespace tensorboard {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing uses it.
uint32_t crc32c(const void* data, size_t size);

// TFRecord's masked CRC: ((c >> 15) | (c << 17)) + 0xa282ead8, which keeps a CRC of data that
// itself holds CRCs from being a fixed point.
uint32_t masked_crc32c(const void* data, size_t size);

// The bytes of one Event message (proto3 rules: a zero step is left out).
std::string encode_file_version_event(double wall_time, const std::string& file_version);
// Event{wall_time, step, session_log{status: START}}: TensorBoard (reading files of
// file_version brain.Event:2) then hides the events of earlier files whose step is `step` or
// later, as it does for a restarted TensorFlow session.
std::string encode_session_start_event(double wall_time, int64_t step);
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value);
// `png` is an encoded PNG; colorspace = channels (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA).
std::string encode_image_event(double wall_time, int64_t step, const std::string& tag,
                               const std::vector<uint8_t>& png, int64_t height, int64_t width,
                               int64_t channels);

// One TFRecord: uint64 length | masked_crc32c(length) | payload | masked_crc32c(payload),
// little-endian.
std::string frame_record(const std::string& payload);

}  // namespace tensorboard

// Appends scalars and images to one new event file that TensorBoard reads live.
//
// Flushing: every add_* hands its whole record to the operating system with one write(2) before
// it returns (nothing is buffered in the process), so a TensorBoard watching the folder sees each
// value at once and a crash loses nothing already added. flush() additionally forces the file to
// disk (fsync): call it at the end of an epoch or of the run. Not thread-safe: one writer per
// thread, or a lock around it.
class EventWriter {
 public:
  // Seconds since the Unix epoch, as the Event's wall_time.
  using WallClock = std::function<double()>;

  // Creates `dir` (and parents) and a new event file in it, named
  // events.out.tfevents.<unix seconds>.<hostname> (".2", ".3", ... appended when that name is
  // taken, so an existing file is never overwritten), and writes the file_version record.
  // `wall_clock` defaults to the system clock; tests inject a fixed one. Throws IoError.
  explicit EventWriter(const std::filesystem::path& dir, WallClock wall_clock = {});
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // A restart at `step`: TensorBoard no longer shows what earlier event files in the folder
  // hold for steps >= `step` (a resumed run's view of the steps redone after its checkpoint).
  void add_session_start(int64_t step);
  // Throws IoError naming the file when the record cannot be written.
  void add_scalar(const std::string& tag, float value, int64_t step);
  void add_image(const std::string& tag, const std::vector<uint8_t>& png, int64_t height,
                 int64_t width, int64_t channels, int64_t step);
  // Encodes an 8-bit image as PNG and adds it (the grids the trainer writes).
  void add_image(const std::string& tag, const Image& image, int64_t step);
  // Forces everything added so far to disk. Throws IoError.
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& event);

  std::filesystem::path path_;
  WallClock wall_clock_;
  int fd_ = -1;
};

}  // namespace vae
