// Graceful stop on SIGINT / SIGTERM / SIGHUP (a closed terminal or a dropped ssh session): the
// first signal only sets a flag that the training loop checks after each step (it then saves
// last.pt and exits with 128 + the signal's number); a second one kills at once.
#pragma once

namespace vae {

void install_stop_handlers();
// The signal number that asked to stop, or 0.
int stop_requested();
// "SIGINT", "SIGTERM", ...
const char* signal_name(int signal_number);

}  // namespace vae
