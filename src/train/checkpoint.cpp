// Checkpoint files; see checkpoint.h.
#include "vae/train/checkpoint.h"

#include <filesystem>
#include <mutex>

#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/io/torch_archive.h"
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

  // The archive is made in memory and written by write_file_atomically, which reports a full
  // disk as an IoError and removes its temporary file: LibTorch's own file writer throws from its
  // destructor when the disk fills (ending the process) and leaves its temporary file behind.
  std::string bytes;
  try {
    archive.save_to([&bytes](const void* data, size_t size) -> size_t {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  } catch (const c10::Error& error) {
    throw IoError(path + ": cannot serialise the checkpoint (" + error.what_without_backtrace() + ")");
  }
  write_file_atomically(path, bytes.data(), bytes.size());
}

CheckpointReader::CheckpointReader(const std::string& path)
    : path_(path), archive_(std::make_unique<torch::serialize::InputArchive>()) {
  if (!std::filesystem::is_regular_file(path)) {
    throw CheckpointError(path + ": checkpoint not found; give --ckpt a file written by vae train "
                          "(runs/<name>/checkpoints/last.pt)");
  }
  // The zip and the tensor records are checked first: LibTorch trusts the sizes that the file
  // declares and would read past a record that is shorter.
  bytes_ = read_file_bytes(path);
  check_torch_archive(bytes_, path);
  try {
    archive_->load_from(reinterpret_cast<const char*>(bytes_.data()), bytes_.size(),
                        torch::Device(torch::kCPU));  // whatever device wrote it
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

namespace {

std::string shape_text(c10::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i) text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

// Every named parameter and buffer of `model` (what load() fills in).
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(VAE& model) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : model->named_buffers()) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

// The bytes a strided view reads from its storage: (offset + the farthest element + 1) elements.
int64_t bytes_read(const torch::Tensor& tensor) {
  if (tensor.numel() == 0) return 0;
  int64_t last = tensor.storage_offset();
  for (int64_t d = 0; d < tensor.dim(); ++d) last += (tensor.size(d) - 1) * tensor.stride(d);
  return (last + 1) * int64_t(tensor.element_size());
}

}  // namespace

void CheckpointReader::load_weights(VAE& model) {
  // What the stored config builds, before the file's tensors replace it: every stored tensor must
  // have exactly this shape and type, lie inside the bytes its record holds, and be finite, before
  // any of its values is read (a crafted or damaged file otherwise reads out of bounds or loads
  // garbage silently).
  std::vector<std::pair<std::string, std::pair<std::vector<int64_t>, c10::ScalarType>>> expected;
  for (const auto& [name, tensor] : named_tensors(model)) {
    expected.emplace_back(name, std::make_pair(tensor.sizes().vec(), tensor.scalar_type()));
  }
  try {
    torch::serialize::InputArchive model_archive;
    archive_->read("model", model_archive);
    model->load(model_archive);
  } catch (const c10::Error& error) {
    throw CheckpointError(path_ + ": weights do not match the stored config (" +
                          error.what_without_backtrace() + ")");
  }
  const auto loaded = named_tensors(model);
  if (loaded.size() != expected.size()) {
    throw CheckpointError(path_ + ": the weights hold " + std::to_string(loaded.size()) + " tensors, the stored config builds " +
                          std::to_string(expected.size()) + "; the checkpoint is damaged or was edited");
  }
  for (size_t i = 0; i < loaded.size(); ++i) {
    const auto& [name, tensor] = loaded[i];
    const auto& [sizes, type] = expected[i].second;
    if (tensor.sizes().vec() != sizes) {
      throw CheckpointError(path_ + ": tensor " + name + " has shape " + shape_text(tensor.sizes()) +
                            " but the stored config builds " + shape_text(sizes) +
                            "; the checkpoint is damaged or was edited");
    }
    if (tensor.scalar_type() != type) {
      throw CheckpointError(path_ + ": tensor " + name + " is " + std::string(c10::toString(tensor.scalar_type())) +
                            ", expected " + c10::toString(type) + "; the checkpoint is damaged or was edited");
    }
    const int64_t held = int64_t(tensor.storage().nbytes());
    bool negative_stride = false;
    for (int64_t d = 0; d < tensor.dim(); ++d) negative_stride = negative_stride || tensor.stride(d) < 0;
    if (negative_stride || tensor.storage_offset() < 0 || bytes_read(tensor) > held) {
      throw CheckpointError(path_ + ": tensor " + name + " declares " + std::to_string(bytes_read(tensor)) +
                            " bytes but its record holds " + std::to_string(held) + "; the file is damaged");
    }
  }
  // Module::load makes parameters share storage with the archive's tensors: give the model its
  // own copies, so that two models loaded from one reader never alias each other.
  torch::NoGradGuard no_grad;
  for (auto& parameter : model->parameters()) parameter.set_data(parameter.data().clone());
  for (auto& buffer : model->buffers()) buffer.set_data(buffer.data().clone());
  for (const auto& [name, tensor] : named_tensors(model)) {
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) {
      throw CheckpointError(path_ + ": tensor " + name + " holds NaN or infinite values; the checkpoint is damaged "
                            "(or saved from a diverged run): use an earlier one, e.g. best.pt");
    }
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
      on_device.load_from(reinterpret_cast<const char*>(bytes_.data()), bytes_.size(), device);
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
