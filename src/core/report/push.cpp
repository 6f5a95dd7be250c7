// Pushgateway client: one PUT of the text exposition to /metrics/job/<job> (API: prometheus/pushgateway README,
// "PUT method"). The gateway answers 200 (older versions 202) and 400 with a one-line reason when the metrics
// clash with what it holds.
// VictoriaMetrics import: one POST of the same text, each sample with its timestamp, to /api/v1/import/prometheus
// (VictoriaMetrics docs, "How to import data in Prometheus exposition format"; extra_label adds labels to every
// sample); it answers 204, and 400 with the reason for a line it cannot parse.
#include "vmsync/report/push.hpp"

#include "vmsync/error.hpp"
#include "vmsync/kube/base64.hpp"
#include "vmsync/kube/curl_transport.hpp"
#include "vmsync/report/prometheus.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

namespace vmsync::report {

namespace {

struct SplitUrl {
  std::string scheme, authority, shown_authority, path, query, authorization;
};

// http(s)://[user[:password]@]host[:port][/path][?query][#fragment], for `option`'s messages.
SplitUrl split_url(const std::string &url, const std::string &option, const std::string &example) {
  const auto scheme_end = url.find("://");
  SplitUrl u;
  u.scheme = scheme_end == std::string::npos ? std::string{} : url.substr(0, scheme_end);
  if (u.scheme != "http" && u.scheme != "https")
    throw UsageError(fmt::format("{} \"{}\": give an http:// or https:// URL, e.g. {}", option, url, example));
  std::string rest = url.substr(scheme_end + 3);
  if (const auto hash = rest.find('#'); hash != std::string::npos) rest.resize(hash);
  const auto end_of_authority = rest.find_first_of("/?");
  u.authority = rest.substr(0, end_of_authority);
  std::string tail = end_of_authority == std::string::npos ? std::string{} : rest.substr(end_of_authority);
  if (const auto q = tail.find('?'); q != std::string::npos) {
    u.query = tail.substr(q + 1);
    tail.resize(q);
  }
  u.path = tail;
  u.shown_authority = u.authority;
  if (const auto at = u.authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = u.authority.substr(0, at);
    u.authority = u.authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    u.shown_authority =
        (colon == std::string::npos ? userinfo : userinfo.substr(0, colon) + ":<redacted>") + "@" + u.authority;
    u.authorization = "Basic " + kube::base64_encode(userinfo);
  }
  if (u.authority.empty()) throw UsageError(fmt::format("{} \"{}\": no host in the URL", option, url));
  while (!u.path.empty() && u.path.back() == '/')
    u.path.pop_back();
  return u;
}

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
std::string query_escape(const std::string &v) {
  std::string out;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if ((std::isalnum(c) != 0) || c == '-' || c == '.' || c == '_' || c == '~')
      out += ch;
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

} // namespace

PushTarget parse_push_url(const std::string &url, const std::string &default_job) {
  auto u = split_url(url, "--pushgateway", "http://pushgateway:9091");
  PushTarget t;
  t.authorization = u.authorization;
  if (u.path.find("/metrics/job/") == std::string::npos) {
    if (default_job.empty()) throw UsageError("--pushgateway: no job name");
    u.path += "/metrics/job/" + default_job;
  }
  t.server = u.scheme + "://" + u.authority;
  t.path = u.path;
  t.display = u.scheme + "://" + u.shown_authority + u.path;
  return t;
}

PushTarget parse_import_url(const std::string &url, const std::string &job) {
  auto u = split_url(url, "--push-url", "http://victoria-metrics:8428");
  PushTarget t;
  t.kind = PushTarget::Kind::Import;
  t.authorization = u.authorization;
  constexpr std::string_view kImport = "/api/v1/import/prometheus";
  if (!u.path.ends_with(kImport)) u.path += kImport;
  // extra_label=job=... unless the user labels the job already.
  bool has_job = false;
  for (std::size_t start = 0; start <= u.query.size();) {
    const auto amp = std::min(u.query.find('&', start), u.query.size());
    const std::string_view param(u.query.data() + start, amp - start);
    if (param.starts_with("extra_label=job=") || param.starts_with("extra_label=job%3D") ||
        param.starts_with("extra_label=job%3d"))
      has_job = true;
    start = amp + 1;
  }
  if (!has_job && !job.empty())
    u.query += (u.query.empty() ? "" : "&") + std::string("extra_label=") + query_escape("job=" + job);
  t.server = u.scheme + "://" + u.authority;
  t.path = u.path + (u.query.empty() ? "" : "?" + u.query);
  t.display = u.scheme + "://" + u.shown_authority + t.path;
  return t;
}

std::string bearer_authorization(const std::string &token, const std::string &what) {
  if (token.empty()) throw Error(fmt::format("{}: the bearer token is empty", what));
  return "Bearer " + token;
}

std::string basic_authorization(const std::string &user_password, const std::string &what) {
  if (user_password.find(':') == std::string::npos)
    throw Error(fmt::format("{}: give user:password for basic authentication (no ':' found)", what));
  return "Basic " + kube::base64_encode(user_password);
}

std::string read_secret_file(const std::string &path, const std::string &option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{} {}: cannot read the file: {}", option, path, std::strerror(errno)));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  if (line.empty()) throw Error(fmt::format("{} {}: the file is empty", option, path));
  return line;
}

void push_metrics(kube::HttpTransport &transport, const PushTarget &target, const std::string &body,
                  std::chrono::milliseconds timeout) {
  const bool import = target.kind == PushTarget::Kind::Import;
  const char *server = import ? "VictoriaMetrics" : "pushgateway";
  kube::HttpRequest req;
  req.method = import ? kube::Method::Post : kube::Method::Put;
  req.path = target.path;
  req.body = body;
  req.timeout = timeout;
  req.headers.emplace_back("Content-Type", kPrometheusContentType);
  if (!target.authorization.empty()) req.headers.emplace_back("Authorization", target.authorization);
  kube::HttpResponse resp;
  try {
    resp = transport.send(std::move(req));
  } catch (const TransportError &e) {
    throw TransportError(fmt::format("{} {}: {}", server, target.display, e.what()));
  }
  if (resp.status >= 200 && resp.status <= 299) return;
  std::string answer = resp.body.substr(0, resp.body.find('\n'));
  if (answer.size() > 300) answer = answer.substr(0, 300) + "...";
  const std::string phrase(kube::reason_phrase(resp.status));
  throw Error(fmt::format("{} {}: {} answered {}{}{}", server, target.display, import ? "POST" : "PUT",
                          resp.status, phrase.empty() ? "" : " " + phrase, answer.empty() ? "" : ": " + answer));
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
