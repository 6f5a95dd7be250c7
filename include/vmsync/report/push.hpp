#pragma once
// Pushing metrics to a Prometheus Pushgateway: plain HTTP through the same HttpTransport as the API client
// (no curl here). A PUT replaces the whole group, so series of clusters that are gone since the last push
// disappear with it.
#include "vmsync/kube/http.hpp"

#include <chrono>
#include <string>

namespace vmsync::report {

struct PushTarget {
  std::string server;        // scheme://host[:port]
  std::string path;          // /metrics/job/<job>[/<label>/<value>...]
  std::string authorization; // "Basic ..." from user:password@ in the URL (a secret: never printed), or empty
  std::string display;       // the URL without its password, for messages
};

// `url`: http(s)://[user[:password]@]host[:port][/prefix][/metrics/job/<job>...]. Without a /metrics/job/ part,
// /metrics/job/<default_job> is appended (after any prefix). Throws UsageError naming what is wrong.
PushTarget parse_push_url(const std::string &url, const std::string &default_job = "vmsync");

// PUTs `body` (text exposition format) to the group. Throws TransportError when the gateway cannot be reached
// and Error when it answers with anything but 2xx (status and the first line of its answer in the message).
void push_metrics(kube::HttpTransport &transport, const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same over a new curl transport to target.server.
void push_metrics(const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace vmsync::report
