// Exec credential plugins: parsing what they print, KUBERNETES_EXEC_INFO, running them, caching until expiry.
#include "temp_dir.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/exec_credential.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace vmsync;
using namespace vmsync::kube;
using vmsync::test::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string v1 = "client.authentication.k8s.io/v1";
const std::string v1beta1 = "client.authentication.k8s.io/v1beta1";
const std::string plugin = R"(exec credential plugin "aws" (user "u"))";

std::string credential(const std::string &api_version, const std::string &status) {
  return fmt::format(R"({{"apiVersion": "{}", "kind": "ExecCredential", "status": {}}})", api_version, status);
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("parse_exec_credential: token in v1 and v1beta1") {
  auto c = parse_exec_credential(credential(v1, R"({"token": "tok-1"})"), v1, plugin);
  CHECK(c.token == "tok-1");
  CHECK_FALSE(c.expiration.has_value());
  c = parse_exec_credential(credential(v1beta1, R"({"token": "tok-2", "expirationTimestamp": "2030-01-02T03:04:05Z"})"),
                            v1beta1, plugin);
  CHECK(c.token == "tok-2");
  REQUIRE(c.expiration.has_value());
  CHECK(*c.expiration == std::chrono::sys_days{std::chrono::year{2030} / 1 / 2} + 3h + 4min + 5s);
}

TEST_CASE("parse_exec_credential: client certificate and key") {
  const auto c = parse_exec_credential(
      credential(v1, R"({"clientCertificateData": "CERT PEM", "clientKeyData": "KEY PEM"})"), v1, plugin);
  CHECK(c.token.empty());
  CHECK(c.client_certificate_pem == "CERT PEM");
  CHECK(c.client_key_pem == "KEY PEM");
}

TEST_CASE("parse_exec_credential: errors never quote the output") {
  CHECK_THROWS_WITH_AS(parse_exec_credential("secret-token-not-json", v1, plugin),
                       R"(exec credential plugin "aws" (user "u") printed something that is not an ExecCredential (not a JSON object))",
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_exec_credential(credential(v1beta1, R"({"token": "t"})"), v1, plugin),
                       R"(exec credential plugin "aws" (user "u") answered in apiVersion "client.authentication.k8s.io/v1beta1", but the kubeconfig asks for "client.authentication.k8s.io/v1")",
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_exec_credential(R"({"apiVersion": "v1", "kind": "Secret"})", v1, plugin),
                       R"(exec credential plugin "aws" (user "u") printed kind "Secret", expected ExecCredential)",
                       ConfigError);
  CHECK_THROWS_WITH_AS(
      parse_exec_credential(R"({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential"})", v1,
                            plugin),
      R"(exec credential plugin "aws" (user "u") printed an ExecCredential without a status)", ConfigError);
  CHECK_THROWS_WITH_AS(parse_exec_credential(credential(v1, R"({"clientCertificateData": "CERT"})"), v1, plugin),
                       R"(exec credential plugin "aws" (user "u") printed only one of status.clientCertificateData and status.clientKeyData (both are needed))",
                       ConfigError);
  CHECK_THROWS_WITH_AS(parse_exec_credential(credential(v1, "{}"), v1, plugin),
                       R"(exec credential plugin "aws" (user "u") printed neither status.token nor status.clientCertificateData and status.clientKeyData)",
                       ConfigError);
  CHECK_THROWS_WITH_AS(
      parse_exec_credential(credential(v1, R"({"token": "t", "expirationTimestamp": "tomorrow"})"), v1, plugin),
      R"(exec credential plugin "aws" (user "u") printed an invalid status.expirationTimestamp "tomorrow")",
      ConfigError);
}

TEST_CASE("parse_rfc3339") {
  using std::chrono::sys_days;
  const auto base = sys_days{std::chrono::year{2024} / 5 / 1} + 10h;
  CHECK(parse_rfc3339("2024-05-01T10:00:00Z") == base);
  CHECK(parse_rfc3339("2024-05-01T12:00:00+02:00") == base);
  CHECK(parse_rfc3339("2024-05-01T09:30:00-00:30") == base);
  CHECK(parse_rfc3339("2024-05-01T10:00:00.5Z") == base + 500ms);
  CHECK_FALSE(parse_rfc3339("2024-05-01 10:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2024-02-30T10:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2024-05-01T10:00:00"));
  CHECK_FALSE(parse_rfc3339("2024-05-01T10:00:00Zjunk"));
}

TEST_CASE("exec_info: interactive always, the cluster only with provideClusterInfo") {
  ExecConfig exec;
  exec.api_version = v1;
  ClientConfig config;
  config.server = "https://10.0.0.1:6443";
  config.tls_server_name = "kubernetes";
  config.cluster_ca_data_for_exec = "Q0E=";
  CHECK(nlohmann::json::parse(exec_info(exec, config, false)) ==
        nlohmann::json::parse(R"({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                                  "spec": {"interactive": false}})"));
  exec.provide_cluster_info = true;
  exec.cluster_config_json = R"({"audience":"prod"})";
  config.insecure_skip_tls_verify = true;
  CHECK(nlohmann::json::parse(exec_info(exec, config, true)) ==
        nlohmann::json::parse(R"({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
          "spec": {"interactive": true, "cluster": {"server": "https://10.0.0.1:6443",
          "tls-server-name": "kubernetes", "insecure-skip-tls-verify": true,
          "certificate-authority-data": "Q0E=", "config": {"audience": "prod"}}}})"));
}

TEST_CASE("run_exec_plugin: runs the command without a shell, with args, env and KUBERNETES_EXEC_INFO") {
  TempDir dir;
  const auto script = dir.write("plugin.sh", fmt::format(R"(#!/bin/sh
printf '%s' "$KUBERNETES_EXEC_INFO" > {}/info.json
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"%s-%s"}}}}' "$1" "$PLUGIN_VAR"
)",
                                                         dir.path()),
                                true);
  ExecConfig exec;
  exec.api_version = v1;
  exec.command = script;
  exec.args = {"arg with spaces; $(not a shell)"};
  exec.env = {{"PLUGIN_VAR", "from-env"}};
  const auto out = run_exec_plugin(exec, {{"KUBERNETES_EXEC_INFO", R"({"spec":{}})"}}, false, "p");
  CHECK(parse_exec_credential(out, v1, "p").token == "arg with spaces; $(not a shell)-from-env");
  CHECK(slurp(dir / "info.json") == R"({"spec":{}})");
}

TEST_CASE("run_exec_plugin: a missing command shows the installHint; failures give the exit code") {
  ExecConfig exec;
  exec.api_version = v1;
  exec.command = "vmsync-test-no-such-plugin";
  exec.install_hint = "Install it with:\n  apt-get install vmsync-test-plugin\n";
  const std::string p = describe_exec_plugin(exec, "alice");
  CHECK(p == R"(exec credential plugin "vmsync-test-no-such-plugin" (user "alice"))");
  CHECK_THROWS_WITH_AS(run_exec_plugin(exec, {}, false, p),
                       R"(exec credential plugin "vmsync-test-no-such-plugin" (user "alice"): command not found; Install it with: apt-get install vmsync-test-plugin)",
                       ConfigError);
  exec.install_hint.clear();
  CHECK_THROWS_WITH_AS(
      run_exec_plugin(exec, {}, false, p),
      R"(exec credential plugin "vmsync-test-no-such-plugin" (user "alice"): command not found (is it installed and in PATH?))",
      ConfigError);

  TempDir dir;
  exec.command = dir.write("fail.sh", "#!/bin/sh\necho 'secret-output'\nexit 3\n", true);
  CHECK_THROWS_WITH_AS(run_exec_plugin(exec, {}, false, "plugin"), "plugin failed with exit code 3", ConfigError);
}

TEST_CASE("ExecAuthenticator: caches until expirationTimestamp, runs again after expiry or invalidate") {
  ClientConfig config;
  config.server = "https://h:6443";
  config.user_name = "u";
  config.exec = ExecConfig{};
  config.exec->api_version = v1;
  config.exec->command = "aws";
  config.exec->interactive_mode = "IfAvailable";

  auto now = std::chrono::sys_days{std::chrono::year{2030} / 1 / 1} + 0s;
  int runs = 0;
  std::vector<bool> interactive_flags;
  std::vector<std::string> infos;
  ExecAuthenticator::Hooks hooks;
  hooks.now = [&now] { return std::chrono::system_clock::time_point(now); };
  hooks.stdin_is_terminal = [] { return true; };
  hooks.run = [&](const ExecConfig &, const EnvVars &env, bool interactive, const std::string &) {
    ++runs;
    interactive_flags.push_back(interactive);
    infos.push_back(env.at(0).first + "=" + env.at(0).second);
    return credential(v1, fmt::format(R"({{"token": "tok-{}", "expirationTimestamp": "2030-01-01T00:10:00Z"}})", runs));
  };
  std::vector<std::string> log;
  ExecAuthenticator auth(config, [&log](const std::string &l) { log.push_back(l); }, 1, hooks);

  CHECK(auth.credential().token == "tok-1");
  CHECK(auth.credential().token == "tok-1");
  now += 9min;
  CHECK(auth.credential().token == "tok-1");
  now += 1min; // at the expiration time: expired
  CHECK(auth.credential().token == "tok-2");
  auth.invalidate();
  CHECK(auth.credential().token == "tok-3");
  CHECK(auth.runs() == 3);
  CHECK(interactive_flags == std::vector<bool>{true, true, true});
  CHECK(infos.at(0) == R"(KUBERNETES_EXEC_INFO={"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}})");
  CHECK(log == std::vector<std::string>(3, R"(running exec credential plugin "aws" from kubeconfig)"));
}

TEST_CASE("ExecAuthenticator: interactiveMode Never and Always") {
  ClientConfig config;
  config.user_name = "u";
  config.exec = ExecConfig{};
  config.exec->api_version = v1;
  config.exec->command = "aws";
  config.exec->interactive_mode = "Never";
  bool seen_interactive = true;
  ExecAuthenticator::Hooks hooks;
  hooks.stdin_is_terminal = [] { return true; };
  hooks.run = [&](const ExecConfig &, const EnvVars &, bool interactive, const std::string &) {
    seen_interactive = interactive;
    return credential(v1, R"({"token": "t"})");
  };
  ExecAuthenticator never(config, nullptr, 0, hooks);
  (void)never.credential();
  CHECK_FALSE(seen_interactive);

  config.exec->interactive_mode = "Always";
  hooks.stdin_is_terminal = [] { return false; };
  ExecAuthenticator always(config, nullptr, 0, hooks);
  CHECK_THROWS_WITH_AS(
      always.credential(),
      R"(exec credential plugin "aws" (user "u") needs a terminal (interactiveMode: Always) but standard input is not one)",
      ConfigError);
}

TEST_CASE("ExecAuthenticator: runs a real plugin script") {
  TempDir dir;
  ClientConfig config;
  config.exec = ExecConfig{};
  config.exec->api_version = v1beta1;
  config.exec->interactive_mode = "Never";
  config.exec->command = dir.write(
      "p.sh",
      "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"script-token\"}}'\n",
      true);
  ExecAuthenticator auth(config, nullptr, 0);
  CHECK(auth.credential().token == "script-token");
}
