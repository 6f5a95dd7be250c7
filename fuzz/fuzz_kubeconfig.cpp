// Kubeconfig parsing and merging: up to three files (separated by a line "#--- next file ---") merged through
// KUBECONFIG, optional command-line overrides on a first line "#! key=value ...", referenced files (ca.crt,
// token, client.crt, client.key) present beside them. Checks: only vmsync::Error escapes; a loaded config has
// an http(s) server; the exec plugin's KUBERNETES_EXEC_INFO is valid JSON. No plugin is ever run.
#include "fuzz_common.hpp"
#include "vmsync/kube/config.hpp"
#include "vmsync/kube/exec_credential.hpp"

#include <map>
#include <nlohmann/json.hpp>

using namespace vmsync;

namespace {

void apply_override(kube::Overrides &o, std::string_view key, const std::string &value) {
  if (key == "context") o.context = value;
  else if (key == "cluster") o.cluster = value;
  else if (key == "user") o.user = value;
  else if (key == "namespace") o.namespace_ = value;
  else if (key == "server") o.server = value;
  else if (key == "token") o.token = value;
  else if (key == "ca") o.certificate_authority = value;
  else if (key == "cert") o.client_certificate = value;
  else if (key == "key") o.client_key = value;
  else if (key == "insecure") o.insecure_skip_tls_verify = value == "true";
  else if (key == "tls-server-name") o.tls_server_name = value;
}

kube::Overrides parse_overrides(std::string_view line, const std::string &first_file, bool &explicit_file) {
  kube::Overrides o;
  std::size_t pos = 0;
  while (pos < line.size()) {
    auto end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    const auto item = line.substr(pos, end - pos);
    pos = end + 1;
    const auto eq = item.find('=');
    if (item == "kubeconfig") {
      o.kubeconfig = first_file;
      explicit_file = true;
    } else if (eq != std::string_view::npos) {
      apply_override(o, item.substr(0, eq), std::string(item.substr(eq + 1)));
    }
  }
  return o;
}

} // namespace

VMSYNC_FUZZ_TARGET(kubeconfig) {
  std::string_view in(reinterpret_cast<const char *>(data), size);
  std::string_view overrides_line;
  if (in.starts_with("#!")) {
    const auto nl = in.find('\n');
    overrides_line = in.substr(2, nl == std::string_view::npos ? std::string_view::npos : nl - 2);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  }
  static const bool referenced = [] {
    fuzz::write_file("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    fuzz::write_file("token", "file-token\n");
    fuzz::write_file("client.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    fuzz::write_file("client.key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
    return true;
  }();
  (void)referenced;

  const auto docs = fuzz::split_on(in, "\n#--- next file ---\n", 3);
  std::string list;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    files.push_back(fuzz::write_file("config" + std::to_string(i), docs[i]));
    list += (i ? ":" : "") + files.back();
  }
  bool explicit_file = false;
  const kube::Overrides overrides = parse_overrides(overrides_line, files[0], explicit_file);

  kube::Environment env;
  const std::map<std::string, std::string> vars{{"KUBECONFIG", list}, {"HOME", fuzz::temp_dir()}};
  env.getenv = [vars](const std::string &name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.home = fuzz::temp_dir();
  env.service_account_dir = fuzz::temp_dir() + "/no-service-account";

  fuzz::expect_clean([&] {
    const kube::ClientConfig c = kube::load_client_config(overrides, env);
    if (!c.server.starts_with("https://") && !c.server.starts_with("http://"))
      fuzz::finding("loaded a config whose server is not an http(s) URL: " + c.server);
    const auto host_at = c.server.find("://") + 3;
    if (host_at >= c.server.size() || c.server[host_at] == '/' || c.server[host_at] == ':')
      fuzz::finding("loaded a config whose server has no host: " + c.server);
    if (c.exec) {
      const auto info = nlohmann::json::parse(kube::exec_info(*c.exec, c, false), nullptr, false);
      if (info.is_discarded() || !info.is_object()) fuzz::finding("KUBERNETES_EXEC_INFO is not a JSON object");
    }
  });
  fuzz::expect_clean([&] { (void)kube::list_contexts(overrides, env); });
  return 0;
}
