#include "vmsync/report/push.hpp"

#include "vmsync/error.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using report::parse_push_url;

namespace {

// Records the request and answers with a fixed response (or throws a transport error).
class FakeTransport : public kube::HttpTransport {
public:
  std::vector<kube::HttpRequest> sent;
  kube::HttpResponse answer;
  bool fail = false;
  std::vector<Result> send_all(std::vector<kube::HttpRequest> requests) override {
    std::vector<Result> out;
    for (auto &r : requests) {
      sent.push_back(r);
      Result res;
      if (fail)
        res.error = std::make_exception_ptr(
            kube::TransferError(kube::TransferFailure::Connect, "connect to 127.0.0.1:9 refused"));
      else
        res.response = answer;
      out.push_back(std::move(res));
    }
    return out;
  }
  [[nodiscard]] kube::TransportStats stats() const override { return {}; }
};

std::string usage_error(const std::string &url) {
  try {
    parse_push_url(url);
  } catch (const UsageError &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("parse_push_url: default job, explicit grouping path, prefix, credentials") {
  auto t = parse_push_url("http://pushgateway:9091");
  CHECK(t.server == "http://pushgateway:9091");
  CHECK(t.path == "/metrics/job/vmsync");
  CHECK(t.authorization.empty());
  CHECK(t.display == "http://pushgateway:9091/metrics/job/vmsync");

  t = parse_push_url("https://gw.example:443/metrics/job/vmsync-ci/instance/prod/");
  CHECK(t.server == "https://gw.example:443");
  CHECK(t.path == "/metrics/job/vmsync-ci/instance/prod");

  t = parse_push_url("http://proxy/pushgateway/");
  CHECK(t.path == "/pushgateway/metrics/job/vmsync");

  t = parse_push_url("http://user:s3cret@gw:9091");
  CHECK(t.server == "http://gw:9091");
  CHECK(t.authorization == "Basic dXNlcjpzM2NyZXQ=");
  CHECK(t.display == "http://user:<redacted>@gw:9091/metrics/job/vmsync");
}

TEST_CASE("parse_push_url: errors") {
  CHECK(usage_error("gw:9091") ==
        "--pushgateway \"gw:9091\": give an http:// or https:// URL, e.g. http://pushgateway:9091");
  CHECK(usage_error("http:///metrics") == "--pushgateway \"http:///metrics\": no host in the URL");
}

TEST_CASE("push_metrics: a PUT of the text format to the group") {
  FakeTransport t;
  t.answer.status = 200;
  report::push_metrics(t, parse_push_url("http://u:p@gw:9091"), "vmsync_check_success 1\n");
  REQUIRE(t.sent.size() == 1);
  const auto &r = t.sent[0];
  CHECK(r.method == kube::Method::Put);
  CHECK(r.path == "/metrics/job/vmsync");
  CHECK(r.body == "vmsync_check_success 1\n");
  CHECK(r.timeout == std::chrono::seconds(10));
  CHECK(r.headers == kube::Headers{{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"},
                                   {"Authorization", "Basic dTpw"}});
}

TEST_CASE("push_metrics: the gateway's refusal and an unreachable gateway are errors that say so") {
  FakeTransport t;
  t.answer.status = 400;
  t.answer.body = "pushed metrics are invalid or inconsistent with existing metrics: collected metric ...\nmore";
  std::string message;
  try {
    report::push_metrics(t, parse_push_url("http://u:p@gw:9091"), "x 1\n");
  } catch (const Error &e) {
    message = e.what();
  }
  CHECK(message ==
        "pushgateway http://u:<redacted>@gw:9091/metrics/job/vmsync: PUT answered 400 Bad Request: pushed "
        "metrics are invalid or inconsistent with existing metrics: collected metric ...");

  t.fail = true;
  message.clear();
  try {
    report::push_metrics(t, parse_push_url("http://gw:9"), "x 1\n");
  } catch (const TransportError &e) {
    message = e.what();
  }
  CHECK(message == "pushgateway http://gw:9/metrics/job/vmsync: connect to 127.0.0.1:9 refused");
}
