#include "vae/train/train_step.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"
#include "vae/train/optimizer.h"
#include "vae/train/schedules.h"

namespace vae {

TrainStep::TrainStep(VAE model, torch::optim::Optimizer& optimizer, const Config& config,
                     int64_t schedule_steps)
    : model_(std::move(model)),
      optimizer_(optimizer),
      config_(config),
      loss_settings_(LossSettings::from_config(config.loss)),
      schedule_steps_(schedule_steps),
      norm_every_step_(gradient_norm_every_step(config.optim, config.train)) {}

StepResult TrainStep::operator()(const torch::Tensor& x, int64_t step, int64_t epoch, bool want_norm,
                                 StepTimes* times) {
  StepResult result;
  if (times) times->start = Clock::now();
  // Schedules run over the configured epochs; train.max_steps only stops a run early, so a run
  // cut short and resumed with a larger max_steps follows the same schedule.
  result.lr = learning_rate(config_.optim, step, epoch, schedule_steps_);
  result.kl_weight = kl_weight(config_.loss, step);
  set_learning_rate(optimizer_, result.lr);
  const VaeOutput out = model_->forward(x);
  result.terms = elbo_terms(out.reconstruction, x, out.mu, out.logvar, loss_settings_, result.kl_weight,
                            kl_capacity(config_.loss, step));
  if (step + 1 == poison_step_) result.terms.loss = result.terms.loss * std::nan("");
  optimizer_.zero_grad();
  result.loss = result.terms.loss.item<double>();
  if (times) times->forward_done = Clock::now();
  if (std::isfinite(result.loss)) {
    result.terms.loss.backward();
    // The norm costs a pass over every gradient: on each step where it clips or the skip policy
    // needs it, otherwise on the caller's logged steps only (with train.nonfinite=stop a
    // non-finite gradient then shows as a non-finite loss on the next step, before any
    // checkpoint is written).
    result.norm_computed = norm_every_step_ || want_norm;
    if (result.norm_computed) result.grad_norm = clip_gradients(config_.optim, model_->parameters());
  }
  if (times) times->backward_done = Clock::now();
  result.finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  if (result.finite) {
    optimizer_.step();
  } else {
    optimizer_.zero_grad();
  }
  if (times) times->update_done = Clock::now();
  return result;
}

NonFinitePolicy::NonFinitePolicy(const TrainConfig& train, double last_finite_loss)
    : stop_at_first_(train.nonfinite == NonFinite::Stop),
      max_in_a_row_(train.max_nonfinite),
      last_finite_loss_(last_finite_loss) {}

bool NonFinitePolicy::admit(const StepResult& result, int64_t step, int64_t epoch,
                            const std::string& last_checkpoint) {
  if (result.finite) {
    in_a_row_ = 0;
    last_finite_loss_ = result.loss;
    return true;
  }
  ++total_;
  ++in_a_row_;
  const std::string what = std::isfinite(result.loss) ? "non-finite gradient" : "non-finite loss";
  if (stop_at_first_ || in_a_row_ >= max_in_a_row_) {
    throw NumericalError(fmt::format(
        "{} ({}) at step {} (epoch {}){}; last finite loss {:.4f}; last good checkpoint {} is "
        "untouched; try a lower optim.lr, optim.grad_clip or train.nonfinite=skip",
        what, result.loss, step, epoch, in_a_row_ > 1 ? fmt::format(", {} in a row", in_a_row_) : "",
        last_finite_loss_, last_checkpoint));
  }
  spdlog::warn("{} at step {}: step skipped ({} in a row, {} in all)", what, step, in_a_row_, total_);
  return false;
}

}  // namespace vae
