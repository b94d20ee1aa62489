// Model: output shapes for several sizes and channel counts, mirror geometry, eval-mode mean.
#include <gtest/gtest.h>

#include "vae/errors.h"
#include "vae/model.h"

namespace {

vae::ModelOptions options(int64_t size, int64_t channels, std::vector<int64_t> dims, int64_t kernel,
                          int64_t padding) {
  vae::ModelOptions o;
  o.image_size = size;
  o.channels = channels;
  o.hidden_dims = std::move(dims);
  o.kernel_size = kernel;
  o.padding = padding;
  o.latent_dim = 6;
  return o;
}

struct ShapeCase {
  int64_t size, channels, kernel, padding;
  std::vector<int64_t> dims;
};

class ModelShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ModelShapes, ForwardKeepsInputShape) {
  const auto& c = GetParam();
  torch::manual_seed(0);
  vae::VAE model(options(c.size, c.channels, c.dims, c.kernel, c.padding));
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
                      ShapeCase{48, 3, 3, 1, {8, 16}}, ShapeCase{17, 1, 3, 1, {4, 4}}));

TEST(Model, TooManyBlocksForTheImageIsAConfigError) {
  try {
    vae::VAE model(options(8, 1, {4, 4, 4, 4, 4, 4}, 4, 0));
    FAIL() << "expected ConfigError";
  } catch (const vae::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("model.hidden_dims"), std::string::npos) << error.what();
  }
}

TEST(Model, EvalModeDecodesTheMean) {
  torch::manual_seed(1);
  vae::VAE model(options(16, 1, {4, 8}, 4, 1));
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
  auto o = options(16, 3, {4, 8}, 4, 1);
  o.likelihood = "gaussian";
  o.range = "symmetric";
  vae::VAE tanh_model(o);
  const auto out = tanh_model->forward(torch::rand({4, 3, 16, 16}) * 2 - 1).reconstruction;
  EXPECT_GE(out.min().item<float>(), -1.0f);
  EXPECT_LE(out.max().item<float>(), 1.0f);
  EXPECT_LT(out.min().item<float>(), 0.0f);  // tanh, not sigmoid
  o.range = "unit";
  vae::VAE sigmoid_model(o);
  const auto unit = sigmoid_model->forward(torch::rand({4, 3, 16, 16})).reconstruction;
  EXPECT_GE(unit.min().item<float>(), 0.0f);
}

TEST(Model, BernoulliDecoderEmitsLogitsAndToImageAppliesSigmoid) {
  torch::manual_seed(2);
  vae::VAE model(options(16, 1, {4, 8}, 4, 1));
  const auto z = torch::randn({3, 6}) * 5;
  const auto logits = model->decode(z);
  EXPECT_TRUE(torch::allclose(model->to_image(logits), torch::sigmoid(logits)));
}

TEST(Model, BatchNormAndActivationsBuild) {
  auto o = options(32, 3, {8, 16}, 4, 1);
  o.batch_norm = true;
  for (const char* activation : {"relu", "leaky_relu", "silu"}) {
    o.activation = activation;
    vae::VAE model(o);
    EXPECT_EQ(model->forward(torch::rand({2, 3, 32, 32})).reconstruction.sizes(),
              (std::vector<int64_t>{2, 3, 32, 32}));
  }
}

}  // namespace
