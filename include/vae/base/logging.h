// Logging (spdlog to stderr, plus the run's train.log once a run directory exists) and the live
// progress line shown while training on a terminal.
#pragma once

#include <chrono>
#include <string>

namespace vae {

// Sets up the default logger writing to stderr. Safe to call more than once.
void init_logging();
// Adds a file sink (e.g. runs/<name>/train.log), appending.
void add_log_file(const std::string& path);
// Writes an error line to the file sinks only (stderr gets its own plain line from main).
void log_error_to_files(const std::string& message);
// The same for a warning: a stop by a signal, whose message main prints as the error line.
void log_warning_to_files(const std::string& message);
// Removes file sinks (end of a run).
void remove_log_files();

// True when stderr is a terminal (progress bar) rather than a file or pipe (plain log lines).
bool stderr_is_terminal();

// A one-line progress bar redrawn in place on a terminal; inactive otherwise.
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() { clear(); }
  bool enabled() const { return enabled_; }
  // Redraws the line at most a few times a second.
  void update(const std::string& text, double fraction);
  // Erases the line so that a log line can be printed cleanly.
  void clear();

 private:
  bool enabled_;
  bool visible_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// "1m05s", "2h03m" etc.
std::string format_duration(double seconds);

}  // namespace vae
