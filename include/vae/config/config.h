// The run configuration: five sections (data, model, loss, optim, train) plus a top-level name.
// Every key is declared once, in config.cpp, with its default, allowed range and description;
// parsing is strict (unknown keys, wrong types and out-of-range values are ConfigErrors that name
// the key, the value and what is allowed), and `--set key=value` overrides go through the same checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vae/config/choices.h"

namespace vae {

struct DataConfig {
  Dataset dataset;       // which source: shapes (built in), mnist, cifar10, celeba, folder, ...
  std::string root;      // the dataset's unpacked folder or the folder holding it
  int64_t image_size;    // height = width of the images the model sees
  int64_t channels;      // 1 (gray) or 3 (RGB)
  int64_t center_crop;   // centre crop before resizing; 0 = none
  ResizeMode resize;     // stretch a non-square picture to a square, or scale its shorter side and crop
  bool flip;             // random horizontal flip (training split only)
  PixelRange range;      // unit = [0, 1] or symmetric = [-1, 1]
  bool binarize;         // dynamic binarisation: a fresh Bernoulli draw per use
  double val_fraction;   // validation share carved from train where there is no official split
  ValSplit val_split;    // random (by train.seed) | last (the last files, in file order)
  int64_t workers;       // decoding threads (0 = one per core)
  int64_t prefetch;      // batches decoded ahead of the trainer
  bool drop_last;        // drop the last, partial training batch
  bool cache;            // decode once into a memory-mapped uint8 store
  std::string cache_dir;  // folder of the cache stores ("" = $XDG_CACHE_HOME/vae or ~/.cache/vae)
  bool skip_missing;     // skip images a split file lists but that are absent
  bool skip_corrupt;     // skip images that cannot be decoded
  int64_t train_size;    // items in the procedural training split
  int64_t val_size;      // items in the procedural validation split
  int64_t test_size;     // items in the procedural test split
};

struct ModelConfig {
  ModelType type;                     // conv | mlp
  int64_t latent_dim;
  std::vector<int64_t> hidden_dims;   // conv: channels of each encoder block; mlp: layer widths
  std::vector<int64_t> kernel_size;   // per block, or one value for all
  std::vector<int64_t> stride;        // per block, or one value for all
  std::vector<int64_t> padding;       // per block, or one value for all
  bool batch_norm;
  NormPosition norm_position;         // before_activation (conv-BN-act) | after_activation (conv-act-BN)
  Activation activation;              // relu | leaky_relu | silu
  Downsample downsample;              // stride (strided convs) | maxpool (conv, act, 2x2 max-pool)
  Upsample upsample;                  // mirror (transposed convs mirroring the encoder) | convt2 (k2 s2)
  bool refine;                        // final refinement block before the output conv
  PosteriorHead head;                 // two (mu and logvar layers) | split (one layer, split in two)
  double logvar_clamp;                // clamp logvar to [-v, v]; 0 = off
};

struct LossConfig {
  Likelihood likelihood;          // gaussian | bernoulli
  double beta;                    // weight of the KL term (gamma for the capacity schedule)
  ReconReduction recon_reduction; // sum | mean over pixels
  KlReduction kl_reduction;       // sum | mean over latents | per_pixel (sum / pixels)
  BatchReduction batch_reduction; // mean | sum over the batch
  KlSchedule kl_schedule;         // constant | linear | cyclical | capacity
  int64_t kl_warmup_steps;        // linear: steps to reach beta
  int64_t kl_cycle_steps;         // cyclical: steps per cycle
  double kl_cycle_ratio;          // cyclical: share of each cycle spent increasing
  double capacity_max;            // capacity: target C in nats
  int64_t capacity_steps;         // capacity: steps to reach capacity_max
  double free_bits;               // free bits per latent dimension in nats (0 = off)
};

struct OptimConfig {
  OptimizerName name;          // adam | adamw | sgd
  double lr;
  double weight_decay;
  double momentum;             // sgd
  LrSchedule lr_schedule;      // constant | exponential | step | cosine
  double lr_gamma;             // exponential: factor per epoch; step: factor per step_epochs
  int64_t lr_step_epochs;      // step: epochs between decays
  double lr_min;               // cosine: final learning rate
  int64_t warmup_steps;        // linear warm-up from 0 over these steps (0 = none)
  double grad_clip;            // max gradient norm (0 = off)
};

struct TrainConfig {
  int64_t epochs;
  int64_t max_steps;  // 0 = no limit
  int64_t batch_size;
  int64_t seed;
  std::string device;  // auto | cpu | cuda | cuda:N | mps
  int64_t threads;     // 0 = one per core
  bool deterministic;  // CUDA: deterministic cuDNN and algorithms
  int64_t log_every;   // steps between plain log lines and training rows of metrics.csv
  int64_t grid_images; // images in the per-epoch sample and reconstruction grids
  int64_t sample_every;        // epochs between sample and reconstruction grids
  GridSplit grid_split;        // val | test: the images of the reconstruction grid
  bool tensorboard;            // TensorBoard event files under <run>/tb
  int64_t keep_best;           // best checkpoints kept by validation loss (plus last.pt)
  int64_t early_stop_patience; // epochs without improvement before stopping (0 = off)
  NonFinite nonfinite;         // stop | skip: what a non-finite loss does
  int64_t max_nonfinite;       // skip: stop after this many non-finite steps in a row
};

struct Config {
  std::string name;
  DataConfig data;
  ModelConfig model;
  LossConfig loss;
  OptimConfig optim;
  TrainConfig train;
};

// One declared key, as `vae train --print-config --explain` and the README show it.
struct ParamInfo {
  std::string key;          // dotted path, e.g. "train.batch_size"
  std::string allowed;      // e.g. "integer in [1, 65536]" or "one of: adam, adamw"
  nlohmann::json default_value;
  std::string description;
};

// Every declared key, in declaration order.
const std::vector<ParamInfo>& config_params();

// The README's row for a key: | `key` | `default` | allowed | description |, with | escaped.
std::string markdown_row(const ParamInfo& param);

// The configuration with every key at its default.
nlohmann::json default_config_json();

// Reads and validates a JSON config file; `overrides` are "key=value" strings applied on top.
// Throws ConfigError for every problem, naming the file, the key and what is allowed.
nlohmann::json load_config_json(const std::string& path, const std::vector<std::string>& overrides);

// load_config_json, or the defaults with the overrides applied when `path` is empty.
nlohmann::json config_json_or_defaults(const std::string& path, const std::vector<std::string>& overrides);

// Validates a parsed document (e.g. one read back from a checkpoint) and fills in defaults.
// `source` names where it came from, for messages.
nlohmann::json resolve_config_json(const nlohmann::json& document, const std::string& source);

// Applies one "key=value" override to a resolved document, with the same checks as the file.
// `source` names the option in messages ("--set", "--grid", "--device").
void apply_override(nlohmann::json& resolved, const std::string& assignment,
                    const std::string& source = "--set");

// The last component of a dotted key: "latent_dim" for "model.latent_dim".
std::string leaf_of(const std::string& key);

// The value at a dotted key of a resolved document ("model.latent_dim" or "name").
const nlohmann::json& value_at(const nlohmann::json& resolved, const std::string& key);

// The keys a resumed run may change (train.epochs, train.max_steps, logging, the device, where the
// data lives, ...): the others change the model, the data it sees or the objective.
const std::vector<std::string>& keys_resume_may_change();

// Throws ConfigError when `resolved` (a run's stored config with --set applied for --resume)
// differs from `stored` in a key that a resume may not change, naming the key, why, and how to
// start a new run from the stored config instead (`run_dir`/config.json).
void check_resume_changes(const nlohmann::json& stored, const nlohmann::json& resolved,
                          const std::string& run_dir);

// Builds the typed view of a resolved document, checking cross-key constraints. Choice keys are
// parsed into their enums here, once (see choices.h).
Config config_from_json(const nlohmann::json& resolved);

// The typed configuration with every key at its default: config_from_json(default_config_json()).
// The option structs of the lower layers (ModelOptions, LossSettings, LoaderOptions) take their
// defaults from it, so that the table in config.cpp states each default once.
const Config& default_config();

// A model.kernel_size, model.stride or model.padding list with one value per block of
// model.hidden_dims: a single value is repeated for every block. Any other length is a ConfigError
// "<where><key> has N values for B blocks of model.hidden_dims; give one value or one per block".
std::vector<int64_t> per_block(const std::vector<int64_t>& values, size_t blocks, const std::string& key,
                               const std::string& where = "");

}  // namespace vae
