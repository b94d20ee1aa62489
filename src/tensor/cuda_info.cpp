// Names and versions of the CUDA devices, for `vae --version`; compiled only against a LibTorch
// built with CUDA (VAE_WITH_CUDA).
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <cuda_runtime_api.h>

#include <cstdio>
#include <string>

namespace vae {

namespace {
std::string dotted(int version, int major_unit, int minor_unit) {
  return std::to_string(version / major_unit) + "." + std::to_string(version % major_unit / minor_unit);
}
}  // namespace

std::string cuda_device_description(int index) {
  const cudaDeviceProp* properties = at::cuda::getDeviceProperties(index);
  const double gib = double(properties->totalGlobalMem) / double(1ull << 30);
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.0f GiB", gib);
  return std::string(properties->name) + ", " + memory + ", compute capability " +
         std::to_string(properties->major) + "." + std::to_string(properties->minor);
}

std::string cuda_versions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::string text = "CUDA runtime " + dotted(runtime, 1000, 10);
  text += driver > 0 ? ", driver " + dotted(driver, 1000, 10) : std::string(", no CUDA driver");
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCuDNN()) {
    const long cudnn = hooks.versionCuDNN();  // e.g. 91900 for 9.19.0
    text += ", cuDNN " + std::to_string(cudnn / 10000) + "." + std::to_string(cudnn % 10000 / 100) + "." +
            std::to_string(cudnn % 100);
  }
  return text;
}

}  // namespace vae
