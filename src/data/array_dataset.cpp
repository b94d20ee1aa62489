// In-memory image arrays (MNIST, CIFAR), and the default ImageDataset::images; see array_dataset.h.
#include "vae/data/array_dataset.h"

#include <cstring>

#include <ATen/Parallel.h>

#include "vae/tensor/images.h"

namespace vae {

torch::Tensor ImageDataset::images(const std::vector<size_t>& indices) {
  std::vector<torch::Tensor> items;
  items.reserve(indices.size());
  for (size_t index : indices) items.push_back(get(index).data);
  return torch::stack(items);
}

ArrayDataset::ArrayDataset(std::string description, torch::Tensor images, torch::Tensor labels)
    : description_(std::move(description)), images_(std::move(images)), labels_(std::move(labels)) {}

torch::data::Example<> ArrayDataset::get(size_t index) {
  return {images_[int64_t(index)], labels_[int64_t(index)].to(torch::kFloat)};
}

torch::Tensor ArrayDataset::images(const std::vector<size_t>& indices) {
  std::vector<int64_t> rows(indices.begin(), indices.end());
  return images_.index_select(0, torch::tensor(rows, torch::kLong));
}

torch::Tensor transform_array(const ImageArray& array, const std::vector<size_t>& indices,
                              const TransformSpec& spec) {
  const int64_t n = int64_t(indices.size());
  const int64_t stride = array.height * array.width * array.channels;
  const bool identity = spec.center_crop == 0 && spec.image_size == array.height &&
                        spec.image_size == array.width && spec.channels == array.channels;
  auto out = torch::empty({n, spec.channels, spec.image_size, spec.image_size}, torch::kUInt8);
  if (identity) {
    // Gather the rows, then HWC -> CHW in one tensor operation.
    auto hwc = torch::empty({n, array.height, array.width, array.channels}, torch::kUInt8);
    uint8_t* target = hwc.data_ptr<uint8_t>();
    at::parallel_for(0, n, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        std::memcpy(target + i * stride, array.pixels.data() + int64_t(indices[size_t(i)]) * stride,
                    size_t(stride));
      }
    });
    return hwc.permute({0, 3, 1, 2}).contiguous();
  }
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Image image{array.width, array.height, array.channels, {}};
      const uint8_t* source = array.pixels.data() + int64_t(indices[size_t(i)]) * stride;
      image.pixels.assign(source, source + stride);
      out[i].copy_(image_to_tensor(apply_transforms(image, spec)));
    }
  });
  return out;
}

}  // namespace vae
