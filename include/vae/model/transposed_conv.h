// The decoder's transposed convolutions on the CPU, computed with the ordinary convolution's
// kernels (a custom autograd function), and when to use them.
#pragma once

#include <torch/torch.h>

namespace vae {

// A transposed convolution (stride, padding and output padding the same along both axes; no
// dilation or groups) computed with the kernels of the ordinary convolution: its output is the
// gradient of conv2d(., weight) with respect to the input, taken at grad_output = x, and its
// gradients are a conv2d and a conv2d weight gradient. Same values as torch::conv_transpose2d up to
// float rounding. The decoder uses it on the CPU when oneDNN is present: LibTorch 1.13 runs
// conv_transpose2d there as one single-threaded GEMM per image plus col2im, ~4x slower on 2 cores.
// x: [B, C_in, H, W], weight: [C_in, C_out, k, k], bias: [C_out] or undefined.
torch::Tensor conv_transpose2d_via_conv(const torch::Tensor& x, const torch::Tensor& weight,
                                        const torch::Tensor& bias, int64_t stride, int64_t padding,
                                        int64_t output_padding);

// Whether the decoder's transposed convs should run through conv_transpose2d_via_conv: float
// tensors on the CPU with oneDNN present and enabled.
bool transposed_conv_via_conv(const torch::Tensor& x);

}  // namespace vae
