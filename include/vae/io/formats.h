// Readers for the files datasets are distributed in, without LibTorch: IDX (MNIST, Fashion-MNIST;
// gzip or plain), CIFAR-10/100 binary batches, MATLAB v5 vectors (Flowers102's setid.mat and
// imagelabels.mat; v7.3/HDF5 files are refused), CelebA's partition list (.txt or Kaggle's .csv), and image
// folder listings. Every problem is a DataError (or IoError when unreadable) naming the file,
// what is wrong and, where it helps, a hint.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vae {

// N images of the same size, uint8, interleaved: pixels[((n * height + y) * width + x) * channels + c].
struct ImageArray {
  int64_t count = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;  // one per image, or empty
};

// The whole file, gunzipped when it starts with the gzip magic (1f 8b). A gzip stream that ends
// early or is corrupt is a DataError naming the file.
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path);

// IDX image file (magic 0x00000803, dims N x H x W, unsigned bytes): an ImageArray with 1 channel.
// Wrong magic, a size that disagrees with the header, or absurd dimensions are DataErrors.
ImageArray read_idx_images(const std::string& path);
// IDX label file (magic 0x00000801, N unsigned bytes).
std::vector<int64_t> read_idx_labels(const std::string& path);

// CIFAR binary batch: records of `label_bytes` label bytes then 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, row-major 32x32). CIFAR-10: label_bytes 1; CIFAR-100: label_bytes 2 (coarse, fine) and
// `label_index` picks which one becomes the label (1 = fine). Output is HWC, 3 channels.
// A file size that is not a whole number of records is a DataError.
ImageArray read_cifar_batch(const std::string& path, int label_bytes, int label_index);

// A numeric vector (1 x N or N x 1) stored under `variable` in a MATLAB v5 file, as integers.
// Missing file: IoError; damaged file or missing/non-numeric variable: DataError.
std::vector<int64_t> read_mat_vector(const std::string& path, const std::string& variable);

// CelebA's list_eval_partition.txt ("000001.jpg 0" per line) or Kaggle's list_eval_partition.csv
// (header "image_id,partition"): (file name, partition 0/1/2) in file order. Malformed lines are a
// DataError naming the file and line number.
std::vector<std::pair<std::string, int>> read_celeba_partition(const std::string& path);

// Every .png/.jpg/.jpeg/.bmp file (case-insensitive) under `root`, recursively, sorted by path.
// Missing or unreadable folder: IoError.
std::vector<std::string> list_images_recursive(const std::string& root);

// A command's picture inputs: files as given (a missing one is reported when it is read), folders
// replaced by list_images_recursive; a folder without pictures is a DataError naming it.
std::vector<std::string> expand_picture_inputs(const std::vector<std::string>& inputs);

struct LabeledFile {
  std::string path;
  int64_t label = 0;
};
// A folder of class folders (CINIC-10's train/, valid/, test/): each subfolder is a class, labels
// numbered in sorted order of the subfolder names, files sorted within each. `class_names` receives
// the sorted names. Missing folder: IoError; no class folders or no images: DataError.
std::vector<LabeledFile> list_class_folders(const std::string& folder,
                                            std::vector<std::string>* class_names);

}  // namespace vae
