// Procedural sprites; see shapes.h.
#include "vae/data/shapes.h"

#include <cmath>

#include "vae/base/random.h"
#include "vae/base/text.h"

namespace vae {
namespace {

// Radius of a sprite at scale 1, as a fraction of the image side.
constexpr double kMaxRadius = 0.3;
// Centres keep this far (fraction of the side) from the border so every sprite stays visible.
constexpr double kMargin = 0.3;
// Samples per pixel along each axis (anti-aliasing).
constexpr int kSupersample = 3;

// Inside test in the sprite's own frame: unit radius, y up.
bool inside(int64_t shape, double u, double v) {
  switch (shape) {
    case 0: return std::abs(u) <= 0.75 && std::abs(v) <= 0.75;             // square
    case 1: return u * u + (v * v) / 0.25 <= 1.0;                            // ellipse 2:1
    case 2: {                                                                // heart
      const double x = u * 1.15, y = v * 1.15 + 0.15;
      const double a = x * x + y * y - 1.0;
      return a * a * a - x * x * y * y * y <= 0.0;
    }
    default: return v >= -0.5 && v <= 1.0 - std::sqrt(3.0) * std::abs(u);  // triangle
  }
}

}  // namespace

std::vector<uint8_t> render_shape(const ShapeFactors& f, int64_t size) {
  std::vector<uint8_t> pixels(size_t(size * size), 0);
  const double radius = f.scale * kMaxRadius * double(size);
  const double cx = (kMargin + f.x * (1 - 2 * kMargin)) * double(size);
  const double cy = (kMargin + f.y * (1 - 2 * kMargin)) * double(size);
  const double c = std::cos(f.rotation), s = std::sin(f.rotation);
  for (int64_t row = 0; row < size; ++row) {
    for (int64_t col = 0; col < size; ++col) {
      int hits = 0;
      for (int sy = 0; sy < kSupersample; ++sy) {
        for (int sx = 0; sx < kSupersample; ++sx) {
          const double px = double(col) + (sx + 0.5) / kSupersample;
          const double py = double(row) + (sy + 0.5) / kSupersample;
          const double dx = (px - cx) / radius, dy = -(py - cy) / radius;
          // Rotate the sample point by -rotation into the sprite's frame.
          const double u = c * dx + s * dy, v = -s * dx + c * dy;
          hits += inside(f.shape, u, v) ? 1 : 0;
        }
      }
      pixels[size_t(row * size + col)] =
          uint8_t(std::lround(255.0 * hits / (kSupersample * kSupersample)));
    }
  }
  return pixels;
}

ShapesDataset::ShapesDataset(int64_t seed, Split split, int64_t items, int64_t image_size,
                             int64_t channels)
    : seed_(seed), split_(split), items_(items), image_size_(image_size), channels_(channels) {}

ShapeFactors ShapesDataset::factors(size_t index) const {
  SplitMix64 rng(mix_seed({uint64_t(seed_), uint64_t(split_) + 1, uint64_t(index)}));
  ShapeFactors f;
  f.shape = int64_t(rng.uniform() * kShapeKinds) % kShapeKinds;
  f.scale = 0.5 + 0.5 * rng.uniform();
  f.rotation = 2 * kPi * rng.uniform();
  f.x = rng.uniform();
  f.y = rng.uniform();
  return f;
}

torch::data::Example<> ShapesDataset::get(size_t index) {
  const ShapeFactors f = factors(index);
  const auto gray = render_shape(f, image_size_);
  auto image = torch::from_blob(const_cast<uint8_t*>(gray.data()), {1, image_size_, image_size_},
                                torch::kUInt8)
                   .expand({channels_, image_size_, image_size_})
                   .clone();  // [C, S, S] uint8
  auto target = torch::tensor({double(f.shape), f.scale, f.rotation, f.x, f.y}, torch::kFloat);
  return {image, target};
}

std::string ShapesDataset::describe() const {
  return "shapes " + split_name(split_) + ": " + std::to_string(items_) + " images " +
         std::to_string(channels_) + "x" + std::to_string(image_size_) + "x" +
         std::to_string(image_size_);
}

}  // namespace vae
