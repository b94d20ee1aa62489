// Declares every configuration key once (default, range, description, where it lands in Config)
// and implements the strict parsing and validation described in config.h.
#include "vae/config/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "vae/base/errors.h"

namespace vae {
namespace {

using nlohmann::json;

enum class Kind { Int, Float, Bool, String, IntList, IntOrList };

struct Spec {
  std::string key;
  Kind kind;
  json default_value;
  double min;                        // inclusive bounds for numbers and list elements
  double max;
  std::vector<std::string> choices;  // allowed strings; empty = any string
  std::string description;
  std::function<void(Config&, const json&)> assign;
  std::string pattern = {};          // for strings: a regular expression the whole value matches
  std::string pattern_text = {};     // how the pattern reads in messages
};

template <class Section, class Field>
std::function<void(Config&, const json&)> bind(Section Config::*section, Field Section::*field) {
  return [=](Config& config, const json& value) { (config.*section).*field = value.get<Field>(); };
}

Spec int_key(std::string key, int64_t def, int64_t lo, int64_t hi, std::string description,
             std::function<void(Config&, const json&)> assign) {
  return {std::move(key), Kind::Int, def, double(lo), double(hi), {}, std::move(description),
          std::move(assign)};
}
Spec float_key(std::string key, double def, double lo, double hi, std::string description,
               std::function<void(Config&, const json&)> assign) {
  return {std::move(key), Kind::Float, def, lo, hi, {}, std::move(description), std::move(assign)};
}
Spec bool_key(std::string key, bool def, std::string description,
              std::function<void(Config&, const json&)> assign) {
  return {std::move(key), Kind::Bool, def, 0, 0, {}, std::move(description), std::move(assign)};
}
// Any string (see with_pattern); keys with a fixed set of words are choice_keys.
Spec string_key(std::string key, std::string def, std::string description,
                std::function<void(Config&, const json&)> assign) {
  return {std::move(key), Kind::String, def, 0, 0, {}, std::move(description), std::move(assign)};
}
// A key whose value is one of the words of the choice enum E (choices.h), which the binding parses
// into E; the key must be the enum's.
template <class E>
Spec choice_key(std::string key, E def, std::string description,
                std::function<void(Config&, const json&)> assign) {
  if (key != Choices<E>::key) {
    throw std::logic_error(key + " is declared with the choices of " + Choices<E>::key);
  }
  std::vector<std::string> words(Choices<E>::words.begin(), Choices<E>::words.end());
  return {std::move(key), Kind::String, to_string(def), 0, 0, std::move(words), std::move(description),
          std::move(assign)};
}
// An integer for every block, or a list with one per block.
Spec int_or_list_key(std::string key, int64_t def, int64_t lo, int64_t hi, std::string description,
                     std::vector<int64_t> ModelConfig::*field) {
  return {std::move(key), Kind::IntOrList, def, double(lo), double(hi), {}, std::move(description),
          [field](Config& config, const json& value) {
            config.model.*field = value.is_array() ? value.get<std::vector<int64_t>>()
                                                   : std::vector<int64_t>{value.get<int64_t>()};
          }};
}
Spec int_list_key(std::string key, std::vector<int64_t> def, int64_t lo, int64_t hi,
                  std::string description, std::function<void(Config&, const json&)> assign) {
  return {std::move(key), Kind::IntList, def, double(lo), double(hi), {}, std::move(description),
          std::move(assign)};
}

Spec with_pattern(Spec spec, std::string pattern, std::string text) {
  spec.pattern = std::move(pattern);
  spec.pattern_text = std::move(text);
  return spec;
}

// The one place every key is declared. A choice key's words are those of its enum in choices.h;
// bind() parses them into the enum (from_json there).
const std::vector<Spec>& specs() {
  static const std::vector<Spec> table = {
      string_key("name", "vae", "run name; the run directory defaults to runs/<name>",
                 [](Config& c, const json& v) { c.name = v.get<std::string>(); }),
      string_key("description", "", "free text saying what this preset is for (ignored)",
                 [](Config&, const json&) {}),

      choice_key("data.dataset", Dataset::Shapes, "dataset source",
                 bind(&Config::data, &DataConfig::dataset)),
      string_key("data.root", "",
                 "the dataset's unpacked folder, or the folder holding it (unused by shapes)",
                 bind(&Config::data, &DataConfig::root)),
      int_key("data.image_size", 32, 8, 1024, "height and width of the images the model sees",
              bind(&Config::data, &DataConfig::image_size)),
      int_key("data.channels", 1, 1, 3, "1 (gray) or 3 (RGB)",
              bind(&Config::data, &DataConfig::channels)),
      int_key("data.center_crop", 0, 0, 16384, "centre crop before resizing (0 = none)",
              bind(&Config::data, &DataConfig::center_crop)),
      choice_key("data.resize", ResizeMode::Stretch,
                 "how a picture that is not square (after the crop) becomes image_size x image_size: "
                 "stretch it to a square, or resize its shorter side to image_size and keep the centre",
                 bind(&Config::data, &DataConfig::resize)),
      bool_key("data.flip", false, "random horizontal flip of training images",
               bind(&Config::data, &DataConfig::flip)),
      choice_key("data.range", PixelRange::Unit,
                 "pixel value range: unit = [0,1], symmetric = [-1,1]",
                 bind(&Config::data, &DataConfig::range)),
      bool_key("data.binarize", false,
               "dynamic binarisation: each pixel a fresh Bernoulli draw every time it is used",
               bind(&Config::data, &DataConfig::binarize)),
      float_key("data.val_fraction", 0.1, 0.0, 0.9,
                "share of train held out for validation where the dataset has no official split",
                bind(&Config::data, &DataConfig::val_fraction)),
      choice_key("data.val_split", ValSplit::Random,
                 "which training images are carved out for validation: a random subset (by "
                 "train.seed) or the last ones in file order",
                 bind(&Config::data, &DataConfig::val_split)),
      int_key("data.workers", 0, 0, 256, "decoding threads (0 = one per core)",
              bind(&Config::data, &DataConfig::workers)),
      int_key("data.prefetch", 4, 1, 1024, "batches prepared ahead of the trainer",
              bind(&Config::data, &DataConfig::prefetch)),
      bool_key("data.drop_last", false, "drop the last, partial training batch of each epoch",
               bind(&Config::data, &DataConfig::drop_last)),
      bool_key("data.cache", false,
               "decode and transform image files once into a memory-mapped uint8 store",
               bind(&Config::data, &DataConfig::cache)),
      string_key("data.cache_dir", "", "folder of the cache stores (\"\" = $XDG_CACHE_HOME/vae or ~/.cache/vae)",
                 bind(&Config::data, &DataConfig::cache_dir)),
      bool_key("data.skip_missing", false,
               "skip images a split file lists but that are absent (default: error)",
               bind(&Config::data, &DataConfig::skip_missing)),
      bool_key("data.skip_corrupt", false,
               "skip images that cannot be decoded, counting them (default: error)",
               bind(&Config::data, &DataConfig::skip_corrupt)),
      int_key("data.train_size", 20000, 1, 100000000, "items in the shapes training split",
              bind(&Config::data, &DataConfig::train_size)),
      int_key("data.val_size", 1000, 1, 100000000, "items in the shapes validation split",
              bind(&Config::data, &DataConfig::val_size)),
      int_key("data.test_size", 1000, 1, 100000000, "items in the shapes test split",
              bind(&Config::data, &DataConfig::test_size)),

      choice_key("model.type", ModelType::Conv,
                 "conv = convolutional VAE; mlp = fully connected VAE on flattened images",
                 bind(&Config::model, &ModelConfig::type)),
      int_key("model.latent_dim", 10, 1, 4096, "size of the latent code z",
              bind(&Config::model, &ModelConfig::latent_dim)),
      int_list_key("model.hidden_dims", {32, 64, 128}, 1, 4096,
                   "conv: output channels of each encoder block (the decoder mirrors them); "
                   "mlp: widths of the hidden layers",
                   bind(&Config::model, &ModelConfig::hidden_dims)),
      int_or_list_key("model.kernel_size", 4, 1, 15, "conv kernel size, for all blocks or per block",
                      &ModelConfig::kernel_size),
      int_or_list_key("model.stride", 2, 1, 4, "conv stride, for all blocks or per block",
                      &ModelConfig::stride),
      int_or_list_key("model.padding", 1, 0, 7, "conv zero padding, for all blocks or per block",
                      &ModelConfig::padding),
      bool_key("model.batch_norm", false, "BatchNorm in each conv block",
               bind(&Config::model, &ModelConfig::batch_norm)),
      choice_key("model.norm_position", NormPosition::BeforeActivation,
                 "BatchNorm placement: conv-BN-act or conv-act-BN",
                 bind(&Config::model, &ModelConfig::norm_position)),
      choice_key("model.activation", Activation::Relu,
                 "activation of each block (leaky_relu: slope 0.01)",
                 bind(&Config::model, &ModelConfig::activation)),
      choice_key("model.downsample", Downsample::Stride,
                 "encoder down-sampling: strided convs, or conv + activation + 2x2 max-pool",
                 bind(&Config::model, &ModelConfig::downsample)),
      choice_key("model.upsample", Upsample::Mirror,
                 "decoder up-sampling: transposed convs mirroring the encoder, or k2 s2 ones",
                 bind(&Config::model, &ModelConfig::upsample)),
      bool_key("model.refine", false,
               "final refinement block: the last up-sampling keeps the channels, then a k3 conv "
               "to the image channels",
               bind(&Config::model, &ModelConfig::refine)),
      choice_key("model.head", PosteriorHead::Two,
                 "posterior head: two linear layers, or one layer split into mu and logvar",
                 bind(&Config::model, &ModelConfig::head)),
      float_key("model.logvar_clamp", 0.0, 0.0, 100.0, "clamp logvar to [-v, v] (0 = off)",
                bind(&Config::model, &ModelConfig::logvar_clamp)),

      choice_key("loss.likelihood", Likelihood::Bernoulli,
                 "decoder likelihood: gaussian = squared error, bernoulli = BCE on logits",
                 bind(&Config::loss, &LossConfig::likelihood)),
      float_key("loss.beta", 1.0, 0.0, 1e6,
                "weight of the KL term (beta-VAE); gamma of the capacity schedule",
                bind(&Config::loss, &LossConfig::beta)),
      choice_key("loss.recon_reduction", ReconReduction::Sum,
                 "reconstruction term: summed or averaged over pixels",
                 bind(&Config::loss, &LossConfig::recon_reduction)),
      choice_key("loss.kl_reduction", KlReduction::Sum,
                 "KL term: summed over latents, averaged over latents, or summed and divided by "
                 "the pixel count",
                 bind(&Config::loss, &LossConfig::kl_reduction)),
      choice_key("loss.batch_reduction", BatchReduction::Mean,
                 "both terms averaged or summed over the batch",
                 bind(&Config::loss, &LossConfig::batch_reduction)),
      choice_key("loss.kl_schedule", KlSchedule::Constant,
                 "KL weight over training: constant beta, linear warm-up, cyclical (Fu et al. "
                 "2019), or target capacity (Burgess et al. 2018)",
                 bind(&Config::loss, &LossConfig::kl_schedule)),
      int_key("loss.kl_warmup_steps", 10000, 1, 1000000000, "linear: steps from 0 to beta",
              bind(&Config::loss, &LossConfig::kl_warmup_steps)),
      int_key("loss.kl_cycle_steps", 10000, 1, 1000000000, "cyclical: steps per cycle",
              bind(&Config::loss, &LossConfig::kl_cycle_steps)),
      float_key("loss.kl_cycle_ratio", 0.5, 0.01, 1.0,
                "cyclical: share of each cycle in which the weight rises from 0 to beta",
                bind(&Config::loss, &LossConfig::kl_cycle_ratio)),
      float_key("loss.capacity_max", 25.0, 0.0, 1e6, "capacity: final target KL C in nats",
                bind(&Config::loss, &LossConfig::capacity_max)),
      int_key("loss.capacity_steps", 100000, 1, 1000000000,
              "capacity: steps over which C rises linearly from 0 to capacity_max",
              bind(&Config::loss, &LossConfig::capacity_steps)),
      float_key("loss.free_bits", 0.0, 0.0, 100.0,
                "free bits: nats per latent dimension below which KL is not penalised (0 = off; "
                "Kingma et al. 2016)",
                bind(&Config::loss, &LossConfig::free_bits)),

      choice_key("optim.name", OptimizerName::Adam, "optimizer",
                 bind(&Config::optim, &OptimConfig::name)),
      float_key("optim.lr", 1e-3, 1e-8, 10.0, "learning rate",
                bind(&Config::optim, &OptimConfig::lr)),
      float_key("optim.weight_decay", 0.0, 0.0, 1.0, "weight decay (decoupled for adamw)",
                bind(&Config::optim, &OptimConfig::weight_decay)),
      float_key("optim.momentum", 0.9, 0.0, 0.999, "sgd: momentum",
                bind(&Config::optim, &OptimConfig::momentum)),
      choice_key("optim.lr_schedule", LrSchedule::Constant,
                 "learning-rate schedule: exponential (x gamma per epoch), step (x gamma every "
                 "step_epochs), cosine (to lr_min over the run)",
                 bind(&Config::optim, &OptimConfig::lr_schedule)),
      float_key("optim.lr_gamma", 0.95, 1e-6, 1.0, "exponential and step: decay factor",
                bind(&Config::optim, &OptimConfig::lr_gamma)),
      int_key("optim.lr_step_epochs", 10, 1, 100000, "step: epochs between decays",
              bind(&Config::optim, &OptimConfig::lr_step_epochs)),
      float_key("optim.lr_min", 0.0, 0.0, 10.0, "cosine: learning rate at the end",
                bind(&Config::optim, &OptimConfig::lr_min)),
      int_key("optim.warmup_steps", 0, 0, 1000000000,
              "linear learning-rate warm-up from 0 over these steps (0 = none)",
              bind(&Config::optim, &OptimConfig::warmup_steps)),
      float_key("optim.grad_clip", 0.0, 0.0, 1e6, "clip the gradient norm to this (0 = off)",
                bind(&Config::optim, &OptimConfig::grad_clip)),

      int_key("train.epochs", 10, 1, 100000, "passes over the training split",
              bind(&Config::train, &TrainConfig::epochs)),
      int_key("train.max_steps", 0, 0, 1000000000, "stop after this many steps (0 = no limit)",
              bind(&Config::train, &TrainConfig::max_steps)),
      int_key("train.batch_size", 64, 1, 65536, "images per optimizer step",
              bind(&Config::train, &TrainConfig::batch_size)),
      int_key("train.seed", 0, 0, 2147483647, "seed for weights, shuffling and sampling",
              bind(&Config::train, &TrainConfig::seed)),
      with_pattern(string_key("train.device", "auto", "where to train",
                              bind(&Config::train, &TrainConfig::device)),
                   "auto|cpu|mps|cuda(:[0-9]+)?", "auto, cpu, cuda, cuda:N or mps"),
      int_key("train.threads", 0, 0, 1024, "CPU threads for LibTorch (0 = one per core)",
              bind(&Config::train, &TrainConfig::threads)),
      bool_key("train.deterministic", false,
               "CUDA: deterministic cuDNN and algorithms (no cuDNN autotuning), so that a resumed run "
               "equals an uninterrupted one; slower",
               bind(&Config::train, &TrainConfig::deterministic)),
      int_key("train.log_every", 50, 1, 1000000,
              "steps between plain log lines and training rows in metrics.csv",
              bind(&Config::train, &TrainConfig::log_every)),
      int_key("train.grid_images", 64, 1, 1024,
              "images in the sample and reconstruction grids",
              bind(&Config::train, &TrainConfig::grid_images)),
      bool_key("train.tensorboard", true,
               "write TensorBoard event files under <run>/tb (scalars every train.log_every steps, "
               "validation and grids every epoch)",
               bind(&Config::train, &TrainConfig::tensorboard)),
      int_key("train.sample_every", 1, 1, 100000,
              "epochs between sample and reconstruction grids (the last epoch always has them)",
              bind(&Config::train, &TrainConfig::sample_every)),
      choice_key("train.grid_split", GridSplit::Val,
                 "split whose first images the reconstruction grids show",
                 bind(&Config::train, &TrainConfig::grid_split)),
      int_key("train.keep_best", 1, 0, 100,
              "best checkpoints kept by validation loss, as best.pt, best-2.pt, ... (plus last.pt)",
              bind(&Config::train, &TrainConfig::keep_best)),
      int_key("train.early_stop_patience", 0, 0, 100000,
              "stop after this many epochs without a better validation loss (0 = off)",
              bind(&Config::train, &TrainConfig::early_stop_patience)),
      choice_key("train.nonfinite", NonFinite::Stop,
                 "a non-finite loss stops the run, or skips the step (counted)",
                 bind(&Config::train, &TrainConfig::nonfinite)),
      int_key("train.max_nonfinite", 10, 1, 1000000,
              "skip: stop after this many non-finite steps in a row",
              bind(&Config::train, &TrainConfig::max_nonfinite)),
  };
  return table;
}

const Spec* find_spec(const std::string& key) {
  for (const auto& spec : specs()) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string allowed_text(const Spec& spec) {
  const bool integral = spec.kind == Kind::Int || spec.kind == Kind::IntList;
  const auto bound = [&](double value) {
    return integral ? std::to_string(int64_t(value)) : format_number(value);
  };
  const std::string range = "[" + bound(spec.min) + ", " + bound(spec.max) + "]";
  switch (spec.kind) {
    case Kind::Int: return "an integer in " + range;
    case Kind::Float: return "a number in " + range;
    case Kind::Bool: return "true or false";
    case Kind::IntList: return "a non-empty list of integers in " + range;
    case Kind::IntOrList: return "an integer or a non-empty list of integers in " + range;
    case Kind::String: {
      if (!spec.pattern_text.empty()) return spec.pattern_text;
      if (spec.choices.empty()) return "a string";
      std::string text = "one of: ";
      for (size_t i = 0; i < spec.choices.size(); ++i) text += (i ? ", " : "") + spec.choices[i];
      return text;
    }
  }
  return "";
}

bool in_range(const Spec& spec, double value) {
  return std::isfinite(value) && value >= spec.min && value <= spec.max;
}

bool value_is_allowed(const Spec& spec, const json& value) {
  switch (spec.kind) {
    case Kind::Int: return value.is_number_integer() && in_range(spec, value.get<double>());
    case Kind::Float: return value.is_number() && in_range(spec, value.get<double>());
    case Kind::Bool: return value.is_boolean();
    case Kind::String:
      return value.is_string() &&
             (spec.choices.empty() || std::find(spec.choices.begin(), spec.choices.end(),
                                                value.get<std::string>()) != spec.choices.end()) &&
             (spec.pattern.empty() ||
              std::regex_match(value.get<std::string>(), std::regex(spec.pattern)));
    case Kind::IntOrList:
      if (value.is_number_integer()) return in_range(spec, value.get<double>());
      [[fallthrough]];
    case Kind::IntList:
      if (!value.is_array() || value.empty()) return false;
      return std::all_of(value.begin(), value.end(), [&](const json& item) {
        return item.is_number_integer() && in_range(spec, item.get<double>());
      });
  }
  return false;
}

void check_value(const Spec& spec, const json& value, const std::string& source) {
  if (!value_is_allowed(spec, value)) {
    throw ConfigError(source + ": " + spec.key + " must be " + allowed_text(spec) + ", got " +
                      value.dump());
  }
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "did you mean" for an unknown key: the declared key closest in spelling, or one with the same
// last component in another section ("data.lr" -> "optim.lr").
std::string suggestion_for(const std::string& key) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, key.size() / 3) + 1;
  for (const auto& spec : specs()) {
    size_t distance = edit_distance(key, spec.key);
    if (leaf_of(key) == leaf_of(spec.key)) distance = std::min<size_t>(distance, 1);
    if (distance < best_distance) {
      best_distance = distance;
      best = spec.key;
    }
  }
  return best;
}

[[noreturn]] void throw_unknown_key(const std::string& key, const std::string& source) {
  std::string message = source + ": unknown key '" + key + "'";
  const std::string guess = suggestion_for(key);
  if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
  message += "; `vae train --list-keys` lists every key";
  throw ConfigError(message);
}

bool is_section(const std::string& name) {
  return name == "data" || name == "model" || name == "loss" || name == "optim" || name == "train";
}

void set_at(json& resolved, const std::string& key, const json& value) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    resolved[key] = value;
  } else {
    resolved[key.substr(0, dot)][key.substr(dot + 1)] = value;
  }
}

// Line and column (1-based) of a byte offset, for malformed-JSON messages.
std::pair<size_t, size_t> line_and_column(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

std::string leaf_of(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string markdown_row(const ParamInfo& param) {
  const auto cell = [](std::string text) {
    for (size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.insert(at, "\\");
    return text;
  };
  return "| `" + param.key + "` | `" + cell(param.default_value.dump()) + "` | " + cell(param.allowed) + " | " +
         cell(param.description) + " |";
}

const std::vector<std::string>& keys_resume_may_change() {
  static const std::vector<std::string> keys = {
      "name", "train.epochs", "train.max_steps", "train.device", "train.threads", "train.deterministic",
      "train.log_every", "train.grid_images", "train.sample_every", "train.grid_split",
      "train.tensorboard", "train.keep_best", "train.early_stop_patience", "train.nonfinite",
      "train.max_nonfinite", "data.root", "data.workers", "data.prefetch", "data.cache",
      "data.cache_dir", "data.skip_missing", "data.skip_corrupt"};
  return keys;
}

const json& value_at(const json& resolved, const std::string& key) {
  const auto dot = key.find('.');
  if (dot == std::string::npos) return resolved.at(key);
  return resolved.at(key.substr(0, dot)).at(key.substr(dot + 1));
}

void check_resume_changes(const nlohmann::json& stored, const nlohmann::json& resolved,
                          const std::string& run_dir) {
  const auto& free = keys_resume_may_change();
  for (const auto& param : config_params()) {
    if (std::find(free.begin(), free.end(), param.key) != free.end()) continue;
    const nlohmann::json& before = value_at(stored, param.key);
    const nlohmann::json& after = value_at(resolved, param.key);
    if (before == after) continue;
    const std::string& key = param.key;
    const char* what = key.rfind("model.", 0) == 0  ? "it changes the model"
                       : key.rfind("loss.", 0) == 0 ? "it changes the objective, so losses before and after would not compare"
                       : key.rfind("optim.", 0) == 0 ? "it changes the optimizer and its schedule"
                       : key.rfind("data.", 0) == 0  ? "it changes the data the model sees"
                                                     : "it changes what the run computes";
    throw ConfigError("--set " + key + "=" + after.dump() + ": " + key + " cannot change when resuming (" + what +
                      "; the run has " + before.dump() + "); start a new run from its config instead: vae train "
                      "--config " + run_dir + "/config.json --set " + key + "=" + after.dump() + " --out NEW_RUN");
  }
}


const std::vector<ParamInfo>& config_params() {
  static const std::vector<ParamInfo> params = [] {
    std::vector<ParamInfo> out;
    for (const auto& spec : specs()) {
      out.push_back({spec.key, allowed_text(spec), spec.default_value, spec.description});
    }
    return out;
  }();
  return params;
}

json default_config_json() {
  json resolved = json::object();
  for (const auto& spec : specs()) set_at(resolved, spec.key, spec.default_value);
  return resolved;
}

json resolve_config_json(const json& document, const std::string& source) {
  if (!document.is_object()) {
    throw ConfigError(source + ": the config must be a JSON object with sections data, model, "
                      "loss, optim, train");
  }
  json resolved = default_config_json();
  for (const auto& [name, value] : document.items()) {
    if (is_section(name)) {
      if (!value.is_object()) {
        throw ConfigError(source + ": section '" + name + "' must be a JSON object, got " +
                          value.dump());
      }
      for (const auto& [leaf, item] : value.items()) {
        const std::string key = name + "." + leaf;
        const Spec* spec = find_spec(key);
        if (spec == nullptr) throw_unknown_key(key, source);
        check_value(*spec, item, source);
        set_at(resolved, key, item);
      }
    } else {
      const Spec* spec = find_spec(name);
      if (spec == nullptr) throw_unknown_key(name, source);
      check_value(*spec, value, source);
      set_at(resolved, name, value);
    }
  }
  return resolved;
}

namespace {

// The keys that hold a path. A relative one is anchored when it is read, so that a run finds its
// data from any working directory and its stored config.json holds where the files were: a path
// in a config file is taken from that file's folder, one given with --set from the current folder.
const std::vector<std::string>& path_keys() {
  static const std::vector<std::string> keys = {"data.root", "data.cache_dir"};
  return keys;
}

void anchor_path(json& resolved, const std::string& key, const std::filesystem::path& base) {
  const std::string text = value_at(resolved, key).get<std::string>();
  if (text.empty() || std::filesystem::path(text).is_absolute()) return;
  // A config file named without a folder ("photos.json") sits in the current folder.
  const std::filesystem::path folder = base.empty() ? std::filesystem::current_path() : std::filesystem::absolute(base);
  set_at(resolved, key, (folder / text).lexically_normal().string());
}

}  // namespace

void apply_override(json& resolved, const std::string& assignment, const std::string& source) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError(source + " expects KEY=VALUE (e.g. " + source + " train.epochs=3), got '" +
                      assignment + "'");
  }
  const std::string key = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);
  const Spec* spec = find_spec(key);
  if (spec == nullptr) throw_unknown_key(key, source);
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  // Strings may be given bare (--set data.dataset=shapes); anything unparsable is taken as text.
  if (value.is_discarded() || (spec->kind == Kind::String && !value.is_string())) value = text;
  // JSON text is UTF-8: a value that is not (a mistyped byte on the command line) could not be
  // written into the run's config.json later.
  if (value.is_string()) {
    try {
      (void)value.dump();
    } catch (const json::type_error&) {
      throw ConfigError(source + " " + key + ": the value is not valid UTF-8 text; retype it");
    }
  }
  check_value(*spec, value, source);
  set_at(resolved, key, value);
  const auto& paths = path_keys();
  if (std::find(paths.begin(), paths.end(), key) != paths.end()) anchor_path(resolved, key, std::filesystem::current_path());
}

json load_config_json(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code status_error;
  if (std::filesystem::exists(path, status_error) && !std::filesystem::is_regular_file(path, status_error)) {
    throw ConfigError("config file '" + path + "' is not a regular file (a folder, FIFO or device); give a JSON file");
  }
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const std::string reason = errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : "";
    throw ConfigError("config file '" + path + "' cannot be opened" + reason +
                      "; check the path (the presets live in configs/)");
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string text = buffer.str();
  json document;
  // JSON objects may repeat a key and parsers keep the last one silently; a config that does
  // ({"train": {...}, "train": {...}}) loses settings, so a repeated key is refused.
  std::vector<std::set<std::string>> keys_seen;  // one set per open object
  std::vector<std::string> key_path;             // the key of each open object's current member
  std::string repeated;
  const json::parser_callback_t check_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys_seen.emplace_back();
    } else if (event == json::parse_event_t::object_end && !keys_seen.empty()) {
      keys_seen.pop_back();
      if (!key_path.empty() && key_path.size() > keys_seen.size()) key_path.pop_back();
    } else if (event == json::parse_event_t::key && !keys_seen.empty()) {
      const std::string key = parsed.get<std::string>();
      key_path.resize(keys_seen.size());
      key_path.back() = key;
      if (!keys_seen.back().insert(key).second && repeated.empty()) {
        for (const auto& part : key_path) repeated += (repeated.empty() ? "" : ".") + part;
      }
    }
    return true;
  };
  try {
    document = json::parse(text, check_keys);
  } catch (const json::out_of_range& error) {
    // A number beyond double's range (1e400) is malformed input too.
    std::string detail = error.what();
    const auto bracket = detail.find("] ");
    if (bracket != std::string::npos) detail = detail.substr(bracket + 2);
    throw ConfigError(path + ": malformed JSON: " + detail + "; numbers must fit a double (about 1.8e308)");
  } catch (const json::parse_error& error) {
    const auto [line, column] = line_and_column(text, error.byte == 0 ? 0 : error.byte - 1);
    std::string detail = error.what();
    const auto colon = detail.find(": ", detail.find("column"));
    if (colon != std::string::npos) detail = detail.substr(colon + 2);
    throw ConfigError(path + ":" + std::to_string(line) + ":" + std::to_string(column) +
                      ": malformed JSON: " + detail);
  }
  if (!repeated.empty()) {
    throw ConfigError(path + ": key " + repeated + " appears twice in one object; JSON would keep only the "
                      "last, so merge the two into one");
  }
  json resolved = resolve_config_json(document, path);
  for (const auto& key : path_keys()) anchor_path(resolved, key, std::filesystem::path(path).parent_path());
  for (const auto& assignment : overrides) apply_override(resolved, assignment);
  return resolved;
}

json config_json_or_defaults(const std::string& path, const std::vector<std::string>& overrides) {
  if (!path.empty()) return load_config_json(path, overrides);
  json resolved = default_config_json();
  for (const auto& assignment : overrides) apply_override(resolved, assignment);
  return resolved;
}

Config config_from_json(const json& resolved) {
  Config config;
  for (const auto& spec : specs()) {
    const json* value = nullptr;
    try {
      value = &value_at(resolved, spec.key);
    } catch (const json::exception&) {
      throw ConfigError("config: missing key " + spec.key);
    }
    check_value(spec, *value, "config");
    spec.assign(config, *value);
  }
  // The run folder is runs/<name>: one path component, so that a run cannot be written (nor
  // runs/latest pointed) outside runs/.
  if (config.name.empty() || config.name == "." || config.name == ".." ||
      config.name.find_first_of("/\\") != std::string::npos || config.name.find('\0') != std::string::npos ||
      config.name == "latest" || config.name.size() > 200) {
    throw ConfigError("config: name " + nlohmann::json(config.name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                      " is not a run name; use one folder name without '/' (not '.', '..' or 'latest', at most "
                      "200 characters): the run goes to runs/<name> (or --out DIR for another place)");
  }
  if (config.data.dataset != Dataset::Shapes && config.data.root.empty()) {
    throw ConfigError("config: data.root is required for data.dataset=" + to_string(config.data.dataset) +
                      "; point it at the unpacked dataset (see scripts/download/)");
  }
  if (config.model.type == ModelType::Conv) {
    const size_t blocks = config.model.hidden_dims.size();
    per_block(config.model.kernel_size, blocks, "model.kernel_size", "config: ");
    per_block(config.model.stride, blocks, "model.stride", "config: ");
    per_block(config.model.padding, blocks, "model.padding", "config: ");
  }
  if (config.data.binarize && config.data.range != PixelRange::Unit) {
    throw ConfigError("config: data.binarize needs data.range=\"unit\", got data.range=\"" +
                      to_string(config.data.range) + "\"");
  }
  if (config.loss.likelihood == Likelihood::Bernoulli && config.data.range != PixelRange::Unit) {
    throw ConfigError("config: loss.likelihood=bernoulli needs data.range=\"unit\" (pixel values "
                      "in [0, 1]), got data.range=\"" + to_string(config.data.range) +
                      "\"; use loss.likelihood=gaussian for [-1, 1] data");
  }
  return config;
}

const Config& default_config() {
  static const Config config = config_from_json(default_config_json());
  return config;
}

std::vector<int64_t> per_block(const std::vector<int64_t>& values, size_t blocks, const std::string& key,
                               const std::string& where) {
  if (values.size() != 1 && values.size() != blocks) {
    throw ConfigError(where + key + " has " + std::to_string(values.size()) + " values for " +
                      std::to_string(blocks) +
                      " blocks of model.hidden_dims; give one value or one per block");
  }
  return values.size() == blocks ? values : std::vector<int64_t>(blocks, values.front());
}

}  // namespace vae
