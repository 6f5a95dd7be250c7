#pragma once
// Turning the global flags into a connected client, the same way for every subcommand that talks to the API.
#include "app.hpp"
#include "vmsync/kube/client.hpp"

#include <chrono>
#include <memory>
#include <optional>

namespace vmsync::cli {

struct Session {
  kube::ClientConfig config;
  std::unique_ptr<kube::Client> client;
};

// Loads the kubeconfig (as kubectl), warns about --insecure-skip-tls-verify, connects. `deadline` bounds every
// request and retry of the command.
Session connect(const GlobalOptions &g, std::optional<std::chrono::steady_clock::time_point> deadline);

// The namespace a command works in: -n, else the kubeconfig context's, else "default".
std::string effective_namespace(const GlobalOptions &g, const Session *s);

} // namespace vmsync::cli
