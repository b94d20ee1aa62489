// Numeric vectors from MATLAB v5 .mat files (Flowers102's setid.mat, imagelabels.mat) via libmatio.
// The file's element structure is checked first, because matio trusts the sizes it reads.
#include <matio.h>
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

// Checks a v5 file's element structure against its own sizes before matio sees it: matio
// allocates whatever the dimensions claim, so a damaged file could otherwise ask for gigabytes.
class MatStructureCheck {
 public:
  MatStructureCheck(bool big_endian, std::string where)
      : big_endian_(big_endian), where_(std::move(where)) {}

  // The top-level elements: matrices, or zlib-compressed matrices.
  void check_file(const std::vector<uint8_t>& bytes, size_t offset) const {
    while (offset < bytes.size()) {
      const MatStructureCheck here(big_endian_,
                                   where_ + ": element at byte " + std::to_string(offset));
      const Element element = here.next_element(&bytes[offset], bytes.size() - offset);
      if (element.type == kMiMatrix) {
        here.check_matrix(element.data, element.size, 0);
      } else if (element.type == kMiCompressed) {
        const std::vector<uint8_t> inflated =
            inflate_element(element.data, element.size, here.where_);
        const Element inner = here.next_element(inflated.data(), inflated.size());
        if (inner.type != kMiMatrix) here.fail("compressed data holds no matrix");
        here.check_matrix(inner.data, inner.size, 0);
      } else {
        here.fail("type " + std::to_string(element.type) +
                  " where a matrix (14) or compressed (15) element was expected");
      }
      // Compressed elements are not padded to 8 bytes.
      offset += element.type == kMiCompressed ? 8 + element.size : element.extent;
    }
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

  // The content of one matrix element (after its tag): flags, dimensions, name, then the data.
  void check_matrix(const uint8_t* data, size_t size, int depth) const {
    if (size == 0) return;  // an empty cell
    if (depth > 32) fail("variables nested more than 32 deep");
    size_t at = 0;
    const auto take = [&] {
      Element element = next_element(data + at, size - at);
      at += element.extent;
      return element;
    };
    const Element flags = take();
    if (flags.type != kMiUint32 || flags.size < 8) fail("bad array flags");
    const uint32_t matlab_class = u32(flags.data) & 0xff;
    const bool complex = (u32(flags.data) & 0x800) != 0;
    const Element dims = take();
    if (dims.type != kMiInt32 || dims.size < 8 || dims.size % 4 != 0) fail("bad dimensions");
    // Element count, saturated just above `size`: no element takes less than a byte.
    uint64_t count = 1;
    for (size_t i = 0; i < dims.size / 4; ++i) {
      const uint64_t dim = u32(dims.data + 4 * i);
      count =
          dim == 0 ? 0 : std::min<uint64_t>(count * std::min<uint64_t>(dim, size + 1), size + 1);
    }
    if (take().type != kMiInt8) fail("bad variable name");

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

  void check_nested(const Element& element, int depth) const {
    if (element.type != kMiMatrix) fail("a cell or field is not a matrix element");
    check_matrix(element.data, element.size, depth + 1);
  }

  bool big_endian_;
  std::string where_;
};

// Checks the 128-byte header, then every element.
void check_mat_v5_structure(const std::vector<uint8_t>& bytes, const std::string& path) {
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
  if (version == 0x0200) return;  // v7.3 is HDF5 inside; matio checks it itself
  if (version != 0x0100) {
    char text[8];
    std::snprintf(text, sizeof text, "%04x", version);
    throw DataError(path + ": unknown MAT-file version 0x" + text + hint);
  }
  MatStructureCheck(big_endian, path).check_file(bytes, kHeaderSize);
}

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

std::string variable_names(mat_t* mat) {
  std::string names;
  Mat_Rewind(mat);
  while (MatVar var{Mat_VarReadNextInfo(mat)}) {
    if (var->name == nullptr) continue;
    names += (names.empty() ? "" : ", ") + std::string(var->name);
  }
  return names.empty() ? "none" : names;
}

template <typename T>
std::vector<int64_t> to_integers(const matvar_t& var, size_t count, const std::string& where) {
  if (var.data_size != static_cast<int>(sizeof(T)) || var.nbytes < count * sizeof(T)) {
    throw DataError(where + ": matio returned inconsistent data sizes; damaged file");
  }
  const T* values = static_cast<const T*>(var.data);
  std::vector<int64_t> result(count);
  for (size_t i = 0; i < count; ++i) {
    const T value = values[i];
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
  check_mat_v5_structure(read_file_bytes(path), path);

  MatFile mat{Mat_Open(path.c_str(), MAT_ACC_RDONLY)};
  if (!mat) throw DataError(path + ": matio cannot open it as a MATLAB file; " + kRedownloadHint);
  const std::string where = path + ": variable '" + variable + "'";
  MatVar info{Mat_VarReadInfo(mat.get(), variable.c_str())};
  if (!info) {
    throw DataError(where + " not found (the file has: " + variable_names(mat.get()) + ")");
  }
  MatVar var{Mat_VarRead(mat.get(), variable.c_str())};
  if (!var) throw DataError(where + " cannot be read; damaged file");
  const bool is_empty = var->rank == 2 && (var->dims[0] == 0 || var->dims[1] == 0);  // MATLAB's []
  if (var->rank != 2 || (var->dims[0] != 1 && var->dims[1] != 1 && !is_empty)) {
    std::string shape;
    for (int i = 0; i < var->rank; ++i) shape += (i ? " x " : "") + std::to_string(var->dims[i]);
    throw DataError(where + " is " + shape + ", expected a 1 x N or N x 1 vector");
  }
  if (var->isComplex) throw DataError(where + " is complex, expected real numbers");
  const size_t count = var->dims[0] * var->dims[1];
  if (count == 0) return {};
  if (var->data == nullptr) throw DataError(where + " has no data; damaged file");
  switch (var->class_type) {
    case MAT_C_DOUBLE: return to_integers<double>(*var, count, where);
    case MAT_C_SINGLE: return to_integers<float>(*var, count, where);
    case MAT_C_INT8: return to_integers<int8_t>(*var, count, where);
    case MAT_C_UINT8: return to_integers<uint8_t>(*var, count, where);
    case MAT_C_INT16: return to_integers<int16_t>(*var, count, where);
    case MAT_C_UINT16: return to_integers<uint16_t>(*var, count, where);
    case MAT_C_INT32: return to_integers<int32_t>(*var, count, where);
    case MAT_C_UINT32: return to_integers<uint32_t>(*var, count, where);
    case MAT_C_INT64: return to_integers<int64_t>(*var, count, where);
    case MAT_C_UINT64: return to_integers<uint64_t>(*var, count, where);
    case MAT_C_CELL: throw DataError(where + " is a cell array, expected a numeric vector");
    case MAT_C_STRUCT: throw DataError(where + " is a struct, expected a numeric vector");
    case MAT_C_CHAR: throw DataError(where + " is text, expected a numeric vector");
    case MAT_C_SPARSE: throw DataError(where + " is a sparse matrix, expected a dense vector");
    default:
      throw DataError(where + " is not numeric (matio class " + std::to_string(var->class_type) +
                      "), expected a numeric vector");
  }
}

}  // namespace vae
