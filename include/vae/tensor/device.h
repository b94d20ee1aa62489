// Choosing where to compute, and how many CPU threads to use.
#pragma once

#include <torch/torch.h>

#include <exception>
#include <string>

namespace vae {

// "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N" or "mps". Throws ConfigError naming
// `key` when the device is unknown or not available on this machine.
torch::Device resolve_device(const std::string& spec, const std::string& key = "train.device");

// Sets LibTorch's intra-op threads: `requested` > 0 as given, 0 = one per core. Returns the count.
int64_t configure_cpu_threads(int64_t requested);

// "cpu, cuda:0 (NVIDIA H200)" etc., for --version and logs.
std::string available_devices();

// "LibTorch 1.13.0".
std::string torch_version_text();

// The message of an exception for users: LibTorch errors as "LibTorch: " and their message
// without the C++ backtrace, others as their what().
std::string error_message(const std::exception& error);

}  // namespace vae
