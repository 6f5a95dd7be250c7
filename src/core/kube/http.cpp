#include "vmsync/kube/http.hpp"

#include "vmsync/error.hpp"

#include <algorithm>
#include <cctype>

namespace vmsync::kube {

std::string_view to_string(Method m) noexcept {
  switch (m) {
  case Method::Get: return "GET";
  case Method::Post: return "POST";
  case Method::Put: return "PUT";
  case Method::Patch: return "PATCH";
  case Method::Delete: return "DELETE";
  }
  return "GET";
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 413: return "Request Entity Too Large";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "";
  }
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto &[k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  }
  return std::nullopt;
}

void HttpTransport::set_client_certificate(const std::string & /*cert_pem*/, const std::string & /*key_pem*/) {}

HttpResponse HttpTransport::send(HttpRequest request) {
  std::vector<HttpRequest> one;
  one.push_back(std::move(request));
  auto results = send_all(std::move(one));
  if (results.at(0).error) std::rethrow_exception(results[0].error);
  if (!results[0].response) throw TransportError("no response");
  return std::move(*results[0].response);
}

} // namespace vmsync::kube
