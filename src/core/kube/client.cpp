// The Kubernetes API client. Every request goes through one engine, execute(), which sends a batch of requests
// at once (list_many's pages, multiplexed by the transport) and retries each one on its own schedule:
//   - 429 Too Many Requests: always (the server did not act), after Retry-After or the backoff, whichever is
//     longer; 500/502/503/504: only GETs, since a POST, PATCH or DELETE may have taken effect;
//   - transport failures before the request left (refused, unreachable, connect timeout): any method; a
//     connection broken after sending: GETs only; DNS and TLS failures: never (retrying cannot help);
//   - 401 with an exec credential plugin: once, after running the plugin again;
//   - backoff: initial_backoff doubled per retry plus up to 50% jitter, at least Retry-After, at most
//     max_backoff; never a sleep that ends past the deadline: the request then fails at once, saying so.
// Lists page with limit/continue; a 410 Gone on a continue token (the snapshot expired) restarts that list.
// Errors become one line from describe_api_error, redacted with every secret the client knows.
#include "vmsync/kube/client.hpp"

#include "gzip.hpp"
#include "list_page.hpp"
#include "text.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/base64.hpp"
#include "vmsync/kube/curl_transport.hpp"
#include "vmsync/kube/exec_credential.hpp"
#include "vmsync/kube/redact.hpp"
#include "vmsync/version.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <iterator>
#include <random>
#include <set>
#include <system_error>
#include <thread>

namespace vmsync::kube {

namespace resources {
// std::string constants can only throw std::bad_alloc, while the program loads, where nothing could recover.
// NOLINTBEGIN(cert-err58-cpp)
const Resource pods{"", "v1", "pods", "Pod", true};
const Resource configmaps{"", "v1", "configmaps", "ConfigMap", true};
const Resource services{"", "v1", "services", "Service", true};
const Resource events{"", "v1", "events", "Event", true};
const Resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet", true};
const Resource deployments{"apps", "v1", "deployments", "Deployment", true};
const Resource leases{"coordination.k8s.io", "v1", "leases", "Lease", true};
const Resource namespaces{"", "v1", "namespaces", "Namespace", false};
// NOLINTEND(cert-err58-cpp)
} // namespace resources

// --- Paths, queries, selectors --------------------------------------------------------------------------------

std::string url_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string resource_path(const Resource &r, const std::string &ns, const std::string &name) {
  std::string path = r.group.empty() ? "/api/" + r.version : fmt::format("/apis/{}/{}", r.group, r.version);
  if (r.namespaced && !ns.empty()) path += "/namespaces/" + url_encode(ns);
  path += "/" + r.plural;
  if (!name.empty()) path += "/" + url_encode(name);
  return path;
}

std::string list_query(const ListOptions &options, const std::string &continue_token) {
  std::vector<std::string> parts;
  if (options.limit > 0) parts.push_back(fmt::format("limit={}", options.limit));
  if (!options.label_selector.empty()) parts.push_back("labelSelector=" + url_encode(options.label_selector));
  if (!options.field_selector.empty()) parts.push_back("fieldSelector=" + url_encode(options.field_selector));
  if (!continue_token.empty()) parts.push_back("continue=" + url_encode(continue_token));
  return text::join(parts, "&");
}

namespace {

// An error answer larger than this is not a Status object anyone should read whole.
constexpr std::size_t kMaxErrorBody = 8U << 20U;

bool is_gzip(const HttpResponse &resp) {
  const auto enc = resp.header("content-encoding");
  return enc && text::trim(*enc) == "gzip";
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters (empty allowed for values).
bool is_label_name(std::string_view s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63) return false;
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A DNS-1123 subdomain: lower-case labels separated by dots, at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    const auto label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    start = end + 1;
  }
  return true;
}

bool is_label_key(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return is_label_name(key, false);
  return is_dns_subdomain(key.substr(0, slash)) && is_label_name(key.substr(slash + 1), false);
}

} // namespace

std::string selector(const std::vector<std::pair<std::string, std::string>> &equals) {
  std::vector<std::string> terms;
  for (const auto &[key, value] : equals) {
    if (!is_label_key(key))
      throw UsageError(fmt::format("invalid label key \"{}\" (a name of at most 63 letters, digits, '-', '_' or "
                                   "'.', optionally after a DNS prefix and '/')",
                                   key));
    if (!is_label_name(value, true))
      throw UsageError(fmt::format("invalid value \"{}\" for label {} (at most 63 letters, digits, '-', '_' or "
                                   "'.', starting and ending with a letter or digit)",
                                   value, key));
    terms.push_back(fmt::format("{}={}", key, value));
  }
  return text::join(terms, ",");
}

// --- Errors ---------------------------------------------------------------------------------------------------

namespace {

std::string qualified(const Resource &r) { return r.group.empty() ? r.plural : r.plural + "." + r.group; }

std::string target_text(const std::string &verb, const Resource &r, const std::string &ns, const std::string &name) {
  if (r.plural.empty()) return fmt::format("cannot {} the API {}", verb, r.api_version());
  std::string s = fmt::format("cannot {} {}", verb, qualified(r));
  if (!name.empty()) s += fmt::format(" \"{}\"", name);
  if (r.namespaced) {
    if (!ns.empty()) s += fmt::format(" in namespace \"{}\"", ns);
    else if (verb == "list") s += " in all namespaces";
  }
  return s;
}

// "ServiceUnavailable" -> "service unavailable".
std::string words(std::string_view camel) {
  std::string out;
  for (std::size_t i = 0; i < camel.size(); ++i) {
    const char c = camel[i];
    if (std::isupper(static_cast<unsigned char>(c)) != 0) {
      if (i > 0) out += ' ';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

std::string after(const std::string &message, std::string_view marker) {
  const auto at = message.find(marker);
  return at == std::string::npos ? message : message.substr(at + marker.size());
}

std::string truncated(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "...";
}

} // namespace

std::string describe_api_error(int status, const std::string &verb, const Resource &r, const std::string &ns,
                               const std::string &name, const std::string &status_body, const std::string &server,
                               SentCredentials sent) {
  const std::string target = target_text(verb, r, ns, name);
  const std::string server_name = server.empty() ? std::string("the server") : server;
  if (status == 401)
    return fmt::format("credentials rejected by {}: token expired or invalid (refresh your kubeconfig credentials)",
                       server_name);

  std::string reason;
  std::string message;
  bool is_status = false;
  const auto j = nlohmann::json::parse(status_body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && (j.value("kind", "") == "Status" || j.contains("message"))) {
    is_status = true;
    if (auto it = j.find("reason"); it != j.end() && it->is_string()) reason = it->get<std::string>();
    if (auto it = j.find("message"); it != j.end() && it->is_string()) message = text::one_line(it->get<std::string>());
  }
  message = redact(message);

  std::string said;
  std::string hint;
  const auto with = [](const std::string &head, const std::string &tail) {
    return tail.empty() ? head : head + ": " + tail;
  };
  if (!is_status) {
    const std::string phrase(reason_phrase(status));
    said = phrase.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {} {}", status, phrase);
    const std::string body = truncated(text::one_line(redact(status_body)), 200);
    said = with(said, body);
  } else {
    switch (status) {
    case 403:
      // Credentials sent, yet the server answers for "system:anonymous": no authenticator accepted them, and it
      // fell back to anonymous access. Granting RBAC to anonymous would be the wrong remedy.
      if (sent != SentCredentials::None && message.find("User \"system:anonymous\"") != std::string::npos) {
        if (sent == SentCredentials::BasicAuth)
          return fmt::format("credentials rejected by {}: it ignored the username and password and treated the "
                             "request as anonymous (Kubernetes API servers do not accept basic authentication "
                             "since 1.19; use a token, a client certificate or an exec plugin)",
                             server_name);
        return fmt::format("credentials rejected by {}: it did not recognise them and treated the request as "
                           "anonymous (check the token or client certificate of the kubeconfig user)",
                           server_name);
      }
      message = after(message, "is forbidden: ");
      // Non-resource paths ("/apis/group/version") are refused as "forbidden: User ... cannot get path ...".
      if (message.rfind("forbidden: ", 0) == 0) message.erase(0, std::string_view("forbidden: ").size());
      said = with("forbidden", message);
      // The roles vmsync ships, by the command that needs the verb (paths of the source tree and of the package's
      // documentation, test_access.py checks that they exist).
      hint = fmt::format("grant {} on {}, see deploy/cluster/clusterrole-{}.yaml", verb,
                         r.plural.empty() ? r.api_version() : qualified(r),
                         verb == "list" || verb == "get" || verb == "watch" ? "check" : "fix");
      break;
    case 404:
      said = "not found";
      if (name.empty() && !r.plural.empty())
        hint = fmt::format("the server does not serve {} {}", r.api_version(), r.plural);
      break;
    case 409:
      if (reason == "AlreadyExists") {
        said = "already exists";
      } else {
        said = with("conflict", message);
        // A failed uid precondition says itself what happened; a stale resourceVersion needs a re-read.
        if (message.find("precondition") == std::string::npos && message.find("Precondition") == std::string::npos)
          hint = "re-read the object and try again";
      }
      break;
    case 410: said = with("gone", message); break;
    case 422: said = with("invalid", after(message, "is invalid: ")); break;
    default: {
      std::string head = reason.empty() ? std::string(reason_phrase(status)) : words(reason);
      if (reason.empty()) std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) {
          return static_cast<char>(std::tolower(c));
        });
      if (head.empty()) head = fmt::format("HTTP {}", status);
      said = with(head, message);
    }
    }
  }
  std::string line = fmt::format("{}: {}", target, said);
  if (!hint.empty()) line += fmt::format(" ({})", hint);
  return line;
}

// --- The client -----------------------------------------------------------------------------------------------

namespace {

std::string human(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
}

std::string_view dry_run_query(DryRun d) { return d == DryRun::All ? "dryRun=All" : ""; }

std::string with_query(std::string path, std::string_view query) {
  if (query.empty()) return path;
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += query;
  return path;
}

// What a request was for, to describe its failure.
struct Target {
  std::string verb;
  Resource resource;
  std::string ns;
  std::string name;
};

struct Call {
  HttpRequest request;
  Target target;
  bool idempotent = true;
};

struct Outcome {
  std::optional<HttpResponse> response; // the final answer (maybe an error status)
  std::exception_ptr error;             // transport failure, with the retry note in its message
  std::string note;                     // why retrying stopped, for the error built from `response`
};

} // namespace

struct Client::Impl {
  ClientConfig config;
  ClientOptions options;
  std::unique_ptr<HttpTransport> transport;
  std::optional<ExecAuthenticator> exec;
  std::string exec_cert_pem; // the pair last handed to the transport
  std::mt19937_64 rng{std::random_device{}()};

  Impl(ClientConfig c, ClientOptions o, std::unique_ptr<HttpTransport> t)
      : config(std::move(c)), options(std::move(o)), transport(std::move(t)) {
    if (options.user_agent.empty()) options.user_agent = fmt::format("vmsync/{}", version());
    if (!options.now) options.now = [] { return std::chrono::steady_clock::now(); };
    if (!options.sleep) options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    if (!options.random)
      options.random = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); };
    // insecure-skip-tls-verify is warned about by the CLI (session.cpp), where the config is loaded.
    if (config.exec && !uses_static_credentials()) exec.emplace(config, options.log, options.verbosity);
  }

  void log(int level, const std::string &line) const {
    if (options.verbosity >= level && options.log) options.log(line);
  }

  // client-go: a token, basic auth or a client certificate wins over the exec plugin.
  [[nodiscard]] bool uses_static_credentials() const {
    return !config.token.empty() || !config.token_file.empty() || !config.username.empty() ||
           !config.password.empty() || !config.client_cert_pem.empty();
  }

  // What authorize() sends (in its order of preference), and the client certificate, for error messages.
  [[nodiscard]] SentCredentials sent_credentials() const {
    if (!config.token.empty() || !config.token_file.empty()) return SentCredentials::Other;
    if (!config.username.empty() || !config.password.empty()) return SentCredentials::BasicAuth;
    if (!config.client_cert_pem.empty() || exec) return SentCredentials::Other;
    return SentCredentials::None;
  }

  // Every secret this client has sent, for redact(): the configured ones and those read or obtained since.
  [[nodiscard]] std::vector<std::string> secrets() const {
    std::vector<std::string> s{config.token, config.password};
    s.insert(s.end(), learned_secrets.begin(), learned_secrets.end());
    return s;
  }
  void learn_secret(const std::string &secret) {
    if (std::find(learned_secrets.begin(), learned_secrets.end(), secret) == learned_secrets.end())
      learned_secrets.push_back(secret);
  }
  std::vector<std::string> learned_secrets;

  [[nodiscard]] std::string url(const std::string &path) const { return config.server + path; }

  // Authorization and identity headers for one attempt.
  void authorize(HttpRequest &r) {
    std::string token = config.token;
    if (!config.token_file.empty()) {
      // Projected service-account tokens rotate: read the file each time (the token read at load time if the
      // file cannot be read now, as client-go's cached file token source does).
      std::string error;
      if (auto content = text::read_file(config.token_file, error); content && !text::trim(*content).empty()) {
        token = std::string(text::trim(*content));
        learn_secret(token);
      }
    }
    if (!token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + token);
    } else if (!config.username.empty() || !config.password.empty()) {
      r.headers.emplace_back("Authorization", "Basic " + base64_encode(config.username + ":" + config.password));
    } else if (exec) {
      const ExecCredential &cred = exec->credential();
      if (!cred.token.empty()) {
        learn_secret(cred.token);
        r.headers.emplace_back("Authorization", "Bearer " + cred.token);
      }
      if (!cred.client_certificate_pem.empty() && cred.client_certificate_pem != exec_cert_pem) {
        transport->set_client_certificate(cred.client_certificate_pem, cred.client_key_pem);
        exec_cert_pem = cred.client_certificate_pem;
      }
    }
    if (!config.impersonate_user.empty()) r.headers.emplace_back("Impersonate-User", config.impersonate_user);
    if (!config.impersonate_uid.empty()) r.headers.emplace_back("Impersonate-Uid", config.impersonate_uid);
    for (const auto &g : config.impersonate_groups) r.headers.emplace_back("Impersonate-Group", g);
  }

  [[nodiscard]] std::chrono::milliseconds backoff(int retry, std::optional<std::chrono::seconds> retry_after) {
    using std::chrono::milliseconds;
    const double cap = static_cast<double>(options.max_backoff.count());
    double wait = static_cast<double>(options.initial_backoff.count()) * std::pow(2.0, retry);
    wait = std::min(wait, cap);
    wait *= 1.0 + 0.5 * options.random();
    if (retry_after) wait = std::max(wait, static_cast<double>(milliseconds(*retry_after).count()));
    return milliseconds(static_cast<milliseconds::rep>(std::min(wait, cap)));
  }

  static std::optional<std::chrono::seconds> retry_after(const HttpResponse &r) {
    const auto value = r.header("retry-after");
    if (!value) return std::nullopt;
    const auto v = text::trim(*value);
    if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt; // an HTTP date: use the backoff
    return std::chrono::seconds(std::stoll(std::string(v)));
  }

  void log_request(const HttpRequest &r) const {
    if (options.verbosity < 8 || !options.log) return;
    options.log(fmt::format("{} {}", to_string(r.method), url(r.path)));
    options.log("Request Headers:");
    for (const auto &[k, v] : r.headers) options.log(fmt::format("    {}: {}", k, redact_header(k, v)));
  }

  void log_response(const HttpRequest &r, const HttpResponse &resp) const {
    if (options.verbosity < 6 || !options.log) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(resp.elapsed).count();
    const std::string phrase(reason_phrase(resp.status));
    options.log(redact(fmt::format("{} {} {}{} in {} milliseconds", to_string(r.method), url(r.path), resp.status,
                                   phrase.empty() ? "" : " " + phrase, ms),
                       secrets()));
    if (options.verbosity < 8) return;
    options.log("Response Headers:");
    for (const auto &[k, v] : resp.headers) options.log(fmt::format("    {}: {}", k, redact_header(k, v)));
  }

  // Sends every call, retrying each as the policy at the top of this file says, and returns one outcome each.
  std::vector<Outcome> execute(std::vector<Call> calls) {
    struct Slot {
      Call call;
      Outcome outcome;
      int attempts = 0;
      int retries = 0;
      int transport_retries = 0;
      bool reauthenticated = false;
      std::chrono::steady_clock::time_point not_before{};
      bool done = false;
    };
    std::vector<Slot> slots;
    slots.reserve(calls.size());
    for (auto &c : calls) slots.push_back(Slot{std::move(c), {}, 0, 0, 0, false, {}, false});

    // Schedules a retry after `wait`, or ends the slot when that would pass the deadline.
    const auto retry_in = [this](Slot &s, std::chrono::milliseconds wait, const std::string &why) {
      const auto now = options.now();
      if (options.deadline && now + wait > *options.deadline) {
        s.outcome.note = fmt::format("gave up after {} attempt{}: the next retry, in {}, would pass the deadline",
                                     s.attempts, s.attempts == 1 ? "" : "s", human(wait));
        s.done = true;
        return false;
      }
      log(2, fmt::format("{} {}: {}; retrying in {}", to_string(s.call.request.method), url(s.call.request.path),
                         why, human(wait)));
      s.not_before = now + wait;
      return true;
    };

    for (;;) {
      const auto now = options.now();
      std::vector<std::size_t> ready;
      std::optional<std::chrono::steady_clock::time_point> next;
      for (std::size_t i = 0; i < slots.size(); ++i) {
        if (slots[i].done) continue;
        if (slots[i].not_before <= now) ready.push_back(i);
        else if (!next || slots[i].not_before < *next) next = slots[i].not_before;
      }
      if (ready.empty()) {
        if (!next) break;
        options.sleep(std::chrono::ceil<std::chrono::milliseconds>(*next - now));
        continue;
      }

      std::vector<HttpRequest> batch;
      std::vector<std::size_t> sent;
      for (std::size_t i : ready) {
        Slot &s = slots[i];
        HttpRequest r = s.call.request;
        r.timeout = config.request_timeout;
        if (options.deadline) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*options.deadline - now);
          if (left.count() <= 0) {
            s.outcome.error = std::make_exception_ptr(TransportError(
                fmt::format("{} {}: the deadline passed before it could be sent{}", to_string(r.method),
                            url(r.path), s.attempts > 0 ? fmt::format(" (after {} attempts)", s.attempts) : "")));
            s.done = true;
            continue;
          }
          if (r.timeout.count() == 0 || left < r.timeout) r.timeout = left;
        }
        try {
          authorize(r);
        } catch (const Error &) {
          s.outcome.error = std::current_exception();
          s.done = true;
          continue;
        }
        log_request(r);
        ++s.attempts;
        batch.push_back(std::move(r));
        sent.push_back(i);
      }
      if (batch.empty()) continue;
      auto results = transport->send_all(std::move(batch));

      for (std::size_t k = 0; k < sent.size(); ++k) {
        Slot &s = slots[sent[k]];
        const HttpRequest &req = s.call.request;
        auto &result = results.at(k);
        if (!result.response) {
          std::exception_ptr error =
              result.error ? result.error : std::make_exception_ptr(TransportError("no response"));
          try {
            std::rethrow_exception(error);
          } catch (const TransferError &e) {
            log(6, fmt::format("{} {} failed: {}", to_string(req.method), url(req.path), e.what()));
            const bool may_retry = e.failure() == TransferFailure::Connect ||
                                   (e.failure() == TransferFailure::Broken && s.call.idempotent);
            if (may_retry && s.transport_retries < options.max_transport_retries) {
              ++s.transport_retries;
              if (retry_in(s, backoff(s.transport_retries - 1, std::nullopt), e.what())) continue;
              error = std::make_exception_ptr(
                  TransferError(e.failure(), fmt::format("{} ({})", e.what(), s.outcome.note)));
            } else if (may_retry) {
              error = std::make_exception_ptr(
                  TransferError(e.failure(), fmt::format("{} (gave up after {} attempts)", e.what(), s.attempts)));
            } else if (!s.call.idempotent && e.request_sent()) {
              error = std::make_exception_ptr(TransferError(
                  e.failure(), fmt::format("{} (not sent again: the server may have acted on it)", e.what())));
            }
          } catch (const std::exception &e) {
            log(6, fmt::format("{} {} failed: {}", to_string(req.method), url(req.path), e.what()));
          }
          s.outcome.error = error;
          s.done = true;
          continue;
        }
        HttpResponse &resp = *result.response;
        log_response(req, resp);
        const int status = resp.status;
        if ((status < 200 || status > 299) && is_gzip(resp)) {
          // Error answers are read whole (their Status message): inflate them here, bounded, for everyone after.
          try {
            resp.body = gunzip(resp.body, kMaxErrorBody);
          } catch (const ParseError &e) {
            resp.body = fmt::format("(the {} answer's gzip body could not be read: {})", status, e.what());
          }
          resp.headers.erase(std::remove_if(resp.headers.begin(), resp.headers.end(),
                                            [](const auto &h) { return h.first == "content-encoding"; }),
                             resp.headers.end());
        }
        if (status == 401 && exec && !s.reauthenticated) {
          // The plugin's credential was revoked or expired early: ask it again, once.
          s.reauthenticated = true;
          exec->invalidate();
          s.not_before = options.now();
          continue;
        }
        const bool retryable =
            status == 429 || (s.call.idempotent && (status == 500 || status == 502 || status == 503 || status == 504));
        if (retryable && s.retries < options.max_retries) {
          ++s.retries;
          const std::string why = fmt::format("{} {}", status, reason_phrase(status));
          if (retry_in(s, backoff(s.retries - 1, retry_after(resp)), why)) continue;
          s.outcome.response = std::move(resp);
          continue;
        }
        if (retryable)
          s.outcome.note = fmt::format("gave up after {} attempt{}", s.attempts, s.attempts == 1 ? "" : "s");
        s.outcome.response = std::move(resp);
        s.done = true;
      }
    }
    std::vector<Outcome> out;
    out.reserve(slots.size());
    for (auto &s : slots) out.push_back(std::move(s.outcome));
    return out;
  }

  [[noreturn]] void throw_api_error(const Target &t, const HttpResponse &resp, const std::string &note) const {
    std::string message = describe_api_error(resp.status, t.verb, t.resource, t.ns, t.name, resp.body,
                                             config.server, sent_credentials());
    if (!note.empty()) message += fmt::format(" ({})", note);
    const auto j = nlohmann::json::parse(resp.body, nullptr, false);
    std::string reason = !j.is_discarded() && j.is_object() ? j.value("reason", "") : "";
    if (reason.empty()) reason = std::string(reason_phrase(resp.status));
    throw ApiError(resp.status, reason, redact(message, secrets()));
  }

  // The outcome of one call as a response with a 2xx status; anything else thrown.
  HttpResponse expect_success(Outcome &o, const Target &t) const {
    if (o.error) std::rethrow_exception(o.error);
    if (!o.response) throw TransportError("no response");
    if (o.response->status < 200 || o.response->status > 299) throw_api_error(t, *o.response, o.note);
    return std::move(*o.response);
  }

  nlohmann::json parse_body(const std::string &body, const Target &t) const {
    return parse_as(t, [&] { return nlohmann::json::parse(body); });
  }

  // A list page that may be gzip as received (HttpRequest::keep_compressed): parsed while it is inflated, so the
  // decompressed text never exists whole.
  ListPage parse_page(const HttpResponse &resp, const Target &t, const ItemFilter &items) const {
    return parse_as(t, [&] {
      if (!is_gzip(resp)) return parse_list_page(resp.body, items);
      GunzipBuf buf(resp.body);
      return parse_list_page(buf, items);
    });
  }

  // Runs a parse, turning what it throws into one ParseError naming the request.
  template <typename Parse> auto parse_as(const Target &t, Parse parse) const -> decltype(parse()) {
    try {
      return parse();
    } catch (const nlohmann::json::exception &e) {
      throw ParseError(fmt::format("{}: the server's answer is not valid JSON ({})",
                                   target_text(t.verb, t.resource, t.ns, t.name), e.what()));
    } catch (const ParseError &e) { // a list page, or its gzip stream: corrupt or cut short
      throw ParseError(fmt::format("{}: {}", target_text(t.verb, t.resource, t.ns, t.name), e.what()));
    }
  }

  HttpRequest make_request(Method m, std::string path, std::string body = {}, std::string content_type = {}) const {
    HttpRequest r;
    r.method = m;
    r.path = std::move(path);
    r.headers.emplace_back("Accept", "application/json");
    r.headers.emplace_back("User-Agent", options.user_agent);
    if (!content_type.empty()) r.headers.emplace_back("Content-Type", std::move(content_type));
    r.body = std::move(body);
    return r;
  }

  HttpResponse call_one(Call c) {
    std::vector<Call> calls;
    const Target target = c.target;
    calls.push_back(std::move(c));
    auto outcomes = execute(std::move(calls));
    return expect_success(outcomes.at(0), target);
  }
};

Client::Client(ClientConfig config, ClientOptions options, std::unique_ptr<HttpTransport> transport)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options), std::move(transport))) {}

Client::~Client() = default;

std::unique_ptr<Client> Client::connect(ClientConfig config, ClientOptions options) {
  TransportOptions t;
  t.connect_timeout = options.connect_timeout;
  auto transport = make_curl_transport(config, t);
  return std::make_unique<Client>(std::move(config), std::move(options), std::move(transport));
}

const ClientConfig &Client::config() const noexcept { return impl_->config; }

TransportStats Client::stats() const { return impl_->transport->stats(); }

nlohmann::json Client::get(const Resource &r, const std::string &ns, const std::string &name) {
  Target t{"get", r, ns, name};
  auto resp = impl_->call_one(Call{impl_->make_request(Method::Get, resource_path(r, ns, name)), t, true});
  return impl_->parse_body(resp.body, t);
}

std::optional<nlohmann::json> Client::get_if_exists(const Resource &r, const std::string &ns,
                                                    const std::string &name) {
  try {
    return get(r, ns, name);
  } catch (const ApiError &e) {
    if (e.status() == 404) return std::nullopt;
    throw;
  }
}

ListResult Client::list(const ListQuery &q) {
  auto outcomes = list_many({q});
  auto &o = outcomes.at(0);
  if (o.error) std::rethrow_exception(o.error);
  return std::move(*o.result);
}

namespace {

// A list page of one round: its response, then what parsing it gave.
struct Page {
  bool parse = false; // a 2xx response to parse (not a 410 restart or an error)
  HttpResponse response;
  ListPage parsed;
  std::exception_ptr error;
};

// Parses the pages marked `parse` with `parse_one(index, response)`, on up to as many threads as the machine
// has cores (at most 4), the calling thread included. Each page's exception is kept with it. The response
// body is freed once parsed, so at most one compressed body per page and the kept DOMs are alive together.
template <typename ParseOne> void parse_pages(std::vector<Page> &pages, ParseOne parse_one) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k = next++; k < pages.size(); k = next++) {
      Page &p = pages[k];
      if (!p.parse) continue;
      try {
        p.parsed = parse_one(k, p.response);
      } catch (...) {
        p.error = std::current_exception();
      }
      p.response = HttpResponse{};
    }
  };
  const std::size_t todo =
      static_cast<std::size_t>(std::count_if(pages.begin(), pages.end(), [](const Page &p) { return p.parse; }));
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t helpers = std::min({todo, cores, std::size_t{4}}) - (todo > 0 ? 1 : 0);
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  try {
    for (std::size_t i = 0; i < helpers; ++i)
      threads.emplace_back(work);
  } catch (const std::system_error &) {
    // No thread to spare: the calling thread does all of it.
  }
  work();
  for (auto &th : threads)
    th.join();
}

} // namespace

std::vector<ListOutcome> Client::list_many(const std::vector<ListQuery> &queries) {
  struct State {
    ListResult result;
    std::string continue_token;
    std::set<std::string> tokens_seen; // of this pass; a token seen again would page forever
    int restarts = 0;
    bool done = false;
    std::exception_ptr error;
  };
  std::vector<State> states(queries.size());
  for (;;) {
    // One round: the next page of every unfinished list, all at once.
    std::vector<std::size_t> pending;
    std::vector<Call> calls;
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (states[i].done) continue;
      const ListQuery &q = queries[i];
      const std::string query = list_query(q.options, states[i].continue_token);
      auto request = impl_->make_request(Method::Get, with_query(resource_path(q.resource, q.namespace_), query));
      request.keep_compressed = true; // pages are parsed from their gzip bytes (parse_body)
      calls.push_back(Call{std::move(request), Target{"list", q.resource, q.namespace_, ""}, true});
      pending.push_back(i);
    }
    if (calls.empty()) break;
    auto outcomes = impl_->execute(std::move(calls));
    // The round's pages are parsed in parallel (inflating and parsing is most of a large check's CPU), then
    // taken in order, so each list's items stay in the server's order.
    std::vector<Page> pages(pending.size());
    for (std::size_t k = 0; k < pending.size(); ++k) {
      State &st = states[pending[k]];
      const ListQuery &q = queries[pending[k]];
      const Target t{"list", q.resource, q.namespace_, ""};
      Outcome &o = outcomes[k];
      try {
        if (o.response && o.response->status == 410 && !st.continue_token.empty()) {
          // The continue token's snapshot was compacted away: the pages so far may be inconsistent with the
          // next ones, so the list starts over.
          if (++st.restarts > impl_->options.max_list_restarts)
            impl_->throw_api_error(t, *o.response,
                                   fmt::format("restarted {} times after the continue token expired",
                                               st.restarts - 1));
          impl_->log(2, fmt::format("{}: continue token expired (410 Gone), listing again",
                                    target_text("list", q.resource, q.namespace_, "")));
          st.result = ListResult{};
          if (q.restarted) q.restarted();
          st.continue_token.clear();
          st.tokens_seen.clear();
          continue;
        }
        pages[k].response = impl_->expect_success(o, t);
        pages[k].parse = true;
      } catch (const Error &) {
        st.error = std::current_exception();
        st.done = true;
      }
    }
    parse_pages(pages, [&](std::size_t k, const HttpResponse &resp) {
      const ListQuery &q = queries[pending[k]];
      return impl_->parse_page(resp, Target{"list", q.resource, q.namespace_, ""}, q.items);
    });
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (!pages[k].parse) continue;
      State &st = states[pending[k]];
      const ListQuery &q = queries[pending[k]];
      try {
        if (pages[k].error) std::rethrow_exception(pages[k].error);
        ListPage &page = pages[k].parsed;
        std::move(page.items.begin(), page.items.end(), std::back_inserter(st.result.items));
        const std::string &next = page.continue_token;
        if (!page.resource_version.empty()) st.result.resource_version = page.resource_version;
        // A server (or a proxy in front of it) that hands out a continue token again would have the list
        // grow forever; client-go would follow it until the deadline, holding every page.
        if (!next.empty() && !st.tokens_seen.insert(next).second)
          throw ParseError(fmt::format("{}: the server sent the same continue token twice, so paging would never "
                                       "end (a broken server or proxy)",
                                       target_text("list", q.resource, q.namespace_, "")));
        st.continue_token = next;
        if (next.empty()) st.done = true;
      } catch (const Error &) {
        st.error = std::current_exception();
        st.done = true;
      }
      pages[k] = Page{}; // its items moved out; free the rest now
    }
  }
  std::vector<ListOutcome> out(queries.size());
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (states[i].error) out[i].error = states[i].error;
    else out[i].result = std::move(states[i].result);
  }
  return out;
}

bool Client::serves(const std::string &group, const std::string &version, const std::string &plural) {
  return serves_all({{group, version, plural}}).at(0);
}

std::vector<bool> Client::serves_all(const std::vector<ApiProbe> &probes) {
  std::vector<Call> calls;
  std::vector<Target> targets;
  for (const auto &p : probes) {
    const Resource api{p.group, p.version, "", "", false};
    const std::string path =
        p.group.empty() ? "/api/" + p.version : fmt::format("/apis/{}/{}", p.group, p.version);
    targets.push_back(Target{"get", api, "", ""});
    calls.push_back(Call{impl_->make_request(Method::Get, path), targets.back(), true});
  }
  auto outcomes = impl_->execute(std::move(calls));
  std::vector<bool> out;
  for (std::size_t i = 0; i < probes.size(); ++i) {
    Outcome &o = outcomes.at(i);
    if (!o.error && o.response && o.response->status == 404) {
      out.push_back(false);
      continue;
    }
    const HttpResponse resp = impl_->expect_success(o, targets[i]);
    const nlohmann::json list = impl_->parse_body(resp.body, targets[i]);
    bool found = false;
    if (auto res = list.find("resources"); res != list.end() && res->is_array())
      for (const auto &item : *res)
        if (item.is_object() && item.value("name", "") == probes[i].plural) found = true;
    out.push_back(found);
  }
  return out;
}

std::vector<HttpTransport::Result> Client::proxy_get(std::vector<HttpRequest> requests) {
  auto &impl = *impl_;
  std::vector<HttpTransport::Result> out(requests.size());
  std::vector<HttpRequest> batch;
  std::vector<std::size_t> sent;
  const auto now = impl.options.now();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    HttpRequest r = std::move(requests[i]);
    r.method = Method::Get;
    r.headers.emplace_back("User-Agent", impl.options.user_agent);
    if (impl.options.deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*impl.options.deadline - now);
      if (left.count() <= 0) {
        out[i].error = std::make_exception_ptr(
            TransferError(TransferFailure::Timeout,
                          fmt::format("GET {}: the deadline passed before it could be sent", impl.url(r.path))));
        continue;
      }
      if (r.timeout.count() == 0 || left < r.timeout) r.timeout = left;
    }
    try {
      impl.authorize(r);
    } catch (const Error &) {
      out[i].error = std::current_exception();
      continue;
    }
    impl.log_request(r);
    batch.push_back(std::move(r));
    sent.push_back(i);
  }
  if (batch.empty()) return out;
  std::vector<std::string> paths;
  paths.reserve(batch.size());
  for (const auto &r : batch)
    paths.push_back(r.path);
  auto results = impl.transport->send_all(std::move(batch));
  for (std::size_t k = 0; k < sent.size(); ++k) {
    auto &res = results.at(k);
    if (res.response) {
      HttpRequest shown;
      shown.path = paths[k];
      impl.log_response(shown, *res.response);
    } else {
      try {
        if (res.error) std::rethrow_exception(res.error);
      } catch (const std::exception &e) {
        impl.log(6, redact(fmt::format("GET {} failed: {}", impl.url(paths[k]), e.what()), impl.secrets()));
      }
    }
    out[sent[k]] = std::move(res);
  }
  return out;
}

nlohmann::json Client::create(const Resource &r, const std::string &ns, const nlohmann::json &body, DryRun dry_run) {
  std::string name;
  if (auto meta = body.find("metadata"); meta != body.end() && meta->is_object()) name = meta->value("name", "");
  const Target t{"create", r, ns, name};
  const std::string path = with_query(resource_path(r, ns), dry_run_query(dry_run));
  auto resp = impl_->call_one(Call{impl_->make_request(Method::Post, path, body.dump(), "application/json"), t, false});
  return impl_->parse_body(resp.body, t);
}

nlohmann::json Client::patch(const Resource &r, const std::string &ns, const std::string &name, PatchType type,
                             const nlohmann::json &body, DryRun dry_run) {
  const Target t{"patch", r, ns, name};
  std::string content_type;
  switch (type) {
  case PatchType::Strategic: content_type = "application/strategic-merge-patch+json"; break;
  case PatchType::Merge: content_type = "application/merge-patch+json"; break;
  case PatchType::Json: content_type = "application/json-patch+json"; break;
  }
  const std::string path = with_query(resource_path(r, ns, name), dry_run_query(dry_run));
  auto resp = impl_->call_one(Call{impl_->make_request(Method::Patch, path, body.dump(), content_type), t, false});
  return impl_->parse_body(resp.body, t);
}

void Client::remove(const Resource &r, const std::string &ns, const std::string &name, DryRun dry_run,
                    const std::optional<std::string> &uid_precondition) {
  const Target t{"delete", r, ns, name};
  std::string body;
  std::string content_type;
  if (uid_precondition) {
    // With a body, the API server takes every option from it and ignores the query string: dryRun must be
    // in the body too, or a dry run would really delete.
    nlohmann::json options = {{"apiVersion", "v1"},
                              {"kind", "DeleteOptions"},
                              {"preconditions", {{"uid", *uid_precondition}}}};
    if (dry_run == DryRun::All) options["dryRun"] = nlohmann::json::array({"All"});
    body = options.dump();
    content_type = "application/json";
  }
  const std::string path = with_query(resource_path(r, ns, name), dry_run_query(dry_run));
  (void)impl_->call_one(Call{impl_->make_request(Method::Delete, path, body, content_type), t, false});
}

} // namespace vmsync::kube
