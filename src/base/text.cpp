#include "vae/base/text.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace vae {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

int64_t default_threads() { return int64_t(std::max(1u, std::thread::hardware_concurrency())); }

int64_t square_grid_columns(int64_t count) {
  return std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(count)))));
}

}  // namespace vae
