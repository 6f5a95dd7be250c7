// Address parsing and node identity. The approach: split host and port with the same rules Go's
// net.SplitHostPort applies (VictoriaMetrics dials with it), then read the host the way a pod's resolver would
// through the Kubernetes search path, mapping every in-cluster spelling to one canonical form. See address.hpp
// for the table of forms.
#include "vmsync/model/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace vmsync::model {
namespace {

std::vector<std::string> split_labels(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

// Canonical decimal port, or nullopt when not a port number 1..65535.
std::optional<std::string> canonical_port(std::string_view p) {
  if (p.empty() || p.size() > 10)
    return std::nullopt;
  unsigned long value = 0;
  for (char c : p) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<unsigned long>(c - '0');
  }
  if (value == 0 || value > 65535)
    return std::nullopt;
  return std::to_string(value);
}

std::optional<std::string> canonical_ipv6(const std::string &host) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET6, host.c_str(), buf.data()) != 1)
    return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET6, buf.data(), text.data(), static_cast<socklen_t>(text.size())) == nullptr)
    return std::nullopt;
  return std::string(text.data());
}

bool is_ipv4(const std::string &host) {
  std::array<unsigned char, 4> buf{};
  return inet_pton(AF_INET, host.c_str(), buf.data()) == 1;
}

std::string domain_of(const NameContext &ctx) {
  std::string d = lower(ctx.cluster_domain);
  if (!d.empty() && d.back() == '.')
    d.pop_back();
  return d;
}

struct Resolved {
  enum class Kind { Node, External, Ip } kind = Kind::External;
  NodeName node;       // for Node
  std::string name;    // canonical host text (without port)
  Spelling style = Spelling::Other;
};

Resolved make_service(std::string service, std::string ns, Spelling style) {
  Resolved r;
  r.kind = Resolved::Kind::Node;
  r.name = service + "." + ns;
  r.node = NodeName{{}, std::move(service), std::move(ns), {}};
  r.style = style;
  return r;
}

Resolved make_pod(std::string pod, std::string service, std::string ns, Spelling style) {
  Resolved r;
  r.kind = Resolved::Kind::Node;
  r.name = pod + "." + service + "." + ns;
  r.node = NodeName{std::move(pod), std::move(service), std::move(ns), {}};
  r.style = style;
  return r;
}

// host: as written, without brackets and port, already checked for allowed characters.
std::optional<Resolved> resolve_host(std::string_view written, bool bracketed, const NameContext &ctx) {
  if (bracketed) {
    auto v6 = canonical_ipv6(std::string(written));
    if (!v6)
      return std::nullopt;
    Resolved r;
    r.kind = Resolved::Kind::Ip;
    r.name = "[" + *v6 + "]";
    return r;
  }
  std::string host = lower(written);
  if (is_ipv4(host)) {
    Resolved r;
    r.kind = Resolved::Kind::Ip;
    r.name = host;
    return r;
  }
  const bool absolute = !host.empty() && host.back() == '.';
  if (absolute)
    host.pop_back();
  if (host.empty())
    return std::nullopt;
  auto labels = split_labels(host);
  if (std::any_of(labels.begin(), labels.end(), [](const std::string &l) { return l.empty(); }))
    return std::nullopt;

  // Fully qualified under the cluster domain: "<prefix>.svc.<domain>".
  const std::string suffix = ".svc." + domain_of(ctx);
  if (host.size() > suffix.size() && host.ends_with(suffix)) {
    auto prefix = split_labels(std::string_view(host).substr(0, host.size() - suffix.size()));
    const Spelling style = absolute ? Spelling::FqdnDot : Spelling::Fqdn;
    if (prefix.size() == 2)
      return make_service(prefix[0], prefix[1], style);
    if (prefix.size() == 3)
      return make_pod(prefix[0], prefix[1], prefix[2], style);
  } else if (!absolute) {
    const auto n = labels.size();
    const auto &hs = ctx.headless_services;
    if (n == 1)
      return make_service(labels[0], ctx.namespace_, Spelling::Short);
    if (n == 2) {
      if (std::find(hs.begin(), hs.end(), labels[1]) != hs.end())
        return make_pod(labels[0], labels[1], ctx.namespace_, Spelling::Short);
      return make_service(labels[0], labels[1], Spelling::Namespace);
    }
    if (n == 3 && labels[2] == "svc")
      return make_service(labels[0], labels[1], Spelling::Svc);
    if (n == 3)
      return make_pod(labels[0], labels[1], labels[2], Spelling::Namespace);
    if (n == 4 && labels[3] == "svc")
      return make_pod(labels[0], labels[1], labels[2], Spelling::Svc);
  }
  Resolved r;
  r.kind = Resolved::Kind::External;
  r.name = host + ".";
  return r;
}

bool contains(const std::vector<std::string> &sorted, const std::string &s) {
  return std::binary_search(sorted.begin(), sorted.end(), s);
}

const std::string *pod_service_target(const StorageNames &st, const std::string &service) {
  auto it = std::lower_bound(st.pod_services.begin(), st.pod_services.end(), service,
                             [](const auto &entry, const std::string &s) { return entry.first < s; });
  return it != st.pod_services.end() && it->first == service ? &it->second : nullptr;
}

// The storage pod a resolved name reaches: "<pod>.<subdomain>" in the pods' namespace, or a Service selecting
// exactly that pod. Nothing else does, however much it looks like one (DNS has no record for it).
std::optional<std::string> storage_pod(const Resolved &r, const NameContext &ctx) {
  const auto &st = ctx.storage;
  if (!st.empty() && r.kind == Resolved::Kind::Ip) { // a pod's own IP (while that pod lives)
    auto it = std::lower_bound(st.pod_ips.begin(), st.pod_ips.end(), r.name,
                               [](const auto &entry, const std::string &s) { return entry.first < s; });
    if (it != st.pod_ips.end() && it->first == r.name) return it->second;
    return std::nullopt;
  }
  if (st.empty() || r.kind != Resolved::Kind::Node || r.node.namespace_ != st.namespace_)
    return std::nullopt;
  if (!r.node.pod.empty()) {
    if (r.node.service == st.subdomain && contains(st.pods, r.node.pod))
      return r.node.pod;
    return std::nullopt;
  }
  if (const auto *pod = pod_service_target(st, r.node.service))
    return *pod;
  return std::nullopt;
}

struct Split {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  bool bracketed = false;
};

std::optional<Split> split_host_port(std::string_view s) {
  Split out;
  if (s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    out.host = s.substr(1, close - 1);
    out.bracketed = true;
    const auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      out.port = rest.substr(1);
      out.has_port = true;
    }
    return out;
  }
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) {
    out.host = s;
    return out;
  }
  if (s.find(':', colon + 1) != std::string_view::npos)
    return std::nullopt; // unbracketed IPv6 or garbage: Go's SplitHostPort rejects "too many colons"
  out.host = s.substr(0, colon);
  out.port = s.substr(colon + 1);
  out.has_port = true;
  return out;
}

} // namespace

std::optional<Address> parse_address(std::string_view spelling, const NameContext &ctx) {
  if (spelling.empty())
    return std::nullopt;
  auto split = split_host_port(spelling);
  if (!split || split->host.empty())
    return std::nullopt;
  if (!split->bracketed && !std::all_of(split->host.begin(), split->host.end(), is_host_char))
    return std::nullopt;
  std::string port;
  if (split->has_port) {
    auto p = canonical_port(split->port);
    if (!p)
      return std::nullopt;
    port = *p;
  }
  auto resolved = resolve_host(split->host, split->bracketed, ctx);
  if (!resolved)
    return std::nullopt;

  Address a;
  a.spelling = std::string(spelling);
  a.host = std::string(split->host);
  a.port = split->has_port ? std::string(split->port) : std::string();
  const std::string &effective_port = port.empty() ? ctx.default_port : port;
  // Every name that reaches a storage pod is that pod: its per-pod Service and its "<pod>.<subdomain>" agree.
  const auto pod = storage_pod(*resolved, ctx);
  const std::string name =
      pod ? *pod + "." + ctx.storage.subdomain + "." + ctx.storage.namespace_ : resolved->name;
  a.identity = name + (effective_port.empty() ? "" : ":" + effective_port);
  return a;
}

std::optional<std::string> storage_pod_of(const Address &a, const NameContext &ctx) {
  const bool bracketed = !a.spelling.empty() && a.spelling.front() == '[';
  auto r = resolve_host(a.host, bracketed, ctx);
  return r ? storage_pod(*r, ctx) : std::nullopt;
}

std::optional<std::string> why_no_storage_pod(const Address &a, const NameContext &ctx) {
  const auto &st = ctx.storage;
  const bool bracketed = !a.spelling.empty() && a.spelling.front() == '[';
  auto r = resolve_host(a.host, bracketed, ctx);
  if (st.empty() || !r || r->kind == Resolved::Kind::Ip || storage_pod(*r, ctx))
    return std::nullopt;
  // Only names that mention a storage pod (or its per-pod Service) by name need explaining; any other entry
  // (a removed ordinal, another host) is plainly another node.
  auto mentioned = [&](const std::string &label) {
    return contains(st.pods, label) || pod_service_target(st, label) != nullptr;
  };
  std::string reason;
  if (r->kind == Resolved::Kind::External) {
    const std::string host = lower(a.host);
    if (!mentioned(host.substr(0, host.find('.'))))
      return std::nullopt;
    reason = r->name + " is not a name the cluster's DNS serves (cluster domain " + domain_of(ctx) + ")";
  } else if (!r->node.pod.empty()) {
    if (!contains(st.pods, r->node.pod))
      return std::nullopt;
    reason = "service " + r->node.service + " in namespace " + r->node.namespace_ + " is not " + st.workload +
             "'s headless service (" + st.subdomain + " in namespace " + st.namespace_ + ")";
  } else {
    if (!mentioned(r->node.service))
      return std::nullopt;
    if (pod_service_target(st, r->node.service) != nullptr)
      reason = "service " + r->node.service + " in namespace " + r->node.namespace_ + " is not " + st.workload +
               "'s per-pod service (in namespace " + st.namespace_ + ")";
    else
      reason = "it names service " + r->node.service + " in namespace " + r->node.namespace_ +
               ", and no Service selects exactly that pod of " + st.workload + " (its pods are reached as <pod>." +
               st.subdomain + " in namespace " + st.namespace_ + ")";
  }
  return a.spelling + std::string(kNamesNoStoragePod) + reason;
}

Spelling spelling_of(const Address &a, const NameContext &ctx) {
  const bool bracketed = !a.spelling.empty() && a.spelling.front() == '[';
  auto r = resolve_host(a.host, bracketed, ctx);
  return r ? r->style : Spelling::Other;
}

std::string_view to_string(Spelling s) noexcept {
  switch (s) {
  case Spelling::Short:
    return "short";
  case Spelling::Namespace:
    return "namespace";
  case Spelling::Svc:
    return "svc";
  case Spelling::Fqdn:
    return "fqdn";
  case Spelling::FqdnDot:
    return "fqdn-dot";
  case Spelling::Other:
    break;
  }
  return "other";
}

std::optional<NodeName> node_of(const Address &a, const NameContext &ctx) {
  const bool bracketed = !a.spelling.empty() && a.spelling.front() == '[';
  auto r = resolve_host(a.host, bracketed, ctx);
  if (!r || r->kind != Resolved::Kind::Node)
    return std::nullopt;
  NodeName n = std::move(r->node);
  n.port = a.port.empty() ? std::string() : canonical_port(a.port).value_or(a.port);
  return n;
}

std::optional<std::string> canonical_ip(std::string_view ip) {
  const std::string host(ip);
  if (is_ipv4(host)) return host;
  if (auto v6 = canonical_ipv6(host)) return "[" + *v6 + "]";
  return std::nullopt;
}

std::string spell(const NodeName &node, Spelling style, const NameContext &ctx) {
  std::string out = node.pod.empty() ? node.service : node.pod + "." + node.service;
  if (style == Spelling::Short && node.namespace_ != ctx.namespace_)
    style = Spelling::Namespace;
  switch (style) {
  case Spelling::Short:
    break;
  case Spelling::Namespace:
  case Spelling::Other:
    out += "." + node.namespace_;
    break;
  case Spelling::Svc:
    out += "." + node.namespace_ + ".svc";
    break;
  case Spelling::Fqdn:
    out += "." + node.namespace_ + ".svc." + domain_of(ctx);
    break;
  case Spelling::FqdnDot:
    out += "." + node.namespace_ + ".svc." + domain_of(ctx) + ".";
    break;
  }
  if (!node.port.empty())
    out += ":" + node.port;
  return out;
}

std::optional<Spelling> list_spelling(const std::vector<std::string> &entries, const NameContext &ctx) {
  std::optional<Spelling> common;
  for (const auto &e : entries) {
    auto a = parse_address(e, ctx);
    if (!a)
      continue;
    const auto s = spelling_of(*a, ctx);
    if (common && *common != s)
      return std::nullopt;
    common = s;
  }
  return common;
}

} // namespace vmsync::model
