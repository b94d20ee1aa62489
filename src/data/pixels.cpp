// From the loader's uint8 batches to the model's float input and back; see pixels.h.
#include "vae/data/pixels.h"

namespace vae {

torch::Tensor to_model_input(const torch::Tensor& batch, const torch::Device& device,
                             PixelRange range) {
  torch::Tensor host = batch;
  if (device.is_cuda()) host = host.pin_memory();
  auto x = host.to(device, /*non_blocking=*/true).to(torch::kFloat);
  return range == PixelRange::Symmetric ? x / 127.5 - 1.0 : x / 255.0;
}

torch::Tensor model_input(const torch::Tensor& batch, const torch::Device& device,
                          const Config& config, torch::optional<at::Generator> generator) {
  if (!config.data.binarize) return to_model_input(batch, device, config.data.range);
  if (!generator) return torch::bernoulli(to_model_input(batch, device, config.data.range));
  // Drawn on the CPU so that the seed fixes them on any device; 0/1 travel as uint8.
  const auto bits = torch::bernoulli(to_model_input(batch, torch::kCPU, config.data.range), *generator);
  return bits.to(torch::kUInt8).to(device).to(torch::kFloat);
}

torch::Tensor to_unit_range(const torch::Tensor& images, PixelRange range) {
  auto unit = range == PixelRange::Symmetric ? (images + 1.0) / 2.0 : images;
  return unit.clamp(0.0, 1.0);
}

}  // namespace vae
