// Kubeconfig loading, merging, overrides and in-cluster config, with the exact one-line errors users see.
#include "temp_dir.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/base64.hpp"
#include "vmsync/kube/config.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace vmsync;
using namespace vmsync::kube;
using vmsync::test::fake_env;
using vmsync::test::TempDir;

namespace {

const std::string ca_pem = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
const std::string cert_pem = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
const std::string key_pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIkey\n-----END EC PRIVATE KEY-----\n";

// A kubeconfig with one context "dev" -> cluster "dev-cluster" / user "dev-user" and whatever `extra_user`
// and `extra_cluster` add to those entries (YAML lines, indented by the caller).
std::string kubeconfig(const std::string &server, const std::string &user_fields,
                       const std::string &cluster_fields = "", const std::string &current = "dev") {
  return fmt::format(R"(apiVersion: v1
kind: Config
current-context: {}
clusters:
- name: dev-cluster
  cluster:
    server: {}
{}contexts:
- name: dev
  context:
    cluster: dev-cluster
    user: dev-user
    namespace: monitoring
- name: other
  context:
    cluster: dev-cluster
users:
- name: dev-user
  user:
{})",
                     current, server, cluster_fields, user_fields);
}

ClientConfig load_file(const std::string &file, Overrides o = {}) {
  o.kubeconfig = file;
  return load_client_config(o, fake_env({}));
}

} // namespace

TEST_CASE("load_client_config: --kubeconfig file with a token, the context's namespace and source") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://10.0.0.1:6443", "    token: abc.def\n"));
  const auto c = load_file(file);
  CHECK(c.server == "https://10.0.0.1:6443");
  CHECK(c.context_name == "dev");
  CHECK(c.cluster_name == "dev-cluster");
  CHECK(c.user_name == "dev-user");
  CHECK(c.namespace_ == "monitoring");
  CHECK(c.namespace_from_config);
  CHECK(c.token == "abc.def");
  CHECK(c.ca_pem.empty());
  CHECK_FALSE(c.in_cluster);
  CHECK(c.source == "kubeconfig " + file);
}

TEST_CASE("load_client_config: a missing --kubeconfig file is an error") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(load_file(dir / "nope"),
                       ("kubeconfig " + (dir / "nope") + ": cannot read: no such file or directory").c_str(),
                       ConfigError);
}

TEST_CASE("load_client_config: the context's namespace is optional, --namespace wins") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://h:1", "    token: t0000\n", "", "other"));
  auto c = load_file(file);
  CHECK(c.namespace_ == "default");
  CHECK_FALSE(c.namespace_from_config);
  CHECK(c.user_name.empty()); // context "other" names no user: anonymous
  CHECK(c.token.empty());
  Overrides o;
  o.namespace_ = "ops";
  c = load_file(file, o);
  CHECK(c.namespace_ == "ops");
  CHECK(c.namespace_from_config);
}

TEST_CASE("load_client_config: KUBECONFIG files merge, first file wins per name and for current-context") {
  TempDir dir;
  const auto a = dir.write("a/config", R"(current-context: from-a
clusters:
- name: shared
  cluster: {server: "https://a:6443"}
contexts:
- name: from-a
  context: {cluster: shared, user: ua}
users:
- name: ua
  user: {token: token-a}
)");
  const auto b = dir.write("b/config", R"(current-context: from-b
clusters:
- name: shared
  cluster: {server: "https://b:6443"}
- name: only-b
  cluster: {server: "https://only-b:6443"}
contexts:
- name: from-a
  context: {cluster: only-b, user: ub}
- name: from-b
  context: {cluster: only-b, user: ub, namespace: bns}
users:
- name: ua
  user: {token: token-b}
- name: ub
  user: {token: token-ub}
)");
  const auto env = fake_env({{"KUBECONFIG", a + ":" + b}});
  auto c = load_client_config({}, env);
  CHECK(c.context_name == "from-a");
  CHECK(c.server == "https://a:6443");
  CHECK(c.token == "token-a");
  CHECK(c.source == "kubeconfig " + a + ":" + b);

  Overrides o;
  o.context = "from-b";
  c = load_client_config(o, env);
  CHECK(c.server == "https://only-b:6443");
  CHECK(c.token == "token-ub");
  CHECK(c.namespace_ == "bns");

  CHECK(list_contexts({}, env) == std::vector<std::string>{"from-a", "from-b"});
}

TEST_CASE("load_client_config: KUBECONFIG skips missing files, empty entries and duplicates") {
  TempDir dir;
  const auto a = dir.write("config", kubeconfig("https://h:1", "    token: t0000\n"));
  const auto env = fake_env({{"KUBECONFIG", ":" + (dir / "missing") + "::" + a + ":" + a}});
  const auto c = load_client_config({}, env);
  CHECK(c.server == "https://h:1");
  CHECK(c.source == "kubeconfig " + a); // the duplicate is read once
}

TEST_CASE("load_client_config: KUBECONFIG with no existing file and no cluster around") {
  TempDir dir;
  const auto env = fake_env({{"KUBECONFIG", (dir / "x") + ":" + (dir / "y")}});
  CHECK_THROWS_WITH_AS(load_client_config({}, env),
                       fmt::format("no kubeconfig found (none of the files in KUBECONFIG exist: {}, {}) and not "
                                   "running in a cluster (KUBERNETES_SERVICE_HOST is not set); use --kubeconfig "
                                   "or set KUBECONFIG",
                                   dir / "x", dir / "y")
                           .c_str(),
                       ConfigError);
}

TEST_CASE("load_client_config: ~/.kube/config when KUBECONFIG is unset") {
  TempDir home;
  home.write(".kube/config", kubeconfig("https://home:6443", "    token: t0000\n"));
  const auto c = load_client_config({}, fake_env({}, home.path()));
  CHECK(c.server == "https://home:6443");
  CHECK(c.source == "kubeconfig " + (home / ".kube/config"));

  TempDir empty_home;
  CHECK_THROWS_WITH_AS(load_client_config({}, fake_env({}, empty_home.path())),
                       fmt::format("no kubeconfig found (KUBECONFIG is not set and {}/.kube/config does not exist) "
                                   "and not running in a cluster (KUBERNETES_SERVICE_HOST is not set); use "
                                   "--kubeconfig or set KUBECONFIG",
                                   empty_home.path())
                           .c_str(),
                       ConfigError);
}

TEST_CASE("load_client_config: unknown context, cluster and user name the file and what exists") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://h:1", "    token: t0000\n"));
  Overrides o;
  o.context = "foo";
  CHECK_THROWS_WITH_AS(load_file(file, o),
                       ("kubeconfig " + file + ": context \"foo\" not found (contexts: dev, other)").c_str(),
                       ConfigError);

  const auto gone = dir.write("gone", kubeconfig("https://h:1", "    token: t0000\n", "", "gone"));
  CHECK_THROWS_WITH_AS(load_file(gone),
                       ("kubeconfig " + gone + ": current-context \"gone\" not found (contexts: dev, other)").c_str(),
                       ConfigError);

  Overrides c;
  c.cluster = "prod";
  CHECK_THROWS_WITH_AS(
      load_file(file, c),
      ("kubeconfig " + file + ": cluster \"prod\" (from --cluster) not found (clusters: dev-cluster)").c_str(),
      ConfigError);
  Overrides u;
  u.user = "admin";
  CHECK_THROWS_WITH_AS(load_file(file, u),
                       ("kubeconfig " + file + ": user \"admin\" (from --user) not found (users: dev-user)").c_str(),
                       ConfigError);

  const auto dangling = dir.write("dangling", R"(current-context: a
contexts:
- name: a
  context: {cluster: c, user: u}
clusters:
- name: other
  cluster: {server: "https://x"}
)");
  CHECK_THROWS_WITH_AS(
      load_file(dangling),
      ("kubeconfig " + dangling + ": context \"a\": cluster \"c\" not found (clusters: other)").c_str(), ConfigError);
  const auto no_user = dir.write("nouser", R"(current-context: a
contexts:
- name: a
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: {server: "https://x"}
)");
  CHECK_THROWS_WITH_AS(load_file(no_user),
                       ("kubeconfig " + no_user + ": context \"a\": user \"u\" not found (no users defined)").c_str(),
                       ConfigError);
}

TEST_CASE("load_client_config: no current-context and no --context") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://h:1", "    token: t0000\n", "", "\"\""));
  CHECK_THROWS_WITH_AS(
      load_file(file),
      ("kubeconfig " + file + ": no current-context is set and --context is not given (contexts: dev, other)")
          .c_str(),
      ConfigError);
}

TEST_CASE("load_client_config: structural errors name the file and the key") {
  TempDir dir;
  const auto bad_yaml = dir.write("bad", "clusters:\n- name: [unclosed\n");
  CHECK_THROWS_WITH_AS(load_file(bad_yaml),
                       ("kubeconfig " + bad_yaml + ": invalid YAML at line 3, column 1: end of sequence flow not found")
                           .c_str(),
                       ConfigError);
  const auto not_list = dir.write("notlist", "clusters: {a: b}\n");
  CHECK_THROWS_WITH_AS(load_file(not_list), ("kubeconfig " + not_list + ": clusters: expected a list").c_str(),
                       ConfigError);
  const auto no_name = dir.write("noname", "clusters:\n- cluster: {server: x}\n");
  CHECK_THROWS_WITH_AS(load_file(no_name), ("kubeconfig " + no_name + ": clusters[0]: missing name").c_str(),
                       ConfigError);
  const auto dup = dir.write("dup", "users:\n- name: a\n  user: {}\n- name: a\n  user: {}\n");
  CHECK_THROWS_WITH_AS(load_file(dup), ("kubeconfig " + dup + ": users[1]: duplicate user name \"a\"").c_str(),
                       ConfigError);
  const auto bad_bool =
      dir.write("bool", kubeconfig("https://h:1", "    token: t0000\n", "    insecure-skip-tls-verify: maybe\n"));
  CHECK_THROWS_WITH_AS(load_file(bad_bool),
                       ("kubeconfig " + bad_bool +
                        ": cluster \"dev-cluster\": insecure-skip-tls-verify: expected true or false, got \"maybe\"")
                           .c_str(),
                       ConfigError);
  const auto bad_data = dir.write("data", kubeconfig("https://h:1", "    client-certificate-data: Zm9v\n"
                                                                    "    client-key-data: '!!not base64'\n"));
  CHECK_THROWS_WITH_AS(
      load_file(bad_data),
      ("kubeconfig " + bad_data + ": user \"dev-user\": client-key-data: not valid base64").c_str(), ConfigError);
  const auto top = dir.write("top", "- a\n- b\n");
  CHECK_THROWS_WITH_AS(
      load_file(top),
      ("kubeconfig " + top + ": expected a mapping (apiVersion, clusters, users, contexts, ...) at the top level")
          .c_str(),
      ConfigError);
}

TEST_CASE("load_client_config: -data fields are decoded and kept in memory") {
  TempDir dir;
  const auto file = dir.write(
      "config", kubeconfig("https://h:6443",
                           fmt::format("    client-certificate-data: {}\n    client-key-data: {}\n",
                                       base64_encode(cert_pem), base64_encode(key_pem)),
                           fmt::format("    certificate-authority-data: {}\n", base64_encode(ca_pem))));
  const auto c = load_file(file);
  CHECK(c.ca_pem == ca_pem);
  CHECK(c.client_cert_pem == cert_pem);
  CHECK(c.client_key_pem == key_pem);
  CHECK(c.cluster_ca_data_for_exec == base64_encode(ca_pem));
}

TEST_CASE("load_client_config: relative paths resolve against the kubeconfig's folder") {
  TempDir dir;
  dir.write("kube/certs/ca.crt", ca_pem);
  dir.write("kube/certs/client.crt", cert_pem);
  dir.write("kube/certs/client.key", key_pem);
  dir.write("kube/token", "file-token-123\n");
  const auto file = dir.write("kube/config", kubeconfig("https://h:6443",
                                                        "    client-certificate: certs/client.crt\n"
                                                        "    client-key: ./certs/client.key\n"
                                                        "    tokenFile: token\n",
                                                        "    certificate-authority: certs/../certs/ca.crt\n"));
  // Through KUBECONFIG, so the folder is the file's, not the current directory.
  const auto c = load_client_config({}, fake_env({{"KUBECONFIG", file}}));
  CHECK(c.ca_pem == ca_pem);
  CHECK(c.client_cert_pem == cert_pem);
  CHECK(c.client_key_pem == key_pem);
  CHECK(c.token == "file-token-123");
  CHECK(c.token_file == dir / "kube/token");
}

TEST_CASE("load_client_config: exec command paths resolve only when they contain a folder") {
  TempDir dir;
  const auto exec = [](const std::string &command) {
    return fmt::format("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n"
                       "      interactiveMode: Never\n",
                       command);
  };
  auto c = load_file(dir.write("a/config", kubeconfig("https://h:1", exec("./bin/plugin"))));
  REQUIRE(c.exec);
  CHECK(c.exec->command == dir / "a/bin/plugin");
  c = load_file(dir.write("b/config", kubeconfig("https://h:1", exec("aws"))));
  CHECK(c.exec->command == "aws");
  c = load_file(dir.write("c/config", kubeconfig("https://h:1", exec("/usr/local/bin/x"))));
  CHECK(c.exec->command == "/usr/local/bin/x");
}

TEST_CASE("load_client_config: unreadable referenced files name the key") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://h:1", "    tokenFile: missing-token\n"));
  CHECK_THROWS_WITH_AS(load_file(file),
                       fmt::format("kubeconfig {}: user \"dev-user\": tokenFile {}: cannot read: no such file or "
                                   "directory",
                                   file, dir / "missing-token")
                           .c_str(),
                       ConfigError);
  const auto ca = dir.write("ca", kubeconfig("https://h:1", "    token: t0000\n",
                                             "    certificate-authority: /nonexistent/ca.crt\n"));
  CHECK_THROWS_WITH_AS(load_file(ca),
                       fmt::format("kubeconfig {}: cluster \"dev-cluster\": certificate-authority /nonexistent/ca.crt: "
                                   "cannot read: no such file or directory",
                                   ca)
                           .c_str(),
                       ConfigError);
  Overrides o;
  o.certificate_authority = "/nonexistent/flag-ca.crt";
  CHECK_THROWS_WITH_AS(
      load_file(dir.write("ok", kubeconfig("https://h:1", "    token: t0000\n")), o),
      "--certificate-authority /nonexistent/flag-ca.crt: cannot read: no such file or directory", ConfigError);
}

TEST_CASE("load_client_config: TLS settings that contradict each other") {
  TempDir dir;
  dir.write("ca.crt", ca_pem);
  const auto both = dir.write("both", kubeconfig("https://h:1", "    token: t0000\n",
                                                 fmt::format("    certificate-authority: ca.crt\n"
                                                             "    certificate-authority-data: {}\n",
                                                             base64_encode(ca_pem))));
  CHECK_THROWS_WITH_AS(
      load_file(both),
      ("kubeconfig " + both +
       ": cluster \"dev-cluster\": certificate-authority and certificate-authority-data are both set (keep one)")
          .c_str(),
      ConfigError);
  const auto insecure = dir.write("insecure", kubeconfig("https://h:1", "    token: t0000\n",
                                                         "    certificate-authority: ca.crt\n"
                                                         "    insecure-skip-tls-verify: true\n"));
  CHECK_THROWS_WITH_AS(load_file(insecure),
                       ("kubeconfig " + insecure +
                        ": cluster \"dev-cluster\": insecure-skip-tls-verify cannot be combined with a certificate "
                        "authority (remove one)")
                           .c_str(),
                       ConfigError);

  // --insecure-skip-tls-verify drops the kubeconfig's CA (client-go does the same).
  const auto with_ca =
      dir.write("withca", kubeconfig("https://h:1", "    token: t0000\n", "    certificate-authority: ca.crt\n"));
  Overrides o;
  o.insecure_skip_tls_verify = true;
  auto c = load_file(with_ca, o);
  CHECK(c.insecure_skip_tls_verify);
  CHECK(c.ca_pem.empty());
  // --certificate-authority replaces certificate-authority-data.
  const auto with_data = dir.write(
      "withdata", kubeconfig("https://h:1", "    token: t0000\n",
                             fmt::format("    certificate-authority-data: {}\n", base64_encode("other-ca"))));
  Overrides f;
  f.certificate_authority = dir / "ca.crt";
  c = load_file(with_data, f);
  CHECK(c.ca_pem == ca_pem);
}

TEST_CASE("load_client_config: cluster fields tls-server-name, proxy-url, disable-compression") {
  TempDir dir;
  const auto file = dir.write("config", kubeconfig("https://10.0.0.1:6443/", "    token: t0000\n",
                                                   "    tls-server-name: kubernetes.default\n"
                                                   "    proxy-url: socks5://127.0.0.1:1080\n"
                                                   "    disable-compression: true\n"));
  auto c = load_file(file);
  CHECK(c.server == "https://10.0.0.1:6443"); // trailing slash dropped
  CHECK(c.tls_server_name == "kubernetes.default");
  CHECK(c.proxy_url == "socks5://127.0.0.1:1080");
  CHECK(c.disable_compression);

  // --server drops the kubeconfig's tls-server-name unless --tls-server-name is given too (client-go).
  Overrides o;
  o.server = "https://127.0.0.1:6443";
  c = load_file(file, o);
  CHECK(c.server == "https://127.0.0.1:6443");
  CHECK(c.tls_server_name.empty());
  o.tls_server_name = "api.internal";
  c = load_file(file, o);
  CHECK(c.tls_server_name == "api.internal");

  const auto ftp = dir.write("ftp", kubeconfig("https://h:1", "    token: t0000\n", "    proxy-url: ftp://p:21\n"));
  CHECK_THROWS_WITH_AS(
      load_file(ftp),
      ("kubeconfig " + ftp + ": cluster \"dev-cluster\": proxy-url \"ftp://p:21\" must use http, https or socks5")
          .c_str(),
      ConfigError);
  const auto no_server = dir.write("noserver", kubeconfig("\"\"", "    token: t0000\n"));
  CHECK_THROWS_WITH_AS(load_file(no_server),
                       ("kubeconfig " + no_server + ": cluster \"dev-cluster\": no server is set").c_str(),
                       ConfigError);
}

TEST_CASE("load_client_config: a server without a scheme is https only with TLS settings (client-go)") {
  TempDir dir;
  CHECK(load_file(dir.write("a", kubeconfig("h:8080", ""))).server == "http://h:8080");
  CHECK(load_file(dir.write("b", kubeconfig("h:6443", "", "    insecure-skip-tls-verify: true\n"))).server ==
        "https://h:6443");
}

TEST_CASE("load_client_config: a server with no host is refused, naming the cluster or the flag") {
  TempDir dir;
  for (const std::string server :
       {"https://", "\"https:///\"", "http://", "\"/\"", "\"https://:6443\"", "\"https:///api\""}) {
    CAPTURE(server);
    const auto file = dir.write("config", kubeconfig(server, ""));
    const auto given = server.front() == '"' ? server.substr(1, server.size() - 2) : server;
    CHECK_THROWS_WITH_AS(
        load_file(file),
        fmt::format("kubeconfig {}: cluster \"dev-cluster\": server \"{}\" has no host (set it to "
                    "https://HOST:PORT)",
                    file, given)
            .c_str(),
        ConfigError);
  }
  Overrides o;
  o.server = "https://";
  CHECK_THROWS_WITH_AS(load_client_config(o, fake_env({})),
                       "--server: server \"https://\" has no host (set it to https://HOST:PORT)", ConfigError);
  // Slashes after a host are still dropped, but never into the host.
  CHECK(load_file(dir.write("ok", kubeconfig("https://h:6443///", ""))).server == "https://h:6443");
  CHECK(load_file(dir.write("ipv6", kubeconfig("\"https://[::1]:6443/\"", ""))).server == "https://[::1]:6443");
}

TEST_CASE("load_client_config: credentials are not used over plain http (client-go)") {
  TempDir dir;
  const auto c = load_file(dir.write("config", kubeconfig("http://127.0.0.1:8080", "    token: t0000\n")));
  CHECK(c.token.empty());
}

TEST_CASE("load_client_config: credential overrides") {
  TempDir dir;
  dir.write("token", "from-file\n");
  dir.write("c.crt", cert_pem);
  dir.write("c.key", key_pem);
  const auto file = dir.write(
      "config", kubeconfig("https://h:1", fmt::format("    tokenFile: token\n    client-certificate-data: {}\n"
                                                      "    client-key-data: {}\n",
                                                      base64_encode("kubeconfig-cert"), base64_encode("kubeconfig-key"))));
  Overrides o;
  o.token = "flag-token";
  o.client_certificate = dir / "c.crt";
  o.client_key = dir / "c.key";
  o.request_timeout = std::chrono::milliseconds{2500};
  const auto c = load_file(file, o);
  CHECK(c.token == "flag-token");
  CHECK(c.token_file.empty()); // --token wins over a re-read tokenFile
  CHECK(c.client_cert_pem == cert_pem);
  CHECK(c.client_key_pem == key_pem);
  CHECK(c.request_timeout == std::chrono::milliseconds{2500});
}

TEST_CASE("load_client_config: --server alone, without any kubeconfig") {
  Overrides o;
  o.server = "https://127.0.0.1:6443";
  o.token = "flag-token";
  o.insecure_skip_tls_verify = true;
  const auto c = load_client_config(o, fake_env({}));
  CHECK(c.server == "https://127.0.0.1:6443");
  CHECK(c.token == "flag-token");
  CHECK(c.insecure_skip_tls_verify);
  CHECK(c.source == "command-line flags");
}

TEST_CASE("load_client_config: user validation") {
  TempDir dir;
  const auto cert_only = dir.write("a", kubeconfig("https://h:1", "    client-certificate-data: Zm9v\n"));
  CHECK_THROWS_WITH_AS(load_file(cert_only),
                       ("kubeconfig " + cert_only +
                        ": user \"dev-user\": client-certificate is set but no client-key (set client-key or "
                        "client-key-data)")
                           .c_str(),
                       ConfigError);
  const auto key_only = dir.write("b", kubeconfig("https://h:1", "    client-key: k.key\n"));
  CHECK_THROWS_WITH_AS(load_file(key_only),
                       ("kubeconfig " + key_only +
                        ": user \"dev-user\": client-key is set but no client-certificate (set client-certificate or "
                        "client-certificate-data)")
                           .c_str(),
                       ConfigError);
  const auto two = dir.write("c", kubeconfig("https://h:1", "    token: t\n    username: u\n    password: p\n"));
  CHECK_THROWS_WITH_AS(load_file(two),
                       ("kubeconfig " + two +
                        ": user \"dev-user\": token and username/password are both set (only one authentication "
                        "method is allowed)")
                           .c_str(),
                       ConfigError);
  const auto basic = load_file(dir.write("d", kubeconfig("https://h:1", "    username: admin\n    password: s3cret\n")));
  CHECK(basic.username == "admin");
  CHECK(basic.password == "s3cret");
  const auto as = load_file(
      dir.write("e", kubeconfig("https://h:1", "    token: t0000\n    as: jane\n    as-groups: [ops, dev]\n")));
  CHECK(as.impersonate_user == "jane");
  CHECK(as.impersonate_groups == std::vector<std::string>{"ops", "dev"});
}

TEST_CASE("load_client_config: auth-provider names its replacement plugin") {
  TempDir dir;
  const auto check = [&dir](const std::string &provider, const std::string &advice) {
    const auto file = dir.write(provider, kubeconfig("https://h:1", fmt::format("    auth-provider:\n      name: {}\n"
                                                                                "      config: {{}}\n",
                                                                                provider)));
    CHECK_THROWS_WITH_AS(load_file(file),
                         fmt::format("kubeconfig {}: user \"dev-user\": auth-provider \"{}\" is no longer supported by "
                                     "Kubernetes clients; {}",
                                     file, provider, advice)
                             .c_str(),
                         ConfigError);
  };
  check("gcp", "use the exec plugin gke-gcloud-auth-plugin instead (gcloud components install "
               "gke-gcloud-auth-plugin, then fetch the credentials again)");
  check("azure", "use the exec plugin kubelogin instead (kubelogin convert-kubeconfig)");
  check("oidc", "use the exec plugin kubelogin instead (kubectl oidc-login, github.com/int128/kubelogin)");
  check("custom", "use an exec credential plugin instead");
}

TEST_CASE("load_client_config: exec plugin entries (v1 and v1beta1)") {
  TempDir dir;
  const auto v1 = dir.write("v1", kubeconfig("https://h:1", R"(    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env:
      - name: AWS_PROFILE
        value: prod
      installHint: brew install awscli
      provideClusterInfo: true
      interactiveMode: Never
)",
                                                 R"(    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: prod
        retries: 3
)"));
  auto c = load_file(v1);
  REQUIRE(c.exec);
  CHECK(c.exec->api_version == "client.authentication.k8s.io/v1");
  CHECK(c.exec->command == "aws");
  CHECK(c.exec->args == std::vector<std::string>{"eks", "get-token", "--cluster-name", "prod"});
  CHECK(c.exec->env == std::vector<std::pair<std::string, std::string>>{{"AWS_PROFILE", "prod"}});
  CHECK(c.exec->install_hint == "brew install awscli");
  CHECK(c.exec->provide_cluster_info);
  CHECK(c.exec->interactive_mode == "Never");
  CHECK(c.exec->cluster_config_json == R"({"audience":"prod","retries":3})");

  // v1beta1 defaults interactiveMode to IfAvailable.
  const auto beta = dir.write("beta", kubeconfig("https://h:1", "    exec:\n      apiVersion: "
                                                                "client.authentication.k8s.io/v1beta1\n"
                                                                "      command: kubelogin\n"));
  c = load_file(beta);
  CHECK(c.exec->interactive_mode == "IfAvailable");
  CHECK_FALSE(c.exec->provide_cluster_info);
}

TEST_CASE("load_client_config: exec plugin validation") {
  TempDir dir;
  const auto check = [&dir](const std::string &name, const std::string &exec, const std::string &error) {
    const auto file = dir.write(name, kubeconfig("https://h:1", "    exec:\n" + exec));
    CHECK_THROWS_WITH_AS(load_file(file), fmt::format("kubeconfig {}: user \"dev-user\": {}", file, error).c_str(),
                         ConfigError);
  };
  check("no-mode", "      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
        "exec.interactiveMode is required in client.authentication.k8s.io/v1 (Never, IfAvailable or Always)");
  check("bad-mode", "      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      interactiveMode: Sometimes\n",
        "exec.interactiveMode \"Sometimes\" is not valid (Never, IfAvailable or Always)");
  check("alpha", "      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: aws\n",
        "exec.apiVersion \"client.authentication.k8s.io/v1alpha1\" is not supported (use "
        "client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1)");
  check("no-version", "      command: aws\n", "exec.apiVersion is required");
  check("no-command", "      apiVersion: client.authentication.k8s.io/v1\n", "exec.command is required");
  check("env", "      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      interactiveMode: Never\n"
               "      env:\n      - value: x\n",
        "exec.env[0]: missing name");
}

TEST_CASE("load_client_config: JSON kubeconfigs parse too") {
  TempDir dir;
  const auto file = dir.write("config.json", R"({"apiVersion": "v1", "kind": "Config", "current-context": "j",
    "clusters": [{"name": "c", "cluster": {"server": "https://json:6443", "insecure-skip-tls-verify": true}}],
    "contexts": [{"name": "j", "context": {"cluster": "c", "user": "u", "namespace": "jns"}}],
    "users": [{"name": "u", "user": {"token": "json-token"}}]})");
  const auto c = load_file(file);
  CHECK(c.server == "https://json:6443");
  CHECK(c.insecure_skip_tls_verify);
  CHECK(c.token == "json-token");
  CHECK(c.namespace_ == "jns");
}

TEST_CASE("load_client_config: in-cluster config from the service-account folder") {
  TempDir sa;
  sa.write("token", "sa-token\n");
  sa.write("ca.crt", ca_pem);
  sa.write("namespace", "vm\n");
  const auto env = fake_env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                            "/nonexistent-home", sa.path());
  auto c = load_client_config({}, env);
  CHECK(c.in_cluster);
  CHECK(c.server == "https://10.96.0.1:443");
  CHECK(c.token == "sa-token");
  CHECK(c.token_file == sa / "token");
  CHECK(c.ca_pem == ca_pem);
  CHECK(c.namespace_ == "vm");
  CHECK(c.namespace_from_config);
  CHECK(c.source == "in-cluster (service account in " + sa.path() + ")");

  // POD_NAMESPACE beats the namespace file; -n beats both; IPv6 hosts are bracketed.
  const auto env6 = fake_env({{"KUBERNETES_SERVICE_HOST", "fd00::1"},
                              {"KUBERNETES_SERVICE_PORT", "6443"},
                              {"POD_NAMESPACE", "from-env"}},
                             "/nonexistent-home", sa.path());
  c = load_client_config({}, env6);
  CHECK(c.server == "https://[fd00::1]:6443");
  CHECK(c.namespace_ == "from-env");
  Overrides o;
  o.namespace_ = "flag";
  o.server = "https://override:6443";
  o.token = "flag-token";
  c = load_client_config(o, env6);
  CHECK(c.namespace_ == "flag");
  // --server alone (no kubeconfig) is taken as a flags-only config, as client-go does.
  CHECK_FALSE(c.in_cluster);

  Overrides t;
  t.token = "flag-token";
  c = load_client_config(t, env);
  CHECK(c.in_cluster);
  CHECK(c.token == "flag-token");
  CHECK(c.token_file.empty());
}

TEST_CASE("load_client_config: in-cluster without ca.crt or namespace file") {
  TempDir sa;
  sa.write("token", "sa-token");
  const auto env = fake_env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                            "/nonexistent-home", sa.path());
  const auto c = load_client_config({}, env);
  CHECK(c.ca_pem.empty()); // the system store, as client-go
  CHECK(c.namespace_ == "default");
  CHECK_FALSE(c.namespace_from_config);
}

TEST_CASE("load_client_config: in-cluster needs the token file and both variables") {
  TempDir sa;
  const auto env = fake_env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                            "/nonexistent-home", sa.path());
  CHECK_THROWS_WITH_AS(load_client_config({}, env),
                       fmt::format("no kubeconfig found (KUBECONFIG is not set and /nonexistent-home/.kube/config does "
                                   "not exist) and not running in a cluster (no service-account token at {}/token); "
                                   "use --kubeconfig or set KUBECONFIG",
                                   sa.path())
                           .c_str(),
                       ConfigError);
  sa.write("token", "t");
  const auto no_port =
      fake_env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}, "/nonexistent-home", sa.path());
  CHECK_THROWS_WITH_AS(load_client_config({}, no_port),
                       "no kubeconfig found (KUBECONFIG is not set and /nonexistent-home/.kube/config does not exist) "
                       "and not running in a cluster (KUBERNETES_SERVICE_PORT is not set); use --kubeconfig or set "
                       "KUBECONFIG",
                       ConfigError);
}

TEST_CASE("load_client_config: an empty kubeconfig falls back to in-cluster, else says so") {
  TempDir dir;
  const auto empty = dir.write("empty", "");
  CHECK_THROWS_WITH_AS(load_client_config({}, fake_env({{"KUBECONFIG", empty}})),
                       ("kubeconfig " + empty +
                        ": defines no contexts, clusters or users, and not running in a cluster "
                        "(KUBERNETES_SERVICE_HOST is not set)")
                           .c_str(),
                       ConfigError);
  TempDir sa;
  sa.write("token", "sa-token");
  const auto env = fake_env(
      {{"KUBECONFIG", empty}, {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
      "/nonexistent-home", sa.path());
  CHECK(load_client_config({}, env).in_cluster);
}
