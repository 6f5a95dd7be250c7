#pragma once
// A small Kubernetes API client that behaves like client-go where it matters: paging with limit/continue (and a
// restart on 410 Gone), retries on 429/5xx honouring Retry-After with bounded backoff, no blind retry of a
// request the server may have acted on, errors decoded from the Status object into one line with context.
#include "vmsync/kube/config.hpp"
#include "vmsync/kube/http.hpp"
#include "vmsync/kube/item_filter.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::kube {

struct Resource {
  std::string group; // "" for the core group
  std::string version;
  std::string plural; // "pods", "statefulsets", ...
  std::string kind;   // "Pod", for messages
  bool namespaced = true;
  [[nodiscard]] std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

namespace resources {
extern const Resource pods, configmaps, services, events, statefulsets, deployments, leases, namespaces;
} // namespace resources

enum class DryRun { None, All };
enum class PatchType { Strategic, Merge, Json };

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 500;
};

struct ListQuery {
  Resource resource;
  std::string namespace_; // empty: all namespaces (or cluster-scoped)
  ListOptions options;
  ItemFilter items;       // what is kept of each item, applied while each page is parsed; default: all of it
  // Called when the list starts over because its continue token expired (410 Gone): what an `items.accept` hook
  // kept elsewhere from the earlier pages is void.
  std::function<void()> restarted;
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version;
};

// One outcome per query of list_many: items, or the error (ApiError / TransportError) for that query alone.
struct ListOutcome {
  std::optional<ListResult> result;
  std::exception_ptr error;
};

struct ClientOptions {
  std::string user_agent;                       // "vmsync/<version>"
  int max_retries = 10;                         // as client-go
  std::chrono::milliseconds max_backoff{30000}; // cap for Retry-After and exponential backoff
  std::optional<std::chrono::steady_clock::time_point> deadline; // overall --timeout
  int verbosity = 0;                            // >=6 logs each request (redacted), >=8 also headers
  std::function<void(const std::string &)> log; // where -v lines go (the CLI sends them to stderr)

  int max_transport_retries = 2; // connect failures (any request), broken connections (GET only)
  int max_list_restarts = 3;     // a list whose continue token expired (410 Gone) starts over at most this often
  std::chrono::milliseconds initial_backoff{200}; // doubled per retry, plus up to 50% jitter
  std::chrono::milliseconds connect_timeout{10000};

  // Time and chance, replaceable so that tests run the retry logic without sleeping. Defaults:
  // steady_clock::now, std::this_thread::sleep_for, a uniform generator in [0, 1).
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<double()> random;
};

class Client {
public:
  Client(ClientConfig config, ClientOptions options, std::unique_ptr<HttpTransport> transport);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  // Connects with curl per `config` (the usual way to make one).
  static std::unique_ptr<Client> connect(ClientConfig config, ClientOptions options);

  [[nodiscard]] const ClientConfig &config() const noexcept;
  [[nodiscard]] TransportStats stats() const;

  nlohmann::json get(const Resource &r, const std::string &ns, const std::string &name);
  std::optional<nlohmann::json> get_if_exists(const Resource &r, const std::string &ns, const std::string &name);
  ListResult list(const ListQuery &q);
  // Pages of all queries are fetched concurrently over the one connection.
  std::vector<ListOutcome> list_many(const std::vector<ListQuery> &queries);
  // Whether group/version serves `plural` (a missing CRD is normal: false, not an error).
  bool serves(const std::string &group, const std::string &version, const std::string &plural);
  // serves() for several APIs in one round of requests (one round trip, not one per API): one answer per probe,
  // in order.
  struct ApiProbe {
    std::string group, version, plural;
  };
  std::vector<bool> serves_all(const std::vector<ApiProbe> &probes);

  // GETs of paths the API server proxies to pods (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/metrics`), sent
  // together over the connection with this client's credentials. Best effort by design: no retry (a pod that
  // does not answer in its request's timeout, capped by the deadline, is reported, not waited for), no Accept:
  // application/json. One result per request, in order: a status is a response, whoever sent it (the API
  // server's 403 and 503, or the pod's own 401).
  std::vector<HttpTransport::Result> proxy_get(std::vector<HttpRequest> requests);

  nlohmann::json create(const Resource &r, const std::string &ns, const nlohmann::json &body, DryRun dry_run);
  nlohmann::json patch(const Resource &r, const std::string &ns, const std::string &name, PatchType type,
                       const nlohmann::json &body, DryRun dry_run);
  // Delete with optional preconditions (uid / resourceVersion) so a replaced object is never deleted by mistake.
  void remove(const Resource &r, const std::string &ns, const std::string &name, DryRun dry_run,
              const std::optional<std::string> &uid_precondition = std::nullopt);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a request carried to authenticate, so that a 403 for "system:anonymous" can say that the server ignored
// the credentials (rather than ask for RBAC grants to anonymous).
enum class SentCredentials { None, BasicAuth, Other };

// One line describing an API failure: what was asked, what the server said, and what to do. `server` names the
// API server in the 401 message (empty: "the server"). Quoted server text is redacted and cut to one line.
std::string describe_api_error(int status, const std::string &verb, const Resource &r, const std::string &ns,
                               const std::string &name, const std::string &status_body,
                               const std::string &server = {}, SentCredentials sent = SentCredentials::None);

// The URL path of a resource: collection when `name` is empty, all namespaces when `ns` is empty.
std::string resource_path(const Resource &r, const std::string &ns, const std::string &name = {});

// RFC 3986 percent-encoding of a query value or path segment (unreserved characters kept).
std::string url_encode(std::string_view text);

// The query string of a list page: "limit=500&labelSelector=...&fieldSelector=...&continue=...".
std::string list_query(const ListOptions &options, const std::string &continue_token);

// Label selector text from key=value pairs, in the order given: "app=vmstorage,tier=db". Keys and values are
// validated as Kubernetes label keys and values; an invalid one throws UsageError naming it.
std::string selector(const std::vector<std::pair<std::string, std::string>> &equals);

} // namespace vmsync::kube
