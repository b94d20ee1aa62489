// The run configuration: five sections (data, model, loss, optim, train) plus a top-level name.
// Every key is declared once, in config.cpp, with its default, allowed range and description;
// parsing is strict (unknown keys, wrong types and out-of-range values are ConfigErrors that name
// the key, the value and what is allowed), and `--set key=value` overrides go through the same checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vae {

struct DataConfig {
  std::string dataset;   // which source: shapes (built in), mnist, cifar10, celeba, folder, ...
  std::string root;      // the dataset's unpacked folder or the folder holding it
  int64_t image_size;    // height = width of the images the model sees
  int64_t channels;      // 1 (gray) or 3 (RGB)
  int64_t center_crop;   // centre crop before resizing; 0 = none
  bool flip;             // random horizontal flip (training split only)
  std::string range;     // "unit" = [0, 1] or "symmetric" = [-1, 1]
  bool binarize;         // dynamic binarisation: a fresh Bernoulli draw per use
  double val_fraction;   // validation share carved from train where there is no official split
  int64_t workers;       // decoding threads (0 = one per core)
  int64_t prefetch;      // batches decoded ahead of the trainer
  bool drop_last;        // drop the last, partial training batch
  bool cache;            // decode once into a memory-mapped uint8 store
  std::string cache_dir; // where stores live ("" = <root>/.vae-cache)
  bool skip_missing;     // skip images a split file lists but that are absent
  bool skip_corrupt;     // skip images that cannot be decoded
  int64_t train_size;    // items in the procedural training split
  int64_t val_size;      // items in the procedural validation split
  int64_t test_size;     // items in the procedural test split
};

struct ModelConfig {
  int64_t latent_dim;
  std::vector<int64_t> hidden_dims;  // output channels of each encoder conv block
  int64_t kernel_size;
  int64_t stride;
  int64_t padding;
  bool batch_norm;
  std::string activation;  // relu | leaky_relu | silu
};

struct LossConfig {
  std::string likelihood;  // gaussian | bernoulli
  double beta;             // weight of the KL term
};

struct OptimConfig {
  std::string name;  // adam | adamw
  double lr;
  double weight_decay;
};

struct TrainConfig {
  int64_t epochs;
  int64_t max_steps;  // 0 = no limit
  int64_t batch_size;
  int64_t seed;
  std::string device;  // auto | cpu | cuda | cuda:N | mps
  int64_t threads;     // 0 = one per core
  int64_t log_every;   // steps between plain log lines and training rows of metrics.csv
  int64_t grid_images; // images in the per-epoch sample and reconstruction grids
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

// The configuration with every key at its default.
nlohmann::json default_config_json();

// Reads and validates a JSON config file; `overrides` are "key=value" strings applied on top.
// Throws ConfigError for every problem, naming the file, the key and what is allowed.
nlohmann::json load_config_json(const std::string& path, const std::vector<std::string>& overrides);

// Validates a parsed document (e.g. one read back from a checkpoint) and fills in defaults.
// `source` names where it came from, for messages.
nlohmann::json resolve_config_json(const nlohmann::json& document, const std::string& source);

// Applies one "key=value" override to a resolved document, with the same checks as the file.
void apply_override(nlohmann::json& resolved, const std::string& assignment);

// Builds the typed view of a resolved document, checking cross-key constraints.
Config config_from_json(const nlohmann::json& resolved);

}  // namespace vae
