// The config keys whose value is one of a fixed set of words, as enums. config_from_json parses
// each word once; the code below the config layer switches on the enums and never compares
// strings. For every enum, Choices<E> names its key and its words in the order of the enumerators
// (the order messages and `vae train --print-config --explain` list them in); to_string gives the
// word back (for messages, logs and JSON, which stay spelt as the config file spells them) and
// from_string<E> parses one. The JSON conversions make a choice read and write as its word.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "vae/base/errors.h"

namespace vae {

enum class Dataset { Shapes, Mnist, FashionMnist, Cifar10, Cifar100, Cinic10, Flowers102, Celeba, Folder };
enum class PixelRange { Unit, Symmetric };        // [0, 1] | [-1, 1]
enum class ValSplit { Random, Last };
enum class ResizeMode { Stretch, ShorterSide };  // Resize((s, s)) | Resize(s) + CenterCrop(s)
enum class ModelType { Conv, Mlp };
enum class NormPosition { BeforeActivation, AfterActivation };
enum class Activation { Relu, LeakyRelu, Silu };
enum class Downsample { Stride, Maxpool };
enum class Upsample { Mirror, Convt2 };
enum class PosteriorHead { Two, Split };
enum class Likelihood { Gaussian, Bernoulli };
enum class ReconReduction { Sum, Mean };          // over pixels
enum class KlReduction { Sum, Mean, PerPixel };   // over latents
enum class BatchReduction { Mean, Sum };          // over the batch
enum class KlSchedule { Constant, Linear, Cyclical, Capacity };
enum class OptimizerName { Adam, AdamW, Sgd };
enum class LrSchedule { Constant, Exponential, Step, Cosine };
enum class GridSplit { Val, Test };
enum class NonFinite { Stop, Skip };

template <class E>
struct Choices;  // key: the config key; words: one per enumerator, in order

template <> struct Choices<Dataset> {
  static constexpr const char* key = "data.dataset";
  static constexpr std::array<const char*, 9> words = {
      "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100", "cinic10", "flowers102", "celeba", "folder"};
};
template <> struct Choices<PixelRange> {
  static constexpr const char* key = "data.range";
  static constexpr std::array<const char*, 2> words = {"unit", "symmetric"};
};
template <> struct Choices<ValSplit> {
  static constexpr const char* key = "data.val_split";
  static constexpr std::array<const char*, 2> words = {"random", "last"};
};
template <> struct Choices<ResizeMode> {
  static constexpr const char* key = "data.resize";
  static constexpr std::array<const char*, 2> words = {"stretch", "shorter_side"};
};
template <> struct Choices<ModelType> {
  static constexpr const char* key = "model.type";
  static constexpr std::array<const char*, 2> words = {"conv", "mlp"};
};
template <> struct Choices<NormPosition> {
  static constexpr const char* key = "model.norm_position";
  static constexpr std::array<const char*, 2> words = {"before_activation", "after_activation"};
};
template <> struct Choices<Activation> {
  static constexpr const char* key = "model.activation";
  static constexpr std::array<const char*, 3> words = {"relu", "leaky_relu", "silu"};
};
template <> struct Choices<Downsample> {
  static constexpr const char* key = "model.downsample";
  static constexpr std::array<const char*, 2> words = {"stride", "maxpool"};
};
template <> struct Choices<Upsample> {
  static constexpr const char* key = "model.upsample";
  static constexpr std::array<const char*, 2> words = {"mirror", "convt2"};
};
template <> struct Choices<PosteriorHead> {
  static constexpr const char* key = "model.head";
  static constexpr std::array<const char*, 2> words = {"two", "split"};
};
template <> struct Choices<Likelihood> {
  static constexpr const char* key = "loss.likelihood";
  static constexpr std::array<const char*, 2> words = {"gaussian", "bernoulli"};
};
template <> struct Choices<ReconReduction> {
  static constexpr const char* key = "loss.recon_reduction";
  static constexpr std::array<const char*, 2> words = {"sum", "mean"};
};
template <> struct Choices<KlReduction> {
  static constexpr const char* key = "loss.kl_reduction";
  static constexpr std::array<const char*, 3> words = {"sum", "mean", "per_pixel"};
};
template <> struct Choices<BatchReduction> {
  static constexpr const char* key = "loss.batch_reduction";
  static constexpr std::array<const char*, 2> words = {"mean", "sum"};
};
template <> struct Choices<KlSchedule> {
  static constexpr const char* key = "loss.kl_schedule";
  static constexpr std::array<const char*, 4> words = {"constant", "linear", "cyclical", "capacity"};
};
template <> struct Choices<OptimizerName> {
  static constexpr const char* key = "optim.name";
  static constexpr std::array<const char*, 3> words = {"adam", "adamw", "sgd"};
};
template <> struct Choices<LrSchedule> {
  static constexpr const char* key = "optim.lr_schedule";
  static constexpr std::array<const char*, 4> words = {"constant", "exponential", "step", "cosine"};
};
template <> struct Choices<GridSplit> {
  static constexpr const char* key = "train.grid_split";
  static constexpr std::array<const char*, 2> words = {"val", "test"};
};
template <> struct Choices<NonFinite> {
  static constexpr const char* key = "train.nonfinite";
  static constexpr std::array<const char*, 2> words = {"stop", "skip"};
};

template <class E, class = void>
struct is_choice : std::false_type {};
template <class E>
struct is_choice<E, std::void_t<decltype(Choices<E>::key)>> : std::true_type {};
template <class E>
inline constexpr bool is_choice_v = is_choice<E>::value;

// The word of a choice, as the config spells it: to_string(Likelihood::Bernoulli) == "bernoulli".
template <class E, std::enable_if_t<is_choice_v<E>, int> = 0>
std::string to_string(E value) {
  return Choices<E>::words.at(static_cast<size_t>(value));
}

// The choice a word names. Throws ConfigError naming the key and the allowed words otherwise.
template <class E, std::enable_if_t<is_choice_v<E>, int> = 0>
E from_string(const std::string& word) {
  const auto& words = Choices<E>::words;
  std::string allowed;
  for (size_t i = 0; i < words.size(); ++i) {
    if (word == words[i]) return static_cast<E>(i);
    allowed += (i ? ", " : "") + std::string(words[i]);
  }
  throw ConfigError(std::string(Choices<E>::key) + ": got \"" + word + "\"; allowed: one of " + allowed);
}

// A choice is its word in JSON (found by nlohmann::json through argument-dependent lookup).
template <class E, std::enable_if_t<is_choice_v<E>, int> = 0>
void to_json(nlohmann::json& json, E value) {
  json = to_string(value);
}
template <class E, std::enable_if_t<is_choice_v<E>, int> = 0>
void from_json(const nlohmann::json& json, E& value) {
  value = from_string<E>(json.get<std::string>());
}

}  // namespace vae
