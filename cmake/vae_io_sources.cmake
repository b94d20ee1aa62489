# The sources of vae_io, the LibTorch-free layers (base, io, logs, config), relative to the
# project root: the main build's library and the fuzz build (fuzz/CMakeLists.txt) both use them.
set(VAE_IO_SOURCES
  src/base/fs.cpp
  src/base/text.cpp
  src/base/logging.cpp
  src/base/signals.cpp
  src/io/image_codec.cpp
  src/io/image_files.cpp
  src/io/transforms.cpp
  src/io/formats/idx.cpp
  src/io/formats/cifar.cpp
  src/io/formats/matfile.cpp
  src/io/formats/lists.cpp
  src/io/formats/torch_archive.cpp
  src/io/npy.cpp
  src/logs/tensorboard.cpp
  src/logs/curves.cpp
  src/logs/metrics_csv.cpp
  src/logs/run_log.cpp
  src/config/config.cpp
)
