// check --probe against a scripted API server: what each answer of a pod's /flags and /metrics becomes (observed
// facts, or one evidence line), the run's warnings, and how observation folds into a pod's verdict.
#include "../../../src/core/check/probe.hpp"

#include "vmsync/kube/client.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <functional>
#include <map>

using namespace vmsync;
using namespace vmsync::check;
using namespace vmsync::kube;

namespace {

const std::string kProbeFlags = "-httpListenAddr=\":8480\"\n-storageNode=\"s-0:8400,s-1:8400\"\n";
const std::string kProbeMetrics =
    "vm_app_version{version=\"vminsert-v1.129.0-cluster\", short_version=\"v1.129.0\"} 1\n"
    "vm_app_start_timestamp 1764000000\n"
    "vm_rpc_vmstorage_is_reachable{name=\"vminsert\", addr=\"s-0:8400\"} 1\n"
    "vm_rpc_vmstorage_is_reachable{name=\"vminsert\", addr=\"s-1:8400\"} 0\n"
    "flag{name=\"storageNode\", value=\"s-0:8400,s-1:8400\", is_set=\"true\"} 1\n";

std::string probe_status_json(int code, const std::string &reason, const std::string &message) {
  return fmt::format(
      R"({{"kind":"Status","apiVersion":"v1","status":"Failure","message":"{}","reason":"{}","code":{}}})",
      message, reason, code);
}

// A pod's answer: a status and body, or a transfer failure.
struct PageAnswer {
  int status = 200;
  std::string body;
  std::optional<TransferFailure> failure;
};

// Streams each body to the request's on_body in small chunks, as curl does, and keeps nothing.
class PageStreamingTransport final : public HttpTransport {
public:
  std::function<PageAnswer(const std::string &path)> answer;
  std::vector<std::string> paths;
  std::vector<Headers> headers;
  std::vector<Result> send_all(std::vector<HttpRequest> requests) override {
    std::vector<Result> out;
    for (auto &r : requests) {
      paths.push_back(r.path);
      headers.push_back(r.headers);
      const PageAnswer a = answer(r.path);
      Result res;
      bool aborted = false;
      for (std::size_t at = 0; at < a.body.size() && !aborted; at += 7)
        aborted = !r.on_body(a.status, std::string_view(a.body).substr(at, 7));
      if (a.failure || aborted)
        res.error = std::make_exception_ptr(
            TransferError(a.failure.value_or(TransferFailure::Other), "GET " + r.path + ": transfer ended"));
      else
        res.response = HttpResponse{a.status, {}, {}, {}};
      out.push_back(std::move(res));
    }
    return out;
  }
  [[nodiscard]] TransportStats stats() const override { return {paths.size(), 0, 0}; }
};

struct ProbeHarness {
  PageStreamingTransport *transport = nullptr;
  std::unique_ptr<Client> client;
  std::vector<Pod> pods;
  Inventory inv;

  explicit ProbeHarness(std::function<PageAnswer(const std::string &)> answer, int npods = 1) {
    auto t = std::make_unique<PageStreamingTransport>();
    t->answer = std::move(answer);
    transport = t.get();
    ClientConfig cfg;
    cfg.server = "https://api.example:6443";
    cfg.token = "sekrit";
    client = std::make_unique<Client>(cfg, ClientOptions{}, std::move(t));
    for (int i = 0; i < npods; ++i) {
      Pod p;
      p.name = fmt::format("vminsert-{}", i);
      p.namespace_ = "ns";
      p.ips = {"10.0.0.1"};
      pods.push_back(std::move(p));
    }
  }

  const PodProbe &run(ProbeOptions o = {}) {
    o.mode = ProbeMode::Proxy;
    std::vector<ProbeTarget> targets;
    for (const auto &p : pods)
      targets.push_back({&p, "vminsert", 8480});
    probe_pods(*client, o, targets, inv);
    return inv.probes.at("ns/vminsert-0");
  }
};

PageAnswer probe_pages(const std::string &path) {
  return path.ends_with("/flags") ? PageAnswer{200, kProbeFlags, {}} : PageAnswer{200, kProbeMetrics, {}};
}

} // namespace

TEST_CASE("probe_pods: both pages read through the API server's proxy") {
  ProbeHarness h(probe_pages);
  const auto &p = h.run();
  CHECK(h.transport->paths ==
        std::vector<std::string>{"/api/v1/namespaces/ns/pods/vminsert-0:8480/proxy/flags",
                                 "/api/v1/namespaces/ns/pods/vminsert-0:8480/proxy/metrics"});
  CHECK(std::count(h.transport->headers[0].begin(), h.transport->headers[0].end(),
                   std::pair<std::string, std::string>{"Authorization", "Bearer sekrit"}) == 1);
  REQUIRE(p.observed);
  CHECK(p.failure.empty());
  CHECK(p.note.empty());
  const auto &o = *p.observed;
  CHECK(o.via == "proxy");
  CHECK(o.source == "/flags");
  CHECK(o.running == std::vector<std::string>{"s-0:8400", "s-1:8400"});
  CHECK(o.started_at == "2025-11-24T16:00:00Z");
  CHECK(o.version == "vminsert-v1.129.0-cluster");
  CHECK(o.metrics);
  CHECK(o.nodes == std::vector<model::NodeUse>{{"s-0:8400", true}, {"s-1:8400", false}});
  CHECK(h.inv.warnings.empty());
}

TEST_CASE("probe_pods: a forbidden probe is one evidence line per pod and one warning per run") {
  ProbeHarness h(
      [](const std::string &) {
        return PageAnswer{403,
                          probe_status_json(403, "Forbidden",
                                            "pods \\\"x\\\" is forbidden: cannot get resource \\\"pods/proxy\\\""),
                          {}};
      },
      3);
  const auto &p = h.run();
  CHECK_FALSE(p.observed);
  CHECK(p.failure == "reading its /flags and /metrics through the API server is forbidden (RBAC: pods/proxy get)");
  CHECK(h.inv.probes.size() == 3);
  CHECK(h.inv.warnings == std::vector<std::string>{
                              "--probe: reading pods through the API server (pods/proxy get) is forbidden for 3 "
                              "of 3 pods; their verdicts are inferred from their specs (grant the vmsync probe "
                              "role, deploy/README.md, or run --probe=direct in the cluster)"});
}

TEST_CASE("probe_pods: the pod's own 401 (an auth key) on /metrics keeps the list from /flags") {
  ProbeHarness h([](const std::string &path) {
    return path.ends_with("/flags") ? PageAnswer{200, kProbeFlags, {}}
                                    : PageAnswer{401, "The provided authKey doesn't match -metricsAuthKey\n", {}};
  });
  const auto &p = h.run();
  REQUIRE(p.observed);
  CHECK(p.observed->running == std::vector<std::string>{"s-0:8400", "s-1:8400"});
  CHECK_FALSE(p.observed->metrics);
  CHECK_FALSE(p.observed->started_at);
  CHECK(p.note == "its /metrics answered 401 Unauthorized (-metricsAuthKey protects it)");
  CHECK(h.inv.warnings.empty());
}

TEST_CASE("probe_pods: /flags protected too, the list comes from /metrics") {
  ProbeHarness h([](const std::string &path) {
    return path.ends_with("/flags") ? PageAnswer{401, "no", {}} : PageAnswer{200, kProbeMetrics, {}};
  });
  const auto &p = h.run();
  REQUIRE(p.observed);
  CHECK(p.observed->source == "/metrics");
  CHECK(p.note == "its /flags answered 401 Unauthorized (-flagsAuthKey protects it)");
}

TEST_CASE("probe_pods: 503 from the proxy names the port once") {
  ProbeHarness h(
      [](const std::string &) {
        return PageAnswer{503,
                          probe_status_json(503, "ServiceUnavailable",
                                            "error trying to reach service: dial tcp 10.0.0.1:8480: i/o timeout"),
                          {}};
      },
      2);
  const auto &p = h.run();
  CHECK(p.failure == "the API server could not reach its /flags and /metrics: error trying to reach service: dial "
                     "tcp 10.0.0.1:8480: i/o timeout");
  REQUIRE(h.inv.warnings.size() == 1);
  CHECK(
      h.inv.warnings[0] ==
      "--probe: 2 of 2 pods could not be reached by the API server on port 8480; their verdicts are inferred from "
      "their specs (where the control plane cannot reach pods, as on GKE private clusters or EKS, a firewall rule "
      "must open that port from it to the nodes)");
}

TEST_CASE("probe_pods: a timeout, a page that is not VictoriaMetrics', a page over the cap, a 5xx of the pod") {
  SUBCASE("timeout") {
    ProbeHarness h([](const std::string &) { return PageAnswer{200, "", TransferFailure::Timeout}; });
    ProbeOptions o;
    o.timeout = std::chrono::milliseconds(1500);
    CHECK(h.run(o).failure == "its /flags and /metrics did not answer within 1500 ms");
  }
  SUBCASE("not VictoriaMetrics") {
    ProbeHarness h([](const std::string &) { return PageAnswer{200, "<html>hello</html>\n", {}}; });
    CHECK(h.run().failure ==
          "its /flags is not a VictoriaMetrics /flags page: line 1 is not -name=\"value\" "
          "(\"<html>hello</html>\"); its /metrics is not a VictoriaMetrics /metrics page: line 1 "
          "is not a sample (\"<html>hello</html>\")");
  }
  SUBCASE("over the cap: the transfer ends where the page passes it") {
    ProbeHarness h(probe_pages);
    ProbeOptions o;
    o.max_page_bytes = 40;
    CHECK(h.run(o).failure == "its /flags and /metrics is larger than 40 bytes");
  }
  SUBCASE("cut short: a transport failure, never a page read in part") {
    ProbeHarness h([](const std::string &path) {
      auto a = probe_pages(path);
      a.failure = TransferFailure::Broken;
      return a;
    });
    CHECK(h.run().failure.starts_with("its /flags could not be read: GET /api/v1/namespaces/ns/pods/"));
  }
  SUBCASE("the pod's own 500") {
    ProbeHarness h([](const std::string &) { return PageAnswer{500, "boom", {}}; });
    CHECK(h.run().failure == "its /flags and /metrics answered 500 Internal Server Error");
  }
  SUBCASE("pages without -storageNode") {
    ProbeHarness h([](const std::string &path) {
      return path.ends_with("/flags") ? PageAnswer{200, "-httpListenAddr=\":8480\"\n", {}}
                                      : PageAnswer{200, "vm_app_version{version=\"v\"} 1\n", {}};
    });
    CHECK(h.run().failure == "its /flags and /metrics name no -storageNode");
  }
}

TEST_CASE("effective_mode") {
  CHECK(effective_mode(ProbeMode::Auto, true) == ProbeMode::Direct);
  CHECK(effective_mode(ProbeMode::Auto, false) == ProbeMode::Proxy);
  CHECK(effective_mode(ProbeMode::Proxy, true) == ProbeMode::Proxy);
  CHECK(effective_mode(ProbeMode::Direct, false) == ProbeMode::Direct);
}

TEST_CASE("apply_probe: observation wins, and the evidence says both") {
  auto observed = std::make_shared<model::Observed>();
  observed->via = "direct";
  observed->at = "2026-01-01T00:00:00Z";
  observed->source = "/flags";
  observed->running = {"s-0:8400", "s-1:8400"};
  observed->metrics = true;
  observed->nodes = {{"s-0:8400", true}, {"s-1:8400", false}};
  PodProbe probe{observed, "", ""};

  SUBCASE("the spec said another list") {
    model::PodObservation obs;
    obs.running = std::vector<std::string>{"s-0:8400"};
    obs.evidence = {"container started after configmap x changed"};
    apply_probe(obs, probe);
    CHECK(obs.running == observed->running);
    CHECK(obs.observed == observed);
    CHECK(obs.unreachable == std::vector<std::string>{"s-1:8400"});
    CHECK(obs.evidence ==
          std::vector<std::string>{"read from the pod's /flags at 2026-01-01T00:00:00Z (via direct)",
                                   "its spec says s-0:8400 but the process runs the list above: the process wins",
                                   "spec: container started after configmap x changed",
                                   "cannot reach s-1:8400 (its /metrics)"});
  }
  SUBCASE("a discovery pod is judged by the nodes it uses") {
    model::PodObservation obs;
    obs.discovery = true;
    obs.running = std::vector<std::string>{"srv+vmstorage"};
    apply_probe(obs, probe);
    CHECK_FALSE(obs.discovery);
    CHECK(obs.running == std::vector<std::string>{"s-0:8400", "s-1:8400"});
    CHECK(obs.evidence.front() ==
          "automatic discovery: uses the nodes its /metrics at 2026-01-01T00:00:00Z name (read via direct)");
  }
  SUBCASE("a failed probe keeps the inference") {
    model::PodObservation obs;
    obs.started_before_source_change = true;
    apply_probe(obs, PodProbe{nullptr, "its /flags and /metrics did not answer within 5000 ms", ""});
    CHECK_FALSE(obs.running);
    CHECK(obs.started_before_source_change);
    CHECK(obs.evidence == std::vector<std::string>{"probe: its /flags and /metrics did not answer within 5000 ms; "
                                                   "the verdict is inferred from the spec"});
  }
}

TEST_CASE("probe_pods: when the API server reaches none of the first round, the rest are not tried") {
  ProbeHarness h(
      [](const std::string &) {
        return PageAnswer{
            503, probe_status_json(503, "ServiceUnavailable", "error trying to reach service: i/o timeout"), {}};
      },
      5);
  ProbeOptions o;
  o.concurrency = 2;
  h.run(o);
  CHECK(h.transport->paths.size() == 4); // the first round: 2 pods, 2 pages each
  CHECK(h.inv.probes.at("ns/vminsert-1").failure ==
        "the API server could not reach its /flags and /metrics: error trying to reach service: i/o timeout");
  CHECK(h.inv.probes.at("ns/vminsert-4").failure ==
        "not probed: the API server could not reach any of the first 2 pods");
  REQUIRE(h.inv.warnings.size() == 1);
  CHECK(
      h.inv.warnings[0].starts_with("--probe: 5 of 5 pods could not be reached by the API server on port 8480;"));
}
