// The epoch loop; see trainer.h. One Trainer object holds a run's state and composes the pieces:
// TrainStep and NonFinitePolicy for each batch, RunLog for metrics.csv and TensorBoard,
// BestCheckpoints for best.pt .. best-K.pt, the progress bar and the picture grids.
#include "vae/train/trainer.h"

#include <cmath>
#include <cstdlib>
#include <new>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "vae/base/clock.h"
#include "vae/config/config.h"
#include "vae/logs/curves.h"
#include "vae/data/dataset.h"
#include "vae/tensor/device.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/tensor/images.h"
#include "vae/io/image_codec.h"
#include "vae/data/loader.h"
#include "vae/data/pixels.h"
#include "vae/base/logging.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"
#include "vae/train/run_dir.h"
#include "vae/train/runs.h"
#include "vae/train/optimizer.h"
#include "vae/train/schedules.h"
#include "vae/train/best_checkpoints.h"
#include "vae/train/train_step.h"
#include "vae/logs/run_log.h"
#include "vae/base/signals.h"
#include "vae/base/text.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

// The first `count` readable images of a split (BatchLoader::first_readable, through a loader of
// its own so that the loaders' skip counts stay those of training); a split that
// data.skip_corrupt left empty is a DataError that says so.
torch::Tensor first_readable_or_throw(const Config& config, const std::shared_ptr<ImageDataset>& data,
                                      const char* split, size_t count) {
  const BatchLoader loader(data, loader_options(config, Split::Val));
  torch::Tensor images = loader.first_readable(count);
  if (!images.defined()) {
    throw DataError(fmt::format(
        "{}: the {} split is empty after skipping corrupt images: none of its {} image(s) could be "
        "decoded (data.skip_corrupt=true); set data.skip_corrupt=false to see the first failure, "
        "or replace the damaged files",
        config.data.root.empty() ? std::string("data") : config.data.root, split, loader.dataset_size()));
  }
  return images;
}

// The model of a config, or a ConfigError saying which settings ask for more memory than there
// is (a 4 x 4096 MLP on 1024 x 1024 x 3 pictures wants 48 GiB for its first layer alone); the
// allocator's own message names neither.
VAE build_model(const Config& config) {
  const auto too_big = [&](const std::string& detail) {
    return ConfigError("model: the weights of this config do not fit in memory (" + detail + "); lower model.hidden_dims, "
                       "model.latent_dim or data.image_size" +
                       (config.model.type == ModelType::Mlp ? std::string(", or use model.type=conv") : std::string("")));
  };
  try {
    return VAE(ModelOptions::from_config(config));
  } catch (const std::bad_alloc&) {
    throw too_big("out of memory");
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    const auto tried = message.find("you tried to allocate ");
    if (tried == std::string::npos) throw;
    const double bytes = std::atof(message.c_str() + tried + 22);
    throw too_big(fmt::format("one weight alone needs {:.1f} GiB", bytes / double(1ull << 30)));
  }
}

// Offset of the validation generator's seed (binarisation and z draws) from train.seed.
constexpr uint64_t kValidationStream = 0x5A11D;

// Running sums of the loss terms over a number of images.
struct TermSums {
  double loss = 0, recon = 0, kl = 0, elbo = 0, grad_norm = 0;
  int64_t images = 0, steps = 0;

  void add(const ElboTerms& terms, int64_t batch) {
    loss += terms.loss.item<double>() * double(batch);
    recon += terms.recon.item<double>() * double(batch);
    kl += terms.kl.item<double>() * double(batch);
    elbo += terms.elbo.item<double>() * double(batch);
    images += batch;
  }
  void add_grad_norm(double norm) {
    grad_norm += norm;
    ++steps;
  }
  double mean_grad_norm() const { return grad_norm / std::max<double>(1.0, double(steps)); }
  LossTerms mean() const {
    const double n = std::max<double>(1.0, double(images));
    return {loss / n, recon / n, kl / n, elbo / n};
  }
};

nlohmann::json to_json(const LossTerms& terms) {
  return {{"loss", terms.loss}, {"recon", terms.recon}, {"kl", terms.kl}, {"elbo", terms.elbo}};
}

std::string format_terms(const LossTerms& terms) {
  return fmt::format("loss {:.4g} recon {:.3f} kl {:.3f}", terms.loss, terms.recon, terms.kl);
}

double number_or(const nlohmann::json& object, const char* key, double fallback) {
  const auto found = object.find(key);
  return found != object.end() && found->is_number() ? found->get<double>() : fallback;
}

std::string epoch_file(int64_t epoch) { return fmt::format("epoch_{:03d}.png", epoch); }

class Trainer {
 public:
  explicit Trainer(const TrainOptions& options);
  TrainSummary run();

 private:
  // Whether step number `step` (counted from 1) writes a training row and logs.
  bool logs_at(int64_t step) const { return step % config_.train.log_every == 0; }
  bool reached_max_steps() const {
    return config_.train.max_steps > 0 && meta_.step >= config_.train.max_steps;
  }
  void train_epoch(int64_t epoch);
  // One optimizer step on a batch, through TrainStep and NonFinitePolicy.
  void step(const torch::Tensor& images, int64_t epoch);
  // Validation, its log row, early-stop bookkeeping, pictures and checkpoints after the epoch
  // `epoch` (0-based; also after a run stopped by train.max_steps). True to stop early.
  bool end_epoch(int64_t epoch, TrainSummary& summary);
  LossTerms validate();
  void write_grids(int64_t epoch);
  void save_last();
  // curves.png from metrics.csv; a failure is only a warning, never the end of a run.
  void draw_curves();
  void log_progress(int64_t epoch, int64_t batch);
  [[noreturn]] void stop_for_signal(int signal_number, const std::string& where);
  void warn_if_kl_runs_away(double kl, int64_t epoch);  // once per run
  void check_run_folder() const;  // IoError when the run folder was deleted under the run
  bool kl_warned_ = false;
  std::unique_ptr<RunLock> lock_;  // one process per run folder, for the trainer's life
  std::string last_good_checkpoint() const {
    return fs::exists(last_path_) ? last_path_.string() : std::string("(none yet)");
  }

  // Seconds the run has trained, in all its invocations (the stored seconds plus this one's).
  double run_seconds() const { return elapsed_before_ + seconds_since(wall_start_); }

  const Clock::time_point wall_start_ = Clock::now();
  TrainOptions options_;
  Config config_;
  LossSettings loss_settings_;  // for validation
  torch::Device device_{torch::kCPU};
  int64_t threads_ = 1;
  VAE model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<TrainStep> step_;
  std::unique_ptr<NonFinitePolicy> nonfinite_;
  std::shared_ptr<ImageDataset> train_data_, val_data_;
  std::unique_ptr<BatchLoader> train_loader_, val_loader_;
  CheckpointMeta meta_;
  fs::path run_dir_, last_path_;
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<BestCheckpoints> best_;
  ProgressBar bar_{stderr_is_terminal()};
  int64_t batches_ = 0, planned_ = 0;
  double elapsed_before_ = 0, lr_ = 0, kl_weight_ = 0;
  std::unique_ptr<EarlyStop> early_stop_;
  torch::Tensor sample_noise_, shown_images_;
  int64_t grid_rows_ = 1;
  TermSums window_;
  Clock::time_point window_start_ = Clock::now();
};

Trainer::Trainer(const TrainOptions& options)
    : options_(options),
      config_(config_from_json(options.config)),
      loss_settings_(LossSettings::from_config(config_.loss)) {
  device_ = resolve_device(config_.train.device, "train.device");
  threads_ = configure_cpu_threads(config_.train.threads);
  configure_determinism(device_, config_.train.deterministic);

  // Build everything that can fail on configuration before touching the file system.
  torch::manual_seed(uint64_t(config_.train.seed));
  model_ = build_model(config_);
  model_->to(device_);
  optimizer_ = make_optimizer(config_.optim, model_->parameters());
  train_data_ = make_dataset(config_, Split::Train);
  val_data_ = make_dataset(config_, Split::Val);
  train_loader_ = std::make_unique<BatchLoader>(train_data_, loader_options(config_, Split::Train));
  val_loader_ = std::make_unique<BatchLoader>(val_data_, loader_options(config_, Split::Val));

  // Fixed inputs for the pictures, so that epochs compare; the splits are checked to hold a
  // readable image before any run folder is made (data.skip_corrupt may have dropped them all).
  const int64_t grid = config_.train.grid_images;
  grid_rows_ = square_grid_columns(grid);
  auto noise_generator = at::detail::createCPUGenerator(uint64_t(config_.train.seed) + 1);
  sample_noise_ = torch::randn({grid, config_.model.latent_dim}, noise_generator, torch::kFloat).to(device_);
  const bool shown_from_test = config_.train.grid_split == GridSplit::Test;
  auto shown_source = shown_from_test ? make_dataset(config_, Split::Test) : val_data_;
  const torch::Tensor shown = first_readable_or_throw(config_, shown_source, shown_from_test ? "test" : "validation",
                                                      size_t(std::max<int64_t>(1, grid / 2)));
  shown_images_ = to_model_input(shown, device_, config_.data.range);
  if (shown_from_test) first_readable_or_throw(config_, val_data_, "validation", 1);
  first_readable_or_throw(config_, train_data_, "training", 1);

  meta_.config = options.config;
  if (!options.resume.empty()) {
    const fs::path checkpoint = checkpoint_for_resume(options.resume);
    run_dir_ = run_dir_of_checkpoint(checkpoint);
    lock_ = std::make_unique<RunLock>(run_dir_);  // before the checkpoint is read
    if (const int64_t stale = remove_stale_temporaries(run_dir_)) {
      spdlog::info("removed {} temporary file(s) left by an earlier process of this run", stale);
    }
    CheckpointReader reader(checkpoint.string());
    reader.load_weights(model_);
    model_->to(device_);
    reader.load_optimizer(*optimizer_, device_);
    const bool device_rng = reader.restore_rng(device_);
    if (reader.meta().device != device_.str()) {
      spdlog::info("resuming on {} a run last saved on {}", device_.str(), reader.meta().device);
    }
    if (!device_rng) {
      spdlog::warn("the checkpoint holds no {} random state; the noise drawn from here on differs "
                   "from an uninterrupted run", device_.str());
    }
    meta_.epoch = reader.meta().epoch;
    meta_.step = reader.meta().step;
    meta_.epoch_step = reader.meta().epoch_step;
    meta_.metrics = reader.meta().metrics;
  } else {
    run_dir_ = create_run_dir(options.out_dir, config_.name);
    lock_ = std::make_unique<RunLock>(run_dir_);
  }
  last_path_ = run_dir_ / "checkpoints" / "last.pt";
  best_ = std::make_unique<BestCheckpoints>(run_dir_ / "checkpoints", config_.train.keep_best,
                                            meta_.metrics.value("best", nlohmann::json::array()));
  elapsed_before_ = number_or(meta_.metrics, "seconds", 0.0);
  nonfinite_ = std::make_unique<NonFinitePolicy>(config_.train,
                                                 number_or(meta_.metrics, "last_train_loss", std::nan("")));
  early_stop_ = std::make_unique<EarlyStop>(
      config_.train.early_stop_patience,
      number_or(meta_.metrics, "best_val_loss", std::numeric_limits<double>::infinity()),
      int64_t(number_or(meta_.metrics, "epochs_without_improvement", 0)));
  batches_ = train_loader_->batches_per_epoch();
  planned_ = config_.train.epochs * batches_;
  if (config_.train.max_steps > 0) planned_ = std::min(config_.train.max_steps, planned_);
  step_ = std::make_unique<TrainStep>(model_, *optimizer_, config_, config_.train.epochs * batches_);
  if (options.nan_at_step > 0) step_->poison_step(options.nan_at_step);

}

void Trainer::save_last() {
  meta_.metrics["seconds"] = run_seconds();
  meta_.metrics["batches_per_epoch"] = batches_;
  meta_.metrics["torch"] = torch_version_text();
  // JSON has no NaN or infinity: keys without a finite value yet are left out.
  const double last_finite_loss = nonfinite_->last_finite_loss();
  if (std::isfinite(last_finite_loss)) meta_.metrics["last_train_loss"] = last_finite_loss;
  if (std::isfinite(early_stop_->best())) meta_.metrics["best_val_loss"] = early_stop_->best();
  meta_.metrics["best"] = best_->to_json();
  meta_.metrics["epochs_without_improvement"] = early_stop_->epochs_without_improvement();
  save_checkpoint(last_path_.string(), meta_, model_, optimizer_.get());
}

void Trainer::draw_curves() {
  if (!curves_available()) return;  // said once at the start of the run
  try {
    write_curves_png(run_dir_ / "metrics.csv", run_dir_ / "curves.png", config_.name + ": loss curves");
  } catch (const std::exception& error) {
    spdlog::warn("curves.png not drawn: {}", error.what());
  }
}

void Trainer::stop_for_signal(int signal_number, const std::string& where) {
  bar_.clear();
  meta_.metrics["state"] = to_string(RunState::Interrupted);
  save_last();
  draw_curves();
  const std::string message =
      fmt::format("stopped by {} {}; state saved to {}; resume with: vae train --resume {}",
                  signal_name(signal_number), where, last_path_.string(), run_dir_.string());
  log_warning_to_files(message);  // stderr gets it once, as the error line vae exits with
  throw Interrupted(message, signal_number);
}

void Trainer::step(const torch::Tensor& images, int64_t epoch) {
  const torch::Tensor x = model_input(images, device_, config_);
  const StepResult result = (*step_)(x, meta_.step, epoch, logs_at(meta_.step + 1));
  lr_ = result.lr;
  kl_weight_ = result.kl_weight;
  if (!result.finite) bar_.clear();
  if (!nonfinite_->admit(result, meta_.step + 1, epoch + 1, last_good_checkpoint())) return;
  window_.add(result.terms, x.size(0));
  if (result.norm_computed) window_.add_grad_norm(result.grad_norm);
}

void Trainer::log_progress(int64_t epoch, int64_t batch) {
  // The bar on a terminal (every step, redrawn a few times a second), plain log lines otherwise;
  // metrics.csv gets the window's mean every train.log_every steps.
  const bool log_now = logs_at(meta_.step);
  if (!log_now && !bar_.enabled()) return;
  const double rate = double(window_.images) / std::max(seconds_since(window_start_), 1e-9);
  const auto mean = window_.mean();
  const double eta = double(planned_ - meta_.step) * double(config_.train.batch_size) / std::max(rate, 1e-9);
  // The bar fills towards the run's last step, and the line says both counts: the batch of the
  // epoch and the step of the run.
  const std::string line = fmt::format("epoch {}/{} batch {}/{} step {}/{} {} | {:.0f} img/s | ETA {}", epoch + 1,
                                       config_.train.epochs, batch + 1, batches_, meta_.step, planned_,
                                       format_terms(mean), rate, format_duration(eta));
  bar_.update(line, double(meta_.step) / double(planned_));
  if (log_now) {
    check_run_folder();
    log_->train({epoch + 1, meta_.step, "train", mean, lr_, rate, run_seconds(),
                 kl_weight_},
                window_.mean_grad_norm());
    if (!bar_.enabled()) spdlog::info("{}", line);
    window_ = TermSums();
    window_start_ = Clock::now();
  }
}

void Trainer::train_epoch(int64_t epoch) {
  model_->train();
  const auto stream = train_loader_->stream(epoch, meta_.epoch_step);
  for (int64_t b = meta_.epoch_step; b < batches_; ++b) {
    if (reached_max_steps()) break;  // stop mid-epoch; validated and saved by the caller
    const torch::Tensor images = stream->next();
    if (!images.defined()) break;  // every remaining item was skipped as corrupt
    step(images, epoch);
    ++meta_.step;  // a skipped step still counts, so the schedules and the data order move on
    meta_.epoch_step = b + 1;
    log_progress(epoch, b);
    if (const int signal_number = stop_requested()) {
      stop_for_signal(signal_number, fmt::format("at step {} (epoch {}, batch {}/{})", meta_.step,
                                                 epoch + 1, b + 1, batches_));
    }
  }
  bar_.clear();
  if (train_loader_->skipped_items() > 0) {
    spdlog::warn("{} training images could not be decoded and were skipped so far",
                 train_loader_->skipped_items());
  }
}

LossTerms Trainer::validate() {
  model_->eval();
  torch::NoGradGuard no_grad;
  TermSums sums;
  // Validation binarises and draws z with its own generator, the same draws every time: the
  // training RNG stream is left untouched, so a run resumed after a validation matches one that
  // never paused. z is drawn from q(z|x) as in training (not set to the posterior mean), so the
  // validation terms are those of an ELBO: -(recon + kl) is a lower bound on log p(x).
  auto generator = at::detail::createCPUGenerator(uint64_t(config_.train.seed) + kValidationStream);
  const auto stream = val_loader_->stream(/*epoch=*/0);
  for (torch::Tensor images = stream->next(); images.defined(); images = stream->next()) {
    const torch::Tensor x = model_input(images, device_, config_, generator);
    const auto [mu, logvar] = model_->encode(x);
    const auto reconstruction = model_->decode(reparameterized_draw(mu, logvar, generator));
    sums.add(elbo_terms(reconstruction, x, mu, logvar, loss_settings_, kl_weight(config_.loss, meta_.step),
                        kl_capacity(config_.loss, meta_.step)),
             x.size(0));
  }
  return sums.mean();
}

void Trainer::write_grids(int64_t epoch) {
  model_->eval();
  torch::NoGradGuard no_grad;
  const auto samples = to_unit_range(model_->to_image(model_->decode(sample_noise_)), config_.data.range);
  const VaeOutput shown = model_->forward(shown_images_);
  const auto originals = to_unit_range(shown_images_, config_.data.range);
  const auto reconstructions = to_unit_range(model_->to_image(shown.reconstruction), config_.data.range);
  const std::pair<const char*, torch::Tensor> grids[] = {
      {"samples", make_grid(samples.cpu(), grid_rows_, /*padding=*/2, kGridPadValue)},
      {"reconstructions", reconstruction_grid(originals, reconstructions, grid_rows_)}};
  for (const auto& [name, picture] : grids) {
    const Image grid = tensor_to_image(picture);
    write_png((run_dir_ / name / epoch_file(epoch + 1)).string(), grid);
    log_->picture(name, grid, meta_.step);
  }
}

void Trainer::warn_if_kl_runs_away(double kl, int64_t epoch) {
  if (kl_warned_) return;
  const std::string warning = kl_runaway_warning(kl, config_.model.latent_dim, epoch + 1);
  if (warning.empty()) return;
  kl_warned_ = true;
  spdlog::warn("{}", warning);
}

void Trainer::check_run_folder() const {
  // Open files keep working after their folder is deleted, so nothing else would notice that the
  // config, metrics and checkpoints of this run are gone.
  std::error_code error;
  if (!fs::is_directory(run_dir_ / "checkpoints", error)) {
    throw IoError(run_dir_.string() + ": the run folder (or its checkpoints/) was removed while training, at step " +
                  std::to_string(meta_.step) + "; nothing more of this run can be kept, so training stops");
  }
}

bool Trainer::end_epoch(int64_t epoch, TrainSummary& summary) {
  check_run_folder();
  // Validation, pictures and checkpoints at the end of every epoch (and at max_steps).
  const LossTerms val_terms = validate();
  summary.final_validation = to_json(val_terms);
  const double val_loss = val_terms.loss;
  if (!std::isfinite(val_loss)) {
    throw NumericalError(fmt::format(
        "non-finite validation loss after step {} (epoch {}); last finite training loss {:.4f}; "
        "the last good checkpoint {} is untouched; try a lower optim.lr or loss.beta",
        meta_.step, epoch + 1, nonfinite_->last_finite_loss(), last_good_checkpoint()));
  }
  log_->validation({epoch + 1, meta_.step, "val", val_terms, lr_, 0.0, run_seconds(),
                    kl_weight_});
  spdlog::info("epoch {}/{} validation: {} elbo {:.3f}", epoch + 1, config_.train.epochs,
               format_terms(val_terms), val_terms.elbo);
  meta_.metrics["last_val"] = to_json(val_terms);
  warn_if_kl_runs_away(val_terms.kl, epoch);
  const bool stop_early = early_stop_->update(val_loss);
  const bool last_epoch = meta_.epoch >= config_.train.epochs || reached_max_steps() || stop_early;
  if ((epoch + 1) % config_.train.sample_every == 0 || last_epoch) write_grids(epoch);
  const fs::path best_path = best_->admit(val_loss, epoch + 1);
  meta_.metrics["state"] = to_string(last_epoch ? RunState::Finished : RunState::Running);
  if (stop_early) meta_.metrics["early_stopped"] = true;
  save_last();
  if (!best_path.empty()) save_checkpoint(best_path.string(), meta_, model_, optimizer_.get());
  if (stop_early) {
    spdlog::info("early stop: no better validation loss in {} epochs (best {:.4g})",
                 early_stop_->epochs_without_improvement(), early_stop_->best());
  }
  if (const int signal_number = stop_requested()) {
    stop_for_signal(signal_number, fmt::format("after epoch {}", epoch + 1));
  }
  return stop_early;
}

TrainSummary Trainer::run() {
  const fs::path latest = update_latest_link(run_dir_);
  add_log_file((run_dir_ / "train.log").string());
  const std::string config_text = options_.config.dump(2) + "\n";
  write_file_atomically((run_dir_ / "config.json").string(), config_text.data(), config_text.size());
  if (!options_.resume.empty()) {
    const int64_t dropped = drop_metrics_rows_after(run_dir_ / "metrics.csv", meta_.step);
    if (dropped > 0) {
      spdlog::info("dropped {} rows of metrics.csv written after the checkpoint (step {})", dropped, meta_.step);
    }
  }
  log_ = std::make_unique<RunLog>(run_dir_, config_.train.tensorboard,
                                  options_.resume.empty() ? -1 : meta_.step);
  spdlog::info("run directory: {}{}", run_dir_.string(),
               latest.empty() ? "" : fmt::format(" ({} points at it)", latest.string()));
  if (!curves_available()) spdlog::warn("curves.png skipped: {}", kCurvesMissing);
  spdlog::info("device: {} ({} CPU threads); {}", device_.str(), threads_, torch_version_text());
  spdlog::info("data: {}; {}", train_data_->describe(), val_data_->describe());
  spdlog::info("model: {} {} parameters, latent {}, likelihood {}, beta {} ({} schedule)",
               to_string(config_.model.type), model_->parameter_count(), config_.model.latent_dim, to_string(config_.loss.likelihood),
               config_.loss.beta, to_string(config_.loss.kl_schedule));
  spdlog::info("optimizer: {} lr {} ({} schedule){}", to_string(config_.optim.name), config_.optim.lr,
               to_string(config_.optim.lr_schedule),
               config_.optim.grad_clip > 0 ? fmt::format(", gradient norm clipped to {}", config_.optim.grad_clip) : "");
  if (!options_.resume.empty()) {
    spdlog::info("resuming at epoch {} step {} (global step {})", meta_.epoch + 1, meta_.epoch_step,
                 meta_.step);
  }
  const size_t train_images = train_loader_->dataset_size();
  if (train_images < size_t(config_.train.batch_size)) {
    spdlog::warn("train.batch_size {} is larger than the training split ({} images): every epoch is one step "
                 "on all {} of them; lower train.batch_size for more steps per epoch",
                 config_.train.batch_size, train_images, train_images);
  }
  spdlog::info("training {} steps: {} epochs of {} batches of {}", planned_ - meta_.step,
               config_.train.epochs, batches_, config_.train.batch_size);
  install_stop_handlers();

  TrainSummary summary;
  summary.run_dir = run_dir_;
  summary.last_checkpoint = last_path_;
  bool stop_early = false;
  const int64_t first_step = meta_.step;
  while (meta_.epoch < config_.train.epochs && !reached_max_steps() && !stop_early) {
    const int64_t epoch = meta_.epoch;  // 0-based epoch in progress
    window_start_ = Clock::now();
    train_epoch(epoch);
    if (meta_.epoch_step >= batches_) {
      meta_.epoch = epoch + 1;
      meta_.epoch_step = 0;
    }
    stop_early = end_epoch(epoch, summary);
  }
  if (nonfinite_->skipped() > 0) spdlog::warn("{} steps were skipped as non-finite", nonfinite_->skipped());
  log_->flush();
  draw_curves();
    if (first_step > 0) {
    spdlog::info("done: {} steps in {} ({} steps in {} this time, after a resume); checkpoint {}", meta_.step,
                 format_duration(run_seconds()), meta_.step - first_step, format_duration(seconds_since(wall_start_)),
                 last_path_.string());
  } else {
    spdlog::info("done: {} steps in {}; checkpoint {}", meta_.step, format_duration(run_seconds()), last_path_.string());
  }
  remove_log_files();
  summary.epochs = meta_.epoch;
  summary.steps = meta_.step;
  return summary;
}

}  // namespace

void apply_run_options(nlohmann::json& resolved, const std::string& device, int64_t threads, int64_t batch) {
  if (!device.empty()) {
    resolve_device(device, "--device");
    apply_override(resolved, "train.device=" + device, "--device");
  }
  if (threads >= 0) apply_override(resolved, "train.threads=" + std::to_string(threads), "--threads");
  if (batch > 0) apply_override(resolved, "train.batch_size=" + std::to_string(batch), "--batch");
}

std::string kl_runaway_warning(double kl, int64_t latent_dim, int64_t epoch) {
  // A posterior this far from the prior (1,000 nats per latent dimension: a mean a thousand-odd
  // standard deviations out, or a variance e^-2000 small) is a diverging run, not a model; the
  // clamped logvar keeps it finite, so nothing else would say so.
  constexpr double kRunawayPerDimension = 1000.0;
  const double per_dimension = kl / double(std::max<int64_t>(1, latent_dim));
  if (!(per_dimension > kRunawayPerDimension)) return "";
  return fmt::format("validation KL {:.4g} nats per image ({:.4g} per latent dimension) after epoch {}: the "
                     "posterior has run away from the prior, so the run is likely diverging; try a lower optim.lr, "
                     "optim.grad_clip, or a KL warm-up (loss.kl_schedule)",
                     kl, per_dimension, epoch);
}

TrainSummary run_training(const TrainOptions& options) {
  try {
    return Trainer(options).run();
  } catch (const Interrupted&) {
    remove_log_files();  // the stop was logged already
    throw;
  } catch (const std::exception& error) {
    // The run's train.log gets the reason too; then it is detached, so that a caller that goes on
    // (vae sweep) does not write into this run's log.
    log_error_to_files(error.what());
    remove_log_files();
    throw;
  }
}

}  // namespace vae
