#include "vmsync/kube/base64.hpp"

#include <doctest/doctest.h>

using namespace vmsync::kube;

TEST_CASE("base64_decode: RFC 4648 vectors, line breaks ignored") {
  CHECK(base64_decode("") == "");
  CHECK(base64_decode("Zg==") == "f");
  CHECK(base64_decode("Zm8=") == "fo");
  CHECK(base64_decode("Zm9v") == "foo");
  CHECK(base64_decode("Zm9vYmFy") == "foobar");
  CHECK(base64_decode("Zm9v\nYmFy\n") == "foobar");
}

TEST_CASE("base64_decode: invalid input") {
  CHECK_FALSE(base64_decode("Zm9").has_value());
  CHECK_FALSE(base64_decode("!!!!").has_value());
  CHECK_FALSE(base64_decode("Zg=a").has_value());
}

TEST_CASE("base64_encode") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
}
