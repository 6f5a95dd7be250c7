#pragma once
// Storage-node addresses as VictoriaMetrics sees them (an exact string it hashes) and as DNS resolves them (a
// node identity). Two spellings name the same node when their identities match; vminsert still routes them
// differently, which is why spelling is kept next to identity.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::model {

// Context to resolve relative names the way a pod's resolv.conf search path does.
struct NameContext {
  std::string namespace_;                 // namespace of the consumer pod
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> headless_services; // known services in namespace_, to read "a.b" as pod a of service b
};

struct Address {
  std::string spelling; // exactly as written (what VictoriaMetrics hashes)
  std::string host;     // without port; IPv6 literals without brackets
  std::string port;     // may be empty when none was written
  std::string identity; // canonical "host-in-namespace:port", e.g. "vmstorage-0.vmstorage.ns:8400"
};

// Parses "host:port", "[v6]:port", "host"; nullopt on an empty or malformed entry.
std::optional<Address> parse_address(std::string_view spelling, const NameContext &ctx);

// Spelling style of a list, so a repaired list keeps it (short, .ns, .ns.svc, FQDN, trailing dot).
enum class Spelling { Short, Namespace, Svc, Fqdn, FqdnDot, Other };
Spelling spelling_of(const Address &a, const NameContext &ctx);

} // namespace vmsync::model
