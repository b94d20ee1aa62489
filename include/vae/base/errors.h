// Typed errors raised by the library. Only `main` turns them into a message and an exit code:
// configuration and usage problems exit with 2, everything else with 1.
#pragma once

#include <stdexcept>
#include <string>

namespace vae {

// Base of every error the library raises on purpose. `what()` is the one line shown to the user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const { return 1; }
};

// A bad configuration file, key or value; also bad command-line usage. Exit status 2.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 2; }
};

// A file that cannot be read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A file that can be read but whose content is not what it should be (images, datasets).
class DataError : public Error {
 public:
  using Error::Error;
};

// A checkpoint that is missing, damaged or of another format version.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// A feature this build was compiled without (an optional library was missing); the message names
// the library and how to get it.
class MissingFeature : public Error {
 public:
  using Error::Error;
};

// Training produced a non-finite loss.
class NumericalError : public Error {
 public:
  using Error::Error;
};

// Training was stopped by SIGINT or SIGTERM after saving its state; exit status 128 + signal.
class Interrupted : public Error {
 public:
  Interrupted(const std::string& message, int signal_number)
      : Error(message), signal_number_(signal_number) {}
  int exit_code() const override { return 128 + signal_number_; }

 private:
  int signal_number_;
};

}  // namespace vae
