// The pixel-range convention between the data and the model: uint8 batches become floats on the
// device in the data range ("unit" [0, 1] or "symmetric" [-1, 1]), binarised when data.binarize
// asks for it, and model-range images go back to [0, 1] for pictures.
#pragma once

#include <torch/torch.h>

#include "vae/config/config.h"

namespace vae {

// uint8 [B, C, H, W] -> float on `device` in the data range (unit [0,1] or symmetric [-1,1]).
// Pinned host memory speeds the copy to CUDA.
torch::Tensor to_model_input(const torch::Tensor& batch, const torch::Device& device,
                             PixelRange range);
// A uint8 batch as the model sees it: to_model_input, then, when data.binarize, each pixel a
// fresh Bernoulli draw with its intensity as probability (dynamic binarisation). The draws come
// from `generator` when given (on the CPU, then moved), else from LibTorch's global generator.
torch::Tensor model_input(const torch::Tensor& batch, const torch::Device& device,
                          const Config& config,
                          torch::optional<at::Generator> generator = torch::nullopt);

// Inverse of to_model_input's scaling: model-range float -> [0, 1] float for pictures.
torch::Tensor to_unit_range(const torch::Tensor& images, PixelRange range);

}  // namespace vae
