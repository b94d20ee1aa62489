// The `vae` program: parses the command line, dispatches to a subcommand and turns errors into
// one line on stderr and an exit status (0 ok, 2 usage/config, 1 other failures,
// 128 + signal when a run was stopped by SIGINT/SIGTERM after saving its state).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "vae/base/errors.h"
#include "vae/base/logging.h"
#include "vae/tensor/device.h"

// OpenMP reads OMP_WAIT_POLICY when LibTorch loads, before main. Its default (threads spin while
// they wait) collapses training on a machine whose cores are busy with other work, so unless the
// user chose a policy the passive one is set from the program's pre-initialisers, which an ELF
// program runs before the initialisers of the libraries it loads (OpenMP's among them).
#if defined(__linux__)
extern "C" {
static void vae_default_openmp_wait_policy(int, char**, char**) { setenv("OMP_WAIT_POLICY", "PASSIVE", 0); }
__attribute__((section(".preinit_array"), used)) static void (*const vae_preinit_openmp)(int, char**, char**) =
    &vae_default_openmp_wait_policy;
}
#endif

namespace {
// The error line as shown: one line, printable, and bounded, however much of a damaged input the
// message quotes (line breaks become spaces, other control bytes and NULs '?', at most 2,000
// characters).
std::string one_line(const std::string& message) {
  constexpr size_t kMaxShown = 2000;
  std::string shown = message.substr(0, kMaxShown);
  for (char& c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    else if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  if (message.size() > kMaxShown) shown += "... (" + std::to_string(message.size() - kMaxShown) + " more characters)";
  return shown;
}

int fail(const std::string& message, int code) {
  const std::string shown = one_line(message);
  vae::log_error_to_files(shown);
  std::fprintf(stderr, "vae: error: %s\n", shown.c_str());
  return code;
}
}  // namespace

int main(int argc, char** argv) {
  vae::init_logging();
  CLI::App app{"vae: train and use variational autoencoders on images"};
  app.set_version_flag("-V,--version", vae::version_text, "Print version, LibTorch and devices");
  app.require_subcommand(1);
  const std::vector<vae::Command> commands = {vae::add_train_command(app),
                                              vae::add_sample_command(app),
                                              vae::add_reconstruct_command(app),
                                              vae::add_data_command(app),
                                              vae::add_sweep_command(app),
                                              vae::add_plot_command(app),
                                              vae::add_interpolate_command(app),
                                              vae::add_traverse_command(app),
                                              vae::add_encode_command(app),
                                              vae::add_eval_command(app),
                                              vae::add_runs_command(app),
                                              vae::add_info_command(app),
                                              vae::add_bench_command(app)};
  if (argc > 1 && argv[1][0] != '-') {
    const std::string name = argv[1];
    bool known = false;
    std::string names;
    for (const auto& command : commands) {
      known = known || command.app->get_name() == name;
      names += (names.empty() ? "" : ", ") + command.app->get_name();
    }
    if (!known) return fail("unknown command '" + name + "'; commands: " + names + " (see vae --help)", 2);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& success) {
    return app.exit(success);
  } catch (const CLI::ParseError& error) {
    return fail(std::string(error.what()) + "; run with --help for usage", 2);
  }
  try {
    for (const auto& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    return fail("no subcommand given; run vae --help", 2);
  } catch (const vae::Error& error) {
    return fail(error.what(), error.exit_code());
  } catch (const std::exception& error) {
    return fail(vae::error_message(error), 1);
  }
}
