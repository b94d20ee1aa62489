// `vae encode`: the posterior q(z|x) = N(mu, diag(exp(logvar))) of every given picture, written
// with the pictures' file names for other tools: a CSV table, or an NPY array [N, 2 * latent]
// = [mu | logvar] with the names in a sidecar text file.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/train/checkpoint.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/base/errors.h"
#include "vae/io/formats.h"
#include "vae/base/fs.h"
#include "vae/analysis/latent.h"
#include "vae/data/dataset.h"
#include "vae/data/pixels.h"
#include "vae/io/transforms.h"
#include "vae/io/npy.h"
#include "vae/base/text.h"

namespace vae {
namespace {
namespace fs = std::filesystem;

// Pictures per encoder pass.
constexpr size_t kEncodeBatch = 64;

struct EncodeArguments {
  ModelArguments model;
  std::vector<std::string> inputs;
  std::string out;
};

enum class LatentFormat { Npy, Csv };

LatentFormat format_of(const std::string& out) {
  std::string extension = fs::path(out).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (extension == ".npy") return LatentFormat::Npy;
  if (extension == ".csv") return LatentFormat::Csv;
  const std::string what = extension.empty() ? "it has no extension" : "unknown extension '" + extension + "'";
  throw ConfigError("--out: cannot tell the format of '" + out + "': " + what +
                    "; use .npy (numpy array) or .csv");
}

// X.npy -> X.files.txt, next to it.
std::string sidecar_path(const std::string& out) {
  return (fs::path(out).parent_path() / (fs::path(out).stem().string() + ".files.txt")).string();
}

// file,mu_0..mu_{d-1},logvar_0..logvar_{d-1}; floats in their shortest exact form.
std::string latents_csv(const std::vector<std::string>& files, const torch::Tensor& mu,
                        const torch::Tensor& logvar) {
  const int64_t latent = mu.size(1);
  std::string text = "file";
  for (const char* name : {"mu_", "logvar_"}) {
    for (int64_t j = 0; j < latent; ++j) text += "," + std::string(name) + std::to_string(j);
  }
  text += "\n";
  const auto mu_of = mu.accessor<float, 2>(), logvar_of = logvar.accessor<float, 2>();
  for (size_t i = 0; i < files.size(); ++i) {
    text += csv_field(files[i]);
    for (int64_t j = 0; j < latent; ++j) text += fmt::format(",{}", mu_of[int64_t(i)][j]);
    for (int64_t j = 0; j < latent; ++j) text += fmt::format(",{}", logvar_of[int64_t(i)][j]);
    text += "\n";
  }
  return text;
}

int run_encode(const EncodeArguments& args) {
  const LatentFormat format = format_of(args.out);  // before any work
  const std::vector<std::string> files = expand_picture_inputs(args.inputs);
  LoadedModel loaded = open_model(args.model);
  const Config& config = loaded.config;
  const torch::Device device = loaded.device;
  VAE& model = loaded.model;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> mus, logvars;  // [b, latent] each
  size_t fitted = 0;
  for (size_t start = 0; start < files.size(); start += kEncodeBatch) {
    std::vector<torch::Tensor> batch;  // uint8 [C, S, S] each
    for (size_t i = start; i < std::min(start + kEncodeBatch, files.size()); ++i) {
      std::string steps;
      batch.push_back(load_fitted_image(files[i], config, &steps));
      spdlog::debug("{}: {}", files[i], steps);
      fitted += steps == "used as is" ? 0 : 1;
    }
    const auto [mu, logvar] = model->encode(to_model_input(torch::stack(batch), device, config.data.range));
    mus.push_back(mu.to(torch::kCPU, torch::kFloat));
    logvars.push_back(logvar.to(torch::kCPU, torch::kFloat));
  }
  const auto mu = torch::cat(mus).contiguous(), logvar = torch::cat(logvars).contiguous();  // [N, latent]
  const int64_t count = mu.size(0), latent = mu.size(1);
  spdlog::info("pictures prepared as the model's training data were ({}): {} of {} changed",
               describe_transform_spec(transform_spec(config)), fitted, count);

  if (format == LatentFormat::Csv) {
    const std::string text = latents_csv(files, mu, logvar);
    write_file_atomically(args.out, text.data(), text.size());
    spdlog::info("{} pictures encoded with {}: columns file, mu_0..mu_{}, logvar_0..logvar_{}", count,
                 loaded.path, latent - 1, latent - 1);
    std::cout << args.out << std::endl;
    return 0;
  }
  const auto both = torch::cat({mu, logvar}, /*dim=*/1).contiguous();  // [N, 2 * latent]
  const std::vector<float> values(both.data_ptr<float>(), both.data_ptr<float>() + both.numel());
  std::string names;
  for (const auto& file : files) names += file + "\n";
  const std::string sidecar = sidecar_path(args.out);
  write_file_atomically(sidecar, names.data(), names.size());
  try {
    write_npy_float32(args.out, values, {count, 2 * latent});
  } catch (const Error&) {
    std::error_code ignored;
    fs::remove(sidecar, ignored);  // no names without their array
    throw;
  }
  spdlog::info("{} pictures encoded with {}: {} holds float32 [{}, {}] = [mu | logvar] (columns "
               "0..{} mu, {}..{} logvar); {} holds the file names, one per line, in row order",
               count, loaded.path, args.out, count, 2 * latent, latent - 1, latent, 2 * latent - 1,
               sidecar);
  std::cout << args.out << "\n" << sidecar << std::endl;
  return 0;
}

}  // namespace

Command add_encode_command(CLI::App& parent) {
  auto args = std::make_shared<EncodeArguments>();
  CLI::App* app = add_model_subcommand(
      parent, "encode", "Posterior mean and log-variance of pictures, with their file names, as NPY or CSV",
      args->model);
  app->add_option("-i,--input", args->inputs,
                  "PNG, JPEG or BMP file, or a folder searched recursively for them (sorted by "
                  "path); repeatable, rows follow the order given")
      ->required();
  app->add_option("-o,--out", args->out,
                  "latents.npy (float32 [N, 2 * latent] = [mu | logvar], file names in "
                  "latents.files.txt) or latents.csv (file,mu_0..,logvar_0..)")
      ->required();
  return {app, [args] { return run_encode(*args); }};
}

}  // namespace vae
