// The decoder's transposed convolutions computed as ordinary ones (its CPU path,
// vae::conv_transpose2d_via_conv): the same outputs and gradients as torch::conv_transpose2d for
// the geometries the presets build, and the same decoded images with and without that path.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model_support.h"
#include "vae/model/model.h"
#include "vae/model/transposed_conv.h"

namespace {

using vae_test::conv_options;

struct TransposedGeometry {
  int64_t kernel, stride, padding, output_padding, side;
};

class TransposedViaConv : public ::testing::TestWithParam<TransposedGeometry> {};

TEST_P(TransposedViaConv, SameOutputAndGradientsAsConvTranspose2d) {
  const auto g = GetParam();
  torch::manual_seed(3);
  const auto x = torch::randn({3, 5, g.side, g.side}, torch::requires_grad());
  const auto weight = torch::randn({5, 4, g.kernel, g.kernel}, torch::requires_grad());
  const auto bias = torch::randn({4}, torch::requires_grad());
  const auto expected = torch::conv_transpose2d(x, weight, bias, g.stride, g.padding, g.output_padding);
  const auto actual = vae::conv_transpose2d_via_conv(x, weight, bias, g.stride, g.padding, g.output_padding);
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/1e-4, /*atol=*/1e-4));
  const auto upstream = torch::randn_like(expected);
  const auto want = torch::autograd::grad({expected}, {x, weight, bias}, {upstream});
  const auto got = torch::autograd::grad({actual}, {x, weight, bias}, {upstream});
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(torch::allclose(got[i], want[i], /*rtol=*/1e-4, /*atol=*/1e-3))
        << "gradient " << i << " differs by " << (got[i] - want[i]).abs().max().item<double>();
  }
}

// The decoders the presets build: mirror of k4 s2 p1, of k3 s2 p1 (output padding 1), k2 s2,
// and a stride-1 refinement-like geometry.
INSTANTIATE_TEST_SUITE_P(Geometries, TransposedViaConv,
                         ::testing::Values(TransposedGeometry{4, 2, 1, 0, 4}, TransposedGeometry{3, 2, 1, 1, 5},
                                           TransposedGeometry{2, 2, 0, 0, 3}, TransposedGeometry{3, 1, 1, 0, 6},
                                           TransposedGeometry{4, 2, 1, 1, 1}),
                         // k4s2p1op0_side4: kernel, stride, padding, output padding, input side.
                         [](const ::testing::TestParamInfo<TransposedGeometry>& info) {
                           const auto& g = info.param;
                           return "k" + std::to_string(g.kernel) + "s" + std::to_string(g.stride) + "p" +
                                  std::to_string(g.padding) + "op" + std::to_string(g.output_padding) +
                                  "_side" + std::to_string(g.side);
                         });

TEST(Model, DecoderGivesTheSameImagesWithAndWithoutTheConvPath) {
  vae::ModelOptions o = conv_options(32, 3, {8, 16, 32}, 3, 1);
  o.stride = {2};
  o.batch_norm = true;
  vae::VAE model(o);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({4, o.latent_dim});
  const auto fast = model->decode(z);
  auto& context = at::globalContext();
  const bool enabled = context.userEnabledMkldnn();
  context.setUserEnabledMkldnn(false);  // the decoder falls back to torch's conv_transpose2d
  const auto plain = model->decode(z);
  context.setUserEnabledMkldnn(enabled);
  EXPECT_TRUE(torch::allclose(fast, plain, /*rtol=*/1e-4, /*atol=*/1e-5));
}

}  // namespace
