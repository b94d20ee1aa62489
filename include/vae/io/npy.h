// NPY files (NumPy's own array format, version 1.0) without LibTorch or NumPy: C-order,
// little-endian float32 arrays that numpy.load reads as they are (no allow_pickle needed).
// Layout (numpy.lib.format): the magic "\x93NUMPY", version bytes 1 and 0, the header length as
// a little-endian uint16, then an ASCII dictionary
// "{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }" padded with spaces and ended by
// '\n' so that the values start on a 64-byte boundary (as numpy >= 1.15 writes them), then the
// values themselves. Limits: float32 only, and headers up to 65535 bytes (version 1.0), which
// holds any shape of a few dozen dimensions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vae {

// Alignment of the first value in the files written here.
constexpr size_t kNpyAlignment = 64;

// Magic, version, header length and the padded dictionary of a C-order '<f4' array of `shape`.
// Its size is a multiple of kNpyAlignment. Negative dimensions: std::invalid_argument.
std::string npy_header_float32(const std::vector<int64_t>& shape);

// The whole file: the header, then `values` as little-endian float32 whatever the host's byte
// order. values.size() must be the product of `shape` (else std::invalid_argument).
std::string encode_npy_float32(const std::vector<float>& values, const std::vector<int64_t>& shape);

// Writes encode_npy_float32(...) to `path` atomically (temporary file, then rename), so an error
// never leaves a partial file. Throws IoError naming the path.
void write_npy_float32(const std::string& path, const std::vector<float>& values,
                       const std::vector<int64_t>& shape);

}  // namespace vae
