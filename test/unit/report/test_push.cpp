#include "vmsync/report/push.hpp"

#include "vmsync/error.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>

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

TEST_CASE("parse_import_url: the import path appended after any prefix, job as an extra_label, query kept") {
  auto t = report::parse_import_url("http://victoria-metrics:8428");
  CHECK(t.kind == report::PushTarget::Kind::Import);
  CHECK(t.server == "http://victoria-metrics:8428");
  CHECK(t.path == "/api/v1/import/prometheus?extra_label=job%3Dvmsync");
  t = report::parse_import_url("https://u:s3cret@vminsert:8480/insert/42/prometheus/");
  CHECK(t.server == "https://vminsert:8480");
  CHECK(t.path == "/insert/42/prometheus/api/v1/import/prometheus?extra_label=job%3Dvmsync");
  CHECK(t.authorization == "Basic dTpzM2NyZXQ=");
  CHECK(t.display == "https://u:<redacted>@vminsert:8480/insert/42/prometheus/api/v1/import/prometheus"
                     "?extra_label=job%3Dvmsync");
  // The full path given, and the user's own labels: job is theirs.
  t = report::parse_import_url(
      "http://vm:8428/api/v1/import/prometheus?extra_label=job=cron&extra_label=env=prod");
  CHECK(t.path == "/api/v1/import/prometheus?extra_label=job=cron&extra_label=env=prod");
  t = report::parse_import_url("http://vm:8428?extra_label=env=prod#frag");
  CHECK(t.path == "/api/v1/import/prometheus?extra_label=env=prod&extra_label=job%3Dvmsync");
  CHECK_THROWS_WITH_AS(
      report::parse_import_url("vm:8428"),
      "--push-url \"vm:8428\": give an http:// or https:// URL, e.g. http://victoria-metrics:8428", UsageError);
  CHECK_THROWS_WITH_AS(report::parse_import_url("http://?x=1"), "--push-url \"http://?x=1\": no host in the URL",
                       UsageError);
}

TEST_CASE("push_metrics: an import is a POST of the text format; VictoriaMetrics' refusal names it") {
  FakeTransport t;
  t.answer.status = 204;
  auto target = report::parse_import_url("http://vm:8428");
  target.authorization = report::bearer_authorization("tok", "f");
  report::push_metrics(t, target, "vmsync_check_success 1 1700000000000\n");
  REQUIRE(t.sent.size() == 1);
  CHECK(t.sent[0].method == kube::Method::Post);
  CHECK(t.sent[0].path == "/api/v1/import/prometheus?extra_label=job%3Dvmsync");
  CHECK(t.sent[0].headers == kube::Headers{{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"},
                                           {"Authorization", "Bearer tok"}});
  t.answer.status = 401;
  t.answer.body = "Unauthorized\n";
  CHECK_THROWS_WITH_AS(report::push_metrics(t, target, "x 1\n"),
                       "VictoriaMetrics http://vm:8428/api/v1/import/prometheus?extra_label=job%3Dvmsync: POST "
                       "answered 401 Unauthorized: Unauthorized",
                       Error);
}

TEST_CASE("push credentials: bearer token, user:password, from files; never the secret in a message") {
  CHECK(report::basic_authorization("u:p", "f") == "Basic dTpw");
  CHECK_THROWS_WITH_AS(report::basic_authorization("s3cret", "/run/secrets/push"),
                       "/run/secrets/push: give user:password for basic authentication (no ':' found)", Error);
  CHECK_THROWS_WITH_AS(report::bearer_authorization("", "$VMSYNC_PUSH_BEARER_TOKEN"),
                       "$VMSYNC_PUSH_BEARER_TOKEN: the bearer token is empty", Error);
  const auto dir = std::filesystem::temp_directory_path() / "vmsync-test-push-secret";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "token") << "abc\r\n";
    std::ofstream(dir / "empty") << "";
  }
  CHECK(report::read_secret_file((dir / "token").string(), "--push-bearer-token-file") == "abc");
  CHECK_THROWS_WITH_AS(report::read_secret_file((dir / "empty").string(), "--push-bearer-token-file"),
                       ("--push-bearer-token-file " + (dir / "empty").string() + ": the file is empty").c_str(),
                       Error);
  CHECK_THROWS_WITH_AS(
      report::read_secret_file((dir / "none").string(), "--push-basic-auth-file"),
      ("--push-basic-auth-file " + (dir / "none").string() + ": cannot read the file: No such file or directory")
          .c_str(),
      Error);
  std::filesystem::remove_all(dir);
}
