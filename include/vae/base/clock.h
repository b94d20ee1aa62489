// Wall-clock intervals: progress lines, benchmarks and the time a run records.
#pragma once

#include <chrono>

namespace vae {

using Clock = std::chrono::steady_clock;

// Seconds from `start` to `end`.
inline double seconds_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

// Seconds from `start` to now.
inline double seconds_since(Clock::time_point start) { return seconds_between(start, Clock::now()); }

}  // namespace vae
