// Numeric vectors from MATLAB v5 .mat files (Flowers102's setid.mat, imagelabels.mat), read by the
// project's own parser: the file's element structure is checked against its own sizes first, then
// the top-level variables are listed and the one asked for is converted to integers.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/formats.h"

namespace vae {
namespace {

constexpr size_t kHeaderSize = 128;
const char* const kRedownloadHint = "re-download the dataset's .mat files";

// Reads a uint32 in the byte order the MAT-file header declared.
uint32_t read_u32(const uint8_t* bytes, bool big_endian) {
  return big_endian ? (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                          (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]}
                    : uint32_t{bytes[0]} | (uint32_t{bytes[1]} << 8) | (uint32_t{bytes[2]} << 16) |
                          (uint32_t{bytes[3]} << 24);
}

// Inflates the zlib stream of a compressed element; throws when it is damaged or cut short.
std::vector<uint8_t> inflate_element(const uint8_t* data, size_t size, const std::string& where) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) throw DataError(where + ": cannot initialise zlib");
  struct Guard {
    z_stream* stream;
    ~Guard() { inflateEnd(stream); }
  } guard{&stream};
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = static_cast<uInt>(size);
  std::vector<uint8_t> output;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    output.insert(output.end(), chunk.data(), chunk.data() + (chunk.size() - stream.avail_out));
    if (status == Z_STREAM_END) return output;
    if (status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)) continue;
    if (status == Z_OK || status == Z_BUF_ERROR) {
      throw DataError(where + " has compressed data that ends early (truncated file?)");
    }
    throw DataError(where + " has corrupt compressed data (" +
                    (stream.msg ? stream.msg : "zlib error " + std::to_string(status)) + ")");
  }
}

// MAT v5 data types (miINT8 ...) used in the structure check, and their sizes in bytes.
enum : uint32_t { kMiInt8 = 1, kMiInt32 = 5, kMiUint32 = 6, kMiMatrix = 14, kMiCompressed = 15 };
size_t mi_type_size(uint32_t type) {
  switch (type) {
    case 1:
    case 2:
    case 16: return 1;  // int8, uint8, utf8
    case 3:
    case 4:
    case 17: return 2;  // int16, uint16, utf16
    case 5:
    case 6:
    case 7:
    case 18: return 4;  // int32, uint32, single, utf32
    case 9:
    case 12:
    case 13: return 8;  // double, int64, uint64
    default: return 0;
  }
}

// A top-level variable: its MATLAB class, dimensions, name and (for numeric classes) the raw bytes
// of its real part with their MAT data type.
struct MatVariable {
  std::string name;
  uint32_t matlab_class = 0;
  bool complex = false;
  std::vector<uint64_t> dims;
  uint32_t value_type = 0;
  std::vector<uint8_t> values;
};

// Checks a v5 file's element structure against its own sizes before anything is read from it, so
// that a damaged file can never make the reader allocate what its dimensions claim.
class MatStructureCheck {
 public:
  MatStructureCheck(bool big_endian, std::string where)
      : big_endian_(big_endian), where_(std::move(where)) {}

  // Checks the top-level elements (matrices, or zlib-compressed matrices) and returns the variables
  // they hold, each compressed one inflated once.
  std::vector<MatVariable> check_file(const std::vector<uint8_t>& bytes, size_t offset) const {
    std::vector<MatVariable> found;
    while (offset < bytes.size()) {
      const MatStructureCheck here(big_endian_,
                                   where_ + ": element at byte " + std::to_string(offset));
      const Element element = here.next_element(&bytes[offset], bytes.size() - offset);
      if (element.type == kMiMatrix) {
        here.check_matrix(element.data, element.size, 0);
        found.push_back(here.describe_matrix(element.data, element.size));
      } else if (element.type == kMiCompressed) {
        const std::vector<uint8_t> inflated =
            inflate_element(element.data, element.size, here.where_);
        const Element inner = here.next_element(inflated.data(), inflated.size());
        if (inner.type != kMiMatrix) here.fail("compressed data holds no matrix");
        here.check_matrix(inner.data, inner.size, 0);
        found.push_back(here.describe_matrix(inner.data, inner.size));
      } else {
        here.fail("type " + std::to_string(element.type) +
                  " where a matrix (14) or compressed (15) element was expected");
      }
      // Compressed elements are not padded to 8 bytes.
      offset += element.type == kMiCompressed ? 8 + element.size : element.extent;
    }
    return found;
  }

 private:
  struct Element {
    uint32_t type = 0;
    const uint8_t* data = nullptr;
    size_t size = 0;    // payload bytes
    size_t extent = 0;  // bytes taken, tag and padding included
  };

  uint32_t u32(const uint8_t* bytes) const { return read_u32(bytes, big_endian_); }

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(where_ + ": " + what + "; damaged file, " + kRedownloadHint);
  }

  // The flags, dimensions and name elements at the front of a matrix element's content, checked.
  struct MatrixHead {
    Element flags, dims, name;
    size_t at = 0;  // bytes of the content they take
    uint32_t matlab_class = 0;
    bool complex = false;
  };
  MatrixHead matrix_head(const uint8_t* data, size_t size) const {
    MatrixHead head;
    const auto take = [&] {
      Element element = next_element(data + head.at, size - head.at);
      head.at += element.extent;
      return element;
    };
    head.flags = take();
    if (head.flags.type != kMiUint32 || head.flags.size < 8) fail("bad array flags");
    head.matlab_class = u32(head.flags.data) & 0xff;
    head.complex = (u32(head.flags.data) & 0x800) != 0;
    head.dims = take();
    if (head.dims.type != kMiInt32 || head.dims.size < 8 || head.dims.size % 4 != 0) fail("bad dimensions");
    head.name = take();
    if (head.name.type != kMiInt8) fail("bad variable name");
    return head;
  }

  // The content of one matrix element (after its tag): flags, dimensions, name, then the data.
  void check_matrix(const uint8_t* data, size_t size, int depth) const {
    if (size == 0) return;  // an empty cell
    if (depth > 32) fail("variables nested more than 32 deep");
    const MatrixHead head = matrix_head(data, size);
    size_t at = head.at;
    const auto take = [&] {
      Element element = next_element(data + at, size - at);
      at += element.extent;
      return element;
    };
    const uint32_t matlab_class = head.matlab_class;
    const bool complex = head.complex;
    const Element& dims = head.dims;
    // Element count, saturated just above `size`: no element takes less than a byte.
    uint64_t count = 1;
    for (size_t i = 0; i < dims.size / 4; ++i) {
      const uint64_t dim = u32(dims.data + 4 * i);
      count =
          dim == 0 ? 0 : std::min<uint64_t>(count * std::min<uint64_t>(dim, size + 1), size + 1);
    }

    if (matlab_class == 4 || (matlab_class >= 6 && matlab_class <= 15)) {  // char, numeric
      if (count == 0 && at >= size) return;
      for (int part = 0; part < (complex ? 2 : 1); ++part) {
        const Element values = take();
        const size_t value_size = mi_type_size(values.type);
        const bool fits = value_size != 0 && (values.size == count * value_size ||
                                              (values.type == 16 && values.size >= count));
        if (!fits) {
          fail("data of " + std::to_string(values.size) + " bytes disagrees with the dimensions");
        }
      }
    } else if (matlab_class == 1) {  // cell: one matrix element per cell
      for (uint64_t i = 0; i < count; ++i) check_nested(take(), depth);
    } else if (matlab_class == 2) {  // struct: field names, then each field of each element
      const Element name_length = take();
      const Element names = take();
      if (name_length.type != kMiInt32 || name_length.size != 4 || names.type != kMiInt8) {
        fail("bad struct field names");
      }
      const uint32_t length = u32(name_length.data);
      const uint64_t fields = length == 0 ? 0 : names.size / length;
      for (uint64_t i = 0; i < count * fields; ++i) check_nested(take(), depth);
    } else if (matlab_class == 5) {  // sparse: row indices, column starts (one per column + 1)
      take();
      const Element column_starts = take();
      const uint64_t columns = u32(dims.data + 4);
      if (column_starts.size / 4 < columns) fail("sparse column data shorter than its dimensions");
    } else {
      fail("variable of MATLAB class " + std::to_string(matlab_class) + " is not supported");
    }
  }

  // The element at the front of `left` bytes; throws when it does not fit in them.
  Element next_element(const uint8_t* bytes, size_t left) const {
    if (left < 8) {
      fail("element cut off after " + std::to_string(left) + " bytes (truncated file?)");
    }
    const uint32_t first = u32(bytes);
    if ((first >> 16) != 0) {  // "small" format: size and type share the first word
      if ((first >> 16) > 4) fail("bad small element");
      return {first & 0xffff, bytes + 4, first >> 16, 8};
    }
    const size_t size = u32(bytes + 4);
    if (size > left - 8) {
      fail("element declares " + std::to_string(size) + " bytes but only " +
           std::to_string(left - 8) + " remain (truncated file?)");
    }
    // Padding to 8 bytes may be missing at the very end.
    return {first, bytes + 8, size, std::min(left, 8 + (size + 7) / 8 * 8)};
  }

  // Class, dimensions, name and real values of a matrix element's content that check_matrix accepted.
  MatVariable describe_matrix(const uint8_t* data, size_t size) const {
    MatVariable variable;
    if (size == 0) return variable;
    const MatrixHead head = matrix_head(data, size);
    variable.matlab_class = head.matlab_class;
    variable.complex = head.complex;
    for (size_t i = 0; i < head.dims.size / 4; ++i) variable.dims.push_back(u32(head.dims.data + 4 * i));
    variable.name.assign(reinterpret_cast<const char*>(head.name.data), head.name.size);
    const bool numeric = variable.matlab_class >= 6 && variable.matlab_class <= 15;
    if (numeric && head.at < size) {
      const Element values = next_element(data + head.at, size - head.at);
      variable.value_type = values.type;
      variable.values.assign(values.data, values.data + values.size);
    }
    return variable;
  }

  void check_nested(const Element& element, int depth) const {
    if (element.type != kMiMatrix) fail("a cell or field is not a matrix element");
    check_matrix(element.data, element.size, depth + 1);
  }

  bool big_endian_;
  std::string where_;
};

// Checks the 128-byte header and every element, then lists the top-level variables.
std::vector<MatVariable> read_mat_v5_variables(const std::vector<uint8_t>& bytes,
                                               const std::string& path) {
  const std::string hint = std::string("; ") + kRedownloadHint;
  if (bytes.size() < kHeaderSize) {
    throw DataError(path + ": " + std::to_string(bytes.size()) +
                    " bytes is too short for a MAT-file header" + hint);
  }
  const bool big_endian = bytes[126] == 'M' && bytes[127] == 'I';
  if (!big_endian && !(bytes[126] == 'I' && bytes[127] == 'M')) {
    throw DataError(path + ": not a MATLAB v5 .mat file (no endian indicator in the header)" +
                    hint);
  }
  const uint32_t version =
      big_endian ? (bytes[124] << 8) | bytes[125] : (bytes[125] << 8) | bytes[124];
  if (version == 0x0200) {
    throw DataError(path + ": a MATLAB v7.3 (HDF5) .mat file, which vae does not read; save it " +
                    "with MATLAB's -v7 option, or " + kRedownloadHint + " (they are v5)");
  }
  if (version != 0x0100) {
    char text[8];
    std::snprintf(text, sizeof text, "%04x", version);
    throw DataError(path + ": unknown MAT-file version 0x" + text + hint);
  }
  return MatStructureCheck(big_endian, path).check_file(bytes, kHeaderSize);
}

bool big_endian_file(const std::vector<uint8_t>& bytes) { return bytes[126] == 'M'; }

const char* class_name(uint32_t matlab_class) {
  switch (matlab_class) {
    case 1: return "a cell array";
    case 2: return "a struct";
    case 3: return "an object";
    case 4: return "text";
    case 5: return "a sparse matrix";
    default: return "not numeric";
  }
}

// Value i of a numeric element as a double, and whether it is exactly an int64.
template <typename T>
T load(const uint8_t* at, bool big_endian) {
  uint8_t bytes[sizeof(T)];
  for (size_t k = 0; k < sizeof(T); ++k) bytes[k] = at[big_endian ? sizeof(T) - 1 - k : k];
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename T>
std::vector<int64_t> to_integers(const std::vector<uint8_t>& raw, size_t count, bool big_endian,
                                 const std::string& where) {
  std::vector<int64_t> result(count);
  for (size_t i = 0; i < count; ++i) {
    const T value = load<T>(raw.data() + i * sizeof(T), big_endian);
    bool representable = true;
    if constexpr (std::is_floating_point_v<T>) {
      // Integer-valued doubles are how MATLAB stores ids and labels; anything else is not an id.
      representable =
          std::isfinite(value) && value == std::floor(value) && std::fabs(value) <= 9.0e15;
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      representable = value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    }
    if (!representable) {
      throw DataError(where + ": element " + std::to_string(i) + " is not an integer");
    }
    result[i] = static_cast<int64_t>(value);
  }
  return result;
}

}  // namespace

std::vector<int64_t> read_mat_vector(const std::string& path, const std::string& variable) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw IoError(path + ": no such file");
  if (std::filesystem::is_directory(path, error)) {
    throw IoError(path + ": is a folder, expected a file");
  }
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const std::vector<MatVariable> variables = read_mat_v5_variables(bytes, path);
  const std::string where = path + ": variable '" + variable + "'";
  const auto var = std::find_if(variables.begin(), variables.end(),
                                [&](const MatVariable& v) { return v.name == variable; });
  if (var == variables.end()) {
    std::string names;
    for (const MatVariable& v : variables) {
      if (!v.name.empty()) names += (names.empty() ? "" : ", ") + v.name;
    }
    throw DataError(where + " not found (the file has: " + (names.empty() ? "none" : names) + ")");
  }
  const size_t rank = var->dims.size();
  const bool is_empty = rank == 2 && (var->dims[0] == 0 || var->dims[1] == 0);  // MATLAB's []
  if (rank != 2 || (var->dims[0] != 1 && var->dims[1] != 1 && !is_empty)) {
    std::string shape;
    for (size_t i = 0; i < rank; ++i) shape += (i ? " x " : "") + std::to_string(var->dims[i]);
    throw DataError(where + " is " + shape + ", expected a 1 x N or N x 1 vector");
  }
  if (var->matlab_class < 6 || var->matlab_class > 15) {
    throw DataError(where + " is " + class_name(var->matlab_class) + ", expected a numeric vector");
  }
  if (var->complex) throw DataError(where + " is complex, expected real numbers");
  const size_t count = size_t(var->dims[0] * var->dims[1]);
  if (count == 0) return {};
  const bool big_endian = big_endian_file(bytes);
  const size_t value_size = mi_type_size(var->value_type);
  if (value_size == 0 || var->values.size() < count * value_size) {
    throw DataError(where + " has no data of a numeric type; damaged file, " + kRedownloadHint);
  }
  switch (var->value_type) {  // MATLAB may store a class's values in a smaller type
    case 1: return to_integers<int8_t>(var->values, count, big_endian, where);
    case 2: return to_integers<uint8_t>(var->values, count, big_endian, where);
    case 3: return to_integers<int16_t>(var->values, count, big_endian, where);
    case 4: return to_integers<uint16_t>(var->values, count, big_endian, where);
    case 5: return to_integers<int32_t>(var->values, count, big_endian, where);
    case 6: return to_integers<uint32_t>(var->values, count, big_endian, where);
    case 7: return to_integers<float>(var->values, count, big_endian, where);
    case 9: return to_integers<double>(var->values, count, big_endian, where);
    case 12: return to_integers<int64_t>(var->values, count, big_endian, where);
    case 13: return to_integers<uint64_t>(var->values, count, big_endian, where);
    default:
      throw DataError(where + " holds values of MAT type " + std::to_string(var->value_type) +
                      ", expected a numeric vector");
  }
}

}  // namespace vae
