// read_inventory against a scripted API server: which lists it sends, and the -A fallback for a user who may read
// only some namespaces (403 on every list over all namespaces).
#include "vmsync/check/check.hpp"
#include "vmsync/kube/client.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <functional>
#include <set>

using namespace vmsync;
using namespace vmsync::check;
using namespace vmsync::kube;
using nlohmann::json;

namespace {

// Answers every request with the handler and remembers the paths asked.
class FakeTransport final : public HttpTransport {
public:
  using Handler = std::function<HttpResponse(const HttpRequest &)>;
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}
  std::vector<Result> send_all(std::vector<HttpRequest> requests) override {
    std::vector<Result> out;
    for (auto &r : requests) {
      paths.push_back(r.path);
      Result res;
      res.response = handler_(r);
      out.push_back(std::move(res));
    }
    return out;
  }
  [[nodiscard]] TransportStats stats() const override { return {paths.size(), 0, 0}; }
  void set_client_certificate(const std::string &, const std::string &) override {}
  std::vector<std::string> paths;

private:
  Handler handler_;
};

HttpResponse reply(int status, const json &body) { return HttpResponse{status, {}, body.dump(), {}}; }

HttpResponse forbidden(const std::string &what) {
  return reply(403, {{"kind", "Status"},
                     {"apiVersion", "v1"},
                     {"status", "Failure"},
                     {"reason", "Forbidden"},
                     {"code", 403},
                     {"message", fmt::format("{} is forbidden: User \"u\" cannot list resource", what)}});
}

HttpResponse list_of(const std::vector<json> &items) {
  return reply(
      200, {{"kind", "List"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "1"}}}, {"items", items}});
}

json named(const std::string &name) { return {{"metadata", {{"name", name}}}}; }

// A server without KubeBlocks or the operator (every /apis/<group>/<version> is 404), where the user may read
// the namespaces in `readable` and, when `may_list_namespaces`, list namespaces a, b and c.
struct Server {
  std::set<std::string> readable;
  bool may_list_namespaces = true;
  bool cluster_wide = false; // lists over all namespaces allowed

  HttpResponse operator()(const HttpRequest &r) const {
    const std::string path = r.path.substr(0, r.path.find('?'));
    if (path.starts_with("/apis/") && std::count(path.begin(), path.end(), '/') == 3)
      return reply(404, json::object());
    if (path == "/api/v1/namespaces")
      return may_list_namespaces ? list_of({named("a"), named("b"), named("c")}) : forbidden("namespaces");
    const std::string prefix = path.starts_with("/api/v1/") ? "/api/v1/namespaces/" : "/apis/apps/v1/namespaces/";
    if (!path.starts_with(prefix)) return cluster_wide ? list_of({}) : forbidden(path); // over all namespaces
    const auto ns = path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size());
    return readable.contains(ns) ? list_of({}) : forbidden(fmt::format("{} in namespace {}", path, ns));
  }
};

struct Harness {
  FakeTransport *transport = nullptr;
  std::unique_ptr<Client> client;
  explicit Harness(Server server) {
    ClientConfig config;
    config.server = "https://k8s.test:6443";
    config.token = "tok";
    ClientOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    auto t = std::make_unique<FakeTransport>(server);
    transport = t.get();
    client = std::make_unique<Client>(std::move(config), std::move(o), std::move(t));
  }
  [[nodiscard]] bool listed_namespaces() const {
    return std::any_of(transport->paths.begin(), transport->paths.end(),
                       [](const std::string &p) { return p.substr(0, p.find('?')) == "/api/v1/namespaces"; });
  }
  [[nodiscard]] bool asked(const std::string &path_prefix) const {
    return std::any_of(transport->paths.begin(), transport->paths.end(),
                       [&](const std::string &p) { return p.starts_with(path_prefix); });
  }
};

Scope all_namespaces(const std::string &context_ns) {
  Scope s;
  s.all_namespaces = true;
  s.namespace_ = context_ns;
  return s;
}

} // namespace

TEST_CASE("read_inventory -A: lists over all namespaces when allowed, and nothing per namespace") {
  Harness h(Server{{}, true, true});
  auto inv = read_inventory(*h.client, all_namespaces("a"));
  CHECK(inv.errors.empty());
  CHECK(inv.namespace_errors.empty());
  CHECK(h.asked("/apis/apps/v1/statefulsets"));
  CHECK_FALSE(h.listed_namespaces());
  CHECK_FALSE(h.asked("/apis/apps/v1/namespaces/"));
}

TEST_CASE("read_inventory -A: a 403 over all namespaces falls back to each namespace that can be listed") {
  Harness h(Server{{"a", "c"}, true});
  auto inv = read_inventory(*h.client, all_namespaces("a"));
  CHECK(inv.errors.empty()); // the cluster-wide 403 itself is not an error: the fallback answered it
  REQUIRE(inv.namespace_errors.size() == 1);
  CHECK(inv.namespace_errors.begin()->first == "b");
  CHECK(inv.namespace_errors.begin()->second.find("forbidden") != std::string::npos);
  CHECK(h.asked("/apis/apps/v1/namespaces/a/statefulsets"));
  CHECK(h.asked("/apis/apps/v1/namespaces/c/deployments"));
  CHECK(h.asked("/api/v1/namespaces/c/pods"));

  // What the report makes of it: namespace b is an Error entry, so the exit is 2 as for a 403 with -n.
  auto report = compute_report(inv, all_namespaces("a"));
  REQUIRE(report.clusters.size() == 1);
  CHECK(report.clusters[0].namespace_ == "b");
  CHECK(report.clusters[0].status == model::ClusterStatus::Error);
  CHECK(report.summary.errors == 1);
}

TEST_CASE("read_inventory -A: namespaces not listable either: only the context's namespace, and an error") {
  Harness h(Server{{"a"}, false});
  auto inv = read_inventory(*h.client, all_namespaces("a"));
  CHECK(inv.namespace_errors.empty());
  REQUIRE(inv.errors.size() == 1);
  CHECK(inv.errors[0].starts_with("-A: listing all namespaces is forbidden too, so only namespace \"a\" (the "
                                  "context's) was checked; the others could not be seen: "));
  CHECK(h.asked("/apis/apps/v1/namespaces/a/statefulsets"));
  CHECK_FALSE(h.asked("/apis/apps/v1/namespaces/b/"));
}

TEST_CASE("read_inventory -n: a 403 stays a namespace error, with no fallback") {
  Harness h(Server{{}, true});
  Scope s;
  s.namespace_ = "b";
  auto inv = read_inventory(*h.client, s);
  CHECK(inv.errors.empty());
  REQUIRE(inv.namespace_errors.size() == 1);
  CHECK(inv.namespace_errors.begin()->first == "b");
  CHECK_FALSE(h.listed_namespaces());
  CHECK_FALSE(h.asked("/api/v1/namespaces/a/"));
}

// --- which requests a scope makes: the API probes in one round, generic reads only for named clusters ---------

namespace {

class PathTransport final : public HttpTransport {
public:
  std::vector<Result> send_all(std::vector<HttpRequest> requests) override {
    std::vector<Result> out;
    for (auto &r : requests) {
      sent.push_back(r.path);
      out.push_back(answer(r.path));
    }
    return out;
  }
  [[nodiscard]] TransportStats stats() const override { return {sent.size(), 0, 0}; }
  void set_client_certificate(const std::string &, const std::string &) override {}
  std::vector<std::string> sent;

private:
  static Result respond(int status, std::string body) {
    Result r;
    r.response = HttpResponse{status, {}, std::move(body), std::chrono::milliseconds(1)};
    return r;
  }
  static std::string list(const json &items) {
    return json{{"kind", "List"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "1"}}}, {"items", items}}
        .dump();
  }
  // Two generic clusters in namespace ns: StatefulSets a-vmstorage and b-vmstorage, each with a vminsert
  // Deployment that loads its list from a ConfigMap.
  static Result answer(const std::string &path) {
    if (path.rfind("/apis/apps/v1/namespaces/ns/statefulsets", 0) == 0) {
      json items = json::array();
      for (const std::string c : {"a", "b"})
        items.push_back({{"metadata", {{"name", c + "-vmstorage"}, {"namespace", "ns"}}},
                         {"spec",
                          {{"replicas", 3},
                           {"serviceName", c + "-vmstorage"},
                           {"selector", {{"matchLabels", {{"app", c + "-vmstorage"}}}}}}}});
      return respond(200, list(items));
    }
    if (path.rfind("/apis/apps/v1/namespaces/ns/deployments", 0) == 0) {
      json items = json::array();
      for (const std::string c : {"a", "b"}) {
        json container = {{"name", "vminsert"}, {"args", {"-storageNode=$(VM_STORAGE_URLS)"}}};
        container["envFrom"] = json::array({{{"configMapRef", {{"name", c + "-config"}}}}});
        json d;
        d["metadata"] = {{"name", c + "-vminsert"}, {"namespace", "ns"}};
        d["metadata"]["annotations"] = {{"vmsync.io/storage-workload", "statefulset/" + c + "-vmstorage"}};
        d["spec"]["replicas"] = 1;
        d["spec"]["selector"]["matchLabels"] = {{"app", c + "-vminsert"}};
        d["spec"]["template"]["spec"]["containers"] = json::array({container});
        items.push_back(d);
      }
      return respond(200, list(items));
    }
    if (path.rfind("/apis/", 0) == 0 && path.find("/namespaces/") == std::string::npos)
      return respond(404, "404 page not found"); // no KubeBlocks, no operator
    return respond(200, list(json::array()));    // pods, ConfigMaps
  }
};

std::vector<std::string> read_paths(const check::Scope &scope) {
  ClientConfig config;
  config.server = "https://k8s.test:6443";
  config.token = "t";
  auto t = std::make_unique<PathTransport>();
  auto *transport = t.get();
  Client client(std::move(config), ClientOptions{}, std::move(t));
  (void)check::read_inventory(client, scope);
  return transport->sent;
}

bool asked(const std::vector<std::string> &paths, const std::string &part) {
  return std::any_of(paths.begin(), paths.end(),
                     [&](const std::string &p) { return p.find(part) != std::string::npos; });
}

} // namespace

TEST_CASE("read_inventory: every generic cluster's pods and ConfigMaps when no cluster is named") {
  check::Scope scope;
  scope.namespace_ = "ns";
  const auto paths = read_paths(scope);
  CHECK(asked(paths, "metadata.name%3Da-config"));
  CHECK(asked(paths, "metadata.name%3Db-config"));
  CHECK(asked(paths, "a-vminsert"));
  CHECK(asked(paths, "b-vminsert"));
}

TEST_CASE("read_inventory: a named cluster reads only its own generic consumers' pods and ConfigMaps") {
  check::Scope scope;
  scope.namespace_ = "ns";
  scope.clusters = {"a-vmstorage"};
  const auto paths = read_paths(scope);
  CHECK(asked(paths, "metadata.name%3Da-config"));
  CHECK(asked(paths, "a-vminsert"));
  CHECK_FALSE(asked(paths, "b-config"));
  CHECK_FALSE(asked(paths, "b-vminsert"));
  CHECK_FALSE(asked(paths, "b-vmstorage"));

  scope.clusters = {"vm004"}; // a cluster of another layout: no generic round at all
  const auto none = read_paths(scope);
  CHECK_FALSE(asked(none, "config"));
  CHECK_FALSE(asked(none, "vminsert"));
}

TEST_CASE("read_inventory: the optional APIs are probed together, before the lists") {
  check::Scope scope;
  scope.namespace_ = "ns";
  const auto paths = read_paths(scope);
  REQUIRE(paths.size() >= 3);
  CHECK(std::vector<std::string>(paths.begin(), paths.begin() + 3) ==
        std::vector<std::string>{"/apis/workloads.kubeblocks.io/v1", "/apis/workloads.kubeblocks.io/v1alpha1",
                                 "/apis/operator.victoriametrics.com/v1beta1"});
}
