// The training loop; see trainer.h.
#include "vae/trainer.h"

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <fstream>

#include <spdlog/spdlog.h>

#include "vae/checkpoint.h"
#include "vae/config.h"
#include "vae/dataset.h"
#include "vae/device.h"
#include "vae/errors.h"
#include "vae/fs.h"
#include "vae/image.h"
#include "vae/loader.h"
#include "vae/logging.h"
#include "vae/loss.h"
#include "vae/model.h"
#include "vae/run_dir.h"
#include "vae/signals.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Running sums of the loss terms over a number of images.
struct TermSums {
  double loss = 0, recon = 0, kl = 0, elbo = 0;
  int64_t images = 0;

  void add(const ElboTerms& terms, int64_t batch) {
    loss += terms.loss.item<double>() * double(batch);
    recon += terms.recon.item<double>() * double(batch);
    kl += terms.kl.item<double>() * double(batch);
    elbo += terms.elbo.item<double>() * double(batch);
    images += batch;
  }
  nlohmann::json mean() const {
    const double n = std::max<double>(1.0, double(images));
    return {{"loss", loss / n}, {"recon", recon / n}, {"kl", kl / n}, {"elbo", elbo / n}};
  }
};

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim, VAE& model) {
  if (optim.name == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        model->parameters(), torch::optim::AdamWOptions(optim.lr).weight_decay(optim.weight_decay));
  }
  return std::make_unique<torch::optim::Adam>(
      model->parameters(), torch::optim::AdamOptions(optim.lr).weight_decay(optim.weight_decay));
}

// metrics.csv, appended to and flushed after every row.
class MetricsFile {
 public:
  explicit MetricsFile(const fs::path& path) {
    const bool fresh = !fs::exists(path) || fs::file_size(path) == 0;
    out_.open(path, std::ios::app);
    if (!out_) throw IoError(path.string() + ": cannot open for writing");
    if (fresh) out_ << "epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds\n";
    out_.flush();
  }
  void row(int64_t epoch, int64_t step, const std::string& split, const nlohmann::json& terms,
           double lr, double images_per_s, double seconds) {
    out_ << epoch << ',' << step << ',' << split << ',' << terms["loss"].get<double>() << ','
         << terms["recon"].get<double>() << ',' << terms["kl"].get<double>() << ','
         << terms["elbo"].get<double>() << ',' << lr << ',' << images_per_s << ',' << seconds
         << '\n';
    out_.flush();
  }

 private:
  std::ofstream out_;
};

std::string format_terms(const nlohmann::json& terms) {
  return fmt::format("loss {:.3f} recon {:.3f} kl {:.3f}", terms["loss"].get<double>(),
                     terms["recon"].get<double>(), terms["kl"].get<double>());
}

double number_or(const nlohmann::json& object, const char* key, double fallback) {
  const auto found = object.find(key);
  return found != object.end() && found->is_number() ? found->get<double>() : fallback;
}

std::string epoch_file(int64_t epoch) { return fmt::format("epoch_{:03d}.png", epoch); }

}  // namespace

TrainSummary run_training(const TrainOptions& options) {
  const auto wall_start = Clock::now();
  const Config config = config_from_json(options.config);
  const torch::Device device =
      resolve_device(options.device.empty() ? config.train.device : options.device,
                     options.device.empty() ? "train.device" : "--device");
  const int64_t threads =
      configure_cpu_threads(options.threads >= 0 ? options.threads : config.train.threads);

  // Build everything that can fail on configuration before touching the file system.
  torch::manual_seed(uint64_t(config.train.seed));
  VAE model(ModelOptions::from_config(config));
  model->to(device);
  auto optimizer = make_optimizer(config.optim, model);
  auto train_data = make_dataset(config, Split::Train);
  auto val_data = make_dataset(config, Split::Val);
  BatchLoader train_loader(train_data, loader_options(config, Split::Train));
  BatchLoader val_loader(val_data, loader_options(config, Split::Val));

  CheckpointMeta meta;
  meta.config = options.config;
  fs::path run_dir;
  if (!options.resume.empty()) {
    const fs::path checkpoint = checkpoint_for_resume(options.resume);
    CheckpointReader reader(checkpoint.string());
    reader.load_weights(model);
    model->to(device);
    reader.load_optimizer(*optimizer);
    reader.restore_rng();
    meta.epoch = reader.meta().epoch;
    meta.step = reader.meta().step;
    meta.epoch_step = reader.meta().epoch_step;
    meta.metrics = reader.meta().metrics;
    run_dir = run_dir_of_checkpoint(checkpoint);
  } else {
    run_dir = create_run_dir(options.out_dir, config.name);
  }
  update_latest_link(run_dir);
  add_log_file((run_dir / "train.log").string());
  const std::string config_text = options.config.dump(2) + "\n";
  write_file_atomically((run_dir / "config.json").string(), config_text.data(), config_text.size());

  const int64_t batches = train_loader.batches_per_epoch();
  const int64_t planned = config.train.max_steps > 0
                              ? std::min(config.train.max_steps, config.train.epochs * batches)
                              : config.train.epochs * batches;
  const int64_t parameter_count = [&] {
    int64_t total = 0;
    for (const auto& p : model->parameters()) total += p.numel();
    return total;
  }();
  spdlog::info("run directory: {}", run_dir.string());
  spdlog::info("device: {} ({} CPU threads); {}", device.str(), threads, torch_version_text());
  spdlog::info("data: {}; {}", train_data->describe(), val_data->describe());
  spdlog::info("model: {} parameters, latent {}, likelihood {}, beta {}", parameter_count,
               config.model.latent_dim, config.loss.likelihood, config.loss.beta);
  if (!options.resume.empty()) {
    spdlog::info("resuming at epoch {} step {} (global step {})", meta.epoch + 1, meta.epoch_step,
                 meta.step);
  }
  spdlog::info("training {} steps: {} epochs of {} batches of {}", planned - meta.step,
               config.train.epochs, batches, config.train.batch_size);

  // Fixed inputs for the per-epoch pictures, so that epochs compare.
  const int64_t grid = config.train.grid_images;
  const int64_t nrow = std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(grid)))));
  auto noise_generator = at::detail::createCPUGenerator(uint64_t(config.train.seed) + 1);
  const torch::Tensor sample_noise =
      torch::randn({grid, config.model.latent_dim}, noise_generator, torch::kFloat).to(device);
  std::vector<size_t> shown_indices;
  for (size_t i = 0; i < std::min<size_t>(size_t(std::max<int64_t>(1, grid / 2)),
                                          val_loader.dataset_size());
       ++i) {
    shown_indices.push_back(i);
  }
  const torch::Tensor shown_images = to_model_input(val_loader.gather(shown_indices), device,
                                                    config.data.range);

  MetricsFile metrics(run_dir / "metrics.csv");
  ProgressBar bar(stderr_is_terminal());
  install_stop_handlers();
  const double elapsed_before = number_or(meta.metrics, "seconds", 0.0);
  double best_val = number_or(meta.metrics, "best_val_loss", std::numeric_limits<double>::infinity());
  double last_finite_loss = number_or(meta.metrics, "last_train_loss", std::nan(""));
  const fs::path last_path = run_dir / "checkpoints" / "last.pt";
  const fs::path best_path = run_dir / "checkpoints" / "best.pt";
  TrainSummary summary;
  summary.run_dir = run_dir;
  summary.last_checkpoint = last_path;

  auto save_last = [&]() {
    meta.metrics["seconds"] = elapsed_before + seconds_since(wall_start);
    // JSON has no NaN or infinity: keys without a finite value yet are left out.
    if (std::isfinite(best_val)) meta.metrics["best_val_loss"] = best_val;
    if (std::isfinite(last_finite_loss)) meta.metrics["last_train_loss"] = last_finite_loss;
    save_checkpoint(last_path.string(), meta, model, optimizer.get());
  };

  const double lr = config.optim.lr;
  // Test hook: VAE_TEST_NAN_AT_STEP=N makes the loss of step N non-finite, so that the tests can
  // prove a NaN stops the run and leaves the last good checkpoint intact.
  const char* poison_text = std::getenv("VAE_TEST_NAN_AT_STEP");
  const int64_t poison_step = poison_text ? std::atoll(poison_text) : -1;
  auto window_start = Clock::now();
  TermSums window;
  auto reached_max_steps = [&] {
    return config.train.max_steps > 0 && meta.step >= config.train.max_steps;
  };
  while (meta.epoch < config.train.epochs && !reached_max_steps()) {
    const int64_t epoch = meta.epoch;  // 0-based epoch in progress
    model->train();
    const auto stream = train_loader.stream(epoch, meta.epoch_step);
    for (int64_t b = meta.epoch_step; b < batches; ++b) {
      if (reached_max_steps()) break;  // stop mid-epoch; validate and save below
      const torch::Tensor images = stream->next();
      if (!images.defined()) break;  // every remaining item was skipped as corrupt
      const torch::Tensor x = model_input(images, device, config);
      const VaeOutput out = model->forward(x);
      const ElboTerms terms = elbo_terms(out.reconstruction, x, out.mu, out.logvar,
                                         config.loss.likelihood, config.loss.beta);
      double loss_value = terms.loss.item<double>();
      if (meta.step + 1 == poison_step) loss_value = std::nan("");  // test hook, see below
      if (!std::isfinite(loss_value)) {
        bar.clear();
        throw NumericalError(fmt::format(
            "non-finite loss ({}) at step {} (epoch {}); last finite loss {:.4f}; last good "
            "checkpoint {} is untouched; try a lower optim.lr or loss.beta",
            loss_value, meta.step + 1, epoch + 1, last_finite_loss,
            fs::exists(last_path) ? last_path.string() : std::string("(none yet)")));
      }
      optimizer->zero_grad();
      terms.loss.backward();
      optimizer->step();
      last_finite_loss = loss_value;
      ++meta.step;
      meta.epoch_step = b + 1;
      window.add(terms, x.size(0));

      // Progress: the bar on a terminal (every step, redrawn a few times a second), plain log
      // lines otherwise; metrics.csv gets the window's mean every train.log_every steps.
      const bool log_now = meta.step % config.train.log_every == 0;
      if (log_now || bar.enabled()) {
        const double rate = double(window.images) / std::max(seconds_since(window_start), 1e-9);
        const auto mean = window.mean();
        const double eta = double(planned - meta.step) * double(config.train.batch_size) / rate;
        const std::string line =
            fmt::format("epoch {}/{} step {}/{} {} | {:.0f} img/s | ETA {}", epoch + 1,
                        config.train.epochs, b + 1, batches, format_terms(mean), rate,
                        format_duration(eta));
        bar.update(line, double(meta.step) / double(planned));
        if (log_now) {
          metrics.row(epoch + 1, meta.step, "train", mean, lr, rate,
                      elapsed_before + seconds_since(wall_start));
          if (!bar.enabled()) spdlog::info("{}", line);
          window = TermSums();
          window_start = Clock::now();
        }
      }
      if (const int signal_number = stop_requested()) {
        bar.clear();
        save_last();
        const std::string message = fmt::format(
            "stopped by {} at step {} (epoch {}, batch {}/{}); state saved to {}; resume with: "
            "vae train --resume {}",
            signal_name(signal_number), meta.step, epoch + 1, b + 1, batches, last_path.string(),
            run_dir.string());
        spdlog::warn("{}", message);
        throw Interrupted(message, signal_number);
      }
    }
    bar.clear();
    if (train_loader.skipped_items() > 0) {
      spdlog::warn("{} training images could not be decoded and were skipped so far",
                   train_loader.skipped_items());
    }
    if (meta.epoch_step >= batches) {
      meta.epoch = epoch + 1;
      meta.epoch_step = 0;
    }

    // Validation, pictures and checkpoints at the end of every epoch (and at max_steps).
    model->eval();
    TermSums val;
    {
      torch::NoGradGuard no_grad;
      const auto val_stream = val_loader.stream(/*epoch=*/0);
      for (torch::Tensor images = val_stream->next(); images.defined(); images = val_stream->next()) {
        const torch::Tensor x = model_input(images, device, config);
        const VaeOutput out = model->forward(x);
        val.add(elbo_terms(out.reconstruction, x, out.mu, out.logvar, config.loss.likelihood,
                           config.loss.beta),
                x.size(0));
      }
      const auto samples = to_unit_range(model->to_image(model->decode(sample_noise)),
                                         config.data.range);
      write_grid_png((run_dir / "samples" / epoch_file(epoch + 1)).string(), samples, nrow);
      const VaeOutput shown = model->forward(shown_images);
      const auto originals = to_unit_range(shown_images, config.data.range);
      const auto reconstructions =
          to_unit_range(model->to_image(shown.reconstruction), config.data.range);
      write_grid_png((run_dir / "reconstructions" / epoch_file(epoch + 1)).string(),
                     interleave_rows(originals, reconstructions, nrow), nrow);
    }
    const auto val_terms = val.mean();
    summary.final_validation = val_terms;
    const double val_loss = val_terms["loss"].get<double>();
    if (!std::isfinite(val_loss)) {
      throw NumericalError(fmt::format(
          "non-finite validation loss after step {} (epoch {}); last finite training loss {:.4f}; "
          "the last good checkpoint {} is untouched; try a lower optim.lr or loss.beta",
          meta.step, epoch + 1, last_finite_loss,
          fs::exists(last_path) ? last_path.string() : std::string("(none yet)")));
    }
    metrics.row(epoch + 1, meta.step, "val", val_terms, lr, 0.0,
                elapsed_before + seconds_since(wall_start));
    spdlog::info("epoch {}/{} validation: {} elbo {:.3f}", epoch + 1, config.train.epochs,
                 format_terms(val_terms), val_terms["elbo"].get<double>());
    meta.metrics["last_val"] = val_terms;
    const bool improved = val_loss < best_val;
    if (improved) best_val = val_loss;
    save_last();
    if (improved) save_checkpoint(best_path.string(), meta, model, optimizer.get());
    if (const int signal_number = stop_requested()) {
      const std::string message =
          fmt::format("stopped by {} after epoch {}; state saved to {}; resume with: vae train "
                      "--resume {}",
                      signal_name(signal_number), epoch + 1, last_path.string(), run_dir.string());
      spdlog::warn("{}", message);
      throw Interrupted(message, signal_number);
    }
  }
  spdlog::info("done: {} steps in {}; checkpoint {}", meta.step,
               format_duration(seconds_since(wall_start)), last_path.string());
  remove_log_files();
  summary.epochs = meta.epoch;
  summary.steps = meta.step;
  return summary;
}

}  // namespace vae
