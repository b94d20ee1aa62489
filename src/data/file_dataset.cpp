// Image files decoded on every use; see file_dataset.h.
#include "vae/data/file_dataset.h"

#include "vae/io/image_codec.h"
#include "vae/tensor/images.h"

namespace vae {

FileDataset::FileDataset(std::string description, std::vector<LabeledFile> files, TransformSpec spec)
    : description_(std::move(description)), files_(std::move(files)), spec_(spec) {}

torch::data::Example<> FileDataset::get(size_t index) {
  const LabeledFile& file = files_.at(index);
  return {image_to_tensor(load_and_transform(file.path, spec_)),
          torch::tensor(float(file.label), torch::kFloat)};
}

}  // namespace vae
