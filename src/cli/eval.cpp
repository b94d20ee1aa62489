// `vae eval`: how good a trained model is, over a whole split, deterministically for a seed:
// reconstruction term, KL and negative ELBO (nats per image), the importance-sampled negative
// log-likelihood with K samples and bits per dimension, active units, KL per latent dimension,
// PSNR of the mean reconstructions, and the Mutual Information Gap where the dataset has
// ground-truth factors (the built-in shapes). A table on stdout; the same figures as JSON with --json.
#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "vae/base/clock.h"
#include "cli/commands.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/base/errors.h"
#include "vae/analysis/evaluation.h"
#include "vae/base/fs.h"
#include "vae/data/loader.h"
#include "vae/data/pixels.h"
#include "vae/model/loss.h"
#include "vae/data/shapes.h"

namespace vae {
namespace {

// Decoded images per pass of the importance sampler: bounds its memory whatever K and the batch.
constexpr int64_t kDecodedPerPass = 8192;
// Seconds between progress lines.
constexpr double kProgressEvery = 10.0;

struct EvalArguments {
  std::string ckpt;
  std::string split = "test";
  int64_t iw_samples = 100;
  std::string json_path;
  int64_t seed = 0;
  int64_t batch = 250;
  int64_t limit = 0;
  std::string device = "cpu";
  int64_t threads = 0;
  std::vector<std::string> overrides;
};

// Running sums over the split.
struct Totals {
  double recon = 0, kl = 0, log_marginal = 0, psnr = 0;
  int64_t images = 0;
  std::vector<torch::Tensor> means;  // [B, L] posterior means, on the CPU
  torch::Tensor kl_dims;             // [L] summed over images
};

// Bits per dimension from nats per image. Binary data: the Bernoulli likelihood is a probability
// mass. Continuous likelihoods are densities over the model's range; the change of variables to
// the 0..255 pixel scale adds log(255) (unit range) or log(127.5) (symmetric range) per dimension.
double bits_per_dim(double nll, int64_t dims, const Config& config) {
  double per_dim = nll / double(dims);
  if (config.loss.likelihood == "gaussian") per_dim += std::log(config.data.range == "unit" ? 255.0 : 127.5);
  return per_dim / std::log(2.0);
}

nlohmann::json run_evaluation(const EvalArguments& args, const Config& config, CheckpointReader& reader) {
  const torch::Device device = resolve_device(args.device, "--device");
  configure_cpu_threads(args.threads);
  const Split split = args.split == "test" ? Split::Test : Split::Val;
  auto dataset = make_dataset(config, split);
  LoaderOptions options = loader_options(config, split);
  options.batch_size = args.batch;
  BatchLoader loader(dataset, options);
  VAE model = reader.load_model(device);
  model->eval();
  torch::NoGradGuard no_grad;
  auto generator = at::detail::createCPUGenerator(uint64_t(args.seed));

  const int64_t total = args.limit > 0 ? std::min<int64_t>(args.limit, int64_t(loader.dataset_size()))
                                       : int64_t(loader.dataset_size());
  if (total == 0) throw DataError("the " + args.split + " split of " + dataset->describe() + " is empty");
  spdlog::info("evaluating {} on {} images of the {} split of {}, {} importance samples, seed {}",
               reader.path(), total, args.split, dataset->describe(), args.iw_samples, args.seed);
  const int64_t latent = config.model.latent_dim;
  Totals sums;
  sums.kl_dims = torch::zeros({latent}, torch::kDouble);
  const auto start = Clock::now();
  auto last_report = start;
  const auto stream = loader.stream(/*epoch=*/0);
  for (torch::Tensor batch = stream->next(); batch.defined() && sums.images < total; batch = stream->next()) {
    if (sums.images + batch.size(0) > total) batch = batch.narrow(0, 0, total - sums.images);
    const int64_t b = batch.size(0);
    const auto x = model_input(batch, device, config, generator);  // [B, C, H, W], binarised if so configured
    const auto [mu, logvar] = model->encode(x);                     // [B, L] each
    // One-sample ELBO terms, as in training but with seeded draws.
    const auto z = reparameterized_draw(mu, logvar, generator);
    sums.recon += recon_per_item(model->decode(z), x, config.loss.likelihood).sum().item<double>();
    const auto kl_dims = kl_per_latent(mu, logvar);  // [B, L]
    sums.kl += kl_dims.sum().item<double>();
    sums.kl_dims += kl_dims.sum(0).to(torch::kCPU, torch::kDouble);
    // PSNR of the mean reconstruction against the image, both in [0, 1]; for binarised data the
    // image before binarisation (the decoder's probabilities estimate its intensities).
    const auto mean_images = to_unit_range(model->to_image(model->decode(mu)), config.data.range);
    const auto images = to_unit_range(to_model_input(batch, device, config.data.range), config.data.range);
    sums.psnr += psnr_per_image(mean_images, images).sum().item<double>();
    if (args.iw_samples > 0) {
      const int64_t chunk = std::max<int64_t>(1, kDecodedPerPass / b);
      const auto log_likelihood = [&](const torch::Tensor& draws) {  // [S, B, L] -> [S, B]
        const int64_t s = draws.size(0);
        const auto decoded = model->decode(draws.reshape({s * b, latent}));
        const auto targets = x.unsqueeze(0).expand({s, b, x.size(1), x.size(2), x.size(3)})
                                 .reshape({s * b, x.size(1), x.size(2), x.size(3)});
        return log_likelihood_per_item(decoded, targets, config.loss.likelihood).view({s, b});
      };
      sums.log_marginal +=
          importance_log_marginal(mu, logvar, args.iw_samples, chunk, log_likelihood, generator).sum().item<double>();
    }
    sums.means.push_back(mu.to(torch::kCPU));
    sums.images += b;
    const auto now = Clock::now();
    if (seconds_between(last_report, now) > kProgressEvery) {
      last_report = now;
      const double elapsed = seconds_between(start, now);
      spdlog::info("{}/{} images, {:.0f} s, about {:.0f} s left", sums.images, total, elapsed,
                   elapsed / double(sums.images) * double(total - sums.images));
    }
  }
  const double n = double(sums.images);
  const auto means = torch::cat(sums.means);  // [N, L]
  const int64_t dims = config.data.channels * config.data.image_size * config.data.image_size;
  nlohmann::json result = {{"checkpoint", reader.path()},
                           {"split", args.split},
                           {"images", sums.images},
                           {"seed", args.seed},
                           {"recon", sums.recon / n},
                           {"kl", sums.kl / n},
                           {"neg_elbo", (sums.recon + sums.kl) / n},
                           {"active_units", count_active_units(means)},
                           {"latent_dim", latent},
                           {"psnr", sums.psnr / n},
                           {"likelihood", config.loss.likelihood}};
  std::vector<double> kl_per_dim;
  for (int64_t u = 0; u < latent; ++u) kl_per_dim.push_back(sums.kl_dims[u].item<double>() / n);
  result["kl_per_dim"] = kl_per_dim;
  std::vector<double> variance;
  const auto variances = posterior_mean_variance(means);
  for (int64_t u = 0; u < latent; ++u) variance.push_back(variances[u].item<double>());
  result["mean_variance_per_dim"] = variance;
  if (args.iw_samples > 0) {
    const double nll = -sums.log_marginal / n;
    result["iw_samples"] = args.iw_samples;
    result["nll"] = nll;
    result["bits_per_dim"] = bits_per_dim(nll, dims, config);
  }
  if (const auto* shapes = dynamic_cast<const ShapesDataset*>(dataset.get())) {
    auto factors = torch::empty({sums.images, kShapeFactorCount});
    for (int64_t i = 0; i < sums.images; ++i) {
      const ShapeFactors f = shapes->factors(size_t(i));
      factors[i] = torch::tensor({double(f.shape), f.scale, f.rotation, f.x, f.y}, torch::kFloat);
    }
    const MigResult mig = mutual_information_gap(means, factors);
    result["mig"] = mig.mig;
    result["mig_per_factor"] = {{"shape", mig.per_factor[0]}, {"scale", mig.per_factor[1]},
                                {"rotation", mig.per_factor[2]}, {"x", mig.per_factor[3]}, {"y", mig.per_factor[4]}};
  }
  result["seconds"] = seconds_since(start);
  return result;
}

void print_table(const nlohmann::json& r) {
  std::cout << fmt::format("{} ({} split, {} images, seed {})\n", r["checkpoint"].get<std::string>(),
                           r["split"].get<std::string>(), r["images"].get<int64_t>(), r["seed"].get<int64_t>());
  auto row = [](const std::string& name, const std::string& value, const std::string& unit) {
    std::cout << fmt::format("  {:<24} {:>12}  {}\n", name, value, unit);
  };
  row("reconstruction", fmt::format("{:.3f}", r["recon"].get<double>()), "nats/image");
  row("KL", fmt::format("{:.3f}", r["kl"].get<double>()), "nats/image");
  row("negative ELBO", fmt::format("{:.3f}", r["neg_elbo"].get<double>()), "nats/image");
  if (r.contains("nll")) {
    row(fmt::format("NLL (K = {})", r["iw_samples"].get<int64_t>()), fmt::format("{:.3f}", r["nll"].get<double>()),
        "nats/image");
    row("bits per dimension", fmt::format("{:.4f}", r["bits_per_dim"].get<double>()), "bits");
  }
  row("active units", fmt::format("{} / {}", r["active_units"].get<int64_t>(), r["latent_dim"].get<int64_t>()),
      "Var(E[z|x]) > 0.01");
  row("PSNR", fmt::format("{:.2f}", r["psnr"].get<double>()), "dB, mean reconstruction");
  if (r.contains("mig")) row("MIG", fmt::format("{:.4f}", r["mig"].get<double>()), "shape, scale, rotation, x, y");
  std::string kl_dims;
  for (const auto& v : r["kl_per_dim"]) kl_dims += fmt::format("{}{:.2f}", kl_dims.empty() ? "" : " ", v.get<double>());
  std::cout << "  KL per dimension (nats): " << kl_dims << "\n";
  std::cout << std::flush;
}

int run_eval(const EvalArguments& args) {
  if (args.split != "test" && args.split != "val") {
    throw ConfigError("--split: got '" + args.split + "'; use test or val");
  }
  CheckpointReader reader(checkpoint_or_latest(args.ckpt));
  nlohmann::json resolved = reader.meta().config;
  for (const auto& assignment : args.overrides) apply_override(resolved, assignment);
  const Config config = config_from_json(resolved);
  const nlohmann::json result = run_evaluation(args, config, reader);
  print_table(result);
  if (!args.json_path.empty()) {
    const std::string text = result.dump(2) + "\n";
    write_file_atomically(args.json_path, text.data(), text.size());
    std::cout << args.json_path << std::endl;
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto args = std::make_shared<EvalArguments>();
  CLI::App* app = parent.add_subcommand("eval", "Likelihood, ELBO, active units, PSNR and MIG of a trained model");
  app->add_option("--ckpt", args->ckpt, "Checkpoint (default: the newest run's last.pt)");
  app->add_option("--split", args->split, "test | val")->capture_default_str();
  app->add_option("-k,--iw-samples", args->iw_samples, "Importance samples per image for the NLL (0 = skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1000000)))
      ->capture_default_str();
  app->add_option("--json", args->json_path, "Also write the figures as JSON to this file");
  app->add_option("--seed", args->seed, "Seed of every draw (binarisation, ELBO, importance samples)")
      ->capture_default_str();
  app->add_option("--batch", args->batch, "Images per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  app->add_option("--limit", args->limit, "Evaluate only the first N images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--device", args->device, "auto | cpu | cuda | cuda:N | mps")->capture_default_str();
  app->add_option("--threads", args->threads, "CPU threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app->add_option("--set", args->overrides, "Override a key of the stored config, e.g. --set data.root=/data/mnist")
      ->type_name("KEY=VALUE");
  return {app, [args] { return run_eval(*args); }};
}

}  // namespace vae
