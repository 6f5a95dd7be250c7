// gzip bodies inflated by vmsync (src/core/kube/gzip.cpp): whole, and streamed into the JSON parser.
#include "../../../src/core/kube/gzip.hpp"
#include "gzip_data.hpp"
#include "vmsync/error.hpp"

#include <doctest/doctest.h>
#include <istream>
#include <nlohmann/json.hpp>

using namespace vmsync;
using namespace vmsync::kube;
using vmsync::test::gzip;
using nlohmann::json;

namespace {

// A list page several windows long, so the stream refills many times.
json big_page() {
  json items = json::array();
  for (int i = 0; i < 3000; ++i)
    items.push_back({{"metadata", {{"name", "pod-" + std::to_string(i)}}},
                     {"spec", {{"args", {"-storageNode=vmstorage-" + std::to_string(i % 10) + ".svc:8400"}}}}});
  return {{"kind", "PodList"}, {"metadata", {{"continue", ""}}}, {"items", items}};
}

} // namespace

TEST_CASE("gunzip: the whole body back, empty included") {
  const std::string text = big_page().dump();
  REQUIRE(text.size() > 200 * 1024);
  CHECK(gunzip(gzip(text), text.size()) == text);
  CHECK(gunzip(gzip(""), 0).empty());
}

TEST_CASE("GunzipBuf: nlohmann parses a page straight from its gzip bytes, filters included") {
  const auto page = big_page();
  const auto compressed = gzip(page.dump());
  GunzipBuf buf(compressed);
  std::istream in(&buf);
  CHECK(json::parse(in) == page);
  CHECK(buf.inflated() == page.dump().size());

  GunzipBuf buf2(compressed);
  std::istream in2(&buf2);
  const auto got = json::parse(in2, [](int depth, json::parse_event_t e, json &parsed) {
    return !(e == json::parse_event_t::key && depth == 3 && parsed == "spec");
  });
  REQUIRE(got["items"].size() == 3000);
  CHECK_FALSE(got["items"][0].contains("spec"));
}

TEST_CASE("gunzip and GunzipBuf: truncated, corrupt and non-gzip data are ParseErrors, never a short read") {
  const std::string text = big_page().dump();
  const auto compressed = gzip(text);
  CHECK_THROWS_WITH_AS(gunzip(compressed.substr(0, compressed.size() / 2), text.size()),
                       doctest::Contains("ends early"), ParseError);
  CHECK_THROWS_WITH_AS(gunzip(compressed.substr(0, compressed.size() - 4), text.size()),
                       doctest::Contains("ends early"), ParseError); // the trailer's length missing
  CHECK_THROWS_AS(gunzip("", 10), ParseError);
  CHECK_THROWS_WITH_AS(gunzip("{\"kind\": \"PodList\"}", 100), doctest::Contains("corrupt"), ParseError);
  auto flipped = compressed;
  flipped[compressed.size() / 2] = static_cast<char>(flipped[compressed.size() / 2] ^ 0x55);
  CHECK_THROWS_AS(gunzip(flipped, text.size() * 2), ParseError);

  GunzipBuf buf(std::string_view(compressed).substr(0, compressed.size() / 3));
  std::istream in(&buf);
  CHECK_THROWS_WITH_AS(json::parse(in).is_null(), doctest::Contains("ends early"), ParseError);
}

TEST_CASE("gunzip: a body that inflates past the bound is refused (a decompression bomb)") {
  const std::string zeros(4 << 20, '0');
  const auto compressed = gzip(zeros);
  CHECK(compressed.size() < 64 * 1024);
  CHECK_THROWS_WITH_AS(gunzip(compressed, 1 << 20), doctest::Contains("more than 1048576 bytes"), ParseError);
  CHECK(gunzip(compressed, zeros.size()) == zeros);
}
