#pragma once
// Pushing metrics: to a Prometheus Pushgateway (--pushgateway) or into VictoriaMetrics through its import API
// (--push-url), plain HTTP through the same HttpTransport as the API client (no curl here). A Pushgateway PUT
// replaces the whole group, so series of clusters that are gone since the last push disappear with it; an
// import adds samples at the check's time (VictoriaMetrics keeps history, so gone clusters simply stop).
#include "vmsync/kube/http.hpp"

#include <chrono>
#include <string>

namespace vmsync::report {

struct PushTarget {
  enum class Kind { Pushgateway, Import };
  Kind kind = Kind::Pushgateway;
  std::string server;        // scheme://host[:port]
  std::string path;          // /metrics/job/<job>[/<label>/<value>...], or .../api/v1/import/prometheus?...
  std::string authorization; // "Basic ..." from user:password@ in the URL, or set from a file (a secret: never
                             // printed), or empty
  std::string display;       // the URL without its password, for messages
};

// --push-url: VictoriaMetrics' Prometheus-text import API. `url`: http(s)://[user[:password]@]host[:port][/prefix]
// [?query]: single-node "http://victoria-metrics:8428", cluster
// "http://vminsert:8480/insert/<accountID>/prometheus" (or any proxy prefix). "/api/v1/import/prometheus" is
// appended unless the path ends in it; the query is kept, and extra_label=job=<job> is added unless the query sets
// a job itself (VictoriaMetrics' documented way to label every imported sample). Throws UsageError naming what is
// wrong.
PushTarget parse_import_url(const std::string &url, const std::string &job = "vmsync");

// The Authorization header from a file's contents: a bearer token, or "user:password" for basic auth. `what`
// names the source in errors (a path, or an environment variable); the contents are never in a message.
std::string bearer_authorization(const std::string &token, const std::string &what);
std::string basic_authorization(const std::string &user_password, const std::string &what);
// The first line of a file (a token or user:password as Kubernetes Secrets mount them), trailing CR/LF removed.
// Throws Error naming the file when it cannot be read or is empty.
std::string read_secret_file(const std::string &path, const std::string &option);

// `url`: http(s)://[user[:password]@]host[:port][/prefix][/metrics/job/<job>...]. Without a /metrics/job/ part,
// /metrics/job/<default_job> is appended (after any prefix). Throws UsageError naming what is wrong.
PushTarget parse_push_url(const std::string &url, const std::string &default_job = "vmsync");

// Pushgateway: PUTs `body` (text exposition format) to the group; import: POSTs it (samples carrying their
// timestamps). Throws TransportError when the server cannot be reached and Error when it answers with anything
// but 2xx (status and the first line of its answer in the message).
void push_metrics(kube::HttpTransport &transport, const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same over a new curl transport to target.server.
void push_metrics(const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace vmsync::report
