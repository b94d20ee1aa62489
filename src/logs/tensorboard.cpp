// TensorBoard event files: hand-written protobuf encoding of TensorBoard's Event messages,
// TFRecord framing with masked CRC-32C, and the writer; see tensorboard.h.
#include "vae/logs/tensorboard.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "vae/base/errors.h"
#include "vae/io/image_codec.h"
#include "vae/base/fs.h"

namespace vae {
namespace tensorboard {
namespace {

// Table of the reflected CRC-32C polynomial, one entry per byte value.
std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[byte] = crc;
  }
  return table;
}

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out += char(uint8_t(value) | 0x80);
    value >>= 7;
  }
  out += char(uint8_t(value));
}

void put_key(std::string& out, uint32_t field, uint32_t wire_type) {
  put_varint(out, (uint64_t(field) << 3) | wire_type);
}

void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char(uint8_t(value >> (8 * i)));
}

void put_double(std::string& out, uint32_t field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed64);
  put_little_endian(out, bits, 8);
}

void put_float(std::string& out, uint32_t field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  put_key(out, field, kFixed32);
  put_little_endian(out, bits, 4);
}

// int32/int64 fields: negative numbers as their 64-bit two's complement (10 bytes), as protobuf.
void put_int(std::string& out, uint32_t field, int64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, uint64_t(value));
}

void put_bytes(std::string& out, uint32_t field, const void* data, size_t size) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, size);
  out.append(static_cast<const char*>(data), size);
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_bytes(out, field, bytes.data(), bytes.size());
}

// Field numbers of TensorBoard's messages (tensorflow/core/util/event.proto, summary.proto).
namespace event {
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5, kSessionLog = 7;
}
namespace session_log {
constexpr uint32_t kStatus = 1;
constexpr int64_t kStart = 1;  // SessionLog.SessionStatus.START
}
namespace summary {
constexpr uint32_t kValue = 1;
}
namespace value {
constexpr uint32_t kTag = 1, kSimpleValue = 2, kImage = 4;
}
namespace image {
constexpr uint32_t kHeight = 1, kWidth = 2, kColorspace = 3, kEncodedImageString = 4;
}

// Event{wall_time, step, summary{value{<value_fields>}}}; fields in number order, defaults left
// out (proto3), so the bytes equal what protobuf itself serialises.
std::string summary_event(double wall_time, int64_t step, const std::string& value_fields) {
  std::string summary_message;
  put_bytes(summary_message, summary::kValue, value_fields);
  std::string out;
  put_double(out, event::kWallTime, wall_time);
  if (step != 0) put_int(out, event::kStep, step);
  put_bytes(out, event::kSummary, summary_message);
  return out;
}

void put_tag(std::string& out, const std::string& tag) {
  if (!tag.empty()) put_bytes(out, value::kTag, tag);
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = make_crc32c_table();
  const auto* bytes = static_cast<const uint8_t*>(data);
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string encode_file_version_event(double wall_time, const std::string& file_version) {
  std::string out;
  put_double(out, event::kWallTime, wall_time);
  put_bytes(out, event::kFileVersion, file_version);
  return out;
}

std::string encode_session_start_event(double wall_time, int64_t step) {
  std::string session;
  put_int(session, session_log::kStatus, session_log::kStart);
  std::string out;
  put_double(out, event::kWallTime, wall_time);
  if (step != 0) put_int(out, event::kStep, step);
  put_bytes(out, event::kSessionLog, session);
  return out;
}

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value) {
  std::string fields;
  put_tag(fields, tag);
  put_float(fields, value::kSimpleValue, value);
  return summary_event(wall_time, step, fields);
}

std::string encode_image_event(double wall_time, int64_t step, const std::string& tag,
                               const std::vector<uint8_t>& png, int64_t height, int64_t width,
                               int64_t channels) {
  std::string image_message;
  put_int(image_message, image::kHeight, height);
  put_int(image_message, image::kWidth, width);
  put_int(image_message, image::kColorspace, channels);
  put_bytes(image_message, image::kEncodedImageString, png.data(), png.size());
  std::string fields;
  put_tag(fields, tag);
  put_bytes(fields, value::kImage, image_message);
  return summary_event(wall_time, step, fields);
}

std::string frame_record(const std::string& payload) {
  std::string length;
  put_little_endian(length, payload.size(), 8);
  std::string out = length;
  put_little_endian(out, masked_crc32c(length.data(), length.size()), 4);
  out += payload;
  put_little_endian(out, masked_crc32c(payload.data(), payload.size()), 4);
  return out;
}

}  // namespace tensorboard

namespace {

double system_wall_time() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string host = name;
  for (char& c : host) {
    if (c == '/') c = '_';  // a file name, whatever the host is called
  }
  return host;
}

}  // namespace

EventWriter::EventWriter(const std::filesystem::path& dir, WallClock wall_clock)
    : wall_clock_(wall_clock ? std::move(wall_clock) : WallClock(system_wall_time)) {
  ensure_directory(dir);
  const double now = wall_clock_();
  const std::string base = "events.out.tfevents." + std::to_string(int64_t(now)) + "." + host_name();
  // O_EXCL: never append to or truncate another writer's file (a resumed run started in the same
  // second, or two writers in one folder).
  for (int attempt = 1; fd_ < 0; ++attempt) {
    path_ = dir / (attempt == 1 ? base : base + "." + std::to_string(attempt));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    const int error = errno;
    if (fd_ < 0 && (error != EEXIST || attempt >= 1000)) {
      throw IoError(path_.string() + ": cannot create TensorBoard event file (" +
                    std::strerror(error) + "); check that the folder is writable");
    }
  }
  try {
    write_event(tensorboard::encode_file_version_event(now, "brain.Event:2"));
  } catch (const IoError&) {
    ::close(fd_);  // the destructor does not run for a constructor that throws
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
    throw;
  }
}

EventWriter::~EventWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventWriter::add_session_start(int64_t step) {
  write_event(tensorboard::encode_session_start_event(wall_clock_(), step));
}

void EventWriter::add_scalar(const std::string& tag, float value, int64_t step) {
  write_event(tensorboard::encode_scalar_event(wall_clock_(), step, tag, value));
}

void EventWriter::add_image(const std::string& tag, const std::vector<uint8_t>& png,
                            int64_t height, int64_t width, int64_t channels, int64_t step) {
  write_event(
      tensorboard::encode_image_event(wall_clock_(), step, tag, png, height, width, channels));
}

void EventWriter::add_image(const std::string& tag, const Image& image, int64_t step) {
  add_image(tag, encode_png(image), image.height, image.width, image.channels, step);
}

void EventWriter::write_event(const std::string& event) {
  const std::string record = tensorboard::frame_record(event);
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  size_t written = 0;
  while (written < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + written, record.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      // Cut a partial record off again, so that the records before it (and any written after the
      // disk has room again) stay readable.
      if (start >= 0) {
        const int truncated = ::ftruncate(fd_, start);
        (void)truncated;  // best effort: the write error below is what the caller hears about
      }
      throw IoError(path_.string() + ": cannot write TensorBoard event (" +
                    std::strerror(error) + "); is the disk full?");
    }
    written += size_t(n);
  }
}

void EventWriter::flush() {
  const int error = ::fsync(fd_) == 0 ? 0 : errno;
  // EINVAL / EROFS: a file system without fsync (a pipe, some FUSE mounts); nothing to force.
  if (error != 0 && error != EINVAL && error != EROFS) {
    throw IoError(path_.string() + ": cannot flush TensorBoard events to disk (" +
                  std::strerror(error) + ")");
  }
}

}  // namespace vae
