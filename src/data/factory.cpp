// make_dataset: finds each dataset's files under data.root (the unpacked folder itself or the
// folder holding it), builds its official splits (or carves validation from train by
// data.val_fraction), and wraps file-based sources in the cache when data.cache is set.
#include <cmath>
#include <mutex>
#include <set>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"
#include "vae/base/random.h"
#include "vae/data/shapes.h"
#include "vae/data/array_dataset.h"
#include "vae/data/cache.h"
#include "vae/data/file_dataset.h"
#include "vae/base/text.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

// A warning about the files, said once per process however many splits read them (train and
// validation are both carved from CIFAR's training batches).
void warn_once(const std::string& message) {
  static std::mutex mutex;
  static std::set<std::string> said;
  const std::lock_guard<std::mutex> lock(mutex);
  if (said.insert(message).second) spdlog::warn("{}", message);
}

// Seed stream of the train/validation carve (distinct from the shuffling streams).
constexpr uint64_t kCarveStream = 0xCA4E;

// The first of `root` and `root/<subfolder>` in which `holds` is true.
fs::path locate(const Config& config, const std::vector<std::string>& subfolders,
                const std::function<bool(const fs::path&)>& holds, const std::string& expected) {
  const fs::path root(config.data.root);
  if (!fs::is_directory(root)) {
    throw IoError("data.root=" + config.data.root + ": folder not found; point it at the unpacked " +
                  to_string(config.data.dataset) + " folder (scripts/download/" +
                  to_string(config.data.dataset) + ".sh)");
  }
  for (const auto& subfolder : subfolders) {
    const fs::path candidate = subfolder.empty() ? root : root / subfolder;
    if (fs::is_directory(candidate) && holds(candidate)) return candidate;
  }
  throw DataError("data.root=" + config.data.root + ": no " + to_string(config.data.dataset) +
                  " files found (expected " + expected + "); fetch them with scripts/download/" +
                  to_string(config.data.dataset) + ".sh " + config.data.root);
}

// MNIST-style file names: "train-images-idx3-ubyte", with ".gz" or the "train-images.idx3-ubyte"
// spelling some copies use.
fs::path find_idx(const fs::path& folder, const std::string& stem, const std::string& kind) {
  for (const std::string& name : {stem + "-" + kind, stem + "." + kind}) {
    for (const std::string& suffix : {std::string(".gz"), std::string("")}) {
      if (fs::is_regular_file(folder / (name + suffix))) return folder / (name + suffix);
    }
  }
  return {};
}


std::string describe(const Config& config, Split split, size_t count) {
  return to_string(config.data.dataset) + " " + split_name(split) + ": " + std::to_string(count) + " images " +
         std::to_string(config.data.channels) + "x" + std::to_string(config.data.image_size) + "x" +
         std::to_string(config.data.image_size);
}

// Indices of `split` when validation is carved from a training set of n items.
std::vector<size_t> carve(const Config& config, size_t n, Split split) {
  const size_t validation = size_t(std::llround(double(n) * config.data.val_fraction));
  if (config.data.val_split == ValSplit::Last) {
    // The last val_fraction of the files, in file order (the CIFAR-10 write-up's 80/20 split).
    std::vector<size_t> chosen;
    const size_t first = split == Split::Train ? 0 : n - validation;
    const size_t end = split == Split::Train ? n - validation : n;
    for (size_t i = first; i < end; ++i) chosen.push_back(i);
    return chosen;
  }
  const auto order = shuffled_indices(n, uint64_t(config.train.seed), kCarveStream);
  std::vector<size_t> chosen = split == Split::Train
                                   ? std::vector<size_t>(order.begin() + long(validation), order.end())
                                   : std::vector<size_t>(order.begin(), order.begin() + long(validation));
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::shared_ptr<ImageDataset> array_split(const Config& config, Split split, const ImageArray& train,
                                          const ImageArray& test) {
  const bool official_test = split == Split::Test;
  const ImageArray& source = official_test ? test : train;
  std::vector<size_t> indices;
  if (official_test) {
    indices.resize(size_t(source.count));
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  } else {
    indices = carve(config, size_t(source.count), split);
  }
  if (indices.empty()) {
    // Say which way to move: validation gets llround(n x fraction) of the n training images.
    const size_t n = size_t(source.count);
    const std::string fraction = fmt::format("{:g}", config.data.val_fraction);
    if (split == Split::Val) {
      throw ConfigError(fmt::format("data.val_fraction={} holds back none of the {} {} training images for "
                                    "validation; raise it to at least {:.2g}",
                                    fraction, n, to_string(config.data.dataset), 0.5 / double(std::max<size_t>(n, 1))));
    }
    throw ConfigError(fmt::format("data.val_fraction={} leaves none of the {} {} images for training; lower it",
                                  fraction, n, to_string(config.data.dataset)));
  }
  auto images = transform_array(source, indices, transform_spec(config));
  std::vector<int64_t> labels;
  for (size_t index : indices) labels.push_back(source.labels.empty() ? 0 : source.labels[index]);
  return std::make_shared<ArrayDataset>(describe(config, split, indices.size()), images,
                                        torch::tensor(labels, torch::kLong));
}

std::shared_ptr<ImageDataset> mnist_like(const Config& config, Split split) {
  const fs::path folder = locate(
      config, {"", "raw", "mnist", "MNIST", "MNIST/raw", "fashion_mnist", "FashionMNIST",
               "FashionMNIST/raw", "fashion-mnist"},
      [](const fs::path& f) { return !find_idx(f, "train-images", "idx3-ubyte").empty(); },
      "train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...");
  auto load = [&](const std::string& stem) {
    const fs::path images = find_idx(folder, stem + "-images", "idx3-ubyte");
    const fs::path labels = find_idx(folder, stem + "-labels", "idx1-ubyte");
    if (images.empty() || labels.empty()) {
      throw DataError(folder.string() + ": " + stem + "-images-idx3-ubyte[.gz] or " + stem +
                      "-labels-idx1-ubyte[.gz] is missing; re-download with scripts/download/" +
                      to_string(config.data.dataset) + ".sh");
    }
    ImageArray array = read_idx_images(images.string());
    array.labels = read_idx_labels(labels.string());
    if (int64_t(array.labels.size()) != array.count) {
      throw DataError(labels.string() + ": " + std::to_string(array.labels.size()) +
                      " labels for " + std::to_string(array.count) + " images in " + images.string());
    }
    return array;
  };
  if (split == Split::Test) return array_split(config, split, {}, load("t10k"));
  return array_split(config, split, load("train"), {});
}

ImageArray concatenate(const std::vector<ImageArray>& parts) {
  ImageArray all = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    all.count += parts[i].count;
    all.pixels.insert(all.pixels.end(), parts[i].pixels.begin(), parts[i].pixels.end());
    all.labels.insert(all.labels.end(), parts[i].labels.begin(), parts[i].labels.end());
  }
  return all;
}

std::shared_ptr<ImageDataset> cifar(const Config& config, Split split) {
  const bool hundred = config.data.dataset == Dataset::Cifar100;
  const std::string marker = hundred ? "train.bin" : "data_batch_1.bin";
  const fs::path folder = locate(
      config, {"", hundred ? "cifar-100-binary" : "cifar-10-batches-bin"},
      [&](const fs::path& f) { return fs::is_regular_file(f / marker); },
      hundred ? "cifar-100-binary/train.bin, test.bin" : "cifar-10-batches-bin/data_batch_1.bin");
  const int label_bytes = hundred ? 2 : 1, label_index = hundred ? 1 : 0;
  if (split == Split::Test) {
    const fs::path test = folder / (hundred ? "test.bin" : "test_batch.bin");
    if (!fs::is_regular_file(test)) throw DataError(test.string() + ": missing test batch");
    return array_split(config, split, {}, read_cifar_batch(test.string(), label_bytes, label_index));
  }
  std::vector<ImageArray> parts;
  if (hundred) {
    parts.push_back(read_cifar_batch((folder / "train.bin").string(), label_bytes, label_index));
  } else {
    for (int i = 1; i <= 5; ++i) {
      const fs::path batch = folder / ("data_batch_" + std::to_string(i) + ".bin");
      if (fs::is_regular_file(batch)) parts.push_back(read_cifar_batch(batch.string(), 1, 0));
    }
    if (parts.size() < 5) warn_once(folder.string() + ": " + std::to_string(parts.size()) +
                                    " of the 5 training batches present; training on those");
  }
  return array_split(config, split, concatenate(parts), {});
}

// Keeps the listed files that exist; the rest are an error unless data.skip_missing is set.
std::vector<LabeledFile> present_files(const Config& config, std::vector<LabeledFile> listed,
                                       const std::string& list_name) {
  std::vector<LabeledFile> present;
  std::string first_missing;
  for (auto& file : listed) {
    if (fs::is_regular_file(file.path)) {
      present.push_back(std::move(file));
    } else if (first_missing.empty()) {
      first_missing = file.path;
    }
  }
  const size_t missing = listed.size() - present.size();
  if (missing > 0) {
    if (!config.data.skip_missing) {
      throw DataError(std::to_string(missing) + " of " + std::to_string(listed.size()) +
                      " images listed in " + list_name + " are missing (first: " + first_missing +
                      "); re-download, or set data.skip_missing=true to use the " +
                      std::to_string(present.size()) + " present");
    }
    spdlog::warn("{}: skipping {} of {} listed images that are missing", list_name, missing,
                 listed.size());
  }
  return present;
}

std::vector<LabeledFile> flowers_files(const Config& config, Split split) {
  const fs::path folder = locate(
      config, {"", "flowers102", "flowers-102", "102flowers", "oxford-102-flowers"},
      [](const fs::path& f) { return fs::is_regular_file(f / "setid.mat"); },
      "setid.mat, imagelabels.mat and jpg/image_NNNNN.jpg");
  const std::string variable = split == Split::Train ? "trnid" : split == Split::Val ? "valid" : "tstid";
  const auto ids = read_mat_vector((folder / "setid.mat").string(), variable);
  const auto labels = read_mat_vector((folder / "imagelabels.mat").string(), "labels");
  std::vector<LabeledFile> listed;
  for (int64_t id : ids) {
    if (id < 1 || id > int64_t(labels.size())) {
      throw DataError((folder / "setid.mat").string() + ": " + variable + " lists image " +
                      std::to_string(id) + " but imagelabels.mat has " +
                      std::to_string(labels.size()) + " labels");
    }
    char name[32];
    std::snprintf(name, sizeof name, "image_%05lld.jpg", static_cast<long long>(id));
    listed.push_back({(folder / "jpg" / name).string(), labels[size_t(id - 1)] - 1});
  }
  return present_files(config, std::move(listed), (folder / "setid.mat").string() + " (" + variable + ")");
}

std::vector<LabeledFile> celeba_files(const Config& config, Split split) {
  auto partition_of = [](const fs::path& f) {
    for (const char* name : {"list_eval_partition.txt", "list_eval_partition.csv",
                             "Eval/list_eval_partition.txt"}) {
      if (fs::is_regular_file(f / name)) return f / name;
    }
    return fs::path();
  };
  const fs::path folder = locate(
      config, {"", "celeba", "CelebA", "celeba-dataset"},
      [&](const fs::path& f) { return fs::is_directory(f / "img_align_celeba") && !partition_of(f).empty(); },
      "img_align_celeba/NNNNNN.jpg and list_eval_partition.txt (or .csv)");
  fs::path images = folder / "img_align_celeba";
  if (fs::is_directory(images / "img_align_celeba")) images /= "img_align_celeba";  // Kaggle's zip
  const fs::path partition = partition_of(folder);
  const int wanted = split == Split::Train ? 0 : split == Split::Val ? 1 : 2;
  std::vector<LabeledFile> listed;
  for (const auto& [name, part] : read_celeba_partition(partition.string())) {
    if (part == wanted) listed.push_back({(images / name).string(), 0});
  }
  return present_files(config, std::move(listed), partition.string());
}

std::vector<LabeledFile> cinic_files(const Config& config, Split split) {
  const fs::path folder = locate(
      config, {"", "CINIC-10", "cinic-10", "cinic10"},
      [](const fs::path& f) { return fs::is_directory(f / "train") && fs::is_directory(f / "test"); },
      "train/<class>/*.png, valid/<class>/*.png, test/<class>/*.png");
  const std::string sub = split == Split::Train ? "train" : split == Split::Val ? "valid" : "test";
  std::vector<std::string> classes;
  return list_class_folders((folder / sub).string(), &classes);
}

std::vector<LabeledFile> folder_files(const Config& config, Split split) {
  if (!fs::is_directory(config.data.root)) {
    throw IoError("data.root=" + config.data.root + ": folder not found");
  }
  const auto paths = list_images_recursive(config.data.root);
  if (paths.empty()) {
    throw DataError("data.root=" + config.data.root +
                    ": no .png, .jpg, .jpeg or .bmp images in this folder or below");
  }
  // No official split: validation (and test, the same images) carved from the whole folder.
  const auto indices = carve(config, paths.size(), split == Split::Train ? Split::Train : Split::Val);
  std::vector<LabeledFile> files;
  for (size_t index : indices) files.push_back({paths[index], 0});
  return files;
}

fs::path default_cache_folder() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "vae";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "vae";
  return fs::temp_directory_path() / "vae-cache";
}

}  // namespace

std::string split_name(Split split) {
  switch (split) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    default: return "test";
  }
}

std::shared_ptr<ImageDataset> make_dataset(const Config& config, Split split) {
  const auto& d = config.data;
  std::vector<LabeledFile> files;
  switch (d.dataset) {
    case Dataset::Shapes: {
      const int64_t items = split == Split::Train ? d.train_size
                            : split == Split::Val ? d.val_size
                                                  : d.test_size;
      return std::make_shared<ShapesDataset>(config.train.seed, split, items, d.image_size, d.channels);
    }
    case Dataset::Mnist:
    case Dataset::FashionMnist: return mnist_like(config, split);
    case Dataset::Cifar10:
    case Dataset::Cifar100: return cifar(config, split);
    case Dataset::Flowers102: files = flowers_files(config, split); break;
    case Dataset::Celeba: files = celeba_files(config, split); break;
    case Dataset::Cinic10: files = cinic_files(config, split); break;
    case Dataset::Folder: files = folder_files(config, split); break;
  }
  if (files.empty()) {
    throw DataError("data.root=" + d.root + ": the " + split_name(split) + " split of " +
                    to_string(d.dataset) + " holds no images");
  }
  auto source = std::make_shared<FileDataset>(describe(config, split, files.size()), std::move(files),
                                              transform_spec(config));
  if (!d.cache) return source;
  CachedDataset::Options options;
  options.folder = d.cache_dir.empty() ? default_cache_folder() : fs::path(d.cache_dir);
  options.name = to_string(d.dataset) + "-" + split_name(split);
  options.workers = d.workers > 0 ? d.workers : default_threads();
  options.skip_corrupt = d.skip_corrupt;
  auto cached = std::make_shared<CachedDataset>(*source, options);
  if (cached->corrupt_items() > 0) {
    spdlog::warn("{}: {} images could not be decoded and are skipped", cached->path().string(),
                 cached->corrupt_items());
  }
  return cached;
}

TransformSpec transform_spec(const Config& config) {
  return {config.data.center_crop, config.data.image_size, config.data.channels,
          config.data.resize == ResizeMode::ShorterSide};
}

}  // namespace vae
