// Small shared helpers: CSV quoting, pi, the default thread count, the side of a square grid.
#pragma once

#include <cstdint>
#include <string>

namespace vae {

inline constexpr double kPi = 3.14159265358979323846;

// `text` as one CSV field (RFC 4180): bare unless it holds a comma, quote or line break, else
// double-quoted with its quotes doubled.
std::string csv_field(const std::string& text);

// One thread per core as the system reports it, at least 1.
int64_t default_threads();

// Columns of the most nearly square grid holding `count` tiles: ceil(sqrt(count)), at least 1.
int64_t square_grid_columns(int64_t count);

}  // namespace vae
