// Pushgateway client: one PUT of the text exposition to /metrics/job/<job> (API: prometheus/pushgateway README,
// "PUT method"). The gateway answers 200 (older versions 202) and 400 with a one-line reason when the metrics
// clash with what it holds.
#include "vmsync/report/push.hpp"

#include "vmsync/error.hpp"
#include "vmsync/kube/base64.hpp"
#include "vmsync/kube/curl_transport.hpp"
#include "vmsync/report/prometheus.hpp"

#include <fmt/format.h>

namespace vmsync::report {

PushTarget parse_push_url(const std::string &url, const std::string &default_job) {
  const auto scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? std::string{} : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    throw UsageError(
        fmt::format("--pushgateway \"{}\": give an http:// or https:// URL, e.g. http://pushgateway:9091", url));
  const std::string rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? std::string{} : rest.substr(slash);
  if (const auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);

  PushTarget t;
  std::string shown_authority = authority;
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    shown_authority =
        (colon == std::string::npos ? userinfo : userinfo.substr(0, colon) + ":<redacted>") + "@" + authority;
    t.authorization = "Basic " + kube::base64_encode(userinfo);
  }
  if (authority.empty()) throw UsageError(fmt::format("--pushgateway \"{}\": no host in the URL", url));

  while (!path.empty() && path.back() == '/')
    path.pop_back();
  if (path.find("/metrics/job/") == std::string::npos) {
    if (default_job.empty()) throw UsageError("--pushgateway: no job name");
    path += "/metrics/job/" + default_job;
  }
  t.server = scheme + "://" + authority;
  t.path = path;
  t.display = scheme + "://" + shown_authority + path;
  return t;
}

void push_metrics(kube::HttpTransport &transport, const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout) {
  kube::HttpRequest req;
  req.method = kube::Method::Put;
  req.path = target.path;
  req.body = body;
  req.timeout = timeout;
  req.headers.emplace_back("Content-Type", kPrometheusContentType);
  if (!target.authorization.empty()) req.headers.emplace_back("Authorization", target.authorization);
  kube::HttpResponse resp;
  try {
    resp = transport.send(std::move(req));
  } catch (const TransportError &e) {
    throw TransportError(fmt::format("pushgateway {}: {}", target.display, e.what()));
  }
  if (resp.status >= 200 && resp.status <= 299) return;
  std::string answer = resp.body.substr(0, resp.body.find('\n'));
  if (answer.size() > 300) answer = answer.substr(0, 300) + "...";
  const std::string phrase(kube::reason_phrase(resp.status));
  throw Error(fmt::format("pushgateway {}: PUT answered {}{}{}", target.display, resp.status,
                          phrase.empty() ? "" : " " + phrase, answer.empty() ? "" : ": " + answer));
}

void push_metrics(const PushTarget &target, const std::string &body, std::chrono::milliseconds timeout) {
  kube::ClientConfig config;
  config.server = target.server;
  kube::TransportOptions options;
  options.connect_timeout = std::min(options.connect_timeout, timeout);
  auto transport = kube::make_curl_transport(config, options);
  push_metrics(*transport, target, body, timeout);
}

} // namespace vmsync::report
