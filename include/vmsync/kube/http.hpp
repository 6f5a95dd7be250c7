#pragma once
// The HTTP layer as the rest of vmsync sees it: plain requests and responses, no curl types. A response with
// status 500 is a response; only failures before a status arrived (DNS, connect, TLS, timeout, a body cut short)
// are TransportError. Only src/core/kube/curl_transport.cpp includes curl.
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmsync::kube {

enum class Method { Get, Post, Put, Patch, Delete };
std::string_view to_string(Method m) noexcept;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  Method method = Method::Get;
  std::string path; // path and query relative to the server URL, e.g. "/api/v1/namespaces/ns/pods?limit=500"
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers; // names lower-cased
  std::string body; // already decompressed
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
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

  // One request; throws TransportError.
  HttpResponse send(HttpRequest request);
};

} // namespace vmsync::kube
