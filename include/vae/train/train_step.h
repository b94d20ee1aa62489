// The training step and the policy for non-finite steps. TrainStep is the one step both the
// trainer and `vae bench train` run: the schedules' learning rate and KL weight, forward, the
// beta-weighted negative ELBO, backward, the gradient norm and clipping, the optimizer update.
// NonFinitePolicy decides what a step with a non-finite loss or gradient costs the run.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "vae/base/clock.h"
#include "vae/config/config.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"

namespace vae {

// What one step did.
struct StepResult {
  ElboTerms terms;              // of the batch, on the device
  double loss = 0;              // terms.loss read back: it decides whether to update
  double grad_norm = 0;         // global gradient norm before clipping, when norm_computed
  bool norm_computed = false;
  bool finite = true;           // false: loss or gradient non-finite, weights left unchanged
  double lr = 0, kl_weight = 0; // the schedules' values this step used
};

// Clock readings of a step's phases, for `vae bench train`.
struct StepTimes {
  Clock::time_point start, forward_done, backward_done, update_done;
};

class TrainStep {
 public:
  // `schedule_steps`: the steps the schedules run over (train.epochs x batches per epoch).
  TrainStep(VAE model, torch::optim::Optimizer& optimizer, const Config& config, int64_t schedule_steps);

  // One step on model input `x` at global step `step` (0-based, steps completed) of `epoch`
  // (0-based). The gradient norm is computed where gradient_norm_every_step says so, else only
  // when `want_norm` (the trainer's logged steps). A non-finite loss skips backward; a non-finite
  // loss or gradient skips the update and zeroes the gradients.
  StepResult operator()(const torch::Tensor& x, int64_t step, int64_t epoch, bool want_norm,
                        StepTimes* times = nullptr);

  // Fault injection (TrainOptions::nan_at_step): the loss of step `step` (1-based) is made NaN.
  void poison_step(int64_t step) { poison_step_ = step; }

 private:
  VAE model_;
  torch::optim::Optimizer& optimizer_;
  const Config& config_;
  LossSettings loss_settings_;
  int64_t schedule_steps_;
  bool norm_every_step_;
  int64_t poison_step_ = -1;
};

// train.nonfinite: "stop" ends the run at the first non-finite step; "skip" passes over up to
// train.max_nonfinite - 1 of them in a row (each logged) and stops at the next.
class NonFinitePolicy {
 public:
  // `last_finite_loss`: from the checkpoint of a resumed run, else NaN.
  NonFinitePolicy(const TrainConfig& train, double last_finite_loss);

  // Accounts for a step (`step` 1-based, `epoch` 1-based). Returns true for a finite step, false
  // for a skipped one (after a warning); throws NumericalError, naming the step, the last finite
  // loss and `last_checkpoint` (left untouched), when the run must stop.
  bool admit(const StepResult& result, int64_t step, int64_t epoch, const std::string& last_checkpoint);

  double last_finite_loss() const { return last_finite_loss_; }
  int64_t skipped() const { return total_; }

 private:
  bool stop_at_first_;
  int64_t max_in_a_row_;
  double last_finite_loss_;
  int64_t in_a_row_ = 0, total_ = 0;
};

}  // namespace vae
