// The TensorBoard event writer: CRC-32C and its mask, the Event encodings and the record framing
// against the golden vectors in ../shared/PLATFORM.md (made with python3-protobuf), and a whole
// event file decoded by an independent reader (tests/decode_tfevents.py: TensorBoard's message
// layout declared with Debian's python3-protobuf).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "vae/base/errors.h"
#include "vae/io/image_codec.h"
#include "vae/logs/tensorboard.h"
#include "test_files.h"

namespace {
namespace fs = std::filesystem;
namespace tb = vae::tensorboard;

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string hex(uint32_t value) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", value);
  return text;
}

fs::path fresh_dir(const std::string& name) { return vae_test::scratch_dir("tb", name); }
using vae_test::read_bytes;

// Runs a shell command and returns (exit status, stdout).
std::pair<int, std::string> run_capture(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const char* kPython = "/usr/bin/python3";
const std::string kDecoder = std::string(VAE_TEST_SOURCE_DIR) + "/tests/decode_tfevents.py";

bool python_has_protobuf() {
  const std::string command =
      std::string(kPython) + " -c 'import google.protobuf' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

TEST(TensorBoard, Crc32cAndMaskMatchTheGoldenVector) {
  const std::string check = "123456789";
  EXPECT_EQ(hex(tb::crc32c(check.data(), check.size())), "e3069283");
  EXPECT_EQ(hex(tb::masked_crc32c(check.data(), check.size())), "c78ab0e5");
  EXPECT_EQ(tb::crc32c("", 0), 0u);
}

TEST(TensorBoard, FileVersionEventMatchesProtobufByteForByte) {
  EXPECT_EQ(hex(tb::encode_file_version_event(1700000000.0, "brain.Event:2")),
            "0900000040fc54d9411a0d627261696e2e4576656e743a32");
}

TEST(TensorBoard, ScalarEventMatchesProtobufByteForByte) {
  EXPECT_EQ(hex(tb::encode_scalar_event(1700000000.5, 42, "loss/train", 0.25f)),
            "0900002040fc54d941102a2a130a110a0a6c6f73732f747261696e150000803e");
}

TEST(TensorBoard, ImageEventMatchesProtobufByteForByte) {
  const std::vector<uint8_t> png = {0x89, 'P', 'N', 'G'};
  EXPECT_EQ(hex(tb::encode_image_event(2.0, 7, "img", png, /*height=*/2, /*width=*/3,
                                       /*channels=*/3)),
            "09000000000000004010072a150a130a03696d67220c080210031803220489504e47");
}

// Event{wall_time: 1.7e9, step: 5, session_log{status: START (1)}}: field 7, length 2, 08 01.
TEST(TensorBoard, SessionStartEventMatchesProtobufByteForByte) {
  EXPECT_EQ(hex(tb::encode_session_start_event(1700000000.0, 5)), "0900000040fc54d94110053a020801");
}

TEST(TensorBoard, RecordFramingMatchesTheGoldenRecord) {
  const std::string event = tb::encode_scalar_event(1700000000.5, 42, "loss/train", 0.25f);
  EXPECT_EQ(hex(tb::frame_record(event)),
            "200000000000000029eda950" + hex(event) + "08bfc8a6");
}

TEST(TensorBoard, WriterNamesTheFileAndStartsWithTheFileVersion) {
  const fs::path dir = fresh_dir("naming") / "tb";  // created by the writer
  const auto clock = [] { return 1700000000.25; };
  vae::EventWriter first(dir, clock);
  vae::EventWriter second(dir, clock);  // same second: a new file, never the first one's
  const std::string name = first.path().filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.1700000000.", 0), 0u) << name;
  EXPECT_EQ(second.path().filename().string(), name + ".2");
  EXPECT_EQ(first.path().parent_path(), dir);
  const std::string expected =
      tb::frame_record(tb::encode_file_version_event(1700000000.25, "brain.Event:2"));
  // Written through at once: a reader sees the record before flush() or destruction.
  EXPECT_EQ(hex(read_bytes(first.path())), hex(expected));
  first.add_scalar("a", 1.0f, 3);
  EXPECT_EQ(read_bytes(first.path()).size(),
            expected.size() + tb::frame_record(tb::encode_scalar_event(0, 3, "a", 1)).size());
  first.flush();
}

TEST(TensorBoard, WriterFolderThatCannotBeCreatedIsAnIoErrorNamingIt) {
  const fs::path dir = fresh_dir("blocked");
  std::ofstream(dir / "file") << "x";  // a file where the folder should go
  try {
    vae::EventWriter writer(dir / "file" / "tb");
    FAIL() << "expected IoError";
  } catch (const vae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find((dir / "file" / "tb").string()), std::string::npos)
        << error.what();
  }
}

TEST(TensorBoard, EncodePngGivesAPngAndRejectsInconsistentImages) {
  vae::Image image{/*width=*/5, /*height=*/3, /*channels=*/3, std::vector<uint8_t>(5 * 3 * 3, 7)};
  const std::vector<uint8_t> png = vae::encode_png(image);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(std::string(png.begin(), png.begin() + 8), "\x89PNG\r\n\x1a\n");
  image.pixels.pop_back();
  EXPECT_THROW(vae::encode_png(image), vae::DataError);
}

// The whole writer, checked by a reader that shares no code with it.
TEST(TensorBoard, EventFileDecodesWithTensorBoardsMessageLayout) {
  if (!python_has_protobuf()) {
    GTEST_SKIP() << kPython << " cannot import google.protobuf (install python3-protobuf)";
  }
  const fs::path dir = fresh_dir("decode") / "tb";
  double now = 1700000100.0;
  fs::path path;
  {
    vae::EventWriter writer(dir, [&now] { return now += 0.5; });
    path = writer.path();
    writer.add_scalar("train/loss", 123.5f, 0);
    writer.add_scalar("train/loss", 99.25f, 10);
    writer.add_scalar("train/kl", -0.0f, 10);
    writer.add_scalar("val/elbo", 1e-20f, 1LL << 40);  // a 64-bit step
    vae::Image gray{/*width=*/4, /*height=*/2, /*channels=*/1, std::vector<uint8_t>(8)};
    for (size_t i = 0; i < gray.pixels.size(); ++i) gray.pixels[i] = uint8_t(30 * i);
    writer.add_image("samples", gray, 20);
    vae::Image rgb{/*width=*/7, /*height=*/5, /*channels=*/3, std::vector<uint8_t>(7 * 5 * 3, 200)};
    writer.add_image("reconstructions", vae::encode_png(rgb), 5, 7, 3, 20);
    writer.flush();
  }
  const auto [status, out] = run_capture(std::string(kPython) + " " + kDecoder + " '" +
                                         path.string() + "' 2>&1");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json events = nlohmann::json::parse(out);
  ASSERT_EQ(events.size(), 7u) << out;

  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  EXPECT_DOUBLE_EQ(events[0]["wall_time"].get<double>(), 1700000100.5);

  const struct {
    const char* tag;
    float value;
    int64_t step;
  } scalars[] = {{"train/loss", 123.5f, 0}, {"train/loss", 99.25f, 10}, {"train/kl", -0.0f, 10},
                 {"val/elbo", 1e-20f, 1LL << 40}};
  for (size_t i = 0; i < 4; ++i) {
    const auto& event = events[i + 1];
    SCOPED_TRACE(event.dump());
    EXPECT_EQ(event["step"].get<int64_t>(), scalars[i].step);
    EXPECT_DOUBLE_EQ(event["wall_time"].get<double>(), 1700000100.5 + 0.5 * double(i + 1));
    ASSERT_EQ(event["values"].size(), 1u);
    EXPECT_EQ(event["values"][0]["tag"], scalars[i].tag);
    EXPECT_EQ(event["values"][0]["simple_value"].get<float>(), scalars[i].value);
  }

  const struct {
    const char* tag;
    int64_t height, width, channels;
  } images[] = {{"samples", 2, 4, 1}, {"reconstructions", 5, 7, 3}};
  for (size_t i = 0; i < 2; ++i) {
    const auto& event = events[i + 5];
    SCOPED_TRACE(event.dump());
    EXPECT_EQ(event["step"].get<int64_t>(), 20);
    ASSERT_EQ(event["values"].size(), 1u);
    EXPECT_EQ(event["values"][0]["tag"], images[i].tag);
    const auto& image = event["values"][0]["image"];
    EXPECT_EQ(image["height"].get<int64_t>(), images[i].height);
    EXPECT_EQ(image["width"].get<int64_t>(), images[i].width);
    EXPECT_EQ(image["colorspace"].get<int64_t>(), images[i].channels);
    EXPECT_EQ(image["png_signature"], "89504e470d0a1a0a");
    EXPECT_EQ(image["png_height"].get<int64_t>(), images[i].height);
    EXPECT_EQ(image["png_width"].get<int64_t>(), images[i].width);
  }
}

// A resumed run's session start decodes with TensorBoard's SessionLog layout: what its event
// accumulator reads to hide the earlier files' events from that step on.
TEST(TensorBoard, SessionStartDecodesAsTensorBoardsSessionLogStart) {
  if (!python_has_protobuf()) {
    GTEST_SKIP() << kPython << " cannot import google.protobuf (install python3-protobuf)";
  }
  const fs::path dir = fresh_dir("session") / "tb";
  fs::path path;
  {
    vae::EventWriter writer(dir, [] { return 1700000200.0; });
    path = writer.path();
    writer.add_session_start(11);
    writer.add_scalar("train/loss", 1.5f, 11);
  }
  const auto [status, out] = run_capture(std::string(kPython) + " " + kDecoder + " '" + path.string() + "' 2>&1");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json events = nlohmann::json::parse(out);
  ASSERT_EQ(events.size(), 3u) << out;
  EXPECT_EQ(events[1]["step"], 11);
  EXPECT_EQ(events[1]["session_log"]["status"], "START") << out;
  EXPECT_EQ(events[2]["values"][0]["tag"], "train/loss");
}

// The decoder itself must reject damage, or the test above would prove little.
TEST(TensorBoard, DecoderRejectsADamagedRecord) {
  if (!python_has_protobuf()) {
    GTEST_SKIP() << kPython << " cannot import google.protobuf (install python3-protobuf)";
  }
  const fs::path dir = fresh_dir("damaged");
  fs::path path;
  {
    vae::EventWriter writer(dir, [] { return 1700000000.0; });
    writer.add_scalar("train/loss", 1.5f, 1);
    path = writer.path();
  }
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 6] ^= 0x01;  // inside the scalar's float
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const auto [status, out] =
      run_capture(std::string(kPython) + " " + kDecoder + " '" + path.string() + "' 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("bad payload CRC"), std::string::npos) << out;
}

}  // namespace
