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

HttpResponse HttpTransport::send(HttpRequest request) {
  std::vector<HttpRequest> one;
  one.push_back(std::move(request));
  auto results = send_all(std::move(one));
  if (results.at(0).error) std::rethrow_exception(results[0].error);
  if (!results[0].response) throw TransportError("no response");
  return std::move(*results[0].response);
}

} // namespace vmsync::kube
