// Logging and the progress bar; see logging.h.
#include "vae/base/logging.h"

#include <unistd.h>

#include <cstdio>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace vae {

void init_logging() {
  if (spdlog::get("vae")) return;
  auto logger = std::make_shared<spdlog::logger>(
      "vae", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("[%H:%M:%S] %^%l%$ %v");
  logger->flush_on(spdlog::level::info);
  // A log file that cannot be written (a full disk) must not end the run or flood stderr: said
  // once; the writes that matter (checkpoints, metrics.csv) report their own I/O errors.
  logger->set_error_handler([](const std::string& message) {
    static bool said = false;
    if (said) return;
    said = true;
    std::fprintf(stderr, "vae: warning: the log file cannot be written (%s); logging goes on on stderr\n",
                 message.c_str());
  });
  spdlog::set_default_logger(logger);
}

void add_log_file(const std::string& path) {
  init_logging();
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] %l %v");
  spdlog::default_logger()->sinks().push_back(sink);
}

namespace {
void log_to_files(spdlog::level::level_enum level, const std::string& message) {
  init_logging();
  for (const auto& sink : spdlog::default_logger()->sinks()) {
    if (std::dynamic_pointer_cast<spdlog::sinks::basic_file_sink_mt>(sink) == nullptr) continue;
    try {
      sink->log(spdlog::details::log_msg("vae", level, message));
      sink->flush();
    } catch (const std::exception&) {
      // Called on the way out with an error already in hand (a full disk, often): stderr has it.
    }
  }
}
}  // namespace

void log_error_to_files(const std::string& message) { log_to_files(spdlog::level::err, message); }

void log_warning_to_files(const std::string& message) { log_to_files(spdlog::level::warn, message); }

void remove_log_files() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove_if(sinks.begin(), sinks.end(),
                             [](const spdlog::sink_ptr& sink) {
                               return std::dynamic_pointer_cast<spdlog::sinks::basic_file_sink_mt>(
                                          sink) != nullptr;
                             }),
              sinks.end());
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::update(const std::string& text, double fraction) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (visible_ && now - last_draw_ < std::chrono::milliseconds(200) && fraction < 1.0) return;
  last_draw_ = now;
  constexpr int kWidth = 24;  // characters of the bar itself
  const int filled = int(std::clamp(fraction, 0.0, 1.0) * kWidth);
  std::string bar(size_t(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), text.c_str());
  std::fflush(stderr);
  visible_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !visible_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  visible_ = false;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long total = long(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

}  // namespace vae
