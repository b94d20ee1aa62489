// Checkpoint files; see checkpoint.h.
#include "vae/train/checkpoint.h"

#include <filesystem>
#include <mutex>

#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/tensor/device.h"

namespace vae {
namespace {

constexpr const char* kFormatTag = "vae-checkpoint";

void write_string(torch::serialize::OutputArchive& archive, const std::string& key,
                  const std::string& value) {
  archive.write(key, c10::IValue(value));
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  archive.read(key, value);
  return value.toStringRef();
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key) {
  c10::IValue value;
  archive.read(key, value);
  return value.toInt();
}

}  // namespace

void save_checkpoint(const std::string& path, const CheckpointMeta& meta, VAE& model,
                     torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  write_string(archive, "format", kFormatTag);
  archive.write("format_version", c10::IValue(kCheckpointFormatVersion));
  write_string(archive, "config", meta.config.dump());
  archive.write("epoch", c10::IValue(meta.epoch));
  archive.write("step", c10::IValue(meta.step));
  archive.write("epoch_step", c10::IValue(meta.epoch_step));
  write_string(archive, "metrics", meta.metrics.dump());
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  const auto parameters = model->parameters();
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters[0].device();
  write_string(archive, "device", device.str());
  if (auto generator = device_generator(device)) {
    std::lock_guard<std::mutex> lock(generator->mutex());
    archive.write("rng_device", generator->get_state());
  }

  const std::filesystem::path target(path);
  ensure_directory(target.parent_path().empty() ? "." : target.parent_path());
  const auto temporary = temporary_path_for(target);
  try {
    archive.save_to(temporary.string());
  } catch (const c10::Error& error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw IoError(path + ": cannot write checkpoint (" + error.what_without_backtrace() +
                  "); check free space and permissions");
  }
  commit_file(temporary, target);
}

CheckpointReader::CheckpointReader(const std::string& path)
    : path_(path), archive_(std::make_unique<torch::serialize::InputArchive>()) {
  if (!std::filesystem::is_regular_file(path)) {
    throw CheckpointError(path + ": checkpoint not found; give --ckpt a file written by vae train "
                          "(runs/<name>/checkpoints/last.pt)");
  }
  try {
    archive_->load_from(path, torch::Device(torch::kCPU));  // whatever device wrote it
  } catch (const c10::Error&) {
    throw CheckpointError(path + ": not a readable checkpoint (damaged or not written by vae)");
  }
  bool tagged = false;
  try {
    tagged = read_string(*archive_, "format") == kFormatTag;
  } catch (const std::exception&) {
    tagged = false;  // LibTorch reports a missing key with several exception types
  }
  if (!tagged) throw CheckpointError(path + ": not a vae checkpoint (no format tag)");
  const int64_t version = read_int(*archive_, "format_version");
  if (version > kCheckpointFormatVersion) {
    throw CheckpointError(path + ": checkpoint format version " + std::to_string(version) +
                          " was written by a newer vae; this one reads version " +
                          std::to_string(kCheckpointFormatVersion) + "; upgrade vae to open it");
  }
  if (version != kCheckpointFormatVersion) {
    throw CheckpointError(path + ": checkpoint format version " + std::to_string(version) +
                          ", this vae reads version " + std::to_string(kCheckpointFormatVersion));
  }
  try {
    meta_.config = resolve_config_json(nlohmann::json::parse(read_string(*archive_, "config")),
                                       path + " (stored config)");
    meta_.epoch = read_int(*archive_, "epoch");
    meta_.step = read_int(*archive_, "step");
    meta_.epoch_step = read_int(*archive_, "epoch_step");
    meta_.metrics = nlohmann::json::parse(read_string(*archive_, "metrics"));
    c10::IValue device;
    if (archive_->try_read("device", device) && device.isString()) meta_.device = device.toStringRef();
  } catch (const c10::Error& error) {
    throw CheckpointError(path + ": damaged checkpoint metadata (" +
                          error.what_without_backtrace() + ")");
  } catch (const ConfigError& error) {
    throw CheckpointError(path + ": stored config is invalid (" + error.what() + ")");
  } catch (const std::exception& error) {
    throw CheckpointError(path + ": damaged checkpoint metadata (" + error.what() + ")");
  }
}

void CheckpointReader::load_weights(VAE& model) {
  try {
    torch::serialize::InputArchive model_archive;
    archive_->read("model", model_archive);
    model->load(model_archive);
    // Module::load makes parameters share storage with the archive's tensors: give the model its
    // own copies, so that two models loaded from one reader never alias each other.
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->parameters()) parameter.set_data(parameter.data().clone());
    for (auto& buffer : model->buffers()) buffer.set_data(buffer.data().clone());
  } catch (const c10::Error& error) {
    throw CheckpointError(path_ + ": weights do not match the stored config (" +
                          error.what_without_backtrace() + ")");
  }
}

VAE CheckpointReader::load_model(const torch::Device& device) {
  VAE model(ModelOptions::from_config(config_from_json(meta_.config)));
  load_weights(model);
  model->to(device);
  return model;
}

void CheckpointReader::load_optimizer(torch::optim::Optimizer& optimizer, const torch::Device& device) {
  try {
    torch::serialize::InputArchive optimizer_archive;
    if (device.is_cpu()) {
      archive_->read("optimizer", optimizer_archive);
    } else {
      // The optimizer's state tensors must sit with its parameters: read them onto `device`.
      torch::serialize::InputArchive on_device;
      on_device.load_from(path_, device);
      on_device.read("optimizer", optimizer_archive);
    }
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& error) {
    throw CheckpointError(path_ + ": no usable optimizer state (" +
                          error.what_without_backtrace() + ")");
  }
}

bool CheckpointReader::restore_rng(const torch::Device& device) {
  torch::Tensor state;
  try {
    archive_->read("rng_cpu", state);
  } catch (const c10::Error& error) {
    throw CheckpointError(path_ + ": no RNG state (" + error.what_without_backtrace() + ")");
  }
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
  auto generator = device_generator(device);
  if (!generator) return device.is_cpu();
  torch::Tensor device_state;
  bool same_kind = false;
  try {
    same_kind = torch::Device(meta_.device).type() == device.type();
  } catch (const c10::Error&) {
  }
  if (!same_kind || !archive_->try_read("rng_device", device_state)) return false;
  std::lock_guard<std::mutex> lock(generator->mutex());
  generator->set_state(device_state);
  return true;
}

LoadedModel open_model(const std::string& path, const std::string& device,
                       const std::vector<std::string>& overrides, const std::string& device_source) {
  const torch::Device where = resolve_device(device, device_source);
  CheckpointReader reader(path);
  nlohmann::json resolved = reader.meta().config;
  for (const auto& assignment : overrides) apply_override(resolved, assignment);
  Config config = config_from_json(resolved);
  VAE model = reader.load_model(where);
  model->eval();
  return {reader.path(), reader.meta(), std::move(config), std::move(model), where};
}

}  // namespace vae
