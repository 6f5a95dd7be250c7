#pragma once
// Exec credential plugins (client.authentication.k8s.io/v1 and v1beta1), run as client-go runs them
// (k8s.io/client-go/plugin/pkg/client/auth/exec): the command with its args, without a shell; the environment
// is ours plus exec.env plus KUBERNETES_EXEC_INFO (an ExecCredential whose spec says whether the plugin may
// talk to the user and, with provideClusterInfo, which cluster it is for); standard input only when the plugin
// may be interactive and it is a terminal; standard error passed through (plugins prompt there); standard
// output read whole and parsed as an ExecCredential. The credential is kept until its expirationTimestamp, or
// until the server rejects it. The plugin's output is a secret: it is never logged or quoted in an error.
#include "vmsync/kube/config.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmsync::kube {

struct ExecCredential {
  std::string token;                  // status.token
  std::string client_certificate_pem; // status.clientCertificateData
  std::string client_key_pem;         // status.clientKeyData
  std::optional<std::chrono::system_clock::time_point> expiration; // none: valid until rejected
};

using EnvVars = std::vector<std::pair<std::string, std::string>>;

// How errors name the plugin: `exec credential plugin "aws" (user "alice")`.
std::string describe_exec_plugin(const ExecConfig &exec, const std::string &user_name);

// Parses what a plugin printed. `api_version` is the one the kubeconfig asked for: the plugin must answer in
// it. Throws ConfigError starting with `plugin`.
ExecCredential parse_exec_credential(std::string_view output, const std::string &api_version,
                                     const std::string &plugin);

// The value of KUBERNETES_EXEC_INFO: spec.interactive always, spec.cluster when provideClusterInfo is set.
std::string exec_info(const ExecConfig &exec, const ClientConfig &config, bool interactive);

// RFC 3339 time as in expirationTimestamp ("2024-05-01T10:00:00Z", "...:00.5+02:00"); nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// Runs the plugin and returns its standard output. `env` is added to (and overrides) our environment.
// Throws ConfigError: command not found (with the installHint), not executable, non-zero exit.
std::string run_exec_plugin(const ExecConfig &exec, const EnvVars &env, bool interactive,
                            const std::string &plugin);

class ExecAuthenticator {
public:
  struct Hooks {
    std::function<std::chrono::system_clock::time_point()> now; // default: system_clock::now
    std::function<bool()> stdin_is_terminal;                    // default: isatty(0)
    // Default: run_exec_plugin.
    std::function<std::string(const ExecConfig &, const EnvVars &, bool interactive, const std::string &plugin)>
        run;
  };

  // `config.exec` must be set. `log` gets one line per run at verbosity >= 1.
  ExecAuthenticator(const ClientConfig &config, std::function<void(const std::string &)> log, int verbosity,
                    Hooks hooks = {});

  // The cached credential while it has not expired, else a fresh one from the plugin.
  const ExecCredential &credential();
  // Forgets the cached credential (the server rejected it), so the next credential() runs the plugin again.
  void invalidate() noexcept;
  [[nodiscard]] int runs() const noexcept { return runs_; }

private:
  ClientConfig config_;
  std::function<void(const std::string &)> log_;
  int verbosity_;
  Hooks hooks_;
  std::optional<ExecCredential> cached_;
  int runs_ = 0;
};

} // namespace vmsync::kube
