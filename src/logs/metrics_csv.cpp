#include "vae/logs/metrics_csv.h"

#include "vae/base/errors.h"

namespace vae {
namespace fs = std::filesystem;

std::string metrics_header() {
  std::string header;
  for (const char* name : kMetricsColumns) header += (header.empty() ? "" : ",") + std::string(name);
  return header;
}

MetricsCsvWriter::MetricsCsvWriter(const fs::path& path) {
  const bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
  out_.open(path, std::ios::app);
  if (!out_) throw IoError(path.string() + ": cannot open for writing");
  if (fresh) out_ << metrics_header() << '\n';
  out_.flush();
}

void MetricsCsvWriter::append(const MetricsRow& row) {
  // Numbers at the stream's default precision (6 significant digits), as every run has written them.
  out_ << row.epoch << ',' << row.step << ',' << row.split << ',' << row.terms.loss << ','
       << row.terms.recon << ',' << row.terms.kl << ',' << row.terms.elbo << ',' << row.lr << ','
       << row.images_per_s << ',' << row.seconds << ',' << row.kl_weight << '\n';
  out_.flush();
}

}  // namespace vae
