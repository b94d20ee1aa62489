// The interface every image source implements, and the factory that picks one by data.dataset.
// Items are uint8 images [C, H, W] at the configured size and channels, after the deterministic
// transforms (crop, resize, channels); random ones (flip, binarisation) happen in the loader and
// on the device. The target is the class label (or the shapes' ground-truth factors).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "vae/config/config.h"
#include "vae/io/transforms.h"

namespace vae {

enum class Split { Train, Val, Test };
std::string split_name(Split split);

class ImageDataset : public torch::data::datasets::Dataset<ImageDataset> {
 public:
  // data: uint8 [C, H, W]; target: float, source-specific. Throws DataError for an image that
  // cannot be decoded (the loader skips and counts it when data.skip_corrupt is set).
  torch::data::Example<> get(size_t index) override = 0;
  torch::optional<size_t> size() const override = 0;
  // Short description for logs, e.g. "mnist train: 54000 images 1x28x28".
  virtual std::string describe() const = 0;
  // uint8 [N, C, H, W] of the given items; in-memory sources override it with a gather.
  virtual torch::Tensor images(const std::vector<size_t>& indices);
  // True when items are decoded from files on every use (a cache can help).
  virtual bool decodes_files() const { return false; }
};

// Builds the split of the configured dataset. Throws ConfigError for a bad data.* value and
// DataError/IoError (naming the file and a hint) when the files are missing or damaged.
std::shared_ptr<ImageDataset> make_dataset(const Config& config, Split split);

// The deterministic transforms of the configured data (data.center_crop, data.image_size,
// data.channels, data.resize): what every picture a model trained on this config sees, in
// training and in the commands that feed it pictures. The random flip is the loader's.
TransformSpec transform_spec(const Config& config);

}  // namespace vae
