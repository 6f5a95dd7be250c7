// What the fuzzers (fuzz/) and the fault and bad-input tests found, each pinned by a unit test with the input
// and the exact outcome. The raw inputs the fuzzers saved are replayed too (fuzz/regressions/, by
// test_fuzz_corpus.cpp).
#include "../kube/temp_dir.hpp"
#include "vmsync/check/check.hpp"
#include "vmsync/check/inventory.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/kube/config.hpp"
#include "vmsync/kube/exec_credential.hpp"
#include "vmsync/model/drift.hpp"
#include "vmsync/model/storage_nodes.hpp"
#include "vmsync/report/render.hpp"
#include "vmsync/util/yaml_json.hpp"

#include <doctest/doctest.h>
#include <sstream>

using namespace vmsync;
using namespace std::chrono_literals;
using vmsync::test::TempDir;

namespace {
// load_client_config of the kubeconfig at `path` alone.
kube::ClientConfig load_kubeconfig(const std::string &path) {
  kube::Overrides o;
  o.kubeconfig = path;
  return kube::load_client_config(o, test::fake_env({}));
}
} // namespace

// fuzz_exec_credential: an expirationTimestamp after 2262 overflowed system_clock's 64-bit nanoseconds (UBSan:
// signed integer overflow); in a release build the wrapped time was in the past, so the plugin ran again before
// every request. Plugins do print "9999-12-31T23:59:59Z" for "never".
TEST_CASE("parse_rfc3339: times beyond system_clock's range saturate") {
  using std::chrono::system_clock;
  CHECK(kube::parse_rfc3339("9999-12-31T23:59:59Z") == system_clock::time_point::max());
  CHECK(kube::parse_rfc3339("8761-05-01T10:00:00Z") == system_clock::time_point::max());
  CHECK(kube::parse_rfc3339("2262-04-12T00:00:00Z") == system_clock::time_point::max());
  CHECK(kube::parse_rfc3339("1000-01-01T00:00:00Z") == system_clock::time_point::min());
  CHECK(kube::parse_rfc3339("2262-04-11T00:00:00.5Z") ==
        system_clock::time_point{} + std::chrono::seconds{9223286400} + 500ms);

  const auto cred = kube::parse_exec_credential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
      R"("status":{"token":"t0123456789","expirationTimestamp":"9999-12-31T23:59:59Z"}})",
      "client.authentication.k8s.io/v1", "plugin");
  REQUIRE(cred.expiration);

  kube::ClientConfig config;
  config.server = "https://example:6443";
  config.exec = kube::ExecConfig{"client.authentication.k8s.io/v1", "plugin", {}, {}, "", false, "Never", ""};
  kube::ExecAuthenticator::Hooks hooks;
  hooks.now = [] { return std::chrono::system_clock::now(); };
  hooks.run = [](const kube::ExecConfig &, const kube::EnvVars &, bool, const std::string &) {
    return std::string(R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",)"
                       R"("status":{"token":"t0123456789","expirationTimestamp":"9999-12-31T23:59:59Z"}})");
  };
  kube::ExecAuthenticator auth(config, nullptr, 0, hooks);
  for (int i = 0; i < 3; ++i) CHECK(auth.credential().token == "t0123456789");
  CHECK(auth.runs() == 1);
}

// fuzz_kubeconfig: a value that is not UTF-8 in an exec extension made nlohmann::json throw type_error 316 out of
// the loader ("vmsync: error: internal: ..."). kubectl refuses such a file; so does vmsync now, naming the spot.
TEST_CASE("load_client_config: a kubeconfig that is not UTF-8") {
  TempDir dir;
  const auto path = dir.write("config", "apiVersion: v1\nclusters:\n- name: \xe4\x5d\n");
  CHECK_THROWS_WITH_AS(load_kubeconfig(path),
                       ("kubeconfig " + path + ": not valid UTF-8 at line 3, column 9").c_str(), ConfigError);
}

// fuzz_kubeconfig: a server of "https://" lost its slashes to the trailing-slash trim and loaded as "https:",
// which curl then refused with a message that named neither the kubeconfig nor the cluster. Now refused at load.
TEST_CASE("load_client_config: a server that is only a scheme") {
  TempDir dir;
  const auto path = dir.write("config", "apiVersion: v1\nclusters: [{name: c, cluster: {server: 'https://'}}]\n"
                                        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
                                        "current-context: c\nusers: [{name: u, user: {}}]\n");
  CHECK_THROWS_WITH_AS(
      load_kubeconfig(path),
      ("kubeconfig " + path + ": cluster \"c\": server \"https://\" has no host (set it to https://HOST:PORT)")
          .c_str(),
      ConfigError);
}

// fuzz_kubeconfig: an alias inside the node it names (`x-b: &b [*a, *b]`) in the exec extension made the
// YAML-to-JSON conversion recurse until the stack overflowed (a crash, not an error). kubectl refuses it ("anchor
// 'b' value contains itself"); so does vmsync, naming the cluster and the node. The same conversion reads
// manifests (test_yaml_json.cpp).
TEST_CASE("load_client_config: an alias cycle in the exec extension") {
  TempDir dir;
  const auto path = dir.write("config", "apiVersion: v1\nx-b: &b [1, *b]\nclusters:\n- name: c\n  cluster:\n"
                                        "    server: https://c\n    extensions:\n"
                                        "    - {name: client.authentication.k8s.io/exec, extension: {x: *b}}\n");
  CHECK_THROWS_WITH_AS(load_kubeconfig(path),
                       ("kubeconfig " + path +
                        ": cluster \"c\": extension client.authentication.k8s.io/exec: line 2, column 6: an alias "
                        "refers to a node that contains it (an alias cycle)")
                           .c_str(),
                       ConfigError);
}

// fuzz_kubeconfig: a key with a tag and no value (`{audience: sts,!nested: {...}}`) in the exec extension made
// yaml-cpp throw its bad-conversion error out of the loader ("internal error"), once the extension went through
// util::yaml_to_json. A tag with no text is the key ""; a container as key is an error naming the spot.
TEST_CASE("load_client_config: odd keys in the exec extension") {
  TempDir dir;
  auto write = [&](const std::string &name, const std::string &extension) {
    return dir.write(name, "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: https://c\n"
                           "    extensions:\n    - name: client.authentication.k8s.io/exec\n"
                           "      extension: " +
                               extension +
                               "\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
                               "current-context: c\nusers: [{name: u, user: {exec: {apiVersion: "
                               "client.authentication.k8s.io/v1, command: p, interactiveMode: Never, "
                               "provideClusterInfo: true}}}]\n");
  };
  const auto c = load_kubeconfig(write("odd", "{audience: sts,!nested : {n: 1}}"));
  REQUIRE(c.exec);
  CHECK(c.exec->cluster_config_json == R"({"":{"n":1},"audience":"sts"})");
  const auto bad = write("bad", "{[a]: 1}");
  CHECK_THROWS_WITH_AS(
      load_kubeconfig(bad),
      ("kubeconfig " + bad +
       ": cluster \"c\": extension client.authentication.k8s.io/exec: line 8, column 19: a mapping "
       "key must be a scalar, not a sequence or mapping")
          .c_str(),
      ConfigError);
}

TEST_CASE("exec_info: command-line values that are not UTF-8 are replaced, not thrown") {
  kube::ClientConfig config;
  config.server = "https://\xff:6443";
  kube::ExecConfig exec{"client.authentication.k8s.io/v1", "p", {}, {}, "", true, "Never", ""};
  const auto info = nlohmann::json::parse(kube::exec_info(exec, config, false));
  CHECK(info["spec"]["cluster"]["server"] == "https://\xef\xbf\xbd:6443");
}

// fuzz_manifests: text that is not UTF-8 reached the JSON report writer (type_error 316); a scalar "1e999" made
// std::stod throw out_of_range ("internal: stod"); a long scalar made std::regex recurse once per character.
TEST_CASE("parse_yaml_documents: not UTF-8, numbers out of range, very long scalars") {
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("a: b\nc: \"\x93\"\n", "m.yaml"),
                       "m.yaml: line 2, column 5: not valid UTF-8", ParseError);
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("a: \xed\xa0\x80\n", "m.yaml"),
                       "m.yaml: line 1, column 4: not valid UTF-8", ParseError); // a UTF-16 surrogate
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("a: \xe2\x82", "m.yaml"),
                       "m.yaml: line 1, column 4: not valid UTF-8",
                       ParseError); // cut short
  CHECK(util::parse_yaml_documents("a: \xe2\x82\xac\n", "m.yaml").at(0)["a"] == "\xe2\x82\xac");
  CHECK(util::parse_yaml_documents("a: 1e999\nb: -1e999\nc: 1.5e3\n", "m.yaml").at(0) ==
        nlohmann::json{{"a", "1e999"}, {"b", "-1e999"}, {"c", 1500.0}});
  const std::string digits(200000, '7');
  CHECK(util::parse_yaml_documents("a: " + digits + "\n", "m.yaml").at(0)["a"] == digits);
  CHECK(!util::invalid_utf8_at("plain\nascii"));
  CHECK(util::invalid_utf8_at("ok\n\xc0\x80") == "line 2, column 1"); // overlong
}

// fuzz_manifests (timeout): yaml-cpp 0.7's LoadAll loops forever, allocating, on a stray ',' at block level.
// Documents are now split as kubectl splits them and parsed one by one.
TEST_CASE("parse_yaml_documents: a stray comma, and documents split as kubectl splits them") {
  CHECK(util::parse_yaml_documents(",a:\n", "m.yaml").size() <= 1);
  CHECK(util::parse_yaml_documents("a: 1\n---\n,\n---\nb: 2\n", "m.yaml").size() >= 2);
  const auto docs = util::parse_yaml_documents("a: 1\n---\n---   \nb: 2\n--- # c\nc: 3\n---x: 4\n", "m.yaml");
  REQUIRE(docs.size() == 3);
  CHECK(docs[0] == nlohmann::json{{"a", 1}});
  CHECK(docs[1] == nlohmann::json{{"b", 2}});
  CHECK(docs[2] == nlohmann::json{{"c", 3}, {"---x", 4}});
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("a: 1\n---\nkind: [\n", "m.yaml"),
                       "m.yaml: line 4, column 1: end of sequence flow not found", ParseError);
}

TEST_CASE("read_manifests: metadata that is not a mapping") {
  TempDir dir;
  const auto path = dir.write("m.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: oops\n");
  CHECK_THROWS_WITH_AS(check::read_manifests({path}, "default"),
                       (path + ": Deployment: metadata is not a mapping").c_str(),
                       ParseError);
  const auto list = dir.write("l.yaml", "kind: List\nitems:\n- {kind: ConfigMap, metadata: [1]}\n");
  CHECK_THROWS_WITH_AS(check::read_manifests({list}, "default"),
                       (list + ": ConfigMap: metadata is not a mapping").c_str(),
                       ParseError);
}

// fuzz_manifests (out of memory): replicas: 2000000000 made check build two billion expected entries.
TEST_CASE("compute_report: storage replicas out of range are a cluster error, not a billion-entry list") {
  check::Inventory inv;
  inv.offline = true;
  inv.statefulsets.push_back(nlohmann::json::parse(R"({"metadata":{"name":"vmstorage","namespace":"ns"},
      "spec":{"replicas":2000000000,"serviceName":"vmstorage"}})"));
  inv.deployments.push_back(nlohmann::json::parse(R"({"metadata":{"name":"vminsert","namespace":"ns",
      "annotations":{"vmsync.io/storage-workload":"statefulset/vmstorage","vmsync.io/role":"vminsert"}},
      "spec":{"template":{"spec":{"containers":[{"name":"vminsert",
          "args":["-storageNode=vmstorage-0.vmstorage.ns:8400"]}]}}}})"));
  check::Scope scope;
  scope.all_namespaces = true;
  const auto report = check::compute_report(inv, scope);
  REQUIRE(report.clusters.size() == 1);
  const auto &c = report.clusters[0];
  CHECK(c.status == model::ClusterStatus::Error);
  CHECK(c.storage.declared_replicas == 0);
  CHECK(c.storage.nodes.empty());
  REQUIRE(!c.errors.empty());
  CHECK(c.errors[0] == "StatefulSet ns/vmstorage: spec.replicas 2000000000 is out of range (0 to 10000)");

  inv.statefulsets[0]["spec"]["replicas"] = -1;
  CHECK(check::compute_report(inv, scope).clusters.at(0).errors.at(0) ==
        "StatefulSet ns/vmstorage: spec.replicas -1 is out of range (0 to 10000)");
}

TEST_CASE("int_at: integers beyond int are the fallback, never a wrapped value") {
  const auto j = nlohmann::json::parse(R"({"a":4294967299,"b":-4294967296,"c":18446744073709551615,"d":7})");
  CHECK(check::int_at(j, {"a"}, 1) == 1);
  CHECK(check::int_at(j, {"b"}, 1) == 1);
  CHECK(check::int_at(j, {"c"}, 1) == 1);
  CHECK(check::int_at(j, {"d"}, 1) == 7);
}

namespace {

class OneAnswer final : public kube::HttpTransport {
public:
  explicit OneAnswer(std::string body) : body_(std::move(body)) {}
  std::vector<Result> send_all(std::vector<kube::HttpRequest> requests) override {
    std::vector<Result> out;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      ++sent;
      Result r;
      r.response = kube::HttpResponse{200, {}, body_, 1ms};
      out.push_back(std::move(r));
    }
    return out;
  }
  [[nodiscard]] kube::TransportStats stats() const override { return {sent, 0, 0}; }
  std::size_t sent = 0;

private:
  std::string body_;
};

} // namespace

// fuzz_list_page (timeout): a server answering every page with the same continue token kept vmsync paging, and
// holding every page, until the deadline; with --timeout 0 forever.
TEST_CASE("Client::list: a continue token sent twice ends the list with an error") {
  kube::ClientConfig config;
  config.server = "https://example:6443";
  auto transport = std::make_unique<OneAnswer>(R"({"metadata":{"continue":"same"},"items":[{"a":1}]})");
  auto *t = transport.get();
  kube::Client client(config, {}, std::move(transport));
  kube::ListQuery q;
  q.resource = kube::resources::statefulsets;
  q.namespace_ = "ns";
  CHECK_THROWS_WITH_AS(client.list(q),
                       "cannot list statefulsets.apps in namespace \"ns\": the server sent the same continue "
                       "token "
                       "twice, so paging would never end (a broken server or proxy)",
                       ParseError);
  CHECK(t->sent == 2);
}

TEST_CASE("render_json: names that are not UTF-8 are replaced, not thrown") {
  model::DriftReport r;
  model::ClusterDrift c;
  c.namespace_ = "ns\xff";
  c.name = "vm";
  r.clusters.push_back(c);
  std::ostringstream out;
  report::render_json(r, out);
  CHECK(out.str().find("ns\xef\xbf\xbd") != std::string::npos);
}

// fuzz_storage_nodes (timeout): %{ENV} values naming each other twice per level doubled per level; forty
// variables would have taken a terabyte. $(VAR) repeated in one value is bounded the same way.
TEST_CASE("expand_vm_env / expand_kubelet: expansions are bounded") {
  std::map<std::string, std::string> env;
  for (int i = 0; i < 40; ++i) {
    const auto next = "%{A" + std::to_string(i + 1) + "}";
    env["A" + std::to_string(i)] = next + next;
  }
  env["A40"] = "x";
  const auto out = model::expand_vm_env("%{A0}", env);
  CHECK(out.size() < (std::size_t{3} << 20));
  CHECK(out.find("%{A") != std::string::npos); // past the bound, references stay as written
  CHECK(model::expand_vm_env("%{A35}", env) == std::string(32, 'x'));

  const std::map<std::string, std::string> big{{"B", std::string(600000, 'b')}};
  const auto k = model::expand_kubelet("$(B)$(B)$(B)", big);
  CHECK(k == std::string(600000, 'b') + "$(B)$(B)");
  CHECK(model::expand_kubelet("$(B)", big).size() == 600000);
}
