// Device and thread selection; see device.h.
#include "vae/tensor/device.h"

#include <dlfcn.h>

#include <cstdlib>

#include "vae/base/errors.h"
#include "vae/base/text.h"
#include "vae_torch_build.h"  // VAE_WITH_CUDA

namespace vae {

torch::Device resolve_device(const std::string& spec, const std::string& key) {
  if (spec == "auto") {
    if (torch::cuda::is_available()) return torch::Device(torch::kCUDA, 0);
    if (at::hasMPS()) return torch::Device(torch::kMPS);
    return torch::Device(torch::kCPU);
  }
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec == "mps") {
    if (!at::hasMPS()) throw ConfigError(key + "=mps: MPS is not available here; use auto or cpu");
    return torch::Device(torch::kMPS);
  }
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    int64_t index = 0;
    if (spec.size() > 5) {
      const std::string digits = spec.substr(5);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw ConfigError(key + ": '" + spec + "' is not a device; use cuda or cuda:N");
      }
      index = std::stoll(digits);
    }
    if (!torch::cuda::is_available()) {
      throw ConfigError(key + "=" + spec +
                        ": CUDA is not available in this build or on this machine; use auto or cpu");
    }
    if (index >= int64_t(torch::cuda::device_count())) {
      throw ConfigError(key + "=" + spec + ": only " + std::to_string(torch::cuda::device_count()) +
                        " CUDA device(s) present");
    }
    return torch::Device(torch::kCUDA, int8_t(index));
  }
  throw ConfigError(key + ": unknown device '" + spec + "'; use auto, cpu, cuda, cuda:N or mps");
}

namespace {
// LibTorch's own threads already split the work of each op. A multi-threaded OpenBLAS underneath
// them (conv_transpose2d backward is col2im + GEMM on LibTorch 1.13) oversubscribes the cores:
// measured 4x slower training on 2 cores. Keep BLAS single-threaded unless the user set
// OPENBLAS_NUM_THREADS. Looked up at run time so builds without OpenBLAS work unchanged.
void keep_blas_single_threaded() {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  using SetThreads = void (*)(int);
  if (auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set_threads(1);
  }
}
}  // namespace

int64_t configure_cpu_threads(int64_t requested) {
  int64_t threads = requested;
  if (threads <= 0) threads = default_threads();
  torch::set_num_threads(int(threads));
  if (threads > 1) keep_blas_single_threaded();
  return threads;
}

#if VAE_WITH_CUDA
// cuda_info.cpp, compiled against a CUDA-enabled LibTorch only.
std::string cuda_device_description(int index);
std::string cuda_versions();
#endif

std::string available_devices() {
  std::string text = "cpu";
  if (torch::cuda::is_available()) {
    for (int64_t i = 0; i < int64_t(torch::cuda::device_count()); ++i) {
      text += ", cuda:" + std::to_string(i);
#if VAE_WITH_CUDA
      text += " (" + cuda_device_description(int(i)) + ")";
#endif
    }
  }
  if (at::hasMPS()) text += ", mps";
#if VAE_WITH_CUDA
  text += "\n" + cuda_versions();
#else
  text += "\nCUDA: not in this LibTorch build";
#endif
  return text;
}

void configure_determinism(const torch::Device& device, bool deterministic) {
  if (!device.is_cuda()) return;
  auto& context = at::globalContext();
  if (deterministic) {
    // cuBLAS reads this when its first handle is made, i.e. before the first CUDA matmul.
    setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
    context.setDeterministicCuDNN(true);
    context.setBenchmarkCuDNN(false);
    context.setDeterministicAlgorithms(true, /*warn_only=*/true);
  } else {
    context.setBenchmarkCuDNN(true);
  }
}

c10::optional<at::Generator> device_generator(const torch::Device& device) {
  if (device.is_cpu()) return c10::nullopt;
  try {
    return at::globalContext().defaultGenerator(device);
  } catch (const c10::Error&) {
    return c10::nullopt;  // e.g. MPS on a LibTorch without its generator
  }
}

torch::Tensor to_float64(const torch::Tensor& tensor) {
  if (tensor.device().is_mps()) return tensor.to(torch::kCPU).to(torch::kDouble);
  return tensor.to(torch::kDouble);
}

std::string torch_version_text() { return std::string("LibTorch ") + TORCH_VERSION; }

std::string error_message(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return std::string("LibTorch: ") + torch_error->what_without_backtrace();
  }
  return error.what();
}

}  // namespace vae
