#pragma once
// The HTTP layer as the rest of vmsync sees it: plain requests and responses, no curl types. A response with
// status 500 is a response; only failures before a status arrived (DNS, connect, TLS, timeout, a body cut short)
// are TransportError. Only src/core/kube/curl_transport.cpp includes curl.
#include "vmsync/error.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmsync::kube {

enum class Method { Get, Post, Put, Patch, Delete };
std::string_view to_string(Method m) noexcept;

// "OK", "Not Found", ... for logging and for errors from servers that send no Status object ("" if unknown).
std::string_view reason_phrase(int status) noexcept;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  Method method = Method::Get;
  std::string path; // path and query relative to the server URL, e.g. "/api/v1/namespaces/ns/pods?limit=500"
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{0}; // whole transfer; 0: no limit (the connect timeout still applies)
  // Ask for gzip and keep the body as received: the caller inflates it while parsing (see the response's
  // content-encoding header). Otherwise bodies arrive decompressed.
  bool keep_compressed = false;
  // When set, the body is handed over chunk by chunk as it arrives (decompressed), with the response's status,
  // instead of kept in the response; returning false ends the transfer there (a TransferError: the caller knows
  // why it stopped). For pages read as they stream (a pod's /metrics) that must never be held whole.
  std::function<bool(int status, std::string_view chunk)> on_body;
};

struct HttpResponse {
  int status = 0;
  Headers headers; // names lower-cased
  std::string body; // decompressed, unless the request kept it compressed and content-encoding says gzip
  std::chrono::microseconds elapsed{0}; // from start to the last byte, for -v request logging
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
};

// Why a transfer failed, which decides whether it may be sent again: only the transport knows whether the
// request left this machine.
enum class TransferFailure {
  Resolve, // the server's (or proxy's) name did not resolve: not sent, and retrying will not help
  Connect, // refused, unreachable, or timed out while connecting: not sent, worth a retry
  Proxy,   // the proxy refused or failed the tunnel: not sent
  Tls,     // handshake or verification failed: not sent, and retrying will not help
  Timeout, // sent, then no complete answer in time
  Broken,  // sent, then the connection or stream broke (reset, EOF, HTTP/2 stream error)
  Other,
};

// A TransportError that says what kind of failure it was. Its message is one line naming the server and cause.
class TransferError : public TransportError {
public:
  TransferError(TransferFailure failure, const std::string &message) : TransportError(message), failure_(failure) {}
  [[nodiscard]] TransferFailure failure() const noexcept { return failure_; }
  // False when the server cannot have seen the request, so even a POST may be sent again.
  [[nodiscard]] bool request_sent() const noexcept {
    return failure_ == TransferFailure::Timeout || failure_ == TransferFailure::Broken ||
           failure_ == TransferFailure::Other;
  }

private:
  TransferFailure failure_;
};

// Counters kept by the transport, for -v output and the benchmark.
struct TransportStats {
  std::size_t requests = 0;
  std::size_t bytes_received = 0; // on the wire (compressed)
  std::size_t connections = 0;
};

class HttpTransport {
public:
  virtual ~HttpTransport() = default;
  HttpTransport() = default;
  HttpTransport(const HttpTransport &) = delete;
  HttpTransport &operator=(const HttpTransport &) = delete;

  // Sends every request at once (multiplexed over one HTTP/2 connection where the server allows) and returns
  // one result per request, in order. A failed transfer is returned as its exception so that one broken request
  // does not hide the others' answers.
  struct Result {
    std::optional<HttpResponse> response;
    std::exception_ptr error; // TransportError when response is empty
  };
  virtual std::vector<Result> send_all(std::vector<HttpRequest> requests) = 0;
  [[nodiscard]] virtual TransportStats stats() const = 0;

  // Replaces the TLS client certificate and key (PEM) for later requests: exec credential plugins may return a
  // new pair when the old one expires. The default ignores it (transports without TLS, test doubles).
  virtual void set_client_certificate(const std::string &cert_pem, const std::string &key_pem);

  // One request; throws TransportError.
  HttpResponse send(HttpRequest request);
};

} // namespace vmsync::kube
