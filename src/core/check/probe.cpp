// check --probe. Each consumer pod's /flags and /metrics are read, by the API server's pod proxy or directly at
// the pod's IP, `concurrency` pods at a time. Pages are parsed as they arrive (HttpRequest::on_body feeds
// model::VmPageParser), so no page is held whole and one over the size cap is cut off where it passes it. A probe
// is best effort: it never retries, and a pod that cannot be read keeps the verdict its spec gives, with one
// evidence line; failures that concern every pod alike (RBAC without pods/proxy, a control plane that cannot reach
// pods on that port, as on GKE private clusters or EKS without a firewall rule) are also said once per run.
//
// Direct reads use a transport of their own per pod, made from nothing but the pod's address: the Kubernetes
// credentials are never sent to a pod.
#include "probe.hpp"

#include "vmsync/error.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/kube/curl_transport.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace vmsync::check {

namespace {

constexpr std::size_t kErrorHead = 1024; // of a non-200 answer, kept for its message

std::string rfc3339(std::int64_t t) {
  std::tm tm{};
  const auto tt = static_cast<std::time_t>(t);
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string now_rfc3339() {
  return rfc3339(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// A page being read: the parser is fed while the body streams in.
struct PageRead {
  model::VmPageParser parser;
  int status = 0;
  std::string head;     // the start of a non-200 answer
  bool refused = false; // the parser stopped the transfer (page too large, or not VictoriaMetrics')
  PageRead(model::VmPage page, std::size_t cap) : parser(page, cap) {}
};

std::string one_line(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  constexpr std::size_t kMax = 200;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

// The message of an API server Status object, or nullopt when `head` is not one.
std::optional<std::string> status_message(const std::string &head) {
  const auto j = nlohmann::json::parse(head, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "Status") return std::nullopt;
  return j.value("message", "");
}

PageOutcome outcome(model::VmPage page, bool proxy, PageRead &read, const std::optional<kube::HttpResponse> &resp,
                    const std::exception_ptr &error, std::chrono::milliseconds timeout) {
  PageOutcome out;
  const auto name = model::to_string(page);
  if (resp && !resp->body.empty()) { // a transport that ignores on_body (test doubles)
    read.status = resp->status;
    if (resp->status == 200)
      read.parser.feed(resp->body);
    else
      read.head = resp->body.substr(0, kErrorHead);
  }
  if (!resp) {
    // The parser may have ended the transfer: then that is why (a 200 cut short otherwise is a transport failure,
    // never a page read in part).
    if (read.refused) {
      try {
        out.facts = read.parser.finish();
        return out;
      } catch (const ParseError &e) {
        out.failure = fmt::format("its {} {}", name, e.what());
        return out;
      }
    }
    try {
      if (error) std::rethrow_exception(error);
      throw TransportError("no response");
    } catch (const kube::TransferError &e) {
      if (e.failure() == kube::TransferFailure::Timeout) {
        out.failure = fmt::format("its {} did not answer within {} ms", name, timeout.count());
        out.unreachable = true;
      } else {
        out.failure = fmt::format("its {} could not be read: {}", name, one_line(e.what()));
        out.unreachable = e.failure() == kube::TransferFailure::Connect;
      }
    } catch (const std::exception &e) {
      out.failure = fmt::format("its {} could not be read: {}", name, one_line(e.what()));
    }
    return out;
  }
  const int status = resp->status;
  if (status == 200) {
    try {
      out.facts = read.parser.finish();
    } catch (const ParseError &e) {
      out.failure = fmt::format("its {} {}", name, e.what());
    }
    return out;
  }
  const auto api_status = proxy ? status_message(read.head) : std::nullopt;
  const std::string phrase(kube::reason_phrase(status));
  if (api_status && status == 403) {
    out.forbidden = true;
    out.failure = fmt::format("reading its {} through the API server is forbidden (RBAC: pods/proxy get)", name);
  } else if (api_status && status == 503) {
    out.unreachable = true;
    out.failure = fmt::format("the API server could not reach its {}: {}", name, one_line(*api_status));
  } else if (status == 401 || status == 403) {
    out.failure = fmt::format("its {} answered {} {} (-{}AuthKey protects it)", name, status, phrase,
                              page == model::VmPage::Metrics ? "metrics" : "flags");
  } else {
    out.failure = fmt::format("its {} answered {} {}{}", name, status, phrase,
                              api_status ? ": " + one_line(*api_status) : std::string{});
  }
  return out;
}

struct PodPages {
  PageOutcome flags, metrics;
  std::string at;
};

// One line for both pages: "its /flags and /metrics ..." when they failed alike.
std::string join_failures(const PageOutcome &flags, const PageOutcome &metrics) {
  if (flags.failure.empty()) return metrics.failure;
  if (metrics.failure.empty()) return flags.failure;
  std::string same = flags.failure;
  if (const auto at = same.find("its /flags"); at != std::string::npos) {
    same.replace(at, 10, "its /metrics");
    if (same == metrics.failure) return std::string(flags.failure).replace(at, 10, "its /flags and /metrics");
  }
  return flags.failure + "; " + metrics.failure;
}

} // namespace

ProbeMode effective_mode(ProbeMode mode, bool in_cluster) {
  if (mode != ProbeMode::Auto) return mode;
  return in_cluster ? ProbeMode::Direct : ProbeMode::Proxy;
}

PodProbe probe_result(const std::string &via, const std::string &at, const PageOutcome &flags,
                      const PageOutcome &metrics) {
  PodProbe p;
  auto o = std::make_shared<model::Observed>();
  o->via = via;
  o->at = at;
  if (flags.facts && flags.facts->storage_node) {
    o->source = "/flags";
    o->running = model::split_vm_array(*flags.facts->storage_node);
  } else if (metrics.facts && metrics.facts->storage_node) {
    o->source = "/metrics";
    o->running = model::split_vm_array(*metrics.facts->storage_node);
  } else {
    if (flags.facts && metrics.facts)
      p.failure = "its /flags and /metrics name no -storageNode";
    else
      p.failure = join_failures(flags, metrics);
    return p;
  }
  if (metrics.facts) {
    o->metrics = true;
    o->nodes = metrics.facts->nodes;
    if (metrics.facts->start_timestamp) o->started_at = rfc3339(*metrics.facts->start_timestamp);
    o->version = metrics.facts->version.value_or("");
  } else {
    p.note = metrics.failure;
  }
  if (o->source == "/metrics" && !flags.failure.empty()) p.note = flags.failure;
  p.observed = std::move(o);
  return p;
}

void probe_pods(kube::Client &client, const ProbeOptions &options, const std::vector<ProbeTarget> &targets,
                Inventory &inv) {
  if (targets.empty()) return;
  const ProbeMode mode = effective_mode(options.mode, client.config().in_cluster);
  const bool proxy = mode == ProbeMode::Proxy;
  const std::string via = proxy ? "proxy" : "direct";
  std::vector<PodPages> pages(targets.size());
  const std::size_t width = static_cast<std::size_t>(std::max(1, options.concurrency));

  // The two requests of one pod, with their streaming parsers.
  auto requests = [&](const ProbeTarget &t, std::unique_ptr<PageRead> &f, std::unique_ptr<PageRead> &m) {
    f = std::make_unique<PageRead>(model::VmPage::Flags, options.max_page_bytes);
    m = std::make_unique<PageRead>(model::VmPage::Metrics, options.max_page_bytes);
    std::vector<kube::HttpRequest> out;
    for (auto *read : {f.get(), m.get()}) {
      kube::HttpRequest r;
      const std::string page(read == f.get() ? "flags" : "metrics");
      r.path = proxy
                   ? fmt::format("/api/v1/namespaces/{}/pods/{}:{}/proxy/{}", kube::url_encode(t.pod->namespace_),
                                 kube::url_encode(t.pod->name), t.port, page)
                   : "/" + page;
      r.timeout = options.timeout;
      r.headers.emplace_back("Accept", "text/plain");
      r.on_body = [read](int status, std::string_view chunk) {
        read->status = status;
        if (status != 200) {
          if (read->head.size() < kErrorHead) read->head.append(chunk.substr(0, kErrorHead - read->head.size()));
          return true; // the transport keeps nothing; the rest of an error answer is dropped as it arrives
        }
        if (read->parser.feed(chunk)) return true;
        read->refused = true;
        return false;
      };
      out.push_back(std::move(r));
    }
    return out;
  };
  auto finish = [&](std::size_t i, PageRead &f, PageRead &m, std::vector<kube::HttpTransport::Result> &res,
                    const std::string &at) {
    pages[i].at = at;
    pages[i].flags = outcome(model::VmPage::Flags, proxy, f, res[0].response, res[0].error, options.timeout);
    pages[i].metrics = outcome(model::VmPage::Metrics, proxy, m, res[1].response, res[1].error, options.timeout);
  };

  if (proxy) {
    // Fail fast where the API server cannot reach pods at all (a firewall between the control plane and the
    // nodes): when no pod of the first round could be reached, the others are not tried, each a timeout more.
    std::size_t skipped_from = targets.size();
    for (std::size_t start = 0; start < targets.size(); start += width) {
      if (start > 0 &&
          std::all_of(pages.begin(), pages.begin() + static_cast<std::ptrdiff_t>(start),
                      [](const PodPages &pp) { return pp.flags.unreachable && pp.metrics.unreachable; })) {
        skipped_from = start;
        break;
      }
      const std::size_t end = std::min(targets.size(), start + width);
      std::vector<std::unique_ptr<PageRead>> reads(2 * (end - start));
      std::vector<kube::HttpRequest> batch;
      for (std::size_t i = start; i < end; ++i) {
        auto rs = requests(targets[i], reads[2 * (i - start)], reads[2 * (i - start) + 1]);
        std::move(rs.begin(), rs.end(), std::back_inserter(batch));
      }
      const auto at = now_rfc3339();
      auto results = client.proxy_get(std::move(batch));
      for (std::size_t i = start; i < end; ++i) {
        std::vector<kube::HttpTransport::Result> two;
        two.push_back(std::move(results[2 * (i - start)]));
        two.push_back(std::move(results[2 * (i - start) + 1]));
        finish(i, *reads[2 * (i - start)], *reads[2 * (i - start) + 1], two, at);
      }
    }
    for (std::size_t i = skipped_from; i < targets.size(); ++i) {
      pages[i].flags.failure =
          fmt::format("not probed: the API server could not reach any of the first {} pods", skipped_from);
      pages[i].flags.unreachable = pages[i].metrics.unreachable = true;
    }
  } else {
    // Direct: `width` workers, each reading one pod at a time over a transport of its own to that pod.
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t i = next++; i < targets.size(); i = next++) {
        const auto &t = targets[i];
        std::unique_ptr<PageRead> f, m;
        auto rs = requests(t, f, m);
        std::vector<kube::HttpTransport::Result> res(2);
        const auto at = now_rfc3339();
        try {
          kube::ClientConfig direct; // nothing but the address: no credentials, no CA, no proxy settings
          const auto &ip = t.pod->primary_ip();
          const bool v6 = ip.find(':') != std::string::npos;
          direct.server = fmt::format("http://{}{}{}:{}", v6 ? "[" : "", ip, v6 ? "]" : "", t.port);
          kube::TransportOptions to;
          to.connect_timeout = options.timeout;
          auto transport = kube::make_curl_transport(direct, to);
          res = transport->send_all(std::move(rs));
        } catch (const std::exception &) {
          res[0].error = res[1].error = std::current_exception();
        }
        finish(i, *f, *m, res, at);
      }
    };
    std::vector<std::thread> threads;
    const std::size_t n = std::min(width, targets.size());
    threads.reserve(n);
    for (std::size_t k = 0; k < n; ++k)
      threads.emplace_back(worker);
    for (auto &th : threads)
      th.join();
  }

  std::size_t forbidden = 0;
  std::set<int> unreachable_ports;
  std::size_t unreachable = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto &pp = pages[i];
    auto result = probe_result(via, pp.at, pp.flags, pp.metrics);
    if (!result.observed && (pp.flags.forbidden || pp.metrics.forbidden)) ++forbidden;
    if (!result.observed && (pp.flags.unreachable || pp.metrics.unreachable)) {
      ++unreachable;
      unreachable_ports.insert(targets[i].port);
    }
    inv.probes[targets[i].pod->namespace_ + "/" + targets[i].pod->name] = std::move(result);
  }
  if (forbidden > 0)
    inv.warnings.push_back(fmt::format(
        "--probe: reading pods through the API server (pods/proxy get) is forbidden for {} of {} pods; their "
        "verdicts are inferred from their specs (grant the vmsync probe role, deploy/README.md, or run "
        "--probe=direct in the cluster)",
        forbidden, targets.size()));
  if (unreachable > 0)
    inv.warnings.push_back(fmt::format(
        "--probe: {} of {} pods could not be reached {} on port {}; their verdicts are inferred from their "
        "specs{}",
        unreachable, targets.size(), proxy ? "by the API server" : "directly", fmt::join(unreachable_ports, ", "),
        proxy ? " (where the control plane cannot reach pods, as on GKE private clusters or EKS, a firewall rule "
                "must open that port from it to the nodes)"
              : ""));
}

} // namespace vmsync::check
