#pragma once
// A small Kubernetes API client that behaves like client-go where it matters: paging with limit/continue (and a
// restart on 410 Gone), retries on 429/5xx honouring Retry-After with bounded backoff, no blind retry of a
// request the server may have acted on, errors decoded from the Status object into one line with context.
#include "vmsync/kube/config.hpp"
#include "vmsync/kube/http.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
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

// The nlohmann parser callback, applied while each page is parsed, so that fields a caller does not need (the
// bulk of a pod spec) are dropped before they are ever stored.
using ParseFilter = nlohmann::json::parser_callback_t;

struct ListQuery {
  Resource resource;
  std::string namespace_; // empty: all namespaces (or cluster-scoped)
  ListOptions options;
  ParseFilter filter;     // optional
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
  int verbosity = 0;                            // >=6 logs each request (redacted)
  std::function<void(const std::string &)> log; // where -v lines go (the CLI sends them to stderr)
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

// One line describing an API failure: what was asked, what the server said, and what to do.
std::string describe_api_error(int status, const std::string &verb, const Resource &r, const std::string &ns,
                               const std::string &name, const std::string &status_body);

// Label selector text from key=value pairs (values validated as Kubernetes label values).
std::string selector(const std::vector<std::pair<std::string, std::string>> &equals);

} // namespace vmsync::kube
