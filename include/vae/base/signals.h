// Graceful stop on SIGINT / SIGTERM: the first signal only sets a flag that the training loop
// checks after each step (it then saves last.pt and exits); a second SIGINT kills at once.
#pragma once

namespace vae {

void install_stop_handlers();
// The signal number that asked to stop, or 0.
int stop_requested();
// "SIGINT", "SIGTERM", ...
const char* signal_name(int signal_number);

}  // namespace vae
