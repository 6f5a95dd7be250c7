#include "vmsync/kube/http.hpp"

#include <doctest/doctest.h>

using namespace vmsync::kube;

TEST_CASE("HttpResponse::header is case-insensitive") {
  HttpResponse r;
  r.headers = {{"retry-after", "3"}, {"content-type", "application/json"}};
  CHECK(r.header("Retry-After") == "3");
  CHECK(r.header("Content-Type") == "application/json");
  CHECK_FALSE(r.header("X-Missing").has_value());
}

TEST_CASE("to_string(Method)") {
  CHECK(to_string(Method::Patch) == "PATCH");
  CHECK(to_string(Method::Delete) == "DELETE");
}
