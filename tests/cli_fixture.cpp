// `vae_cli_fixture NAME`: makes the CTest fixture NAME of the CLI suites anew (cli_support.h), for
// the setup tests CliFixture.NAME. Prints the command's output; exits 0 when the command did.
#include <iostream>

#include "cli_support.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vae_cli_fixture NAME   (NAME: one of";
    for (const auto& fixture : vae_test::fixtures()) std::cerr << " " << fixture.name;
    std::cerr << ")\n";
    return 2;
  }
  try {
    const vae_test::Result result = vae_test::make_fixture(argv[1]);
    std::cout << result.out;
    std::cerr << result.err;
    std::cout << vae_test::fixture_dir(argv[1]).string() << ": `vae` exited " << result.code << "\n";
    return result.code == 0 ? 0 : 1;
  } catch (const std::exception& error) {
    std::cerr << "vae_cli_fixture: " << error.what() << "\n";
    return 2;
  }
}
