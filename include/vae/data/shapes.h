// The built-in `shapes` dataset: procedural sprites in the spirit of dSprites (Matthey et al. 2017).
// Each item is one white shape on black (square, ellipse, heart or triangle) at a scale, rotation
// and x/y position drawn deterministically from (seed, split, index), rendered at any size with
// 3x3 supersampling. No files; the splits are disjoint random streams.
#pragma once

#include <cstdint>
#include <vector>

#include "vae/data/dataset.h"

namespace vae {

// Ground-truth generative factors of one sprite.
struct ShapeFactors {
  int64_t shape;   // 0 square, 1 ellipse, 2 heart, 3 triangle
  double scale;    // in [0.5, 1]
  double rotation; // radians in [0, 2 pi)
  double x;        // horizontal position of the centre in [0, 1]
  double y;        // vertical position of the centre in [0, 1], downwards
};

constexpr int64_t kShapeKinds = 4;
constexpr int64_t kShapeFactorCount = 5;

// Renders one sprite as an 8-bit gray image, row-major [size, size].
std::vector<uint8_t> render_shape(const ShapeFactors& factors, int64_t size);

class ShapesDataset : public ImageDataset {
 public:
  ShapesDataset(int64_t seed, Split split, int64_t items, int64_t image_size, int64_t channels);

  // data: uint8 [C, S, S]; target: float [5] = (shape, scale, rotation, x, y).
  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override { return size_t(items_); }
  std::string describe() const override;

  ShapeFactors factors(size_t index) const;

 private:
  int64_t seed_;
  Split split_;
  int64_t items_;
  int64_t image_size_;
  int64_t channels_;
};

}  // namespace vae
