// The decoder's transposed convolutions computed with the kernels of the ordinary convolution, as
// a custom autograd function; see transposed_conv.h.
#include "vae/model/transposed_conv.h"

namespace vae {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// convolution_backward's bias sizes: none given, so that no bias gradient is computed.
const at::OptionalIntArrayRef kNoBias;

// conv_transpose2d(x, W) = d conv2d(y, W) / d y applied to x; backward: dx = conv2d(g, W) and
// dW = the weight gradient of conv2d(g, W) against output gradient x.
class TransposedConvViaConv : public torch::autograd::Function<TransposedConvViaConv> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               int64_t stride, int64_t padding, int64_t output_padding) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    auto out_side = [&](int64_t in, int64_t kernel) {
      return (in - 1) * stride - 2 * padding + kernel + output_padding;
    };
    // Only the sizes of this tensor are read: it stands for the convolution's input.
    const auto output = at::empty({x.size(0), weight.size(1), out_side(x.size(2), weight.size(2)),
                                   out_side(x.size(3), weight.size(3))},
                                  x.options());
    return std::get<0>(at::convolution_backward(x, output, weight, kNoBias,
                                                {stride, stride}, {padding, padding}, /*dilation=*/{1, 1},
                                                /*transposed=*/false, /*output_padding=*/{0, 0},
                                                /*groups=*/1, {true, false, false}));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const int64_t padding = ctx->saved_data["padding"].toInt();
    const auto grad = grads[0].contiguous();  // [B, C_out, H_out, W_out]
    const auto grad_x = at::conv2d(grad, weight, /*bias=*/{}, {stride, stride}, {padding, padding});
    const auto grad_weight = std::get<1>(at::convolution_backward(
        x, grad, weight, kNoBias, {stride, stride}, {padding, padding},
        /*dilation=*/{1, 1}, /*transposed=*/false, /*output_padding=*/{0, 0}, /*groups=*/1,
        {false, true, false}));
    return {grad_x, grad_weight, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// See transposed_conv.h.
}  // namespace

bool transposed_conv_via_conv(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn();
}

torch::Tensor conv_transpose2d_via_conv(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, int64_t stride, int64_t padding,
                                        int64_t output_padding) {
  auto out = TransposedConvViaConv::apply(x, weight, stride, padding, output_padding);
  if (bias.defined()) out = out + bias.view({1, -1, 1, 1});
  return out;
}

}  // namespace vae
