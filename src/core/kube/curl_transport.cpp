// The libcurl transport. One multi handle lives as long as the transport: its connection cache keeps the HTTP/2
// connection to the API server open between calls, and every send_all() adds one easy handle per request to it,
// with PIPEWAIT so that requests started together wait for the first connection and multiplex over it instead
// of each opening their own. Every handle and list is owned by RAII, every setopt is checked.
//
// Writes (POST, PUT, PATCH, DELETE) go on a connection of their own, closed after use. libcurl sends a request
// again by itself, on a new connection and whatever its method, when a reused connection dies before any byte of
// the answer arrived (up to 5 times, unseen by us). The server may have acted on it by then: a PATCH resent
// blindly is the unsafe retry the client (client.cpp) refuses to make. On a fresh connection libcurl does not
// retry, so the failure reaches the client, which knows the method and does not send it again. Reads keep the
// shared connection; libcurl's resends of a GET are harmless and bounded.
//
// tls-server-name: curl 7.88 has no option to verify (and send as SNI) a name other than the URL's host. So when
// it is set, the URL carries the TLS name, CURLOPT_CONNECT_TO sends the connection to the real host and port,
// and an explicit Host header keeps the real authority, which is exactly what Go's tls.Config.ServerName does:
// SNI and verification use the TLS name, the TCP connection and the Host header use the server address. curl
// would then match no_proxy against the TLS name, so the no_proxy decision is taken here for the real host.
#include "vmsync/kube/curl_transport.hpp"

#include "text.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/redact.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cctype>
#include <cerrno>
#include <curl/curl.h>
#include <fmt/format.h>
#include <mutex>
#include <openssl/x509_vfy.h>

namespace vmsync::kube {

namespace {

// --- RAII ---------------------------------------------------------------------------------------------------

struct EasyDeleter {
  void operator()(CURL *h) const noexcept { curl_easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM *h) const noexcept { curl_multi_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist *l) const noexcept { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;

class Slist {
public:
  void append(const std::string &line) {
    // curl_slist_append returns the head: the list passed in, or a new one when that was empty.
    curl_slist *head = curl_slist_append(list_.get(), line.c_str());
    if (head == nullptr) throw TransportError("curl: out of memory building a header list");
    if (!list_) list_.reset(head);
  }
  [[nodiscard]] curl_slist *get() const noexcept { return list_.get(); }

private:
  std::unique_ptr<curl_slist, SlistDeleter> list_;
};

void global_init() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) throw TransportError(fmt::format("curl: cannot initialise: {}", curl_easy_strerror(rc)));
}

template <typename T> void setopt(CURL *h, CURLoption option, T value, std::string_view name) {
  const CURLcode rc = curl_easy_setopt(h, option, value);
  if (rc != CURLE_OK) throw TransportError(fmt::format("curl: cannot set {}: {}", name, curl_easy_strerror(rc)));
}

template <typename T> void multi_setopt(CURLM *h, CURLMoption option, T value, std::string_view name) {
  const CURLMcode rc = curl_multi_setopt(h, option, value);
  if (rc != CURLM_OK) throw TransportError(fmt::format("curl: cannot set {}: {}", name, curl_multi_strerror(rc)));
}

template <typename T> T info(CURL *h, CURLINFO what) {
  T value{};
  if (curl_easy_getinfo(h, what, &value) != CURLE_OK) return T{};
  return value;
}

// --- URLs ---------------------------------------------------------------------------------------------------

struct ServerUrl {
  std::string scheme;
  std::string host; // IPv6 without brackets
  std::string port;
  std::string authority; // as written: host[:port]
  std::string prefix;    // path after the authority, without a trailing slash
};

std::string bracketed(const std::string &host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

ServerUrl parse_server(const std::string &server) {
  ServerUrl u;
  auto scheme_end = server.find("://");
  if (scheme_end == std::string::npos) throw TransportError(fmt::format("invalid server URL \"{}\"", server));
  u.scheme = server.substr(0, scheme_end);
  std::string rest = server.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  u.authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  std::string hostport = u.authority;
  if (const auto at = hostport.rfind('@'); at != std::string::npos) hostport = hostport.substr(at + 1);
  if (!hostport.empty() && hostport[0] == '[') {
    const auto close = hostport.find(']');
    if (close == std::string::npos) throw TransportError(fmt::format("invalid server URL \"{}\"", server));
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') u.port = hostport.substr(close + 2);
  } else {
    const auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) u.port = hostport.substr(colon + 1);
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  return u;
}

bool ipv4_in_cidr(std::string_view host, std::string_view cidr) {
  const auto slash = cidr.find('/');
  const std::string net(cidr.substr(0, slash));
  int bits = 32;
  if (slash != std::string_view::npos) {
    try {
      bits = std::stoi(std::string(cidr.substr(slash + 1)));
    } catch (const std::exception &) {
      return false;
    }
  }
  in_addr a{};
  in_addr n{};
  if (bits < 0 || bits > 32 || inet_pton(AF_INET, std::string(host).c_str(), &a) != 1 ||
      inet_pton(AF_INET, net.c_str(), &n) != 1)
    return false;
  const std::uint32_t mask = bits == 0 ? 0U : ~std::uint32_t{0} << (32 - bits);
  return (ntohl(a.s_addr) & mask) == (ntohl(n.s_addr) & mask);
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// --- Errors -------------------------------------------------------------------------------------------------

std::string human_ms(long long ms) {
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms < 1000) return fmt::format("{}ms", ms);
  return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
}

std::string why_not_verified(long verify_result, const std::string &errbuf, const std::string &tls_host) {
  switch (verify_result) {
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    return "certificate signed by unknown authority (set --certificate-authority or certificate-authority-data)";
  case X509_V_ERR_CERT_HAS_EXPIRED: return "the server's certificate has expired";
  case X509_V_ERR_CERT_NOT_YET_VALID: return "the server's certificate is not valid yet (check the clock)";
  default: break;
  }
  if (errbuf.find("subject name") != std::string::npos || errbuf.find("host name") != std::string::npos)
    return fmt::format("the server's certificate is not valid for {} (set tls-server-name to a name it is "
                       "issued for)",
                       tls_host);
  return errbuf.empty() ? std::string("certificate verification failed") : errbuf;
}

} // namespace

bool no_proxy_matches(std::string_view host, std::string_view no_proxy) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();
  std::size_t start = 0;
  while (start < no_proxy.size()) {
    auto end = no_proxy.find_first_of(", ", start);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string_view entry = no_proxy.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
    if (entry.empty()) continue;
    if (entry.find('/') != std::string_view::npos) {
      if (ipv4_in_cidr(h, entry)) return true;
      continue;
    }
    if (iequal(h, entry)) return true;
    if (h.size() > entry.size() && h[h.size() - entry.size() - 1] == '.' &&
        iequal(std::string_view(h).substr(h.size() - entry.size()), entry))
      return true;
  }
  return false;
}

namespace {

class CurlTransport final : public HttpTransport {
public:
  CurlTransport(const ClientConfig &config, const TransportOptions &options)
      : config_(config), options_(options), server_(parse_server(config.server)) {
    global_init();
    multi_.reset(curl_multi_init());
    if (!multi_) throw TransportError("curl: cannot create a multi handle");
    multi_setopt(multi_.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX, "CURLMOPT_PIPELINING");
    // HTTP/1.1 fallback (a proxy that does not speak HTTP/2): a few parallel connections, not one per request.
    multi_setopt(multi_.get(), CURLMOPT_MAX_HOST_CONNECTIONS, 6L, "CURLMOPT_MAX_HOST_CONNECTIONS");
    cert_pem_ = config.client_cert_pem;
    key_pem_ = config.client_key_pem;

    base_url_ = config.server;
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    tls_host_ = server_.host;
    if (!config.tls_server_name.empty() && server_.scheme == "https") {
      tls_host_ = config.tls_server_name;
      base_url_ = fmt::format("{}://{}:{}{}", server_.scheme, bracketed(config.tls_server_name), server_.port,
                              server_.prefix);
      connect_to_.append(fmt::format("{}:{}:{}:{}", bracketed(config.tls_server_name), server_.port,
                                     bracketed(server_.host), server_.port));
      host_header_ = "Host: " + server_.authority;
    }
    if (!config.proxy_url.empty()) {
      proxy_ = config.proxy_url;
      // Go's socks5 dialer lets the proxy resolve names; in curl that is socks5h.
      if (proxy_.rfind("socks5://", 0) == 0) proxy_ = "socks5h://" + proxy_.substr(9);
      no_proxy_ = ""; // an explicit proxy-url applies to every request, as in client-go
    } else {
      // curl reads the proxy variables itself; they are looked at here only to decide no_proxy for a
      // tls-server-name (see the top of this file) and to name the proxy in connection errors.
      const auto env = [](std::initializer_list<const char *> names) {
        for (const char *name : names) {
          const char *v = std::getenv(name); // NOLINT(concurrency-mt-unsafe)
          if (v != nullptr && *v != '\0') return std::string(v);
        }
        return std::string();
      };
      const bool bypass = no_proxy_matches(server_.host, env({"no_proxy", "NO_PROXY"}));
      if (!host_header_.empty()) no_proxy_ = bypass ? "*" : "";
      if (!bypass)
        env_proxy_ = server_.scheme == "https" ? env({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
                                               : env({"http_proxy", "all_proxy", "ALL_PROXY"});
    }
  }

  ~CurlTransport() override = default;
  CurlTransport(const CurlTransport &) = delete;
  CurlTransport &operator=(const CurlTransport &) = delete;

  std::vector<Result> send_all(std::vector<HttpRequest> requests) override;
  [[nodiscard]] TransportStats stats() const override { return stats_; }
  void set_client_certificate(const std::string &cert_pem, const std::string &key_pem) override {
    cert_pem_ = cert_pem;
    key_pem_ = key_pem;
  }

private:
  struct Transfer {
    CURLM *multi = nullptr; // set while added to it
    Easy easy;
    Slist headers;
    HttpRequest request;
    std::string url;
    HttpResponse response;
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    std::optional<CURLcode> result;

    Transfer() = default;
    Transfer(const Transfer &) = delete;
    Transfer &operator=(const Transfer &) = delete;
    ~Transfer() {
      if (multi != nullptr && easy) curl_multi_remove_handle(multi, easy.get());
    }
  };

  static std::size_t on_body(char *data, std::size_t size, std::size_t count, void *user) {
    auto *t = static_cast<Transfer *>(user);
    if (t->request.on_body) {
      long status = 0;
      if (curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
      return t->request.on_body(static_cast<int>(status), std::string_view(data, size * count)) ? size * count : 0;
    }
    t->response.body.append(data, size * count);
    return size * count;
  }

  static std::size_t on_header(char *data, std::size_t size, std::size_t count, void *user) {
    auto *t = static_cast<Transfer *>(user);
    const std::string_view line = text::trim(std::string_view(data, size * count));
    if (line.rfind("HTTP/", 0) == 0) {
      t->response.headers.clear(); // a new response: after 100 Continue, or after a proxy's CONNECT answer
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string name(text::trim(line.substr(0, colon)));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      t->response.headers.emplace_back(std::move(name), std::string(text::trim(line.substr(colon + 1))));
    }
    return size * count;
  }

  std::unique_ptr<Transfer> prepare(HttpRequest request);
  std::exception_ptr failure(const Transfer &t, CURLcode rc) const;

  ClientConfig config_;
  TransportOptions options_;
  ServerUrl server_;
  Multi multi_;
  std::string base_url_;
  std::string tls_host_;
  Slist connect_to_;
  std::string host_header_;
  std::string proxy_;
  std::optional<std::string> no_proxy_;
  std::string env_proxy_; // the proxy curl takes from the environment, for messages
  std::string cert_pem_;
  std::string key_pem_;
  TransportStats stats_;
};

std::unique_ptr<CurlTransport::Transfer> CurlTransport::prepare(HttpRequest request) {
  auto t = std::make_unique<Transfer>();
  t->request = std::move(request);
  t->easy.reset(curl_easy_init());
  if (!t->easy) throw TransportError("curl: cannot create a transfer");
  CURL *h = t->easy.get();
  t->url = base_url_ + t->request.path;

  setopt(h, CURLOPT_URL, t->url.c_str(), "CURLOPT_URL");
  setopt(h, CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
  setopt(h, CURLOPT_PRIVATE, static_cast<void *>(t.get()), "CURLOPT_PRIVATE");
  setopt(h, CURLOPT_ERRORBUFFER, t->errbuf.data(), "CURLOPT_ERRORBUFFER");
  setopt(h, CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
  setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS), "CURLOPT_HTTP_VERSION");
  setopt(h, CURLOPT_PIPEWAIT, 1L, "CURLOPT_PIPEWAIT");
  setopt(h, CURLOPT_TCP_KEEPALIVE, 1L, "CURLOPT_TCP_KEEPALIVE");
  setopt(h, CURLOPT_WRITEFUNCTION, &CurlTransport::on_body, "CURLOPT_WRITEFUNCTION");
  setopt(h, CURLOPT_WRITEDATA, static_cast<void *>(t.get()), "CURLOPT_WRITEDATA");
  setopt(h, CURLOPT_HEADERFUNCTION, &CurlTransport::on_header, "CURLOPT_HEADERFUNCTION");
  setopt(h, CURLOPT_HEADERDATA, static_cast<void *>(t.get()), "CURLOPT_HEADERDATA");

  // Timeouts: the connect timeout never outlasts the whole request's.
  auto connect_timeout = options_.connect_timeout;
  if (t->request.timeout.count() > 0) {
    connect_timeout = std::min(connect_timeout, t->request.timeout);
    setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(t->request.timeout.count()), "CURLOPT_TIMEOUT_MS");
  }
  setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()), "CURLOPT_CONNECTTIMEOUT_MS");

  if (!config_.disable_compression && t->request.keep_compressed) {
    // gzip only (what the caller inflates, and all the API server sends), left as received.
    setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip", "CURLOPT_ACCEPT_ENCODING");
    setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L, "CURLOPT_HTTP_CONTENT_DECODING");
  } else if (!config_.disable_compression) {
    setopt(h, CURLOPT_ACCEPT_ENCODING, "", "CURLOPT_ACCEPT_ENCODING");
  }

  // TLS: verified unless asked not to; with a CA from the kubeconfig, that CA alone (as Go's RootCAs).
  if (config_.insecure_skip_tls_verify) {
    setopt(h, CURLOPT_SSL_VERIFYPEER, 0L, "CURLOPT_SSL_VERIFYPEER");
    setopt(h, CURLOPT_SSL_VERIFYHOST, 0L, "CURLOPT_SSL_VERIFYHOST");
  } else {
    setopt(h, CURLOPT_SSL_VERIFYPEER, 1L, "CURLOPT_SSL_VERIFYPEER");
    setopt(h, CURLOPT_SSL_VERIFYHOST, 2L, "CURLOPT_SSL_VERIFYHOST");
    if (!config_.ca_pem.empty()) {
      curl_blob ca{const_cast<char *>(config_.ca_pem.data()), config_.ca_pem.size(), CURL_BLOB_COPY};
      setopt(h, CURLOPT_CAINFO_BLOB, &ca, "CURLOPT_CAINFO_BLOB");
      setopt(h, CURLOPT_CAINFO, static_cast<const char *>(nullptr), "CURLOPT_CAINFO");
      setopt(h, CURLOPT_CAPATH, static_cast<const char *>(nullptr), "CURLOPT_CAPATH");
    }
  }
  if (!cert_pem_.empty() && !key_pem_.empty()) {
    curl_blob cert{cert_pem_.data(), cert_pem_.size(), CURL_BLOB_COPY};
    curl_blob key{key_pem_.data(), key_pem_.size(), CURL_BLOB_COPY};
    setopt(h, CURLOPT_SSLCERT_BLOB, &cert, "CURLOPT_SSLCERT_BLOB");
    setopt(h, CURLOPT_SSLCERTTYPE, "PEM", "CURLOPT_SSLCERTTYPE");
    setopt(h, CURLOPT_SSLKEY_BLOB, &key, "CURLOPT_SSLKEY_BLOB");
    setopt(h, CURLOPT_SSLKEYTYPE, "PEM", "CURLOPT_SSLKEYTYPE");
  }
  if (connect_to_.get() != nullptr) setopt(h, CURLOPT_CONNECT_TO, connect_to_.get(), "CURLOPT_CONNECT_TO");
  if (!proxy_.empty()) setopt(h, CURLOPT_PROXY, proxy_.c_str(), "CURLOPT_PROXY");
  if (no_proxy_) setopt(h, CURLOPT_NOPROXY, no_proxy_->c_str(), "CURLOPT_NOPROXY");

  if (t->request.method != Method::Get) {
    setopt(h, CURLOPT_FRESH_CONNECT, 1L, "CURLOPT_FRESH_CONNECT");
    setopt(h, CURLOPT_FORBID_REUSE, 1L, "CURLOPT_FORBID_REUSE");
  }
  switch (t->request.method) {
  case Method::Get: setopt(h, CURLOPT_HTTPGET, 1L, "CURLOPT_HTTPGET"); break;
  case Method::Post: setopt(h, CURLOPT_POST, 1L, "CURLOPT_POST"); break;
  case Method::Put:
  case Method::Patch:
  case Method::Delete:
    setopt(h, CURLOPT_CUSTOMREQUEST, std::string(to_string(t->request.method)).c_str(), "CURLOPT_CUSTOMREQUEST");
    break;
  }
  if (t->request.method == Method::Post || !t->request.body.empty()) {
    setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->request.body.size()),
           "CURLOPT_POSTFIELDSIZE_LARGE");
    setopt(h, CURLOPT_POSTFIELDS, t->request.body.c_str(), "CURLOPT_POSTFIELDS");
  }

  for (const auto &[name, value] : t->request.headers) t->headers.append(fmt::format("{}: {}", name, value));
  if (!host_header_.empty()) t->headers.append(host_header_);
  t->headers.append("Expect:"); // no 100-continue round trip for request bodies
  setopt(h, CURLOPT_HTTPHEADER, t->headers.get(), "CURLOPT_HTTPHEADER");
  return t;
}

std::exception_ptr CurlTransport::failure(const Transfer &t, CURLcode rc) const {
  CURL *h = t.easy.get();
  const std::string server = config_.server;
  const std::string errbuf = redact(text::one_line(t.errbuf.data()));
  const std::string detail = errbuf.empty() ? std::string(curl_easy_strerror(rc)) : errbuf;
  const std::string request = fmt::format("{} {}{}", to_string(t.request.method), server, t.request.path);
  const bool sent = info<curl_off_t>(h, CURLINFO_PRETRANSFER_TIME_T) > 0 || !t.response.headers.empty();
  const auto make = [](TransferFailure f, const std::string &msg) {
    return std::make_exception_ptr(TransferError(f, msg));
  };
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
    return make(TransferFailure::Resolve,
                fmt::format("cannot connect to {}: cannot resolve host \"{}\"", server, server_.host));
  case CURLE_COULDNT_RESOLVE_PROXY:
    return make(TransferFailure::Resolve, fmt::format("cannot connect to {}: cannot resolve the proxy ({})",
                                                      server, detail));
  case CURLE_COULDNT_CONNECT: {
    const long err = info<long>(h, CURLINFO_OS_ERRNO);
    std::string why = detail;
    if (err == ECONNREFUSED) why = "connection refused";
    else if (err == EHOSTUNREACH) why = "no route to host";
    else if (err == ENETUNREACH) why = "network is unreachable";
    else if (err == ETIMEDOUT) why = "connection timed out";
    if (!proxy_.empty()) why += fmt::format(" (through proxy {})", redact(config_.proxy_url));
    else if (!env_proxy_.empty()) why += fmt::format(" (through proxy {} from the environment)", redact(env_proxy_));
    return make(TransferFailure::Connect, fmt::format("cannot connect to {}: {}", server, why));
  }
  case CURLE_OPERATION_TIMEDOUT: {
    const auto limit = t.request.timeout.count() > 0 ? std::min(t.request.timeout, options_.connect_timeout)
                                                     : options_.connect_timeout;
    if (!sent)
      return make(TransferFailure::Connect,
                  fmt::format("cannot connect to {}: timed out after {}", server, human_ms(limit.count())));
    return make(TransferFailure::Timeout,
                fmt::format("{} timed out after {}", request, human_ms(t.request.timeout.count())));
  }
  case CURLE_PEER_FAILED_VERIFICATION:
    return make(TransferFailure::Tls,
                fmt::format("TLS verification of {}: {}", server,
                            why_not_verified(info<long>(h, CURLINFO_SSL_VERIFYRESULT), errbuf, tls_host_)));
  case CURLE_SSL_CERTPROBLEM:
    return make(TransferFailure::Tls, fmt::format("cannot use the client certificate for {}: {}", server, detail));
  case CURLE_SSL_CONNECT_ERROR: {
    std::string why = detail;
    if (detail.find("certificate required") != std::string::npos ||
        detail.find("bad certificate") != std::string::npos ||
        detail.find("unknown ca") != std::string::npos)
      why = fmt::format("the server rejected the client certificate ({})", detail);
    return make(TransferFailure::Tls, fmt::format("TLS handshake with {} failed: {}", server, why));
  }
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
    return make(TransferFailure::Tls, fmt::format("TLS with {} failed: {}", server, detail));
  case CURLE_PROXY:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_BAD_CONTENT_ENCODING:
    if (rc == CURLE_PROXY || (!sent && rc != CURLE_GOT_NOTHING))
      return make(rc == CURLE_PROXY ? TransferFailure::Proxy : TransferFailure::Connect,
                  fmt::format("cannot connect to {}: {}", server, detail));
    return make(TransferFailure::Broken, fmt::format("{}: connection broken: {}", request, detail));
  default: break;
  }
  return make(TransferFailure::Other, fmt::format("{}: {}", request, detail));
}

std::vector<HttpTransport::Result> CurlTransport::send_all(std::vector<HttpRequest> requests) {
  std::vector<Result> results(requests.size());
  std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    try {
      transfers[i] = prepare(std::move(requests[i]));
      const CURLMcode mc = curl_multi_add_handle(multi_.get(), transfers[i]->easy.get());
      if (mc != CURLM_OK) throw TransportError(fmt::format("curl: cannot start a transfer: {}", curl_multi_strerror(mc)));
      transfers[i]->multi = multi_.get();
    } catch (const TransportError &) {
      results[i].error = std::current_exception();
      transfers[i].reset();
    }
  }

  const auto collect = [this] {
    int queued = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void *priv = nullptr;
      if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) == CURLE_OK && priv != nullptr)
        static_cast<Transfer *>(priv)->result = msg->data.result;
    }
  };
  int running = 0;
  do {
    CURLMcode mc = curl_multi_perform(multi_.get(), &running);
    if (mc != CURLM_OK) throw TransportError(fmt::format("curl: {}", curl_multi_strerror(mc)));
    collect();
    if (running > 0) {
      mc = curl_multi_poll(multi_.get(), nullptr, 0, 1000, nullptr);
      if (mc != CURLM_OK) throw TransportError(fmt::format("curl: {}", curl_multi_strerror(mc)));
    }
  } while (running > 0);
  collect();

  for (std::size_t i = 0; i < transfers.size(); ++i) {
    auto &t = transfers[i];
    if (!t) continue;
    CURL *h = t->easy.get();
    curl_multi_remove_handle(multi_.get(), h);
    t->multi = nullptr;
    ++stats_.requests;
    stats_.bytes_received += static_cast<std::size_t>(info<curl_off_t>(h, CURLINFO_SIZE_DOWNLOAD_T)) +
                             static_cast<std::size_t>(info<long>(h, CURLINFO_HEADER_SIZE));
    stats_.connections += static_cast<std::size_t>(info<long>(h, CURLINFO_NUM_CONNECTS));
    const CURLcode rc = t->result.value_or(CURLE_GOT_NOTHING);
    if (rc != CURLE_OK) {
      results[i].error = failure(*t, rc);
      continue;
    }
    t->response.status = static_cast<int>(info<long>(h, CURLINFO_RESPONSE_CODE));
    t->response.elapsed = std::chrono::microseconds{info<curl_off_t>(h, CURLINFO_TOTAL_TIME_T)};
    results[i].response = std::move(t->response);
  }
  return results;
}

} // namespace

std::unique_ptr<HttpTransport> make_curl_transport(const ClientConfig &config, const TransportOptions &options) {
  return std::make_unique<CurlTransport>(config, options);
}

} // namespace vmsync::kube
