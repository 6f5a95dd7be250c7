// redact(): the one place secrets are removed from text that may be shown.
#include "vmsync/kube/redact.hpp"

#include <doctest/doctest.h>

using namespace vmsync::kube;

TEST_CASE("redact: Authorization schemes keep the scheme") {
  CHECK(redact("Authorization: Bearer abc.def-123") == "Authorization: Bearer <redacted>");
  CHECK(redact("authorization: basic dXNlcjpwYXNz") == "authorization: basic <redacted>");
  // Prose is left alone.
  CHECK(redact("basic authentication failed for bearer tokens") == "basic authentication failed for bearer tokens");
}

TEST_CASE("redact: JSON Web Tokens anywhere") {
  CHECK(redact("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl expired") == "token <redacted> expired");
}

TEST_CASE("redact: PEM private keys, whole or cut short") {
  CHECK(redact("key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----\ndone") ==
        "key: -----BEGIN EC PRIVATE KEY-----<redacted>-----END EC PRIVATE KEY-----\ndone");
  CHECK(redact("-----BEGIN PRIVATE KEY-----\nMIIEvQ") ==
        "-----BEGIN PRIVATE KEY-----<redacted>-----END PRIVATE KEY-----");
  // Certificates are public.
  CHECK(redact("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----") ==
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
}

TEST_CASE("redact: secret fields in JSON, YAML, flags and query strings") {
  CHECK(redact(R"({"status":{"token":"abc\"def","expirationTimestamp":"2030-01-01T00:00:00Z"}})") ==
        R"({"status":{"token": "<redacted>","expirationTimestamp":"2030-01-01T00:00:00Z"}})");
  CHECK(redact(R"({"clientKeyData": "xyz"})") == R"({"clientKeyData": "<redacted>"})");
  CHECK(redact("password: hunter2") == "password: <redacted>");
  CHECK(redact("--token=abcd1234 --v=6") == "--token=<redacted> --v=6");
  CHECK(redact("/callback?access_token=abc&x=1") == "/callback?access_token=<redacted>&x=1");
  CHECK(redact("client-key-data: LS0tLS1C") == "client-key-data: <redacted>");
}

TEST_CASE("redact: user info in URLs") {
  CHECK(redact("proxy http://user:pa55@proxy:3128 refused") == "proxy http://<redacted>@proxy:3128 refused");
}

TEST_CASE("redact: known secret values wherever they appear, but not tiny ones") {
  CHECK(redact("server said: invalid token plainsecret99 (x)", {"plainsecret99"}) ==
        "server said: invalid token <redacted> (x)");
  CHECK(redact("a b c", {"a"}) == "a b c");
  CHECK(redact("abcd-longer abcd", {"abcd", "abcd-longer"}) == "<redacted> <redacted>");
}

TEST_CASE("redact_header") {
  CHECK(redact_header("Authorization", "Bearer eyJx.eyJy.z") == "Bearer <redacted>");
  CHECK(redact_header("authorization", "Basic dXNlcjpwYXNz") == "Basic <redacted>");
  CHECK(redact_header("Authorization", "opaque") == "<redacted>");
  CHECK(redact_header("Proxy-Authorization", "Basic abc") == "Basic <redacted>");
  CHECK(redact_header("Cookie", "session=1") == "<redacted>");
  CHECK(redact_header("User-Agent", "vmsync/0.1.0") == "vmsync/0.1.0");
}
