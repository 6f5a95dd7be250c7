// Decoding of API list pages (pods, StatefulSets, Deployments, ConfigMaps, InstanceSets, KubeBlocks Clusters,
// VMClusters) and everything check does with them: the input is a sequence of HTTP answers separated by a line
// "#--- next answer ---", served in turn (round robin) to every list request read_inventory makes through a
// fake HttpTransport; an answer may start with "@status N" and "@header name: value" lines. Discovery requests
// say every CRD is served. The clock is fake and advances with every request and sleep, so retries, paging
// and a server that never stops paging all end at the deadline instead of hanging. Then compute_report and the
// JSON, YAML and table renderers run on the result. Checks: only vmsync::Error escapes.
#include "fuzz_common.hpp"
#include "vmsync/check/check.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/report/render.hpp"

#include <sstream>

using namespace vmsync;
using namespace std::chrono_literals;

namespace {

struct Answer {
  int status = 200;
  kube::Headers headers;
  std::string body;
};

Answer parse_answer(std::string_view text) {
  Answer a;
  while (text.starts_with("@")) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.starts_with("@status ")) {
      int v = 0;
      for (char c : line.substr(8))
        if (c >= '0' && c <= '9' && v < 1000) v = v * 10 + (c - '0');
      if (v >= 100 && v <= 599) a.status = v;
    } else if (line.starts_with("@header ")) {
      const auto h = line.substr(8);
      const auto colon = h.find(':');
      if (colon != std::string_view::npos)
        a.headers.emplace_back(std::string(h.substr(0, colon)), std::string(h.substr(colon + 1)));
    }
  }
  a.body = std::string(text);
  return a;
}

const char *kDiscovery = R"({"kind":"APIResourceList","resources":[{"name":"instancesets"},{"name":"clusters"},)"
                         R"({"name":"vmclusters"}]})";

class ScriptedTransport final : public kube::HttpTransport {
public:
  ScriptedTransport(std::vector<Answer> answers, std::chrono::steady_clock::time_point &clock)
      : answers_(std::move(answers)), clock_(clock) {}
  std::vector<Result> send_all(std::vector<kube::HttpRequest> requests) override {
    std::vector<Result> out;
    for (const auto &r : requests) {
      clock_ += 100ms; // so that a server that never stops answering hits the deadline soon
      ++sent_;
      Result res;
      if (r.path.find('?') == std::string::npos) { // discovery: GET /apis/<group>/<version>
        res.response = kube::HttpResponse{200, {}, kDiscovery, 1ms};
      } else {
        const Answer &a = answers_[next_++ % answers_.size()];
        res.response = kube::HttpResponse{a.status, a.headers, a.body, 1ms};
      }
      out.push_back(std::move(res));
    }
    return out;
  }
  [[nodiscard]] kube::TransportStats stats() const override { return {sent_, 0, 0}; }

private:
  std::vector<Answer> answers_;
  std::chrono::steady_clock::time_point &clock_;
  std::size_t next_ = 0;
  std::size_t sent_ = 0;
};

} // namespace

VMSYNC_FUZZ_TARGET(list_page) {
  const std::string_view in(reinterpret_cast<const char *>(data), size);
  std::vector<Answer> answers;
  for (const auto part : fuzz::split_on(in, "\n#--- next answer ---\n", 16)) answers.push_back(parse_answer(part));

  auto clock = std::chrono::steady_clock::time_point{} + 1h;
  kube::ClientConfig config;
  config.server = "https://127.0.0.1:6443";
  config.token = "fuzz-token";
  kube::ClientOptions opts;
  opts.now = [&clock] { return clock; };
  opts.sleep = [&clock](std::chrono::milliseconds d) { clock += d; };
  opts.random = [] { return 0.5; };
  opts.deadline = clock + 2min;
  kube::Client client(config, opts, std::make_unique<ScriptedTransport>(std::move(answers), clock));

  check::Scope scope;
  scope.namespace_ = (size % 2) ? "ns" : "";
  scope.all_namespaces = scope.namespace_.empty();
  fuzz::expect_clean([&] {
    const check::Inventory inv = check::read_inventory(client, scope);
    const model::DriftReport report = check::compute_report(inv, scope);
    std::ostringstream out;
    report::render_json(report, out);
    report::render_yaml(report, out);
    report::RenderOptions ro;
    ro.wide = true;
    report::render_table(report, ro, out);
  });
  return 0;
}
