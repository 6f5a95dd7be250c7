#pragma once
// Finding the cluster exactly as kubectl does (client-go tools/clientcmd): --kubeconfig, $KUBECONFIG merged
// first-wins per key, ~/.kube/config, then in-cluster; command-line overrides on top. The result is a plain
// ClientConfig with every secret held in memory and never printed.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vmsync::kube {

// Where the loader looks; injectable so tests never touch the real home folder or environment.
struct Environment {
  std::function<std::optional<std::string>(const std::string &)> getenv; // default: ::getenv
  std::string home;                                                      // default: $HOME
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static Environment system();
};

// The kubectl global flags (cli-runtime genericclioptions.ConfigFlags). Empty optional = flag not given.
struct Overrides {
  std::optional<std::string> kubeconfig;
  std::optional<std::string> context;
  std::optional<std::string> cluster;
  std::optional<std::string> user;
  std::optional<std::string> namespace_;
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<std::string> certificate_authority;
  std::optional<std::string> client_certificate;
  std::optional<std::string> client_key;
  std::optional<bool> insecure_skip_tls_verify;
  std::optional<std::string> tls_server_name;
  std::optional<std::chrono::milliseconds> request_timeout;
  // kubectl's --as, --as-group (repeatable) and --as-uid: replace the kubeconfig user's `as`, `as-groups`,
  // `as-uid` (client-go's ImpersonationConfig); groups or a uid without a user are refused, as kubectl does.
  std::optional<std::string> impersonate_user;
  std::vector<std::string> impersonate_groups;
  std::optional<std::string> impersonate_uid;
  std::optional<bool> disable_compression; // --disable-compression: true overrides the cluster's setting
};

// users[].user.exec (client.authentication.k8s.io/v1 or v1beta1).
struct ExecConfig {
  std::string api_version;
  std::string command; // resolved against the kubeconfig folder when it contains a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode; // Never | IfAvailable | Always
  // clusters[].cluster.extensions["client.authentication.k8s.io/exec"] as JSON, passed to the plugin as
  // spec.cluster.config when provide_cluster_info is set (empty: none).
  std::string cluster_config_json;
};

struct ClientConfig {
  std::string server; // https://host:port[/prefix]
  std::string context_name;
  std::string cluster_name; // names from the kubeconfig, for messages (empty in-cluster or from --server alone)
  std::string user_name;
  std::string namespace_ = "default";
  bool namespace_from_config = false; // false when defaulted

  // TLS
  std::string ca_pem; // empty: system store
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url; // empty: use https_proxy/http_proxy/no_proxy
  bool disable_compression = false;

  // Credentials (secrets: never log)
  std::string token;
  std::string token_file; // re-read before use (projected service-account tokens rotate)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
  std::string cluster_ca_data_for_exec; // base64 of ca_pem: certificate-authority-data for KUBERNETES_EXEC_INFO
  // Impersonation (users[].user.as, as-uid, as-groups): sent as Impersonate-* headers.
  std::string impersonate_user;
  std::string impersonate_uid;
  std::vector<std::string> impersonate_groups;

  std::chrono::milliseconds request_timeout{0}; // 0: none per request (overall --timeout still applies)
  bool in_cluster = false;
  std::string source; // human description of where this came from (file list or "in-cluster")
};

// Throws ConfigError with a one-line message naming the file and the key.
ClientConfig load_client_config(const Overrides &overrides, const Environment &env);

// Context and namespace names from the merged kubeconfig, for shell completion.
std::vector<std::string> list_contexts(const Overrides &overrides, const Environment &env);

} // namespace vmsync::kube
