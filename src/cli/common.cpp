// Pieces shared by the subcommands.
#include "cli/commands.h"
#include "vae/io/image_codec.h"
#include "vae/logs/curves.h"
#include "vae/tensor/device.h"

#ifndef VAE_VERSION
#define VAE_VERSION "unknown"
#endif

namespace vae {

std::string version_text() {
  return std::string("vae ") + VAE_VERSION + "\n" + torch_version_text() +
         "\ndevices: " + available_devices() + "\nJPEG decoder: " + jpeg_decoder_name() +
         "\nloss curves (PLplot): " + (curves_available() ? "yes" : "no, curves.png is skipped");
}

}  // namespace vae
