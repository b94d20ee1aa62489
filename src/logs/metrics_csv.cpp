#include "vae/logs/metrics_csv.h"

#include <cerrno>
#include <cstring>

#include "vae/base/errors.h"
#include "vae/base/fs.h"

namespace vae {
namespace fs = std::filesystem;

std::string metrics_header() {
  std::string header;
  for (const char* name : kMetricsColumns) header += (header.empty() ? "" : ",") + std::string(name);
  return header;
}

int64_t drop_metrics_rows_after(const fs::path& path, int64_t step) {
  std::error_code error;
  if (!fs::exists(path, error)) return 0;
  const std::vector<uint8_t> bytes = read_file_bytes(path.string());
  const std::string text(bytes.begin(), bytes.end());
  std::string kept;
  int64_t dropped = 0;
  size_t start = 0;
  bool header = true;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // an unfinished last line
      ++dropped;
      break;
    }
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    bool keep = true;
    if (!header) {
      const size_t comma = line.find(',');
      const size_t next = comma == std::string::npos ? comma : line.find(',', comma + 1);
      try {
        keep = next != std::string::npos && std::stoll(line.substr(comma + 1, next - comma - 1)) <= step;
      } catch (const std::exception&) {
        keep = false;  // not a row vae wrote
      }
    }
    header = false;
    if (keep) {
      kept += line + '\n';
    } else {
      ++dropped;
    }
  }
  if (dropped > 0) write_file_atomically(path.string(), kept.data(), kept.size());
  return dropped;
}

MetricsCsvWriter::MetricsCsvWriter(const fs::path& path) {
  const bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
  out_.open(path, std::ios::app);
  if (!out_) throw IoError(path.string() + ": cannot open for writing");
  if (fresh) out_ << metrics_header() << '\n';
  out_.flush();
  if (!out_) throw IoError(path.string() + ": cannot write (" + std::strerror(errno) + "); is the disk full?");
  path_ = path;
}

void MetricsCsvWriter::append(const MetricsRow& row) {
  // Numbers at the stream's default precision (6 significant digits), as every run has written them.
  out_ << row.epoch << ',' << row.step << ',' << row.split << ',' << row.terms.loss << ','
       << row.terms.recon << ',' << row.terms.kl << ',' << row.terms.elbo << ',' << row.lr << ','
       << row.images_per_s << ',' << row.seconds << ',' << row.kl_weight << '\n';
  out_.flush();
  // A row that did not reach the file (a full disk) is an I/O error, not a silent gap; resume cuts
  // a partly written last line.
  if (!out_) throw IoError(path_.string() + ": cannot write a row (" + std::strerror(errno) + "); is the disk full?");
}

}  // namespace vae
