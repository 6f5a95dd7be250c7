#pragma once
// The small exception hierarchy for failures that end a command. Each carries one line of context that the CLI
// prints as `vmsync: error: <what>`; every one of them maps to exit code 2 (see exit_code.hpp).
#include <stdexcept>
#include <string>

namespace vmsync {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Bad command line or options that contradict each other.
class UsageError : public Error {
public:
  using Error::Error;
};

// Kubeconfig, in-cluster config or credential plugin problems.
class ConfigError : public Error {
public:
  using Error::Error;
};

// Could not talk to the server at all: DNS, connect, TLS, timeout, broken body.
class TransportError : public Error {
public:
  using Error::Error;
};

// The server answered with an error Status. `status` is the HTTP code (403, 404, 409, ...).
class ApiError : public Error {
public:
  ApiError(int status, std::string reason, const std::string &message)
      : Error(message), status_(status), reason_(std::move(reason)) {}
  [[nodiscard]] int status() const noexcept { return status_; }
  [[nodiscard]] const std::string &reason() const noexcept { return reason_; }

private:
  int status_;
  std::string reason_;
};

// Input documents (manifests, API objects) that cannot be understood.
class ParseError : public Error {
public:
  using Error::Error;
};

} // namespace vmsync
