// Model: output shapes for every architecture option and several sizes and channel counts, mirror,
// maxpool and convt2 geometry, heads and logvar clamping, mlp, geometry errors, and equivalence
// (parameter counts and layer sequences) with the five reference models of the Python peer. The
// decoder's transposed convolutions computed as ordinary ones: test_transposed_conv.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "vae/config/config.h"
#include "vae/base/errors.h"
#include "vae/model/model.h"
#include "model_support.h"

namespace {

using vae_test::conv_options;

int64_t parameter_count(const vae::VAE& model) {
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  return total;
}

int64_t buffer_count(const vae::VAE& model) {
  int64_t total = 0;
  for (const auto& b : model->buffers()) total += b.numel();
  return total;
}

// The padding of a conv, whichever variant type this LibTorch uses (found by ADL).
template <typename Variant>
int64_t padding_of(const Variant& padding) {
  return visit(
      [](const auto& value) -> int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, torch::ExpandingArray<2>>) {
          return (*value)[0];
        } else {
          return -1;  // "same" / "valid": never built by the model
        }
      },
      padding);
}

// The leaf modules in registration (= forward) order, in the format of the peer description
// script (see PeerModels below): Conv2d(in,out,kK,sS,pP), ConvTranspose2d(...,opO),
// BatchNorm2d(C), Linear(in,out), MaxPool2d(kK), ReLU, LeakyReLU(slope), SiLU.
std::vector<std::string> layers(const vae::VAE& model) {
  std::vector<std::string> out;
  for (const auto& module : model->modules(/*include_self=*/false)) {
    std::ostringstream s;
    if (const auto* conv = module->as<torch::nn::ConvTranspose2d>()) {
      const auto& o = conv->options;
      s << "ConvTranspose2d(" << o.in_channels() << "," << o.out_channels() << ",k"
        << (*o.kernel_size())[0] << ",s" << (*o.stride())[0] << ",p" << padding_of(o.padding())
        << ",op" << (*o.output_padding())[0] << ")";
    } else if (const auto* conv = module->as<torch::nn::Conv2d>()) {
      const auto& o = conv->options;
      s << "Conv2d(" << o.in_channels() << "," << o.out_channels() << ",k" << (*o.kernel_size())[0]
        << ",s" << (*o.stride())[0] << ",p" << padding_of(o.padding()) << ")";
    } else if (const auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      s << "BatchNorm2d(" << bn->options.num_features() << ")";
    } else if (const auto* linear = module->as<torch::nn::Linear>()) {
      s << "Linear(" << linear->options.in_features() << "," << linear->options.out_features()
        << ")";
    } else if (const auto* pool = module->as<torch::nn::MaxPool2d>()) {
      s << "MaxPool2d(k" << (*pool->options.kernel_size())[0] << ")";
    } else if (module->as<torch::nn::ReLU>()) {
      s << "ReLU";
    } else if (const auto* leaky = module->as<torch::nn::LeakyReLU>()) {
      s << "LeakyReLU(" << leaky->options.negative_slope() << ")";
    } else if (module->as<torch::nn::SiLU>()) {
      s << "SiLU";
    } else {
      continue;  // containers
    }
    out.push_back(s.str());
  }
  return out;
}

template <typename Function>
std::string config_error_of(Function&& build) {
  try {
    build();
  } catch (const vae::ConfigError& error) {
    return error.what();
  }
  return "(no ConfigError)";
}

// ---------------------------------------------------------------------------------------------
// Shapes

struct ShapeCase {
  int64_t size, channels, kernel, padding;
  std::vector<int64_t> dims;
};

class ModelShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ModelShapes, ForwardKeepsInputShape) {
  const auto& c = GetParam();
  torch::manual_seed(0);
  vae::VAE model(conv_options(c.size, c.channels, c.dims, c.kernel, c.padding));
  const auto x = torch::rand({3, c.channels, c.size, c.size});
  const vae::VaeOutput out = model->forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(out.logvar.sizes(), (std::vector<int64_t>{3, 6}));
  const auto samples = model->sample(5, 1.0, torch::kCPU);
  EXPECT_EQ(samples.sizes(), (std::vector<int64_t>{5, c.channels, c.size, c.size}));
  EXPECT_GE(samples.min().item<float>(), 0.0f);
  EXPECT_LE(samples.max().item<float>(), 1.0f);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, ModelShapes,
    ::testing::Values(ShapeCase{32, 1, 4, 1, {8, 16, 32}}, ShapeCase{32, 3, 4, 1, {8, 16}},
                      ShapeCase{28, 1, 4, 1, {8, 16}}, ShapeCase{64, 3, 4, 1, {4, 8, 8, 8}},
                      ShapeCase{28, 1, 3, 1, {8, 16, 16}},  // 28 -> 14 -> 7 -> 4 and back
                      ShapeCase{48, 3, 3, 1, {8, 16}}, ShapeCase{17, 1, 3, 1, {4, 4}}),
    // s32c1_k4p1_8_16_32: image size, channels, kernel, padding, then the hidden widths.
    [](const ::testing::TestParamInfo<ShapeCase>& info) {
      const auto& c = info.param;
      std::string name = "s" + std::to_string(c.size) + "c" + std::to_string(c.channels) + "_k" +
                         std::to_string(c.kernel) + "p" + std::to_string(c.padding);
      for (int64_t dim : c.dims) name += "_" + std::to_string(dim);
      return name;
    });

// Every combination of the conv options, at several sizes and channel counts.
struct ComboCase {
  int64_t size, channels;
  std::string downsample, upsample;
  bool batch_norm;
  std::string norm_position, activation, head;
  bool refine;
};

std::string combo_name(const ::testing::TestParamInfo<ComboCase>& info) {
  const auto& c = info.param;
  return "s" + std::to_string(c.size) + "c" + std::to_string(c.channels) + "_" + c.downsample +
         "_" + c.upsample + (c.batch_norm ? "_bn_" + c.norm_position : "") + "_" + c.activation +
         "_" + c.head + (c.refine ? "_refine" : "");
}

std::vector<ComboCase> combo_cases() {
  std::vector<ComboCase> cases;
  for (int64_t size : {28, 32, 64}) {  // two blocks: 28 -> 14 -> 7 still halves exactly
    for (const char* downsample : {"stride", "maxpool"}) {
      for (const char* upsample : {"mirror", "convt2"}) {
        for (bool refine : {false, true}) {
          const int64_t channels = refine ? 3 : 1;
          cases.push_back({size, channels, downsample, upsample, false, "before_activation",
                           "relu", "two", refine});
          cases.push_back({size, 4 - channels, downsample, upsample, true, "before_activation",
                           "leaky_relu", "split", refine});
          cases.push_back({size, channels, downsample, upsample, true, "after_activation", "silu",
                           refine ? "two" : "split", refine});
        }
      }
    }
  }
  return cases;
}

class ModelCombos : public ::testing::TestWithParam<ComboCase> {};

TEST_P(ModelCombos, ForwardKeepsInputShape) {
  const auto& c = GetParam();
  vae::ModelOptions o;
  o.image_size = c.size;
  o.channels = c.channels;
  o.hidden_dims = {4, 8};
  o.latent_dim = 5;
  o.downsample = vae::from_string<vae::Downsample>(c.downsample);
  o.upsample = vae::from_string<vae::Upsample>(c.upsample);
  o.batch_norm = c.batch_norm;
  o.norm_position = vae::from_string<vae::NormPosition>(c.norm_position);
  o.activation = vae::from_string<vae::Activation>(c.activation);
  o.head = vae::from_string<vae::PosteriorHead>(c.head);
  o.refine = c.refine;
  if (c.downsample == "maxpool") {  // "same" convs, the pools halve
    o.kernel_size = {3};
    o.stride = {1};
    o.padding = {1};
  } else {
    o.kernel_size = {3};
    o.stride = {2};
    o.padding = {1};
  }
  torch::manual_seed(3);
  vae::VAE model(o);
  const auto x = torch::rand({2, c.channels, c.size, c.size});
  const auto out = model->forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(out.logvar.sizes(), (std::vector<int64_t>{2, 5}));
  model->eval();
  EXPECT_EQ(model->sample(3, 1.0, torch::kCPU).sizes(),
            (std::vector<int64_t>{3, c.channels, c.size, c.size}));
}

INSTANTIATE_TEST_SUITE_P(Options, ModelCombos, ::testing::ValuesIn(combo_cases()), combo_name);

// ---------------------------------------------------------------------------------------------
// Geometry

TEST(Model, TooManyBlocksForTheImageIsAConfigError) {
  const auto message =
      config_error_of([] { vae::VAE model(conv_options(8, 1, {4, 4, 4, 4, 4, 4}, 4, 0)); });
  EXPECT_NE(message.find("model.hidden_dims"), std::string::npos) << message;
}

TEST(Model, KernelLargerThanTheImageNamesTheKernelKey) {
  const auto message = config_error_of([] { vae::VAE model(conv_options(8, 1, {4}, 11, 0)); });
  EXPECT_NE(message.find("model.kernel_size"), std::string::npos) << message;
}

TEST(Model, EncoderSpatialSizesFollowEachBlocksGeometry) {
  auto o = conv_options(28, 1, {4, 8, 8}, 3, 1);
  o.stride = {2};
  EXPECT_EQ(vae::encoder_spatial_sizes(o), (std::vector<int64_t>{28, 14, 7, 4}));
  o.kernel_size = {4, 3, 3};
  o.stride = {2, 1, 2};
  o.padding = {1, 0, 1};
  EXPECT_EQ(vae::encoder_spatial_sizes(o), (std::vector<int64_t>{28, 14, 12, 6}));
  o.downsample = vae::Downsample::Maxpool;
  o.kernel_size = {3};
  o.stride = {1};
  o.padding = {1};
  EXPECT_EQ(vae::encoder_spatial_sizes(o), (std::vector<int64_t>{28, 14, 7, 3}));  // pools floor
}

TEST(Model, PerBlockKernelStrideAndPaddingLists) {
  auto o = conv_options(32, 3, {8, 16, 32}, 4, 1);
  o.kernel_size = {5, 4, 3};
  o.stride = {1, 2, 2};
  o.padding = {2, 1, 1};
  vae::VAE model(o);
  EXPECT_EQ(model->options().kernel_size, (std::vector<int64_t>{5, 4, 3}));
  const std::vector<std::string> expected = {
      "Conv2d(3,8,k5,s1,p2)", "ReLU", "Conv2d(8,16,k4,s2,p1)", "ReLU", "Conv2d(16,32,k3,s2,p1)",
      "ReLU", "Linear(2048,6)", "Linear(2048,6)", "Linear(6,2048)",
      // 8 -> 16 -> 32 -> 32: each block mirrored, output_padding where the stride floored.
      "ConvTranspose2d(32,16,k3,s2,p1,op1)", "ReLU", "ConvTranspose2d(16,8,k4,s2,p1,op0)", "ReLU",
      "ConvTranspose2d(8,3,k5,s1,p2,op0)"};
  EXPECT_EQ(layers(model), expected);
  const auto x = torch::rand({2, 3, 32, 32});
  EXPECT_EQ(model->forward(x).reconstruction.sizes(), x.sizes());
}

TEST(Model, SingleValuesAreBroadcastToEveryBlock) {
  vae::VAE model(conv_options(32, 1, {4, 8, 8}, 3, 1));
  EXPECT_EQ(model->options().kernel_size, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(model->options().stride, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(model->options().padding, (std::vector<int64_t>{1, 1, 1}));
}

TEST(Model, WrongLengthPerBlockListIsAConfigError) {
  for (const char* key : {"model.kernel_size", "model.stride", "model.padding"}) {
    auto o = conv_options(32, 1, {4, 8, 8}, 3, 1);
    const std::vector<int64_t> two = {3, 3};
    if (std::string(key) == "model.kernel_size") o.kernel_size = two;
    if (std::string(key) == "model.stride") o.stride = two;
    if (std::string(key) == "model.padding") o.padding = two;
    const auto message = config_error_of([&] { vae::VAE model(o); });
    EXPECT_NE(message.find(key), std::string::npos) << message;
    EXPECT_NE(message.find("one per block"), std::string::npos) << message;
  }
}

TEST(Model, MaxpoolMirrorThatCannotLandOnTheEncoderSizeIsAConfigError) {
  // A strided mirror always lands: output_padding is the remainder the conv floored away, which is
  // below the stride. A maxpool encoder's mirror only inverts the pools, so a conv that shrinks
  // the map cannot be mirrored: k3 s1 p0 + pool on 16 gives 16 -> 14 -> 7, and k2 s2 gives 14.
  auto o = conv_options(16, 1, {4}, 3, 0);
  o.stride = {1};
  o.downsample = vae::Downsample::Maxpool;
  const auto message = config_error_of([&] { vae::VAE model(o); });
  EXPECT_NE(message.find("model.kernel_size"), std::string::npos) << message;
  EXPECT_NE(message.find("model.padding=1"), std::string::npos) << message;  // the hint
}

TEST(Model, Convt2NeedsSizesThatHalveExactly) {
  auto o = conv_options(28, 1, {4, 8, 8}, 3, 1);  // 28 -> 14 -> 7 -> 4
  o.upsample = vae::Upsample::Convt2;
  const auto message = config_error_of([&] { vae::VAE model(o); });
  EXPECT_NE(message.find("model.upsample=convt2"), std::string::npos) << message;
  o.hidden_dims = {4, 8};  // 28 -> 14 -> 7 halves exactly
  vae::VAE model(o);
  EXPECT_EQ(model->forward(torch::rand({2, 1, 28, 28})).reconstruction.sizes(),
            (std::vector<int64_t>{2, 1, 28, 28}));
}

TEST(Model, MaxpoolWithConvt2Geometry) {
  auto o = conv_options(32, 3, {4, 8, 16}, 3, 1);
  o.stride = {1};
  o.downsample = vae::Downsample::Maxpool;
  o.upsample = vae::Upsample::Convt2;
  EXPECT_EQ(vae::encoder_spatial_sizes(o), (std::vector<int64_t>{32, 16, 8, 4}));
  vae::VAE model(o);
  const std::vector<std::string> expected = {
      "Conv2d(3,4,k3,s1,p1)", "ReLU", "MaxPool2d(k2)", "Conv2d(4,8,k3,s1,p1)", "ReLU",
      "MaxPool2d(k2)", "Conv2d(8,16,k3,s1,p1)", "ReLU", "MaxPool2d(k2)", "Linear(256,6)",
      "Linear(256,6)", "Linear(6,256)", "ConvTranspose2d(16,8,k2,s2,p0,op0)", "ReLU",
      "ConvTranspose2d(8,4,k2,s2,p0,op0)", "ReLU", "ConvTranspose2d(4,3,k2,s2,p0,op0)"};
  EXPECT_EQ(layers(model), expected);
  // An odd size floors in the pool; mirror lands on it with output_padding, convt2 cannot.
  o.image_size = 28;  // 28 -> 14 -> 7 -> 3
  EXPECT_NE(config_error_of([&] { vae::VAE m(o); }).find("model.upsample=convt2"),
            std::string::npos);
  o.upsample = vae::Upsample::Mirror;
  vae::VAE odd(o);
  EXPECT_EQ(odd->forward(torch::rand({2, 3, 28, 28})).reconstruction.sizes(),
            (std::vector<int64_t>{2, 3, 28, 28}));
}

TEST(Model, Convt2OnAStridedEncoder) {
  auto o = conv_options(32, 1, {4, 8}, 4, 1);  // 32 -> 16 -> 8
  o.upsample = vae::Upsample::Convt2;
  vae::VAE model(o);
  const auto l = layers(model);
  EXPECT_EQ(l[l.size() - 3], "ConvTranspose2d(8,4,k2,s2,p0,op0)");
  EXPECT_EQ(l.back(), "ConvTranspose2d(4,1,k2,s2,p0,op0)");
}

TEST(Model, NormPositionOrdersBatchNormAndActivation) {
  auto o = conv_options(16, 1, {4, 8}, 4, 1);
  o.batch_norm = true;
  vae::VAE before(o);
  auto l = layers(before);
  EXPECT_EQ(std::vector<std::string>(l.begin(), l.begin() + 3),
            (std::vector<std::string>{"Conv2d(1,4,k4,s2,p1)", "BatchNorm2d(4)", "ReLU"}));
  o.norm_position = vae::NormPosition::AfterActivation;
  vae::VAE after(o);
  l = layers(after);
  EXPECT_EQ(std::vector<std::string>(l.begin(), l.begin() + 3),
            (std::vector<std::string>{"Conv2d(1,4,k4,s2,p1)", "ReLU", "BatchNorm2d(4)"}));
  // The decoder's hidden blocks follow the same order; the output layer has neither.
  EXPECT_EQ(std::vector<std::string>(l.end() - 4, l.end()),
            (std::vector<std::string>{"ConvTranspose2d(8,4,k4,s2,p1,op0)", "ReLU", "BatchNorm2d(4)",
                                      "ConvTranspose2d(4,1,k4,s2,p1,op0)"}));
}

TEST(Model, RefineBlockKeepsTheChannelsThenConvsToTheImage) {
  auto o = conv_options(32, 3, {8, 16}, 4, 1);
  o.refine = true;
  vae::VAE model(o);
  const auto l = layers(model);
  EXPECT_EQ(std::vector<std::string>(l.end() - 3, l.end()),
            (std::vector<std::string>{"ConvTranspose2d(8,8,k4,s2,p1,op0)", "ReLU",
                                      "Conv2d(8,3,k3,s1,p1)"}));
  const auto x = torch::rand({2, 3, 32, 32});
  EXPECT_EQ(model->forward(x).reconstruction.sizes(), x.sizes());
}

// ---------------------------------------------------------------------------------------------
// Heads

TEST(Model, SplitHeadIsOneLayerWhoseHalvesAreMuAndLogvar) {
  auto o = conv_options(16, 1, {4, 8}, 4, 1);  // 16 -> 8 -> 4: 8 * 16 = 128 features
  o.head = vae::PosteriorHead::Split;
  torch::manual_seed(4);
  vae::VAE split(o);
  const auto l = layers(split);
  EXPECT_EQ(l[4], "Linear(128,12)");
  EXPECT_EQ(l[5], "Linear(6,128)");
  o.head = vae::PosteriorHead::Two;
  vae::VAE two(o);
  EXPECT_EQ(layers(two)[4], "Linear(128,6)");
  EXPECT_EQ(layers(two)[5], "Linear(128,6)");
  EXPECT_EQ(parameter_count(split), parameter_count(two));  // same weights, arranged differently

  // mu is the first half of the split layer's output, logvar the second.
  split->eval();
  const auto x = torch::rand({3, 1, 16, 16});
  const auto [mu, logvar] = split->encode(x);
  const auto params = split->named_parameters();
  torch::NoGradGuard no_grad;
  const auto features = torch::relu(torch::conv2d(
      torch::relu(torch::conv2d(x, params["encoder.0.weight"], params["encoder.0.bias"], 2, 1)),
      params["encoder.2.weight"], params["encoder.2.bias"], 2, 1));  // [3, 8, 4, 4]
  const auto both = torch::linear(features.flatten(1), params["head.weight"], params["head.bias"]);
  EXPECT_TRUE(torch::allclose(mu, both.narrow(1, 0, 6)));
  EXPECT_TRUE(torch::allclose(logvar, both.narrow(1, 6, 6)));
}

TEST(Model, LogvarClampBoundsTheEncoderOutput) {
  auto o = conv_options(16, 1, {4, 8}, 4, 1);
  torch::manual_seed(5);
  vae::VAE free_model(o);
  o.logvar_clamp = 0.01;
  torch::manual_seed(5);
  vae::VAE clamped(o);  // same weights: same seed, same layers
  const auto x = torch::rand({4, 1, 16, 16}) * 50;
  const auto raw = free_model->encode(x).second;
  ASSERT_GT(raw.abs().max().item<double>(), 0.01);  // the clamp does something
  const auto logvar = clamped->encode(x).second;
  EXPECT_TRUE(torch::allclose(logvar, raw.clamp(-0.01, 0.01)));
  EXPECT_TRUE(torch::allclose(clamped->forward(x).logvar, logvar));  // forward sees the clamp
}

// ---------------------------------------------------------------------------------------------
// MLP

TEST(Model, MlpFlattensAndMirrorsTheWidths) {
  vae::ModelOptions o;
  o.type = vae::ModelType::Mlp;
  o.image_size = 28;
  o.channels = 1;
  o.hidden_dims = {64, 32};
  o.latent_dim = 4;
  o.batch_norm = true;      // ignored for mlp
  o.kernel_size = {3, 3};   // ignored for mlp, whatever its length
  vae::VAE model(o);
  const std::vector<std::string> expected = {
      "Linear(784,64)", "ReLU", "Linear(64,32)", "ReLU", "Linear(32,4)", "Linear(32,4)",
      "Linear(4,32)", "ReLU", "Linear(32,64)", "ReLU", "Linear(64,784)"};
  EXPECT_EQ(layers(model), expected);
  const auto x = torch::rand({5, 1, 28, 28});
  const auto out = model->forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(model->sample(2, 1.0, torch::kCPU).sizes(), (std::vector<int64_t>{2, 1, 28, 28}));

  o.channels = 3;
  o.image_size = 32;
  o.head = vae::PosteriorHead::Split;
  o.activation = vae::Activation::Silu;
  vae::VAE rgb(o);
  EXPECT_EQ(layers(rgb).front(), "Linear(3072,64)");
  EXPECT_EQ(rgb->forward(torch::rand({2, 3, 32, 32})).reconstruction.sizes(),
            (std::vector<int64_t>{2, 3, 32, 32}));
}

// ---------------------------------------------------------------------------------------------
// Arithmetic of one forward pass (what `vae bench train` turns into FLOP/s)

TEST(Model, MultiplyAddsOfAnMlpAreItsWeightCounts) {
  vae::ModelOptions o;
  o.type = vae::ModelType::Mlp;
  o.image_size = 28;
  o.hidden_dims = {512};
  o.latent_dim = 64;
  vae::VAE model(o);
  // encoder 784x512, heads 2 x 512x64, decoder input 64x512, output 512x784
  EXPECT_EQ(model->multiply_adds_per_image(), 784 * 512 + 2 * 512 * 64 + 64 * 512 + 512 * 784);
}

TEST(Model, MultiplyAddsOfAConvNetCountEachWeightPerOutputOrInputPixel) {
  // The peer's "lance" model: 3x32x32, conv 32-64-128 k4 s2 p1 (32 -> 16 -> 8 -> 4), latent 64.
  vae::ModelOptions o = conv_options(32, 3, {32, 64, 128}, 4, 1);
  o.latent_dim = 64;
  o.likelihood = vae::Likelihood::Gaussian;
  vae::VAE model(o);
  model->train();
  const int64_t encoder = (32 * 3 * 16) * (16 * 16) + (64 * 32 * 16) * (8 * 8) + (128 * 64 * 16) * (4 * 4);
  const int64_t heads = 2 * (128 * 4 * 4) * 64 + 64 * (128 * 4 * 4);
  // transposed convs: each weight once per input pixel (4x4 -> 8x8 -> 16x16 -> 32x32)
  const int64_t decoder = (128 * 64 * 16) * (4 * 4) + (64 * 32 * 16) * (8 * 8) + (32 * 3 * 16) * (16 * 16);
  EXPECT_EQ(model->multiply_adds_per_image(), encoder + heads + decoder);
  EXPECT_TRUE(model->is_training());  // counting leaves the mode as it was
}

// ---------------------------------------------------------------------------------------------
// Outputs and modes

TEST(Model, EvalModeDecodesTheMean) {
  torch::manual_seed(1);
  vae::VAE model(conv_options(16, 1, {4, 8}, 4, 1));
  model->eval();
  const auto x = torch::rand({2, 1, 16, 16});
  const auto a = model->forward(x).reconstruction;
  const auto b = model->forward(x).reconstruction;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::allclose(a, model->decode(model->encode(x).first)));
  model->train();
  const auto c = model->forward(x).reconstruction;
  EXPECT_FALSE(torch::equal(a, c));  // training mode samples z
}

TEST(Model, GaussianOutputMatchesDataRange) {
  auto o = conv_options(16, 3, {4, 8}, 4, 1);
  o.likelihood = vae::Likelihood::Gaussian;
  o.range = vae::PixelRange::Symmetric;
  vae::VAE tanh_model(o);
  const auto out = tanh_model->forward(torch::rand({4, 3, 16, 16}) * 2 - 1).reconstruction;
  EXPECT_GE(out.min().item<float>(), -1.0f);
  EXPECT_LE(out.max().item<float>(), 1.0f);
  EXPECT_LT(out.min().item<float>(), 0.0f);  // tanh, not sigmoid
  o.range = vae::PixelRange::Unit;
  vae::VAE sigmoid_model(o);
  const auto unit = sigmoid_model->forward(torch::rand({4, 3, 16, 16})).reconstruction;
  EXPECT_GE(unit.min().item<float>(), 0.0f);
}

TEST(Model, BernoulliDecoderEmitsLogitsAndToImageAppliesSigmoid) {
  torch::manual_seed(2);
  vae::VAE model(conv_options(16, 1, {4, 8}, 4, 1));
  const auto z = torch::randn({3, 6}) * 5;
  const auto logits = model->decode(z);
  EXPECT_TRUE(torch::allclose(model->to_image(logits), torch::sigmoid(logits)));
}

TEST(Model, BatchNormAndActivationsBuild) {
  auto o = conv_options(32, 3, {8, 16}, 4, 1);
  o.batch_norm = true;
  for (const char* activation : {"relu", "leaky_relu", "silu"}) {
    o.activation = vae::from_string<vae::Activation>(activation);
    vae::VAE model(o);
    EXPECT_EQ(model->forward(torch::rand({2, 3, 32, 32})).reconstruction.sizes(),
              (std::vector<int64_t>{2, 3, 32, 32}));
  }
  o.activation = vae::Activation::LeakyRelu;
  vae::VAE leaky(o);
  EXPECT_EQ(layers(leaky)[2], "LeakyReLU(0.01)");  // PyTorch's default slope
}

TEST(Model, UnknownOptionValuesAreConfigErrors) {
  auto o = conv_options(16, 1, {4}, 4, 1);
  EXPECT_NE(config_error_of([&] { o.head = vae::from_string<vae::PosteriorHead>("three"); vae::VAE m(o); })
                .find("model.head"),
            std::string::npos);
  o = conv_options(16, 1, {4}, 4, 1);
  EXPECT_NE(config_error_of([&] { o.activation = vae::from_string<vae::Activation>("gelu"); vae::VAE m(o); })
                .find("model.activation"),
            std::string::npos);
  o = conv_options(16, 1, {}, 4, 1);
  EXPECT_NE(config_error_of([&] { vae::VAE m(o); }).find("model.hidden_dims"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// From the config

TEST(Model, FromConfigCarriesEveryModelKey) {
  auto json = vae::default_config_json();
  for (const char* assignment :
       {"data.image_size=64", "data.channels=3", "data.range=unit", "loss.likelihood=gaussian",
        "model.hidden_dims=[8,16,32]", "model.kernel_size=3", "model.stride=[2,2,1]",
        "model.padding=1", "model.batch_norm=true", "model.norm_position=after_activation",
        "model.activation=silu", "model.downsample=stride", "model.upsample=mirror",
        "model.refine=true", "model.head=split", "model.logvar_clamp=10", "model.latent_dim=7"}) {
    vae::apply_override(json, assignment);
  }
  const auto o = vae::ModelOptions::from_config(vae::config_from_json(json));
  EXPECT_EQ(vae::to_string(o.type), "conv");
  EXPECT_EQ(o.image_size, 64);
  EXPECT_EQ(o.channels, 3);
  EXPECT_EQ(vae::to_string(o.range), "unit");
  EXPECT_EQ(vae::to_string(o.likelihood), "gaussian");
  EXPECT_EQ(o.hidden_dims, (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(o.kernel_size, (std::vector<int64_t>{3, 3, 3}));  // broadcast
  EXPECT_EQ(o.stride, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(o.padding, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_TRUE(o.batch_norm);
  EXPECT_EQ(vae::to_string(o.norm_position), "after_activation");
  EXPECT_EQ(vae::to_string(o.activation), "silu");
  EXPECT_EQ(vae::to_string(o.downsample), "stride");
  EXPECT_EQ(vae::to_string(o.upsample), "mirror");
  EXPECT_TRUE(o.refine);
  EXPECT_EQ(vae::to_string(o.head), "split");
  EXPECT_DOUBLE_EQ(o.logvar_clamp, 10.0);
  EXPECT_EQ(o.latent_dim, 7);
  vae::VAE model(o);
  EXPECT_EQ(model->forward(torch::rand({2, 3, 64, 64})).reconstruction.sizes(),
            (std::vector<int64_t>{2, 3, 64, 64}));

  vae::apply_override(json, "model.type=mlp");
  vae::apply_override(json, "model.downsample=maxpool");
  vae::apply_override(json, "model.upsample=convt2");
  const auto mlp = vae::ModelOptions::from_config(vae::config_from_json(json));
  EXPECT_EQ(vae::to_string(mlp.type), "mlp");
  EXPECT_EQ(vae::to_string(mlp.downsample), "maxpool");
  EXPECT_EQ(vae::to_string(mlp.upsample), "convt2");
}

// ---------------------------------------------------------------------------------------------
// Equivalence with the Python peer (/work/shared/peer/torch_peer.py). The expected parameter
// and buffer counts and layer sequences were computed with Debian's /usr/bin/python3 (torch
// 1.13) from the peer's classes: sum(p.numel() for p in Model().parameters()), the same for
// buffers(), and a walk over Model().modules() printing Conv2d / ConvTranspose2d / BatchNorm2d /
// Linear / MaxPool2d / ReLU / LeakyReLU in the format of layers() above (Flatten, Unflatten and
// the output Sigmoid/Tanh are left out: our output activation is applied in decode()).

struct PeerCase {
  std::string name;
  vae::ModelOptions options;
  int64_t parameters, buffers;
  std::vector<std::string> layers;
};

std::vector<PeerCase> peer_cases() {
  std::vector<PeerCase> cases;
  {  // 000 Lance: conv 32-64-128 k4 s2 p1 + ReLU, two heads, latent 64, tanh output.
    auto o = conv_options(32, 3, {32, 64, 128}, 4, 1);
    o.stride = {2};
    o.latent_dim = 64;
    o.likelihood = vae::Likelihood::Gaussian;
    o.range = vae::PixelRange::Symmetric;
    cases.push_back(
        {"Lance", o, 726467, 0,
         {"Conv2d(3,32,k4,s2,p1)", "ReLU", "Conv2d(32,64,k4,s2,p1)", "ReLU",
          "Conv2d(64,128,k4,s2,p1)", "ReLU", "Linear(2048,64)", "Linear(2048,64)",
          "Linear(64,2048)", "ConvTranspose2d(128,64,k4,s2,p1,op0)", "ReLU",
          "ConvTranspose2d(64,32,k4,s2,p1,op0)", "ReLU", "ConvTranspose2d(32,3,k4,s2,p1,op0)"}});
  }
  {  // 001 CifarBN: conv 96-192-384 k3 s2 p1, ReLU then BN, split head, latent 128, sigmoid.
    auto o = conv_options(32, 3, {96, 192, 384}, 3, 1);
    o.stride = {2};
    o.batch_norm = true;
    o.norm_position = vae::NormPosition::AfterActivation;
    o.head = vae::PosteriorHead::Split;
    o.latent_dim = 128;
    o.likelihood = vae::Likelihood::Gaussian;
    cases.push_back(
        {"CifarBN", o, 4032643, 1925,
         {"Conv2d(3,96,k3,s2,p1)", "ReLU", "BatchNorm2d(96)", "Conv2d(96,192,k3,s2,p1)", "ReLU",
          "BatchNorm2d(192)", "Conv2d(192,384,k3,s2,p1)", "ReLU", "BatchNorm2d(384)",
          "Linear(6144,256)", "Linear(128,6144)", "ConvTranspose2d(384,192,k3,s2,p1,op1)", "ReLU",
          "BatchNorm2d(192)", "ConvTranspose2d(192,96,k3,s2,p1,op1)", "ReLU", "BatchNorm2d(96)",
          "ConvTranspose2d(96,3,k3,s2,p1,op1)"}});
  }
  {  // 002 Flowers: 32x32, conv 16-32-64 k3 s1 p1 + ReLU + maxpool, ConvT k2 s2, latent 10.
    auto o = conv_options(32, 3, {16, 32, 64}, 3, 1);
    o.stride = {1};
    o.downsample = vae::Downsample::Maxpool;
    o.upsample = vae::Upsample::Convt2;
    o.latent_dim = 10;
    o.likelihood = vae::Likelihood::Gaussian;
    cases.push_back(
        {"Flowers", o, 65831, 0,
         {"Conv2d(3,16,k3,s1,p1)", "ReLU", "MaxPool2d(k2)", "Conv2d(16,32,k3,s1,p1)", "ReLU",
          "MaxPool2d(k2)", "Conv2d(32,64,k3,s1,p1)", "ReLU", "MaxPool2d(k2)", "Linear(1024,10)",
          "Linear(1024,10)", "Linear(10,1024)", "ConvTranspose2d(64,32,k2,s2,p0,op0)", "ReLU",
          "ConvTranspose2d(32,16,k2,s2,p0,op0)", "ReLU", "ConvTranspose2d(16,3,k2,s2,p0,op0)"}});
  }
  {  // 003 MnistMLP: 784-512-64, bernoulli (the peer's sigmoid + BCE = our logits + BCE).
    vae::ModelOptions o;
    o.type = vae::ModelType::Mlp;
    o.channels = 1;
    o.image_size = 28;
    o.hidden_dims = {512};
    o.latent_dim = 64;
    // The peer applies F.relu functionally, so its module walk shows only the Linear layers.
    cases.push_back({"MnistMLP", o, 903056, 0,
                     {"Linear(784,512)", "ReLU", "Linear(512,64)", "Linear(512,64)",
                      "Linear(64,512)", "ReLU", "Linear(512,784)"}});
  }
  {  // 004 CelebA: 64x64, conv 32..512 k3 s2 p1 + BN + LeakyReLU, latent 128, mirror + refine.
    auto o = conv_options(64, 3, {32, 64, 128, 256, 512}, 3, 1);
    o.stride = {2};
    o.batch_norm = true;
    o.activation = vae::Activation::LeakyRelu;
    o.refine = true;
    o.latent_dim = 128;
    o.likelihood = vae::Likelihood::Gaussian;
    cases.push_back(
        {"CelebA", o, 3937635, 3018,
         {"Conv2d(3,32,k3,s2,p1)", "BatchNorm2d(32)", "LeakyReLU(0.01)",
          "Conv2d(32,64,k3,s2,p1)", "BatchNorm2d(64)", "LeakyReLU(0.01)",
          "Conv2d(64,128,k3,s2,p1)", "BatchNorm2d(128)", "LeakyReLU(0.01)",
          "Conv2d(128,256,k3,s2,p1)", "BatchNorm2d(256)", "LeakyReLU(0.01)",
          "Conv2d(256,512,k3,s2,p1)", "BatchNorm2d(512)", "LeakyReLU(0.01)", "Linear(2048,128)",
          "Linear(2048,128)", "Linear(128,2048)", "ConvTranspose2d(512,256,k3,s2,p1,op1)",
          "BatchNorm2d(256)", "LeakyReLU(0.01)", "ConvTranspose2d(256,128,k3,s2,p1,op1)",
          "BatchNorm2d(128)", "LeakyReLU(0.01)", "ConvTranspose2d(128,64,k3,s2,p1,op1)",
          "BatchNorm2d(64)", "LeakyReLU(0.01)", "ConvTranspose2d(64,32,k3,s2,p1,op1)",
          "BatchNorm2d(32)", "LeakyReLU(0.01)", "ConvTranspose2d(32,32,k3,s2,p1,op1)",
          "BatchNorm2d(32)", "LeakyReLU(0.01)", "Conv2d(32,3,k3,s1,p1)"}});
  }
  return cases;
}

class PeerModels : public ::testing::TestWithParam<PeerCase> {};

TEST_P(PeerModels, SameParametersAndLayersAsThePeer) {
  const auto& c = GetParam();
  vae::VAE model(c.options);
  EXPECT_EQ(parameter_count(model), c.parameters);
  EXPECT_EQ(buffer_count(model), c.buffers);
  EXPECT_EQ(layers(model), c.layers);
  const int64_t size = c.options.image_size, channels = c.options.channels;
  const auto x = torch::rand({2, channels, size, size});
  const auto out = model->forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{2, c.options.latent_dim}));
}

TEST(ModelPeer, FlowersMirrorEqualsConvt2) {
  // For a maxpool encoder, mirror and convt2 both invert each pool with a k2 s2 transposed conv.
  auto flowers = peer_cases()[2];
  flowers.options.upsample = vae::Upsample::Mirror;
  vae::VAE model(flowers.options);
  EXPECT_EQ(parameter_count(model), flowers.parameters);
  EXPECT_EQ(layers(model), flowers.layers);
}

// The shipped preset files build the same networks (a preset not yet in configs/ is skipped).
TEST(ModelPeer, PresetFilesBuildThePeerModels) {
  const std::vector<std::pair<std::string, std::string>> presets = {
      {"cinic10", "Lance"}, {"cifar10", "CifarBN"}, {"flowers102", "Flowers"},
      {"mnist_mlp", "MnistMLP"}, {"celeba64", "CelebA"}};
  int checked = 0;
  for (const auto& [preset, peer] : presets) {
    const std::string path = std::string(VAE_TEST_SOURCE_DIR) + "/configs/" + preset + ".json";
    if (!std::ifstream(path)) continue;
    const auto cases = peer_cases();
    const auto expected = std::find_if(cases.begin(), cases.end(),
                                       [&](const PeerCase& c) { return c.name == peer; });
    ASSERT_NE(expected, cases.end());
    const auto config = vae::config_from_json(vae::load_config_json(path, {}));
    vae::VAE model(vae::ModelOptions::from_config(config));
    EXPECT_EQ(parameter_count(model), expected->parameters) << preset;
    EXPECT_EQ(buffer_count(model), expected->buffers) << preset;
    EXPECT_EQ(layers(model), expected->layers) << preset;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no preset files in configs/";
}

INSTANTIATE_TEST_SUITE_P(Presets, PeerModels, ::testing::ValuesIn(peer_cases()),
                         [](const ::testing::TestParamInfo<PeerCase>& info) {
                           return info.param.name;
                         });

}  // namespace
