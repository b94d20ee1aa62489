// Sweeps; see sweep.h.
#include "vae/train/sweep.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include <spdlog/spdlog.h>

#include "vae/base/clock.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/base/logging.h"
#include "vae/base/signals.h"
#include "vae/base/text.h"
#include "vae/config/config.h"
#include "vae/data/pixels.h"
#include "vae/model/model.h"
#include "vae/tensor/device.h"
#include "vae/tensor/images.h"
#include "vae/train/checkpoint.h"
#include "vae/train/run_dir.h"
#include "vae/train/runs.h"
#include "vae/train/trainer.h"

namespace vae {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int64_t kSamplesPerRun = 8;
constexpr size_t kMaxLabelLength = 80;

// Splits "a,[1,2],b" on the commas outside brackets, braces and double-quoted strings.
std::vector<std::string> split_top_level(const std::string& text, const std::string& option) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      current += c;
      if (c == '\\' && i + 1 < text.size()) {
        current += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) {
        throw ConfigError("--grid " + option + ": unbalanced '" + std::string(1, c) +
                          "'; write list values as model.hidden_dims=[32,64],[64,128]");
      }
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (depth != 0 || in_string) {
    throw ConfigError("--grid " + option + ": unclosed " + (in_string ? "'\"'" : "'['") +
                      "; write list values as model.hidden_dims=[32,64],[64,128]");
  }
  parts.push_back(current);
  return parts;
}

// Strings bare, everything else as compact JSON: 2, 0.5, [8,16], true.
std::string display_value(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// "model.latent_dim=2, loss.beta=4", for logs and messages.
std::string describe(const std::vector<GridAxis>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (size_t a = 0; a < axes.size(); ++a) {
    text += (a ? ", " : "") + axes[a].key + "=" + values[a];
  }
  return text;
}

std::string index_text(int64_t index, size_t total) {
  const size_t width = std::max<size_t>(2, std::to_string(total).size());
  std::string text = std::to_string(index);
  return std::string(width > text.size() ? width - text.size() : 0, '0') + text;
}

// Epochs, steps and last validation of a run that did not finish, from its last checkpoint.
void fill_from_checkpoint(SweepRun& run) {
  const fs::path last = run.dir / "checkpoints" / "last.pt";
  if (!fs::is_regular_file(last)) return;
  try {
    const CheckpointReader reader(last.string());
    run.epochs = epochs_done(reader.meta());
    run.steps = reader.meta().step;
    if (run.action == "kept") run.seconds = reader.meta().metrics.value("seconds", 0.0);
    if (reader.meta().metrics.contains("last_val")) run.validation = reader.meta().metrics["last_val"];
  } catch (const Error& error) {
    spdlog::warn("run {}: {}", run.index, error.what());
  }
}

double term(const SweepRun& run, const char* name) {
  if (!run.validation.is_object() || !run.validation.contains(name) ||
      !run.validation[name].is_number()) {
    return std::nan("");
  }
  return run.validation[name].get<double>();
}

std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (const char c : text) {
    if (c == '|') {
      cell += "\\|";
    } else if (c == '\n' || c == '\r') {
      cell += ' ';
    } else {
      cell += c;
    }
  }
  return cell;
}

// A number to `digits` significant digits, or "" when unknown.
std::string number_text(double value, int digits) {
  return std::isfinite(value) ? fmt::format("{:.{}g}", value, digits) : std::string();
}

std::string count_text(int64_t value) { return value < 0 ? std::string() : std::to_string(value); }

std::string status_text(const SweepRun& run) {
  return run.action == "trained" ? run.status : run.status + " (" + run.action + ")";
}

const char* kTermNames[] = {"loss", "recon", "kl", "elbo"};

void write_text(const fs::path& path, const std::string& text) {
  write_file_atomically(path.string(), text.data(), text.size());
}

// kSamplesPerRun images from each run's last checkpoint, decoded on the CPU from the noise of
// `seed` (what `vae sample --seed S -n 8` draws). One grid with a row per run when all runs share
// image size and channels, else one samples-<index>.png per run. Returns the files written.
std::vector<fs::path> write_samples(const fs::path& sweep_dir, const std::vector<SweepRun>& runs,
                                    int64_t seed, size_t planned) {
  std::vector<torch::Tensor> rows(runs.size());
  std::vector<int64_t> shape;
  bool same_shape = true;
  const torch::Device cpu(torch::kCPU);
  for (size_t r = 0; r < runs.size(); ++r) {
    const fs::path last = runs[r].dir / "checkpoints" / "last.pt";
    if (!fs::is_regular_file(last)) {
      spdlog::warn("run {} has no checkpoints/last.pt: no samples for it", runs[r].index);
      continue;
    }
    try {
      CheckpointReader reader(last.string());
      VAE model = reader.load_model(cpu);
      model->eval();
      const Config config = config_from_json(reader.meta().config);
      auto generator = at::detail::createCPUGenerator(uint64_t(seed));
      torch::NoGradGuard no_grad;
      rows[r] = to_unit_range(model->sample(kSamplesPerRun, 1.0, cpu, generator), config.data.range)
                    .to(torch::kFloat);
    } catch (const Error& error) {
      spdlog::warn("run {}: no samples: {}", runs[r].index, error.what());
      continue;
    }
    const auto tile = rows[r].sizes().slice(1).vec();
    if (shape.empty()) {
      shape = tile;
    } else if (tile != shape) {
      same_shape = false;
    }
  }
  std::vector<fs::path> written;
  if (shape.empty()) {
    spdlog::warn("no run has a checkpoint: no samples written");
    return written;
  }
  if (same_shape) {
    std::vector<int64_t> blank_shape = {kSamplesPerRun};
    blank_shape.insert(blank_shape.end(), shape.begin(), shape.end());
    std::vector<torch::Tensor> filled;
    for (const auto& row : rows) {
      // A run without a model keeps its row, blank, so that rows match run numbers.
      filled.push_back(row.defined() ? row : torch::full(blank_shape, kGridPadValue));
    }
    const fs::path path = sweep_dir / "samples.png";
    write_grid_png(path.string(), torch::cat(filled), kSamplesPerRun);
    written.push_back(path);
    return written;
  }
  spdlog::warn("the runs differ in image size or channels, so their samples cannot share one "
               "picture: writing samples-<run>.png per run instead");
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!rows[r].defined()) continue;
    const fs::path path = sweep_dir / ("samples-" + index_text(runs[r].index, planned) + ".png");
    write_grid_png(path.string(), rows[r], kSamplesPerRun);
    written.push_back(path);
  }
  return written;
}

// summary.csv, summary.md and the samples of the runs started so far; prints their paths.
void write_outputs(const fs::path& sweep_dir, const SweepOptions& args,
                   const std::vector<GridAxis>& axes, const std::vector<SweepRun>& runs,
                   size_t planned) {
  std::vector<SweepRun> started;
  for (const auto& run : runs) {
    if (run.status != "pending") started.push_back(run);
  }
  const fs::path csv = sweep_dir / "summary.csv";
  const fs::path markdown = sweep_dir / "summary.md";
  write_sweep_csv(csv, axes, started);
  write_sweep_markdown(markdown, args.config_path, args.overrides, axes, started, planned);
  std::vector<fs::path> written = {csv, markdown};
  for (const auto& path : write_samples(sweep_dir, started, args.seed, planned)) written.push_back(path);
  if (args.on_output) {
    for (const auto& path : written) args.on_output(path);
  }
}

}  // namespace

GridAxis parse_grid_option(const std::string& option) {
  const auto equals = option.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("--grid expects KEY=V1,V2,... (e.g. --grid model.latent_dim=2,4,8), got '" +
                      option + "'");
  }
  GridAxis axis{option.substr(0, equals), split_top_level(option.substr(equals + 1), option)};
  for (const auto& value : axis.values) {
    if (value.empty()) {
      throw ConfigError("--grid " + option + ": empty value; separate the values of " + axis.key +
                        " with single commas (e.g. " + axis.key + "=2,4,8)");
    }
  }
  return axis;
}

std::vector<GridAxis> parse_grid(const std::vector<std::string>& options) {
  std::vector<GridAxis> axes;
  for (const auto& option : options) {
    axes.push_back(parse_grid_option(option));
    for (size_t a = 0; a + 1 < axes.size(); ++a) {
      if (axes[a].key == axes.back().key) {
        throw ConfigError("--grid: key " + axes.back().key + " is given twice; list all its values "
                          "in one --grid " + axes.back().key + "=V1,V2,...");
      }
    }
  }
  return axes;
}

std::string run_label(const std::vector<GridAxis>& axes, const std::vector<std::string>& values) {
  std::string label;
  for (size_t a = 0; a < axes.size(); ++a) {
    if (!label.empty()) label += '_';
    const std::string part = leaf_of(axes[a].key) + "=" + values[a];
    for (const unsigned char c : part) {
      if (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '=' || c == '+') {
        label += char(c);
      } else if (c == ',') {
        label += '-';
      } else if (c == '[' || c == ']' || c == '{' || c == '}' || c == '"' || c == ' ') {
        // dropped: [8,16] becomes 8-16
      } else {
        label += '_';
      }
    }
  }
  if (label.size() > kMaxLabelLength) label.resize(kMaxLabelLength);
  return label;
}

std::vector<SweepRun> plan_sweep(const std::vector<GridAxis>& axes, const json& base) {
  size_t total = 1;
  for (const auto& axis : axes) total *= axis.values.size();
  std::vector<SweepRun> runs;
  runs.reserve(total);
  std::vector<size_t> choice(axes.size(), 0);  // odometer over the axes, the last varying fastest
  for (size_t r = 0; r < total; ++r) {
    SweepRun run;
    run.index = int64_t(r) + 1;
    run.config = base;
    std::vector<std::string> typed;
    for (size_t a = 0; a < axes.size(); ++a) {
      const std::string& text = axes[a].values[choice[a]];
      typed.push_back(text);
      apply_override(run.config, axes[a].key + "=" + text, "--grid");
      run.values.push_back(display_value(value_at(run.config, axes[a].key)));
    }
    try {
      const Config config = config_from_json(run.config);
      resolve_device(config.train.device, "train.device");
      VAE probe(ModelOptions::from_config(config));  // throws ConfigError for impossible layouts
    } catch (const ConfigError& error) {
      throw ConfigError("--grid " + describe(axes, typed) + ": " + error.what());
    }
    runs.push_back(std::move(run));
    for (size_t a = axes.size(); a-- > 0;) {
      if (++choice[a] < axes[a].values.size()) break;
      choice[a] = 0;
    }
  }
  return runs;
}

fs::path open_sweep_dir(const std::string& out, const std::string& name,
                        const std::vector<std::string>& run_folders, bool* resuming) {
  *resuming = false;
  if (out.empty()) {
    const fs::path dir = first_free_path("runs", name + "-sweep");
    ensure_directory(dir);
    return dir;
  }
  const fs::path dir = out;
  std::error_code error;
  if (fs::exists(dir) && (!fs::is_directory(dir) || !fs::is_empty(dir))) {
    const bool has_summary = fs::is_regular_file(dir / "summary.csv", error);
    bool has_planned = false;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      if (!entry.is_directory(error) || entry.is_symlink(error)) continue;
      const std::string folder = entry.path().filename().string();
      const bool planned = std::find(run_folders.begin(), run_folders.end(), folder) != run_folders.end();
      has_planned = has_planned || planned;
      if (!planned && holds_run(entry.path())) {
        throw ConfigError("--out " + out + ": holds run " + folder + ", which this grid does not plan; "
                          "continue a sweep with the --config, --grid and --set it was started with, or "
                          "choose another --out");
      }
    }
    if (!has_summary && !has_planned) {
      throw ConfigError("--out " + out + ": already exists and is not an empty folder or a sweep of this "
                        "grid; a sweep needs a new folder for its runs and summary, choose another --out");
    }
    *resuming = true;
  }
  ensure_directory(dir);
  return dir;
}

void write_sweep_csv(const fs::path& path, const std::vector<GridAxis>& axes,
                       const std::vector<SweepRun>& runs) {
  std::ostringstream out;
  out << "run";
  for (const auto& axis : axes) out << "," << csv_field(axis.key);
  out << ",epochs,steps,val_loss,val_recon,val_kl,val_elbo,seconds,run_dir,status,action,error\n";
  for (const auto& run : runs) {
    out << run.index;
    for (const auto& value : run.values) out << "," << csv_field(value);
    out << "," << epochs_text(run.epochs) << "," << count_text(run.steps);
    for (const char* name : kTermNames) out << "," << number_text(term(run, name), 6);
    out << "," << fmt::format("{:.2f}", run.seconds) << "," << csv_field(run.dir.string()) << ","
        << run.status << "," << run.action << "," << csv_field(run.message) << "\n";
  }
  write_text(path, out.str());
}

void write_sweep_markdown(const fs::path& path, const std::string& config_path,
                          const std::vector<std::string>& overrides, const std::vector<GridAxis>& axes,
                          const std::vector<SweepRun>& runs, size_t planned) {
  std::ostringstream out;
  out << "# vae sweep of " << config_path << " over ";
  for (size_t a = 0; a < axes.size(); ++a) {
    out << (a ? " x " : "") << axes[a].key << " in {";
    for (size_t v = 0; v < axes[a].values.size(); ++v) out << (v ? ", " : "") << axes[a].values[v];
    out << "}";
  }
  if (!overrides.empty()) {
    out << " (--set";
    for (const auto& assignment : overrides) out << " " << assignment;
    out << ")";
  }
  out << "\n\n| run";
  for (const auto& axis : axes) out << " | " << axis.key;
  out << " | epochs | steps | val_loss | val_recon | val_kl | val_elbo | seconds | run_dir | status |\n";
  out << "| ---";
  for (size_t a = 0; a < axes.size(); ++a) out << " | ---";
  out << " | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n";
  for (const auto& run : runs) {
    out << "| " << run.index;
    for (const auto& value : run.values) out << " | " << markdown_cell(value);
    out << " | " << epochs_text(run.epochs) << " | " << count_text(run.steps);
    for (const char* name : kTermNames) out << " | " << number_text(term(run, name), 4);
    out << " | " << number_text(run.seconds, 4) << " | " << markdown_cell(run.dir.string())
        << " | " << status_text(run) << " |\n";
  }
  bool notes = false;
  for (const auto& run : runs) {
    if (run.message.empty()) continue;
    out << (notes ? "" : "\n") << "- run " << run.index << " " << run.status << ": "
        << markdown_cell(run.message) << "\n";
    notes = true;
  }
  if (runs.size() < planned) {
    out << "\nThe sweep was stopped: " << runs.size() << " of " << planned
        << " runs were started.\n";
  }
  write_text(path, out.str());
}

namespace {

// For a sweep folder opened again: each run that finished is kept (when its epochs and max_steps
// are still the plan's), one with a checkpoint is resumed, one without is trained afresh (its
// folder holds no state worth keeping). Every existing run's stored config must agree with the
// plan on the keys that --resume may not change; checked for all runs before any trains.
std::string continue_hint(const fs::path& sweep_dir) {
  return "to continue the sweep, run the same command with --out " + sweep_dir.string();
}

void plan_continuation(std::vector<SweepRun>& runs) {
  for (auto& run : runs) {
    const RunRecord record = read_run(run.dir);
    std::error_code error;
    if (!fs::is_regular_file(run.dir / "checkpoints" / "last.pt", error)) {
      if (fs::exists(run.dir, error)) fs::remove_all(run.dir, error);
      continue;
    }
    const json stored = CheckpointReader((run.dir / "checkpoints" / "last.pt").string()).meta().config;
    check_resume_changes(stored, run.config, run.dir.string());
    const bool same_length = stored["train"]["epochs"] == run.config["train"]["epochs"] &&
                             stored["train"]["max_steps"] == run.config["train"]["max_steps"];
    if (record.state == RunState::Finished && same_length) {
      run.action = "kept";
      run.status = "ok";
      fill_from_checkpoint(run);
    } else {
      run.action = "resumed";
    }
  }
}

}  // namespace

void run_sweep(const SweepOptions& args) {
  if (args.config_path.empty()) {
    throw ConfigError("vae sweep needs --config FILE (e.g. configs/shapes.json)");
  }
  if (args.grids.empty()) {
    throw ConfigError("vae sweep needs at least one --grid KEY=V1,V2,... (e.g. --grid "
                      "model.latent_dim=2,4,8)");
  }
  const std::vector<GridAxis> axes = parse_grid(args.grids);
  for (const auto& assignment : args.overrides) {
    const std::string key = assignment.substr(0, assignment.find('='));
    const bool in_grid = std::any_of(axes.begin(), axes.end(), [&](const GridAxis& axis) { return axis.key == key; });
    if (in_grid) spdlog::warn("--set {} is replaced by the --grid values of {}", assignment, key);
  }
  json base = load_config_json(args.config_path, args.overrides);
  apply_run_options(base, args.device, args.threads);
  std::vector<SweepRun> runs = plan_sweep(axes, base);
  const size_t total = runs.size();

  std::vector<std::string> folders;
  for (const auto& run : runs) folders.push_back(index_text(run.index, total) + "-" + run_label(axes, run.values));
  bool resuming = false;
  const fs::path sweep_dir = open_sweep_dir(args.out, base.value("name", std::string("vae")), folders, &resuming);
  for (size_t r = 0; r < runs.size(); ++r) runs[r].dir = sweep_dir / folders[r];
  if (resuming) plan_continuation(runs);
  spdlog::info("sweep of {} runs into {}{}", total, sweep_dir.string(), resuming ? " (continuing it)" : "");
  install_stop_handlers();

  size_t failures = 0;
  std::string first_failure;
  for (auto& run : runs) {
    const std::string what = describe(axes, run.values);
    if (const int signal_number = stop_requested()) {
      write_outputs(sweep_dir, args, axes, runs, total);
      throw Interrupted(fmt::format("sweep stopped by {} before run {}/{}; summary of the runs "
                                    "finished so far in {}; {}",
                                    signal_name(signal_number), run.index, total,
                                    (sweep_dir / "summary.md").string(), continue_hint(sweep_dir)),
                        signal_number);
    }
    if (run.action == "kept") {
      spdlog::info("run {}/{}: {}: finished earlier, kept", run.index, total, what);
      continue;
    }
    spdlog::info("run {}/{}: {}{}", run.index, total, what, run.action == "resumed" ? " (resuming it)" : "");
    const auto start = Clock::now();
    try {
      const bool resume = run.action == "resumed";
      const TrainSummary summary = run_training(TrainOptions{run.config, resume ? "" : run.dir.string(),
                                                             resume ? run.dir.string() : "", args.nan_at_step});
      run.status = "ok";
      run.validation = summary.final_validation;
      fill_from_checkpoint(run);  // epochs as a decimal, steps
      run.seconds = seconds_since(start);
      spdlog::info("run {}/{} done in {}: validation loss {}", run.index, total,
                   format_duration(run.seconds), number_text(term(run, "loss"), 4));
    } catch (const Interrupted& error) {
      remove_log_files();
      run.status = "interrupted";
      run.message = error.what();
      run.seconds = seconds_since(start);
      fill_from_checkpoint(run);
      write_outputs(sweep_dir, args, axes, runs, total);
      throw Interrupted(fmt::format("sweep stopped during run {}/{} ({}): {}; summary of the runs "
                                    "so far in {}; {}",
                                    run.index, total, what, error.what(),
                                    (sweep_dir / "summary.md").string(), continue_hint(sweep_dir)),
                        error.exit_code() - 128);
    } catch (const std::exception& error) {
      remove_log_files();
      run.status = "failed";
      const std::string message = error_message(error);
      run.message = message.substr(0, message.find('\n'));
      run.seconds = seconds_since(start);
      fill_from_checkpoint(run);
      spdlog::error("run {}/{} ({}) failed: {}; continuing with the next run", run.index, total,
                    what, run.message);
      if (failures++ == 0) first_failure = fmt::format("run {} ({}): {}", run.index, what, run.message);
    }
  }
  write_outputs(sweep_dir, args, axes, runs, total);
  if (failures > 0) {
    throw Error(fmt::format("{} of {} sweep runs failed, first {}; see {}", failures, total,
                            first_failure, (sweep_dir / "summary.md").string()));
  }
}

}  // namespace vae
