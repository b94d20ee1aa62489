// Self-describing checkpoints: one LibTorch archive holding a format tag and version, the resolved
// config (JSON), the model weights, the optimizer state, epoch and step, the CPU RNG state (and the
// training device's, on CUDA or MPS), the device it was written on and the run's metrics, so `vae sample` and `vae reconstruct` need nothing but the file. Written to a
// temporary file and renamed, so an interrupted write never damages an existing checkpoint.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vae/config/config.h"
#include "vae/model/model.h"

namespace vae {

constexpr int64_t kCheckpointFormatVersion = 1;

struct CheckpointMeta {
  nlohmann::json config;   // resolved config
  int64_t epoch = 0;       // epochs completed
  int64_t step = 0;        // optimizer steps completed
  int64_t epoch_step = 0;  // steps completed inside the current (unfinished) epoch
  nlohmann::json metrics = nlohmann::json::object();  // e.g. best validation loss, last terms
  std::string device = "cpu";  // where the model was when written ("cuda:0", ...; "cpu" for old files)
};

void save_checkpoint(const std::string& path, const CheckpointMeta& meta, VAE& model,
                     torch::optim::Optimizer* optimizer);

// An opened checkpoint: read the metadata first, build the model from its config, then load.
class CheckpointReader {
 public:
  // Throws CheckpointError naming the path when missing, damaged or of another format.
  explicit CheckpointReader(const std::string& path);

  const CheckpointMeta& meta() const { return meta_; }
  const std::string& path() const { return path_; }
  // Every tensor is read to the CPU first, whatever device wrote the file, then moved.
  // A model built from the stored config with the stored weights, on `device`.
  VAE load_model(const torch::Device& device);
  void load_weights(VAE& model);
  // The optimizer state, on `device` (where the optimizer's parameters are).
  void load_optimizer(torch::optim::Optimizer& optimizer, const torch::Device& device = torch::kCPU);
  // Restores the CPU generator, and `device`'s when the file holds a state for that kind of device.
  // Returns false when `device` is CUDA or MPS and its state was not restored (written elsewhere).
  bool restore_rng(const torch::Device& device = torch::kCPU);

 private:
  std::string path_;
  // The file as read once and checked: LibTorch loads these very bytes (never the path again), so
  // a file replaced after the check cannot slip past it.
  std::vector<uint8_t> bytes_;
  std::unique_ptr<torch::serialize::InputArchive> archive_;
  CheckpointMeta meta_;
};

// A trained model ready for use: what the checkpoint holds, its config (with overrides) and the
// model in eval mode on its device.
struct LoadedModel {
  std::string path;
  CheckpointMeta meta;
  Config config;  // the stored config with the overrides applied (data keys, e.g. data.root)
  VAE model;      // built from the stored config, whatever the overrides
  torch::Device device;
};

// Opens a checkpoint into an eval-mode model on `device` ("cpu", "cuda:1", ...; `device_source`
// names it in messages). `overrides` ("key=value", checked as --set) change the returned config,
// not the network. Throws ConfigError for a bad device or override, CheckpointError for the file.
LoadedModel open_model(const std::string& path, const std::string& device,
                       const std::vector<std::string>& overrides = {},
                       const std::string& device_source = "--device");

}  // namespace vae
