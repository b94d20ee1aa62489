// NPY version 1.0 writer for float32 arrays; see npy.h.
#include "vae/io/npy.h"

#include <cstring>
#include <stdexcept>

#include "vae/base/fs.h"

namespace vae {

namespace {
// "\x93NUMPY", major version 1, minor version 0.
constexpr char kMagic[] = "\x93NUMPY\x01\x00";
constexpr size_t kMagicSize = 8;
// Magic and version, then the uint16 header length.
constexpr size_t kPreambleSize = kMagicSize + 2;

// Python's repr of a tuple of ints: "()", "(5,)", "(3, 8)".
std::string shape_tuple(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw std::invalid_argument("NPY shape with a negative dimension");
    text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

size_t element_count(const std::vector<int64_t>& shape) {
  size_t count = 1;
  for (int64_t dim : shape) count *= size_t(dim);
  return count;
}
}  // namespace

std::string npy_header_float32(const std::vector<int64_t>& shape) {
  std::string dictionary =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Spaces, then '\n', up to the next multiple of the alignment (the '\n' counts).
  const size_t unpadded = kPreambleSize + dictionary.size() + 1;
  const size_t padding = (kNpyAlignment - unpadded % kNpyAlignment) % kNpyAlignment;
  dictionary += std::string(padding, ' ') + "\n";
  if (dictionary.size() > 0xFFFF) {
    throw std::invalid_argument("NPY header too long for format version 1.0");
  }
  std::string header(kMagic, kMagicSize);
  header += char(dictionary.size() & 0xFF);  // little-endian uint16
  header += char((dictionary.size() >> 8) & 0xFF);
  return header + dictionary;
}

std::string encode_npy_float32(const std::vector<float>& values, const std::vector<int64_t>& shape) {
  std::string bytes = npy_header_float32(shape);
  if (values.size() != element_count(shape)) {
    throw std::invalid_argument("NPY: " + std::to_string(values.size()) +
                                " values do not fill shape " + shape_tuple(shape));
  }
  const size_t start = bytes.size();
  bytes.resize(start + 4 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (size_t b = 0; b < 4; ++b) bytes[start + 4 * i + b] = char((bits >> (8 * b)) & 0xFF);
  }
  return bytes;
}

void write_npy_float32(const std::string& path, const std::vector<float>& values,
                       const std::vector<int64_t>& shape) {
  const std::string bytes = encode_npy_float32(values, shape);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace vae
