#pragma once
// Storage-node addresses as VictoriaMetrics sees them (an exact string it hashes) and as DNS resolves them (a
// node identity). Two spellings name the same node when their identities match; vminsert still routes them
// differently, which is why spelling is kept next to identity.
//
// Identity rules (the pod's resolv.conf search path "<ns>.svc.<domain> svc.<domain> <domain>" applied to the
// DNS records Kubernetes creates: services "<svc>.<ns>.svc.<domain>", pods behind a headless service
// "<pod>.<svc>.<ns>.svc.<domain>"):
//   "a"                  service a in the context namespace             -> "a.<ns>"
//   "a.b"                pod a of headless service b (b listed in headless_services) -> "a.b.<ns>",
//                        else service a in namespace b                   -> "a.b"
//   "a.b.svc"            service a in namespace b                        -> "a.b"
//   "a.b.c"              pod a of service b in namespace c               -> "a.b.c"
//   "a.b.c.svc"          pod a of service b in namespace c               -> "a.b.c"
//   "....svc.<domain>"   as the two forms above, with or without a trailing dot
// Host names are compared case-insensitively (lower-cased). Only the context's cluster domain is stripped: a
// name under another domain (e.g. "x.ns.svc.cluster.local" when the cluster domain is "example.org") is not
// served by the cluster's DNS and stays an external name. Anything that is not one of the in-cluster forms,
// and any absolute name (trailing dot) that does not end in ".svc.<domain>.", is an external name whose
// identity is its absolute spelling with a trailing dot ("db.example.com." or "x.ns." - an absolute "x.ns."
// does not resolve, so it is not the same node as "x.ns"). IPv4 literals are kept, IPv6 literals are written
// in their canonical RFC 5952 form inside brackets. A port is kept as a decimal number; with no port the
// identity has none unless NameContext::default_port is set (VictoriaMetrics appends its default port).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmsync::model {

// The storage pods a list should name, and the names Kubernetes DNS gives each of them: "<pod>.<subdomain>" in
// the pods' namespace (subdomain: the pod's spec.subdomain, a StatefulSet's serviceName), and a Service that
// selects exactly that pod (KubeBlocks' per-pod Services). With it, an address is identified by the pod it reaches
// rather than by how its first label looks: "vmstorage-0.wrongsvc.otherns" reaches no storage pod at all.
struct StorageNames {
  std::string workload;   // the storage workload's name (evidence: "... is not vmstorage's headless service")
  std::string namespace_; // the storage pods' namespace
  std::string subdomain;  // their headless Service
  // Both sorted (looked up by binary search: a list is read entry by entry against thousands of pods at most).
  std::vector<std::string> pods;                                  // declared pod names
  std::vector<std::pair<std::string, std::string>> pod_services; // Service name -> the one pod it selects
  std::vector<std::pair<std::string, std::string>> pod_ips;      // canonical_ip() of a pod's IP -> that pod
  [[nodiscard]] bool empty() const noexcept { return pods.empty(); }
};

// Context to resolve relative names the way a pod's resolv.conf search path does.
struct NameContext {
  std::string namespace_;                 // namespace of the consumer pod
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> headless_services; // known services in namespace_, to read "a.b" as pod a of service b
  std::string default_port;               // port VictoriaMetrics adds to an entry without one (empty: none)
  StorageNames storage;                   // the storage pods (empty: identities are plain DNS names)
};

struct Address {
  std::string spelling; // exactly as written (what VictoriaMetrics hashes)
  std::string host;     // without port; IPv6 literals without brackets
  std::string port;     // may be empty when none was written
  // Canonical "host-in-namespace:port", e.g. "vmstorage-0.vmstorage.ns:8400". A name that reaches a storage pod
  // of NameContext::storage (its per-pod Service too) has that pod's "<pod>.<subdomain>.<ns>:port".
  std::string identity;
};

// Parses "host:port", "[v6]:port", "host"; nullopt on an empty or malformed entry (whitespace, empty or
// non-numeric port, port above 65535, unbracketed IPv6, empty labels).
std::optional<Address> parse_address(std::string_view spelling, const NameContext &ctx);

// Spelling style of a list, so a repaired list keeps it (short, .ns, .ns.svc, FQDN, trailing dot).
//   Short     "a", "pod.headless"            Namespace "a.ns", "pod.svc.ns"
//   Svc       "a.ns.svc", "pod.svc.ns.svc"   Fqdn      "....svc.<domain>"      FqdnDot "....svc.<domain>."
//   Other     IP literals and external names
enum class Spelling { Short, Namespace, Svc, Fqdn, FqdnDot, Other };
Spelling spelling_of(const Address &a, const NameContext &ctx);
std::string_view to_string(Spelling s) noexcept; // "short", "namespace", "svc", "fqdn", "fqdn-dot", "other"

// The in-cluster node an identity names: a service ("pod" empty) or a pod of a headless service.
struct NodeName {
  std::string pod;       // empty for a service
  std::string service;
  std::string namespace_;
  std::string port;      // may be empty
  friend bool operator==(const NodeName &, const NodeName &) = default;
};

// nullopt for IP literals and external names.
std::optional<NodeName> node_of(const Address &a, const NameContext &ctx);

// An IP as an identity writes it: IPv4 as is, IPv6 canonical (RFC 5952) in brackets; nullopt for no IP literal.
std::optional<std::string> canonical_ip(std::string_view ip);

// The storage pod (of ctx.storage) an address reaches, or nullopt.
std::optional<std::string> storage_pod_of(const Address &a, const NameContext &ctx);

// What joins the entry and the reason in why_no_storage_pod's sentences.
inline constexpr std::string_view kNamesNoStoragePod = " names no storage pod: ";

// Why an address that looks like a storage pod's name reaches none (evidence: "vmstorage-0.wrongsvc.otherns:8400
// names no storage pod: service wrongsvc in namespace otherns is not vmstorage's headless service"); nullopt when
// it reaches one, or does not mention any storage pod by name (a removed node, another host: nothing to explain).
std::optional<std::string> why_no_storage_pod(const Address &a, const NameContext &ctx);

// Writes a node in a spelling style, e.g. {pod "vmstorage-0", service "vmstorage", ns "mon", port "8400"} as
// Fqdn: "vmstorage-0.vmstorage.mon.svc.cluster.local:8400". Short falls back to Namespace for a node outside
// ctx.namespace_ (a short name cannot reach it); Other is treated as Namespace. A pod spelled Short reads back as
// the same node only when its service is in ctx.headless_services (as DNS needs the pod to be behind it).
std::string spell(const NodeName &node, Spelling style, const NameContext &ctx);

// The style shared by every parseable entry of a list; nullopt when the list mixes styles or has none.
std::optional<Spelling> list_spelling(const std::vector<std::string> &entries, const NameContext &ctx);

} // namespace vmsync::model
