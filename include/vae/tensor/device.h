// Choosing where to compute, and how many CPU threads to use.
#pragma once

#include <torch/torch.h>

#include <exception>
#include <string>

namespace vae {

// "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N" or "mps". Throws ConfigError naming
// `key` when the device is unknown or not available on this machine.
torch::Device resolve_device(const std::string& spec, const std::string& key = "train.device");

// train.deterministic: on CUDA, deterministic cuDNN and algorithms and no cuDNN autotuning
// (cuBLAS's workspace is fixed through CUBLAS_WORKSPACE_CONFIG unless set); false: autotuning on.
void configure_determinism(const torch::Device& device, bool deterministic);

// The default random generator of a CUDA or MPS device (empty for the CPU, or where this LibTorch
// has none for the device).
c10::optional<at::Generator> device_generator(const torch::Device& device);

// Sets LibTorch's intra-op threads: `requested` > 0 as given, 0 = one per core. Returns the count.
int64_t configure_cpu_threads(int64_t requested);

// "cpu, cuda:0 (NVIDIA H200)" etc., for --version and logs.
std::string available_devices();

// `tensor` as float64: on its own device, or on the CPU for a device without float64 (MPS).
torch::Tensor to_float64(const torch::Tensor& tensor);

// "LibTorch 1.13.0".
std::string torch_version_text();

// The message of an exception for users: LibTorch errors as "LibTorch: " and their message
// without the C++ backtrace, others as their what().
std::string error_message(const std::exception& error);

}  // namespace vae
