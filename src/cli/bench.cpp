// `vae bench train`: the speed of the training step alone. Times the trainer's own step
// (TrainStep: forward, loss, backward, gradient clipping if configured, optimizer update) of the
// config's model on a fixed
// random batch of the config's image shape, so the figure excludes data loading, validation and
// logging, and compares with other programs timing the same thing. Prints one JSON line on stdout
// with images/s, the step's arithmetic (FLOPs per image) and the FLOP/s achieved, next to the
// FLOP/s of a large matrix product on the same device and threads, measured in the same run: the
// fraction says how close the step comes to what this machine's BLAS can do.
#include <cmath>
#include <iostream>

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include "vae/base/clock.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "vae/config/config.h"
#include "vae/tensor/device.h"
#include "vae/data/pixels.h"
#include "vae/model/model.h"
#include "vae/train/optimizer.h"
#include "vae/train/train_step.h"
#include "vae/train/trainer.h"

namespace vae {
namespace {

// Side of the square matrices of the reference product: large enough for BLAS to reach its peak
// (2 * 2048^3 = 17 GFLOP), small enough to take about a second on two cores.
constexpr int64_t kMatmulSide = 2048;
// Timed repetitions of the reference product (after one untimed).
constexpr int kMatmulRepeats = 3;

struct BenchArguments {
  std::string config_path;
  std::vector<std::string> overrides;
  int64_t steps = 20;
  int64_t warmup = 3;
  int64_t batch = 0;  // 0 = train.batch_size
  RunArguments run;   // --device, --threads
};

// Waits for queued GPU work, so that the clock measures it. loss.item() already does this on
// every step; the matrix product needs it explicitly.
void synchronize(const torch::Tensor& result) { (void)result.sum().item<double>(); }

// FLOP/s of C = A B with square float matrices of side kMatmulSide. On the CPU each LibTorch
// thread multiplies its own block of rows (BLAS stays single-threaded, as in training), so the
// figure is what the cores together can do.
double matmul_flop_per_s(const torch::Device& device) {
  const auto on = torch::TensorOptions().device(device);
  const auto a = torch::rand({kMatmulSide, kMatmulSide}, on);
  const auto b = torch::rand({kMatmulSide, kMatmulSide}, on);
  auto c = torch::empty({kMatmulSide, kMatmulSide}, on);
  auto product = [&] {
    if (!device.is_cpu()) {
      torch::mm_out(c, a, b);
      return;
    }
    const int64_t parts = at::get_num_threads();
    const int64_t rows = (kMatmulSide + parts - 1) / parts;
    at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
      for (int64_t part = begin; part < end; ++part) {
        const int64_t first = part * rows;
        const int64_t count = std::min(rows, kMatmulSide - first);
        if (count <= 0) continue;
        auto out = c.narrow(/*dim=*/0, first, count);
        torch::mm_out(out, a.narrow(/*dim=*/0, first, count), b);
      }
    });
  };
  product();
  synchronize(c);
  const auto start = Clock::now();
  for (int i = 0; i < kMatmulRepeats; ++i) product();
  synchronize(c);
  return 2.0 * double(kMatmulSide) * double(kMatmulSide) * double(kMatmulSide) * kMatmulRepeats /
         seconds_since(start);
}

double rounded(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

int run_bench_train(const BenchArguments& args) {
  nlohmann::json resolved = config_json_or_defaults(args.config_path, args.overrides);
  apply_run_options(resolved, args.run.device, args.run.threads, args.batch);
  const Config config = config_from_json(resolved);
  const torch::Device device = resolve_device(config.train.device, "train.device");
  const int64_t threads = configure_cpu_threads(config.train.threads);
  configure_determinism(device, config.train.deterministic);
  const int64_t batch = config.train.batch_size;

  torch::manual_seed(uint64_t(config.train.seed));
  VAE model(ModelOptions::from_config(config));
  model->to(device);
  model->train();
  auto optimizer = make_optimizer(config.optim, model->parameters());
  // The schedules run over as many steps as the bench takes, as over a run's epochs.
  TrainStep train_step(model, *optimizer, config, args.warmup + args.steps);
  const int64_t side = config.data.image_size;
  // [B, C, H, W] uint8, then the float input the trainer would feed (range, binarisation).
  const auto pixels = torch::randint(0, 256, {batch, config.data.channels, side, side}, torch::kUInt8);
  const torch::Tensor x = model_input(pixels, device, config);
  const double flop_per_image = 6.0 * double(model->multiply_adds_per_image());
  const int64_t parameters = model->parameter_count();
  spdlog::info("bench train: {} ({} parameters, {:.1f} MFLOP per image per step), batch {}, {} on {} "
               "with {} thread(s), {} warm-up + {} timed steps",
               config.name, parameters, flop_per_image / 1e6, batch, to_string(config.optim.name), device.str(),
               threads, args.warmup, args.steps);

  double forward_s = 0, backward_s = 0, update_s = 0, loss_sum = 0;
  int64_t step = 0;
  auto run_step = [&](bool timed) {
    StepTimes times;
    // The step reads the loss back once (it decides whether to update), which waits for the device.
    const StepResult result = train_step(x, step, /*epoch=*/0, /*want_norm=*/false, &times);
    ++step;
    if (!timed) return;
    forward_s += seconds_between(times.start, times.forward_done);
    backward_s += seconds_between(times.forward_done, times.backward_done);
    update_s += seconds_between(times.backward_done, times.update_done);
    loss_sum += result.loss;
  };
  for (int64_t i = 0; i < args.warmup; ++i) run_step(false);
  if (!device.is_cpu()) synchronize(x);
  const auto start = Clock::now();
  for (int64_t i = 0; i < args.steps; ++i) run_step(true);
  if (!device.is_cpu()) synchronize(x);
  const double seconds = seconds_since(start);

  const double images_per_s = double(batch * args.steps) / seconds;
  const double achieved = images_per_s * flop_per_image;
  const double matmul = matmul_flop_per_s(device);
  nlohmann::json line = {{"bench", "train"},
                         {"config", config.name},
                         {"device", device.str()},
                         {"threads", threads},
                         {"batch", batch},
                         {"steps", args.steps},
                         {"warmup", args.warmup},
                         {"seconds", rounded(seconds, 6)},
                         {"images_per_s", rounded(images_per_s, 1)},
                         {"parameters", parameters},
                         {"mflop_per_image", rounded(flop_per_image / 1e6, 3)},
                         {"gflop_per_s", rounded(achieved / 1e9, 2)},
                         {"matmul_gflop_per_s", rounded(matmul / 1e9, 2)},
                         {"fraction_of_matmul", rounded(achieved / matmul, 3)},
                         {"mean_loss", loss_sum / double(args.steps)},
                         {"torch", TORCH_VERSION}};
  if (device.is_cpu()) {  // on a GPU the phases overlap; only the totals mean something
    const double per_step = 1e3 / double(args.steps);
    line["forward_ms"] = rounded(forward_s * per_step, 3);
    line["backward_ms"] = rounded(backward_s * per_step, 3);
    line["optimizer_ms"] = rounded(update_s * per_step, 3);
  }
  std::cout << line.dump() << std::endl;
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  CLI::App* bench = parent.add_subcommand("bench", "Benchmarks that print JSON lines");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArguments>();
  CLI::App* train = bench->add_subcommand(
      "train", "Time optimizer steps on a random batch of the config's shape; one JSON line");
  add_config_options(train, args->config_path, args->overrides, "JSON config file (default: built-in defaults)",
                     "Override a key, e.g. --set model.latent_dim=32");
  train->add_option("--steps", args->steps, "Timed optimizer steps")->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  train->add_option("--warmup", args->warmup, "Untimed steps before timing")->check(CLI::Range(0, 1000))
      ->capture_default_str();
  train->add_option("--batch", args->batch, "Batch size (overrides train.batch_size)")
      ->check(CLI::PositiveNumber);
  add_run_options(train, args->run);
  return {bench, [args] { return run_bench_train(*args); }};
}

}  // namespace vae
