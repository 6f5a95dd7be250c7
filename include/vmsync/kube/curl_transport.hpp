#pragma once
// The real HttpTransport, built on libcurl (the only user of curl, in curl_transport.cpp; no curl types here).
#include "vmsync/kube/config.hpp"
#include "vmsync/kube/http.hpp"

#include <chrono>
#include <memory>

namespace vmsync::kube {

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10000}; // DNS + TCP + TLS handshake of a new connection
};

// One HTTP/2 connection to config.server (more only when the server refuses to multiplex), verified against
// config.ca_pem or the system store, with the client certificate, proxy and compression settings of `config`.
// Requests are sent with the path appended to the server URL. Not thread-safe: one caller at a time.
std::unique_ptr<HttpTransport> make_curl_transport(const ClientConfig &config, const TransportOptions &options = {});

// Whether `host` is excluded from proxying by a no_proxy list (curl's rules: comma-separated names matching the
// host or a domain suffix, "*" for all, IP addresses and IPv4 CIDR ranges). Used where curl cannot decide itself.
bool no_proxy_matches(std::string_view host, std::string_view no_proxy);

} // namespace vmsync::kube
