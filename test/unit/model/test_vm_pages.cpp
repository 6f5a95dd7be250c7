#include "vmsync/model/vm_pages.hpp"

#include "vmsync/error.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <string>

using namespace vmsync;
using namespace vmsync::model;

namespace {

// A vminsert v1.129 page as VictoriaMetrics writes it (lib/flagutil, lib/netutil), abridged.
const std::string kInsertPage =
    R"(vm_app_version{version="vminsert-20251003-v1.129.0-cluster", short_version="v1.129.0"} 1
vm_app_start_timestamp 1764000000
vm_app_uptime_seconds 3600
# HELP unrelated help text with { and " inside
vm_rpc_vmstorage_is_reachable{name="vminsert", addr="vmstorage-0.vmstorage:8400", rpc_call="metric_rows"} 1
vm_rpc_vmstorage_is_reachable{name="vminsert", addr="vmstorage-1.vmstorage:8400", rpc_call="metric_rows"} 0
vm_rpc_vmstorage_is_reachable{name="vminsert", addr="vmstorage-1.vmstorage:8400", rpc_call="other"} 1
flag{name="httpListenAddr", value=":8480", is_set="false"} 1
flag{name="storageNode", value="vmstorage-0.vmstorage:8400,vmstorage-1.vmstorage:8400", is_set="true"} 1
vm_requests_total{path="/insert"} 12 1764000000000
)";

} // namespace

TEST_CASE("VmPageParser: a vminsert /metrics page") {
  const auto f = parse_vm_page(VmPage::Metrics, kInsertPage);
  CHECK(f.storage_node == "vmstorage-0.vmstorage:8400,vmstorage-1.vmstorage:8400");
  CHECK(f.storage_node_is_set == true);
  CHECK(f.http_listen_addr == ":8480");
  CHECK(f.start_timestamp == 1764000000);
  CHECK(f.version == "vminsert-20251003-v1.129.0-cluster");
  // a node is reachable only when every series of it says so
  CHECK(f.nodes ==
        std::vector<NodeUse>{{"vmstorage-0.vmstorage:8400", true}, {"vmstorage-1.vmstorage:8400", false}});
}

TEST_CASE("VmPageParser: fed one byte at a time gives the same facts") {
  VmPageParser p(VmPage::Metrics);
  for (char c : kInsertPage)
    REQUIRE(p.feed(std::string_view(&c, 1)));
  const auto f = p.finish();
  CHECK(f.storage_node == "vmstorage-0.vmstorage:8400,vmstorage-1.vmstorage:8400");
  CHECK(f.nodes.size() == 2);
  CHECK(p.bytes() == kInsertPage.size());
}

TEST_CASE("VmPageParser: vmselect's dialer series, pages before is_set, no trailing newline") {
  const auto f =
      parse_vm_page(VmPage::Metrics, "flag{name=\"storageNode\", value=\"a:8401\"} 1\n"
                                     "vm_tcpdialer_addr_available{name=\"vmselect\",addr=\"a:8401\",} 1\n"
                                     "vm_tcpdialer_addr_available{name=\"vmselect\",addr=\"b:8401\"} 0");
  CHECK(f.storage_node == "a:8401");
  CHECK_FALSE(f.storage_node_is_set.has_value());
  CHECK(f.nodes == std::vector<NodeUse>{{"a:8401", true}, {"b:8401", false}});
  CHECK_FALSE(f.start_timestamp.has_value());
}

TEST_CASE("VmPageParser: label values with escapes") {
  const auto f = parse_vm_page(
      VmPage::Metrics, R"(flag{name="storageNode", value="\"a,b:8400\",c:8400\\x\n\u00e9\x41", is_set="true"} 1
)");
  CHECK(f.storage_node == "\"a,b:8400\",c:8400\\x\n\xc3\xa9"
                          "A");
  CHECK(split_vm_array(*f.storage_node) == std::vector<std::string>{"a,b:8400", "c:8400\\x\n\xc3\xa9"
                                                                                "A"});
}

TEST_CASE("VmPageParser: a /flags page") {
  const auto f = parse_vm_page(VmPage::Flags, "-httpListenAddr=\":8481\"\n"
                                              "-search.maxQueryLen=\"20000\"\n"
                                              "-storageNode=\"s-0:8401,\\\"x,y\\\"\"\n");
  CHECK(f.storage_node == "s-0:8401,\"x,y\"");
  CHECK(split_vm_array(*f.storage_node) == std::vector<std::string>{"s-0:8401", "x,y"});
  CHECK(f.http_listen_addr == ":8481");
  CHECK(f.nodes.empty());
  CHECK_FALSE(parse_vm_page(VmPage::Flags, "").storage_node.has_value());
}

TEST_CASE("VmPageParser: pages that are not VictoriaMetrics'") {
  CHECK_THROWS_WITH_AS(parse_vm_page(VmPage::Metrics, "<html><body>Welcome to nginx</body></html>\n"),
                       "is not a VictoriaMetrics /metrics page: line 1 is not a sample (\"<html><body>Welcome to "
                       "nginx</body></html>\")",
                       ParseError);
  CHECK_THROWS_WITH_AS(parse_vm_page(VmPage::Metrics, "go_goroutines 12\nprocess_open_fds 7\n"),
                       "is not a VictoriaMetrics /metrics page: it has no flag or vm_app_* series", ParseError);
  CHECK_THROWS_WITH_AS(parse_vm_page(VmPage::Metrics, "vm_app_start_timestamp twelve\n"),
                       "is not a VictoriaMetrics /metrics page: line 1 has no number (\"vm_app_start_timestamp "
                       "twelve\")",
                       ParseError);
  CHECK_THROWS_WITH_AS(
      parse_vm_page(VmPage::Metrics, "flag{name=\"storageNode\", value=\"a} 1\n"),
      "is not a VictoriaMetrics /metrics page: line 1 is not a sample (\"flag{name=\"storageNode\", "
      "value=\"a} 1\")",
      ParseError);
  CHECK_THROWS_WITH_AS(
      parse_vm_page(VmPage::Flags, "{\"kind\":\"Status\"}\n"),
      "is not a VictoriaMetrics /flags page: line 1 is not -name=\"value\" (\"{\"kind\":\"Status\"}\")",
      ParseError);
}

TEST_CASE("VmPageParser: size caps") {
  VmPageParser p(VmPage::Metrics, 100, 50);
  CHECK(p.feed("vm_app_start_timestamp 1\n"));
  CHECK_FALSE(p.feed(std::string(60, 'x')));
  CHECK_FALSE(p.feed("more\n")); // stays refused
  CHECK_THROWS_WITH_AS(p.finish(), "has a line longer than 50 bytes", ParseError);

  VmPageParser q(VmPage::Flags, 100);
  CHECK(q.feed(std::string(50, '\n')));
  CHECK_FALSE(q.feed(std::string(51, '\n')));
  CHECK_THROWS_WITH_AS(q.finish(), "is larger than 100 bytes", ParseError);
}

TEST_CASE("go_unquote") {
  CHECK(go_unquote(R"("")") == "");
  CHECK(go_unquote(R"("a\tb\\\"\'\a\b\f\r\v")") == "a\tb\\\"'\a\b\f\r\v");
  CHECK(go_unquote(R"("\101\x42\u0043\U0001F600")") == "ABC\xF0\x9F\x98\x80");
  CHECK_FALSE(go_unquote(R"("a)").has_value());
  CHECK_FALSE(go_unquote(R"(a")").has_value());
  CHECK_FALSE(go_unquote(R"("a"b")").has_value());
  CHECK_FALSE(go_unquote(R"("\q")").has_value());
  CHECK_FALSE(go_unquote(R"("\x4")").has_value());
  CHECK_FALSE(go_unquote(R"("\")").has_value());
  CHECK_FALSE(go_unquote(R"("\777")").has_value());
}

TEST_CASE("split_vm_array") {
  using V = std::vector<std::string>;
  CHECK(split_vm_array("").empty());
  CHECK(split_vm_array("a:8400") == V{"a:8400"});
  CHECK(split_vm_array("a:8400,b:8400") == V{"a:8400", "b:8400"});
  CHECK(split_vm_array("a,,b,") == V{"a", "", "b", ""});
  CHECK(split_vm_array(R"("x,y",z)") == V{"x,y", "z"});
  CHECK(split_vm_array(R"("unterminated,z)") == V{"\"unterminated", "z"});
  CHECK(split_vm_array("[a,b],{c,d},(e,f),g") == V{"[a,b]", "{c,d}", "(e,f)", "g"});
  CHECK(split_vm_array("srv+vmstorage.ns,file:/etc/nodes") == V{"srv+vmstorage.ns", "file:/etc/nodes"});
}

// The pages of a real VictoriaMetrics process, which test/integration/test_vm_pages.py starts (Debian's
// victoria-metrics, single-node: the same flag{...} and vm_app_* lines as the cluster components) and saves into
// $VMSYNC_VM_PAGES with what it started it with. Skipped in a plain run; that test runs it with --no-skip.
TEST_CASE("VmPageParser: the pages of a real VictoriaMetrics process" * doctest::skip()) {
  const char *dir = std::getenv("VMSYNC_VM_PAGES");
  REQUIRE_MESSAGE(dir != nullptr, "run by test/integration/test_vm_pages.py, which sets VMSYNC_VM_PAGES");
  auto read = [&](const std::string &name) {
    std::ifstream in(std::string(dir) + "/" + name, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read ", name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  const std::string listen = read("listen");
  const auto started_after = std::stoll(read("started-after"));
  const auto started_before = std::stoll(read("started-before"));
  for (const auto page : {VmPage::Metrics, VmPage::Flags}) {
    const std::string body = read(page == VmPage::Metrics ? "metrics" : "flags");
    CAPTURE(to_string(page));
    REQUIRE(body.size() > 10);
    VmPageParser p(page);
    for (std::size_t at = 0; at < body.size(); at += 4096) // as curl hands it over
      REQUIRE(p.feed(std::string_view(body).substr(at, 4096)));
    const auto f = p.finish();
    CHECK(f.http_listen_addr == listen);
    CHECK_FALSE(f.storage_node.has_value()); // single-node has no such flag
    if (page == VmPage::Metrics) {
      REQUIRE(f.start_timestamp.has_value());
      CHECK(*f.start_timestamp >= started_after);
      CHECK(*f.start_timestamp <= started_before);
      CHECK(f.version.has_value());
    }
  }
  // The /metrics page of a vminsert differs by the flag's name only: prove the flag lines of this process read
  // as they would for -storageNode.
  const std::string metrics = read("metrics");
  const auto at = metrics.find("flag{name=\"httpListenAddr\"");
  REQUIRE(at != std::string::npos);
  std::string line = metrics.substr(at, metrics.find('\n', at) - at);
  line.replace(line.find("httpListenAddr"), 14, "storageNode");
  CHECK(parse_vm_page(VmPage::Metrics, line).storage_node == listen);
}
