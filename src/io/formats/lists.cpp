// Text and folder listings: CelebA's evaluation partition, image folders, and class folders.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "vae/base/errors.h"
#include "vae/io/formats.h"

namespace vae {
namespace {
namespace fs = std::filesystem;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_image_file(const fs::path& path) {
  const std::string extension = lowercase(path.extension().string());
  return extension == ".png" || extension == ".jpg" || extension == ".jpeg" || extension == ".bmp";
}

void require_folder(const std::string& folder) {
  std::error_code error;
  if (!fs::exists(folder, error)) throw IoError(folder + ": folder not found");
  if (!fs::is_directory(folder, error)) throw IoError(folder + ": is a file, expected a folder");
}

// Splits "name 0", "name\t0" or "name,0" into its two fields; false when it is not exactly two.
bool split_two_fields(const std::string& line, bool comma_separated, std::string* name,
                      std::string* value) {
  if (comma_separated) {
    const size_t comma = line.find(',');
    if (comma == std::string::npos || line.find(',', comma + 1) != std::string::npos) return false;
    std::istringstream left(line.substr(0, comma)), right(line.substr(comma + 1));
    std::string extra;
    return bool(left >> *name) && !(left >> extra) && bool(right >> *value) && !(right >> extra);
  }
  std::istringstream fields(line);
  std::string extra;
  return bool(fields >> *name >> *value) && !(fields >> extra);
}

}  // namespace

std::vector<std::pair<std::string, int>> read_celeba_partition(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw IoError(path + ": is a folder, expected a file");
  if (fs::exists(path, error) && !fs::is_regular_file(path, error)) {
    throw IoError(path + ": not a regular file (a FIFO, socket or device); give the file itself");
  }
  std::ifstream in(path);
  if (!in) {
    throw IoError(path + ": cannot open (" +
                  (fs::exists(path, error) ? std::strerror(errno) : "no such file") + ")");
  }
  // Kaggle's .csv has a header and commas; the original .txt has neither.
  bool comma_separated = lowercase(fs::path(path).extension().string()) == ".csv";
  std::vector<std::pair<std::string, int>> entries;
  std::string line;
  bool first_content_line = true;
  for (int64_t line_number = 1; std::getline(in, line); ++line_number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte order mark (an editor's) would stick to the first file name.
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (first_content_line) {
      first_content_line = false;
      if (line.find(',') != std::string::npos) comma_separated = true;
      if (lowercase(line).rfind("image_id", 0) == 0) continue;  // the .csv header
    }
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    std::string name, value;
    if (!split_two_fields(line, comma_separated, &name, &value)) {
      // Echo the line short and printable, so the message stays one readable line.
      std::string shown = line.substr(0, 80) + (line.size() > 80 ? "..." : "");
      for (char& c : shown) c = std::isprint(static_cast<unsigned char>(c)) ? c : '?';
      throw DataError(where + "expected '<image file>" + (comma_separated ? "," : " ") +
                      "<partition>', got '" + shown + "'");
    }
    if (value != "0" && value != "1" && value != "2") {
      throw DataError(where + "partition '" + value + "' must be 0 (train), 1 (valid) or 2 (test)");
    }
    // The list names files inside the dataset's image folder: never a path that leaves it.
    const fs::path named(name);
    const bool escapes = named.is_absolute() || std::any_of(named.begin(), named.end(), [](const fs::path& part) {
      return part == "..";
    });
    if (escapes || name.find('\0') != std::string::npos) {
      std::string shown = name.substr(0, 80) + (name.size() > 80 ? "..." : "");
      for (char& c : shown) c = std::isprint(static_cast<unsigned char>(c)) ? c : '?';
      throw DataError(where + "'" + shown + "' is not a file name inside the image folder (absolute paths and '..' "
                      "are refused); the list is damaged or not CelebA's");
    }
    entries.emplace_back(name, value[0] - '0');
  }
  if (in.bad()) throw IoError(path + ": read failed");
  return entries;
}

std::vector<std::string> list_images_recursive(const std::string& root) {
  require_folder(root);
  std::vector<std::string> files;
  std::error_code error;
  // Symlinked subfolders are not followed: a link cycle would never end.
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    std::error_code type_error;
    if (it->is_regular_file(type_error) && is_image_file(it->path())) {
      files.push_back(it->path().string());
    }
  }
  if (error) throw IoError(root + ": cannot list the folder (" + error.message() + ")");
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<LabeledFile> list_class_folders(const std::string& folder,
                                            std::vector<std::string>* class_names) {
  require_folder(folder);
  std::vector<std::string> classes;
  std::error_code error;
  for (fs::directory_iterator it(folder, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    std::error_code type_error;
    if (it->is_directory(type_error)) classes.push_back(it->path().filename().string());
  }
  if (error) throw IoError(folder + ": cannot list the folder (" + error.message() + ")");
  if (classes.empty()) {
    throw DataError(folder + ": has no class subfolders; expected one folder of images per class");
  }
  std::sort(classes.begin(), classes.end());

  std::vector<LabeledFile> files;
  for (size_t label = 0; label < classes.size(); ++label) {
    const std::string class_folder = (fs::path(folder) / classes[label]).string();
    std::vector<std::string> images = list_images_recursive(class_folder);
    // A class without images means a broken or partial extraction, not a real class.
    if (images.empty()) {
      throw DataError(class_folder +
                      ": class folder holds no .png/.jpg/.jpeg/.bmp images; "
                      "is the dataset fully extracted?");
    }
    for (std::string& path : images) {
      files.push_back({std::move(path), static_cast<int64_t>(label)});
    }
  }
  if (class_names != nullptr) *class_names = std::move(classes);
  return files;
}

std::vector<std::string> expand_picture_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code ignored;
    if (!std::filesystem::is_directory(input, ignored)) {
      files.push_back(input);  // a missing or unreadable file is reported when it is loaded
      continue;
    }
    const auto found = list_images_recursive(input);
    if (found.empty()) {
      throw DataError(input + ": no .png, .jpg, .jpeg or .bmp files in this folder or below; "
                      "check the path");
    }
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace vae
