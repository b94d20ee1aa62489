// Configs: the strict JSON reader with every key's checks and the cross-key ones, and the same
// bytes as one --set assignment.
#include "fuzz_support.h"
#include "vae/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vae_fuzz::write_input(data, size, ".json");
  vae_fuzz::expect_clean([&] { vae::config_from_json(vae::load_config_json(path, {})); });
  vae_fuzz::expect_clean([&] {
    nlohmann::json resolved = vae::default_config_json();
    vae::apply_override(resolved, std::string(reinterpret_cast<const char*>(data), size));
    vae::config_from_json(resolved);
  });
  return 0;
}
