#include "vae/logs/run_log.h"

namespace vae {

namespace {
void add_terms(EventWriter& events, const std::string& prefix, const MetricsRow& row) {
  events.add_scalar(prefix + "loss", float(row.terms.loss), row.step);
  events.add_scalar(prefix + "recon", float(row.terms.recon), row.step);
  events.add_scalar(prefix + "kl", float(row.terms.kl), row.step);
  events.add_scalar(prefix + "elbo", float(row.terms.elbo), row.step);
}
}  // namespace

RunLog::RunLog(const std::filesystem::path& run_dir, bool tensorboard, int64_t resumed_at)
    : metrics_(run_dir / "metrics.csv") {
  if (!tensorboard) return;
  events_ = std::make_unique<EventWriter>(run_dir / "tb");
  if (resumed_at >= 0) events_->add_session_start(resumed_at + 1);
}

void RunLog::train(const MetricsRow& row, double grad_norm) {
  metrics_.append(row);
  if (!events_) return;
  add_terms(*events_, "train/", row);
  events_->add_scalar("train/kl_weight", float(row.kl_weight), row.step);
  events_->add_scalar("train/lr", float(row.lr), row.step);
  events_->add_scalar("train/grad_norm", float(grad_norm), row.step);
  events_->add_scalar("train/images_per_s", float(row.images_per_s), row.step);
}

void RunLog::validation(const MetricsRow& row) {
  metrics_.append(row);
  if (events_) add_terms(*events_, "val/", row);
}

void RunLog::picture(const std::string& name, const Image& image, int64_t step) {
  if (events_) events_->add_image(name, image, step);
}

void RunLog::flush() {
  if (events_) events_->flush();
}

}  // namespace vae
