// `vae eval`: how good a trained model is, over a whole split, deterministically for a seed:
// reconstruction term, KL and negative ELBO (nats per image), the importance-sampled negative
// log-likelihood with K samples and bits per dimension, active units, KL per latent dimension,
// PSNR of the mean reconstructions, and the Mutual Information Gap where the dataset has
// ground-truth factors (the built-in shapes). A table on stdout; the same figures as JSON with --json.
#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/base/errors.h"
#include "vae/analysis/evaluation.h"
#include "vae/base/fs.h"

namespace vae {
namespace {

struct EvalArguments {
  ModelArguments model;
  EvaluationOptions evaluation;
  std::string json_path;
  int64_t threads = 0;
  std::vector<std::string> overrides;
};

void print_table(const nlohmann::json& r) {
  std::cout << fmt::format("{} ({} split, {} images, seed {})\n", r["checkpoint"].get<std::string>(),
                           r["split"].get<std::string>(), r["images"].get<int64_t>(), r["seed"].get<int64_t>());
  auto row = [](const std::string& name, const std::string& value, const std::string& unit) {
    std::cout << fmt::format("  {:<24} {:>12}  {}\n", name, value, unit);
  };
  row("reconstruction", fmt::format("{:.3f}", r["recon"].get<double>()), "nats/image, -log p(x|z)");
  if (r.contains("squared_error")) {
    row("squared error", fmt::format("{:.3f}", r["squared_error"].get<double>()), "per image (the training term)");
  }
  row("KL", fmt::format("{:.3f}", r["kl"].get<double>()), "nats/image");
  row("negative ELBO", fmt::format("{:.3f}", r["neg_elbo"].get<double>()), "nats/image");
  if (r.contains("nll")) {
    row(fmt::format("NLL (K = {})", r["iw_samples"].get<int64_t>()), fmt::format("{:.3f}", r["nll"].get<double>()),
        "nats/image");
    if (r.contains("bits_per_dim")) {
      row("bits per dimension", fmt::format("{:.4f}", r["bits_per_dim"].get<double>()), "bits");
    }
  }
  row("active units", fmt::format("{} / {}", r["active_units"].get<int64_t>(), r["latent_dim"].get<int64_t>()),
      "Var(E[z|x]) > 0.01");
  row("PSNR", fmt::format("{:.2f}", r["psnr"].get<double>()), "dB, mean reconstruction");
  if (r.contains("mig")) {
    std::string factors;
    for (const char* name : {"shape", "scale", "rotation", "x", "y"}) {
      factors += fmt::format("{}{} {:.3f}", factors.empty() ? "" : ", ", name, r["mig_per_factor"][name].get<double>());
    }
    row("MIG", fmt::format("{:.4f}", r["mig"].get<double>()), "per factor: " + factors);
  }
  std::string kl_dims;
  for (const auto& v : r["kl_per_dim"]) kl_dims += fmt::format("{}{:.2f}", kl_dims.empty() ? "" : " ", v.get<double>());
  std::cout << "  KL per dimension (nats): " << kl_dims << "\n";
  std::cout << "  likelihood " << r["likelihood_note"].get<std::string>() << "\n";
  std::cout << std::flush;
}

int run_eval(const EvalArguments& args) {
  if (args.evaluation.split != "test" && args.evaluation.split != "val") {
    throw ConfigError("--split: got '" + args.evaluation.split + "'; use test or val");
  }
  LoadedModel loaded = open_model(args.model, args.overrides);
  configure_cpu_threads(args.threads);
  const nlohmann::json result = evaluate_model(loaded, args.evaluation);
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
  CLI::App* app = add_model_subcommand(
      parent, "eval", "Likelihood, ELBO, active units, PSNR and MIG of a trained model",
      args->model);
  app->add_option("--split", args->evaluation.split, "test | val")->capture_default_str();
  app->add_option("-k,--iw-samples", args->evaluation.iw_samples, "Importance samples per image for the NLL (0 = skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1000000)))
      ->capture_default_str();
  app->add_option("--json", args->json_path, "Also write the figures as JSON to this file");
  app->add_option("--seed", args->evaluation.seed, "Seed of every draw (binarisation, ELBO, importance samples)")
      ->capture_default_str();
  app->add_option("--batch", args->evaluation.batch, "Images per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  app->add_option("--limit", args->evaluation.limit, "Evaluate only the first N images (0 = all)")
      ->check(CLI::NonNegativeNumber);
  add_threads_option(app, args->threads);
  app->add_option("--set", args->overrides, "Override a key of the stored config, e.g. --set data.root=/data/mnist")
      ->type_name("KEY=VALUE");
  return {app, [args] { return run_eval(*args); }};
}

}  // namespace vae
