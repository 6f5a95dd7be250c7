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
  explicit Harness(FakeTransport::Handler handler, int max_retries = ClientOptions{}.max_retries) {
    ClientConfig config;
    config.server = "https://k8s.test:6443";
    config.token = "tok";
    ClientOptions o;
    o.sleep = [](std::chrono::milliseconds) {};
    o.max_retries = max_retries;
    auto t = std::make_unique<FakeTransport>(std::move(handler));
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

  // What the report makes of it: namespace b is one of the report's own errors (no made-up cluster with no name),
  // counted in the summary, so the exit is 2 as for a 403 with -n.
  auto report = compute_report(inv, all_namespaces("a"));
  CHECK(report.clusters.empty());
  REQUIRE(report.errors.size() == 1);
  CHECK(report.errors[0] == inv.namespace_errors.begin()->second);
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

// --- -A over a fleet of generic clusters: a bounded number of requests -------------------------------------

namespace {

// Generic clusters c0..c<n-1>, spread over namespaces ns0..ns<m-1>, each a StatefulSet <c>-vmstorage and a vminsert
// Deployment loading its list from ConfigMaps <c>-config and <c>-extra; every namespace also has an unrelated
// ConfigMap. Lists over all namespaces answer with all of them (ConfigMaps: 403 when `cm_forbidden`).
// Served through FakeTransport, which records the paths asked.
class FleetServer {
public:
  FleetServer(int clusters, int namespaces, std::string prefix, bool cm_forbidden)
      : clusters_(clusters), namespaces_(namespaces), prefix_(std::move(prefix)), cm_forbidden_(cm_forbidden) {}
  HttpResponse operator()(const HttpRequest &r) const { return answer(r.path); }

private:
  [[nodiscard]] std::string name(int i) const { return fmt::format("{}c{}", prefix_, i); }
  [[nodiscard]] std::string ns_of(int i) const { return fmt::format("ns{}", i % namespaces_); }

  [[nodiscard]] HttpResponse answer(const std::string &full) const {
    const std::string path = full.substr(0, full.find('?'));
    json items = json::array();
    if (path.starts_with("/apis/") && path.find("/apps/") == std::string::npos) return reply(404, json::object());
    if (path == "/apis/apps/v1/statefulsets") {
      for (int i = 0; i < clusters_; ++i)
        items.push_back({{"metadata", {{"name", name(i) + "-vmstorage"}, {"namespace", ns_of(i)}}},
                         {"spec",
                          {{"replicas", 3},
                           {"serviceName", name(i) + "-vmstorage"},
                           {"selector", {{"matchLabels", {{"app", name(i) + "-vmstorage"}}}}}}}});
    } else if (path == "/apis/apps/v1/deployments") {
      for (int i = 0; i < clusters_; ++i) {
        json container = {{"name", "vminsert"}, {"args", {"-storageNode=$(VM_STORAGE_URLS)"}}};
        container["envFrom"] = json::array({{{"configMapRef", {{"name", name(i) + "-config"}}}},
                                            {{"configMapRef", {{"name", name(i) + "-extra"}}}}});
        json d;
        d["metadata"] = {{"name", name(i) + "-vminsert"}, {"namespace", ns_of(i)}};
        d["metadata"]["annotations"] = {{"vmsync.io/storage-workload", "statefulset/" + name(i) + "-vmstorage"}};
        d["spec"]["replicas"] = 1;
        d["spec"]["selector"]["matchLabels"] = {{"app", name(i) + "-vminsert"}};
        d["spec"]["template"]["spec"]["containers"] = json::array({container});
        items.push_back(d);
      }
    } else if (path == "/api/v1/configmaps" && full.find("labelSelector") == std::string::npos) {
      if (cm_forbidden_) return forbidden("configmaps");
      for (int n = 0; n < namespaces_; ++n)
        items.push_back({{"metadata", {{"name", "dashboards"}, {"namespace", fmt::format("ns{}", n)}}},
                         {"data", {{"big", "x"}}}});
      for (int i = 0; i < clusters_; ++i)
        for (const char *suffix : {"-config", "-extra"})
          items.push_back({{"metadata", {{"name", name(i) + suffix}, {"namespace", ns_of(i)}}},
                           {"data", {{"VM_STORAGE_URLS", "x"}}}});
    } else if (path.ends_with("/configmaps") && full.find("fieldSelector=metadata.name%3D") != std::string::npos) {
      const auto at = full.find("%3D") + 3;
      const auto ns = path.substr(std::string("/api/v1/namespaces/").size());
      items.push_back({{"metadata", {{"name", full.substr(at, full.find('&', at) - at)},
                                     {"namespace", ns.substr(0, ns.find('/'))}}},
                       {"data", {{"VM_STORAGE_URLS", "x"}}}});
    } else if (path == "/api/v1/pods" && full.find(prefix_ + "c0-vminsert") != std::string::npos) {
      // A pod with the first cluster's labels in a namespace with no generic cluster: dropped on its metadata.
      items.push_back({{"metadata", {{"name", "stray"}, {"namespace", "elsewhere"}}}});
    }
    return list_of(items);
  }

  int clusters_, namespaces_;
  std::string prefix_;
  bool cm_forbidden_;
};

struct FleetRead {
  std::vector<std::string> sent;
  Inventory inv;
};

FleetRead read_fleet(int clusters, int namespaces, const std::string &prefix = "", bool cm_forbidden = false) {
  Harness h(FleetServer(clusters, namespaces, prefix, cm_forbidden));
  FleetRead r;
  r.inv = check::read_inventory(*h.client, all_namespaces("default"));
  r.sent = h.transport->paths;
  return r;
}

std::size_t count_of(const std::vector<std::string> &paths, const std::function<bool(const std::string &)> &pred) {
  return static_cast<std::size_t>(std::count_if(paths.begin(), paths.end(), pred));
}

bool generic_pods(const std::string &p) {
  return p.starts_with("/api/v1/pods?") && p.find("victoria-metrics-cluster") == std::string::npos;
}

std::set<std::string> configmap_names(const Inventory &inv) {
  std::set<std::string> names;
  for (const auto &cm : inv.configmaps) names.insert(meta_namespace(cm) + "/" + meta_name(cm));
  return names;
}

} // namespace

TEST_CASE("read_inventory -A: many generic ConfigMaps are one list of all, keeping only theirs; pods one list") {
  const auto r = read_fleet(6, 3); // 12 ConfigMaps wanted: more than are read by name
  CHECK(count_of(r.sent, [](const std::string &p) { return p.find("/namespaces/") != std::string::npos; }) == 0);
  CHECK(count_of(r.sent, [](const std::string &p) { return p.find("fieldSelector") != std::string::npos; }) == 0);
  CHECK(count_of(r.sent, [](const std::string &p) {
          return p.starts_with("/api/v1/configmaps?") && p.find("labelSelector") == std::string::npos;
        }) == 1);
  CHECK(count_of(r.sent, generic_pods) == 1);
  CHECK(configmap_names(r.inv).size() == 12);
  CHECK_FALSE(configmap_names(r.inv).contains("ns0/dashboards"));
  CHECK(r.inv.pods.empty()); // the stray pod of another namespace was dropped
  CHECK(r.inv.errors.empty());
}

TEST_CASE("read_inventory -A: a few generic ConfigMaps are read by name") {
  const auto r = read_fleet(4, 2); // 8 ConfigMaps wanted
  CHECK(count_of(r.sent, [](const std::string &p) { return p.find("fieldSelector") != std::string::npos; }) == 8);
  CHECK(count_of(r.sent, [](const std::string &p) { return p.starts_with("/api/v1/configmaps?"); }) == 0);
  CHECK(configmap_names(r.inv).size() == 8);
}

TEST_CASE("read_inventory -A: ConfigMaps forbidden over all namespaces are read by name, without an error") {
  const auto r = read_fleet(6, 3, "", true);
  CHECK(count_of(r.sent, [](const std::string &p) { return p.find("fieldSelector") != std::string::npos; }) == 12);
  CHECK(configmap_names(r.inv).size() == 12);
  CHECK(r.inv.errors.empty());
  CHECK(r.inv.namespace_errors.empty());
}

TEST_CASE("read_inventory -A: a merged pods selector that would grow too long is split, per namespace group") {
  // 120 clusters with 40-character names in 60 namespaces: one selector for all would be over 11,000 characters.
  const auto r = read_fleet(120, 60, std::string(38, 'x'));
  const auto lists = count_of(r.sent, generic_pods);
  CHECK(lists >= 3);
  CHECK(lists < 60);
  std::set<std::string> values;
  for (const auto &p : r.sent) {
    if (!generic_pods(p)) continue;
    CHECK(p.size() < 8192);
    for (int i = 0; i < 120; ++i)
      for (const char *role : {"-vminsert", "-vmstorage"}) {
        const auto v = fmt::format("{}c{}{}", std::string(38, 'x'), i, role);
        if (p.find(v + "%2C") != std::string::npos || p.find(v + "%29") != std::string::npos) values.insert(v);
      }
  }
  CHECK(values.size() == 240); // every workload's pods are asked for
}

namespace {

// The Helm pods of namespace mon, 2 per page: p0 p1 | p2. The first request for the second page is answered
// with `second_page_first` (410: the token expired, 500: a failing server), later ones with the page.
struct PagedPods {
  int second_page_first = 410;
  std::shared_ptr<int> second_pages = std::make_shared<int>(0);

  static json pod(const std::string &name, const std::string &arg) {
    return {{"metadata",
             {{"name", name},
              {"namespace", "mon"},
              {"uid", name + "-uid"},
              {"labels", {{"app.kubernetes.io/name", "victoria-metrics-cluster"}}}}},
            {"spec", {{"containers", {{{"name", "vminsert"}, {"args", {arg}}, {"image", "vminsert"}}}}}},
            {"status", {{"phase", "Running"}, {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  }
  HttpResponse operator()(const HttpRequest &r) const {
    const std::string path = r.path.substr(0, r.path.find('?'));
    if (path.starts_with("/apis/") && std::count(path.begin(), path.end(), '/') == 3)
      return reply(404, json::object());
    if (path != "/api/v1/namespaces/mon/pods" || r.path.find("victoria-metrics-cluster") == std::string::npos)
      return list_of({});
    if (r.path.find("continue=c1") == std::string::npos)
      return reply(200, {{"kind", "PodList"},
                         {"apiVersion", "v1"},
                         {"metadata", {{"resourceVersion", "1"}, {"continue", "c1"}}},
                         {"items", {pod("p0", "-storageNode=a"), pod("p1", "-storageNode=a")}}});
    if ((*second_pages)++ == 0 && second_page_first != 200)
      return reply(second_page_first, {{"kind", "Status"},
                                       {"apiVersion", "v1"},
                                       {"status", "Failure"},
                                       {"code", second_page_first},
                                       {"message", "no"}});
    return list_of({pod("p2", "-storageNode=b")});
  }
};

Inventory read_paged(PagedPods server) {
  Harness h(std::move(server), 0); // no retries: the failing page stays failed
  Scope s;
  s.namespace_ = "mon";
  s.chunk_size = s.selected_chunk_size = 2;
  return check::read_inventory(*h.client, s);
}

} // namespace

TEST_CASE("read_inventory: pods become records page by page; a restarted list keeps each pod once") {
  const auto inv = read_paged(PagedPods{});
  REQUIRE(inv.pods.size() == 3);
  CHECK(inv.pods[0].name == "p0");
  CHECK(inv.pods[1].name == "p1");
  CHECK(inv.pods[2].name == "p2");
  CHECK(inv.pods[0].ready);
  CHECK(inv.pods[0].label("app.kubernetes.io/name") == "victoria-metrics-cluster");
  // The pods of one template share their spec; only the fields check reads were kept.
  CHECK(inv.pods[0].spec == inv.pods[1].spec);
  CHECK(inv.pods[0].spec != inv.pods[2].spec);
  CHECK(*inv.pods[2].spec == json{{"containers", {{{"name", "vminsert"}, {"args", {"-storageNode=b"}}}}}});
  CHECK(inv.namespace_errors.empty());
}

TEST_CASE("read_inventory: a pods list failing on a later page adds none of its pods, and says so") {
  PagedPods server;
  server.second_page_first = 500;
  const auto inv = read_paged(server);
  CHECK(inv.pods.empty());
  REQUIRE(inv.namespace_errors.contains("mon"));
  CHECK(inv.namespace_errors.at("mon").find("pods") != std::string::npos);
}
