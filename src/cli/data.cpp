// `vae data info` and `vae data bench`: look at a dataset as the trainer sees it, and time the
// input pipeline alone.
#include <cmath>
#include <iostream>

#include <spdlog/spdlog.h>

#include "vae/base/clock.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/tensor/images.h"
#include "vae/data/loader.h"
#include "vae/data/cache.h"
#include "vae/io/transforms.h"
#include "vae/base/text.h"

namespace vae {
namespace {

// Images in the preview grid of `vae data info`.
constexpr int64_t kPreviewImages = 64;

struct DataArguments {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out = "data_preview.png";
  int64_t epochs = 3;
};

Config resolve(const DataArguments& args) {
  return config_from_json(config_json_or_defaults(args.config_path, args.overrides));
}

int run_info(const DataArguments& args) {
  // Looking must not build the cache (minutes and gigabytes for CelebA): the splits are read
  // straight from the files, and the cache is only reported.
  Config config = resolve(args);
  const bool cache = config.data.cache;
  config.data.cache = false;
  std::shared_ptr<ImageDataset> train;
  for (Split split : {Split::Train, Split::Val, Split::Test}) {
    auto dataset = make_dataset(config, split);
    if (split == Split::Train) train = dataset;
    std::cout << split_name(split) << ": " << dataset->size().value_or(0) << " images\n";
  }
  const std::string range = config.data.range == PixelRange::Unit ? "[0, 1]" : "[-1, 1]";
  std::cout << "image: " << config.data.channels << "x" << config.data.image_size << "x"
            << config.data.image_size << " (channels x height x width), values in " << range
            << (config.data.binarize ? ", binarised per use" : "") << "\n";
  std::cout << "transforms: " << describe_transform_spec(transform_spec(config))
            << (config.data.flip ? "; random horizontal flip (training split only)" : "") << "\n";
  if (cache) std::cout << "cache: on (data.cache); the first `vae train` builds it\n";
  BatchLoader loader(train, loader_options(config, Split::Val));  // file order, no flips
  std::vector<size_t> first;
  for (size_t i = 0; i < std::min<size_t>(kPreviewImages, loader.dataset_size()); ++i) first.push_back(i);
  const auto images = loader.gather(first).to(torch::kFloat) / 255.0;
  write_grid_png(args.out, images, square_grid_columns(int64_t(first.size())));
  std::cout << "preview: " << args.out << std::endl;
  return 0;
}

int run_bench(const DataArguments& args) {
  const Config config = resolve(args);
  const auto open_start = Clock::now();
  auto dataset = make_dataset(config, Split::Train);
  const double open_seconds = seconds_since(open_start);
  const auto* cached = dynamic_cast<const CachedDataset*>(dataset.get());
  const bool in_memory = !dataset->decodes_files() && cached == nullptr;
  BatchLoader loader(dataset, loader_options(config, Split::Train));
  spdlog::info("{}: {} batches of {} per epoch, {} workers", dataset->describe(),
               loader.batches_per_epoch(), config.train.batch_size, loader_options(config, Split::Train).workers);
  for (int64_t epoch = 0; epoch < args.epochs; ++epoch) {
    const auto start = Clock::now();
    int64_t images = 0;
    const auto stream = loader.stream(epoch);
    for (torch::Tensor batch = stream->next(); batch.defined(); batch = stream->next()) {
      images += batch.size(0);
    }
    double seconds = seconds_since(start);
    // A store built by this run decoded every image before epoch 1 could read it: that is the
    // decoding epoch, so its build time counts towards epoch 1.
    const bool built_now = cached != nullptr && cached->was_built();
    if (epoch == 0 && built_now) seconds += open_seconds;
    nlohmann::json line = {{"epoch", epoch + 1},
                           {"images", images},
                           {"seconds", std::round(seconds * 1e4) / 1e4},
                           {"images_per_s", std::round(double(images) / std::max(seconds, 1e-9) * 10) / 10},
                           {"cached", cached != nullptr && !(epoch == 0 && built_now)},
                           {"in_memory", in_memory},
                           {"dataset", config.data.dataset},
                           {"workers", loader_options(config, Split::Train).workers}};
    if (loader.skipped_items() > 0) line["skipped"] = loader.skipped_items();
    std::cout << line.dump() << std::endl;
  }
  return 0;
}

void add_common(CLI::App* app, const std::shared_ptr<DataArguments>& args) {
  add_config_options(app, args->config_path, args->overrides, "JSON config file (default: built-in defaults)",
                     "Override a key, e.g. --set data.dataset=mnist");
}

}  // namespace

Command add_data_command(CLI::App& parent) {
  CLI::App* data = parent.add_subcommand("data", "Inspect a dataset or time the input pipeline");
  data->require_subcommand(1);
  auto info_args = std::make_shared<DataArguments>();
  CLI::App* info = data->add_subcommand("info", "Images per split, size, range and a preview grid");
  add_common(info, info_args);
  add_png_out_option(info, info_args->out, "Preview grid PNG")->capture_default_str();
  auto bench_args = std::make_shared<DataArguments>();
  CLI::App* bench = data->add_subcommand("bench", "Read whole training epochs through the loader; one JSON line per epoch");
  add_common(bench, bench_args);
  bench->add_option("--epochs", bench_args->epochs, "Epochs to read")->check(CLI::Range(1, 1000))
      ->capture_default_str();
  return {data, [info, bench, info_args, bench_args] {
            if (info->parsed()) return run_info(*info_args);
            return run_bench(*bench_args);
          }};
}

}  // namespace vae
