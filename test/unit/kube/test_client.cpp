// The API client against a scripted HttpTransport: paths and queries, selectors, auth headers, paging, 410
// restarts, retries with Retry-After and backoff, the deadline (on a fake clock: nothing sleeps), error lines.
#include "gzip_data.hpp"
#include "temp_dir.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/client.hpp"
#include "vmsync/version.hpp"

#include <deque>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

using namespace vmsync;
using namespace vmsync::kube;
using vmsync::test::TempDir;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string status_body(const std::string &name) {
  std::ifstream in(std::string(VMSYNC_TEST_DATA) + "/kube/status/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpTransport::Result respond(int status, std::string body = "{}", Headers headers = {}) {
  HttpTransport::Result r;
  r.response = HttpResponse{status, std::move(headers), std::move(body), 12ms};
  return r;
}

HttpTransport::Result fail(TransferFailure f, const std::string &message) {
  HttpTransport::Result r;
  r.error = std::make_exception_ptr(TransferError(f, message));
  return r;
}

std::string header(const HttpRequest &r, const std::string &name) {
  for (const auto &[k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

// Answers each request with the handler; remembers every request and how they were batched.
class FakeTransport final : public HttpTransport {
public:
  using Handler = std::function<Result(const HttpRequest &)>;
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}
  std::vector<Result> send_all(std::vector<HttpRequest> requests) override {
    batches.push_back(requests.size());
    std::vector<Result> out;
    for (auto &r : requests) {
      sent.push_back(r);
      out.push_back(handler_(r));
    }
    return out;
  }
  [[nodiscard]] TransportStats stats() const override { return {sent.size(), 0, 0}; }
  void set_client_certificate(const std::string &c, const std::string &k) override {
    cert = c;
    key = k;
  }
  std::vector<HttpRequest> sent;
  std::vector<std::size_t> batches;
  std::string cert;
  std::string key;

private:
  Handler handler_;
};

// Answers with the given results in order, whatever was asked.
FakeTransport::Handler script(std::vector<HttpTransport::Result> results) {
  auto queue = std::make_shared<std::deque<HttpTransport::Result>>(results.begin(), results.end());
  return [queue](const HttpRequest &r) {
    if (queue->empty()) FAIL("unexpected request " << r.path);
    auto next = queue->front();
    queue->pop_front();
    return next;
  };
}

// A client on a fake transport and a fake clock: sleeping only moves the clock.
struct Harness {
  FakeTransport *transport = nullptr;
  std::unique_ptr<Client> client;
  std::chrono::steady_clock::time_point now{};
  std::vector<std::chrono::milliseconds> sleeps;
  std::vector<std::string> log;

  explicit Harness(FakeTransport::Handler handler, ClientConfig config = {},
                   const std::function<void(ClientOptions &)> &tweak = nullptr) {
    if (config.server.empty()) config.server = "https://k8s.test:6443";
    if (config.token.empty() && config.username.empty() && !config.exec) config.token = "tok-secret-1";
    ClientOptions o;
    o.now = [this] { return now; };
    o.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      now += d;
    };
    o.random = [] { return 0.0; };
    o.log = [this](const std::string &line) { log.push_back(line); };
    if (tweak) tweak(o);
    auto t = std::make_unique<FakeTransport>(std::move(handler));
    transport = t.get();
    client = std::make_unique<Client>(std::move(config), std::move(o), std::move(t));
  }
  Harness(const Harness &) = delete;
  Harness &operator=(const Harness &) = delete;
};

std::string page(const std::vector<std::string> &names, const std::string &cont, const std::string &rv = "100") {
  json items = json::array();
  for (const auto &n : names) items.push_back({{"metadata", {{"name", n}}}, {"spec", {{"big", "x"}}}});
  return json{{"kind", "PodList"},
              {"apiVersion", "v1"},
              {"metadata", {{"resourceVersion", rv}, {"continue", cont}}},
              {"items", items}}
      .dump();
}

std::vector<std::string> names(const ListResult &r) {
  std::vector<std::string> out;
  for (const auto &i : r.items) out.push_back(i["metadata"]["name"].get<std::string>());
  return out;
}

ListQuery pods_in(const std::string &ns, int limit = 500) {
  ListQuery q;
  q.resource = resources::pods;
  q.namespace_ = ns;
  q.options.limit = limit;
  return q;
}

} // namespace

// --- paths, queries, selectors ---------------------------------------------------------------------------------

TEST_CASE("resource_path") {
  CHECK(resource_path(resources::pods, "vm", "vminsert-0") == "/api/v1/namespaces/vm/pods/vminsert-0");
  CHECK(resource_path(resources::pods, "", "") == "/api/v1/pods");
  CHECK(resource_path(resources::statefulsets, "vm") == "/apis/apps/v1/namespaces/vm/statefulsets");
  CHECK(resource_path(resources::namespaces, "ignored", "vm") == "/api/v1/namespaces/vm");
  CHECK(resource_path(resources::leases, "kube-system", "a b") ==
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/a%20b");
}

TEST_CASE("selector: key=value pairs in order, validated") {
  CHECK(selector({}) == "");
  CHECK(selector({{"app", "vmstorage"}, {"app.kubernetes.io/instance", "vm-1"}, {"empty", ""}}) ==
        "app=vmstorage,app.kubernetes.io/instance=vm-1,empty=");
  CHECK_THROWS_WITH_AS(selector({{"app", "a b"}}),
                       "invalid value \"a b\" for label app (at most 63 letters, digits, '-', '_' or '.', starting "
                       "and ending with a letter or digit)",
                       UsageError);
  CHECK_THROWS_WITH_AS(selector({{"app", "x,y=z"}}),
                       "invalid value \"x,y=z\" for label app (at most 63 letters, digits, '-', '_' or '.', starting "
                       "and ending with a letter or digit)",
                       UsageError);
  CHECK_THROWS_WITH_AS(selector({{"Bad_Prefix/app", "x"}}),
                       "invalid label key \"Bad_Prefix/app\" (a name of at most 63 letters, digits, '-', '_' or '.', "
                       "optionally after a DNS prefix and '/')",
                       UsageError);
  CHECK_THROWS_AS(selector({{"app", std::string(64, 'a')}}), UsageError);
}

TEST_CASE("list_query: selectors and continue tokens are URL-encoded") {
  ListOptions o;
  o.label_selector = "app in (a,b),!legacy,tier!=db";
  o.field_selector = "status.phase=Running";
  CHECK(list_query(o, "") ==
        "limit=500&labelSelector=app%20in%20%28a%2Cb%29%2C%21legacy%2Ctier%21%3Ddb&fieldSelector=status.phase%3DRunning");
  o = {};
  o.limit = 2;
  CHECK(list_query(o, "eyJ2Ijoi+/=") == "limit=2&continue=eyJ2Ijoi%2B%2F%3D");
  o.limit = 0;
  CHECK(list_query(o, "") == "");
}

// --- error lines --------------------------------------------------------------------------------------------------

TEST_CASE("describe_api_error: 403 names the missing permission") {
  CHECK(describe_api_error(403, "list", resources::statefulsets, "x", "", status_body("forbidden.json")) ==
        "cannot list statefulsets.apps in namespace \"x\": forbidden: User \"system:serviceaccount:a:b\" cannot "
        "list "
        "resource \"statefulsets\" in API group \"apps\" in the namespace \"x\" (grant list on statefulsets.apps, "
        "see "
        "deploy/cluster/clusterrole-check.yaml)");
  CHECK(
      describe_api_error(
          403, "list", resources::namespaces, "", "",
          R"({"kind":"Status","message":"namespaces is forbidden: User \"u\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope","reason":"Forbidden","code":403})") ==
      "cannot list namespaces: forbidden: User \"u\" cannot list resource \"namespaces\" in API group \"\" at the "
      "cluster scope (grant list on namespaces, see deploy/cluster/clusterrole-check.yaml)");
}

TEST_CASE("describe_api_error: 403 for a non-resource path says forbidden once") {
  const std::string body =
      R"({"kind":"Status","message":"forbidden: User \"u\" cannot get path \"/apis/apps/v1\"","code":403})";
  CHECK(describe_api_error(403, "get", Resource{"apps", "v1", "", "", false}, "", "", body) ==
        "cannot get the API apps/v1: forbidden: User \"u\" cannot get path \"/apis/apps/v1\" (grant get on "
        "apps/v1, see deploy/cluster/clusterrole-check.yaml)");
}

TEST_CASE("describe_api_error: 403 for system:anonymous after sending credentials says they were ignored") {
  const std::string anonymous = R"({"kind":"Status","message":"forbidden: User \"system:anonymous\" cannot get )"
                                R"(path \"/apis/apps/v1\"","reason":"Forbidden","code":403})";
  const Resource api{"apps", "v1", "", "", false};
  const std::string server = "https://127.0.0.1:6443";
  CHECK(describe_api_error(403, "get", api, "", "", anonymous, server, SentCredentials::BasicAuth) ==
        "credentials rejected by https://127.0.0.1:6443: it ignored the username and password and treated the "
        "request as anonymous (Kubernetes API servers do not accept basic authentication since 1.19; use a token, "
        "a client certificate or an exec plugin)");
  CHECK(describe_api_error(403, "get", api, "", "", anonymous, "", SentCredentials::Other) ==
        "credentials rejected by the server: it did not recognise them and treated the request as anonymous "
        "(check the token or client certificate of the kubeconfig user)");
  // Nothing sent: anonymous is who we are, and the grant is what is missing.
  CHECK(describe_api_error(403, "get", api, "", "", anonymous) ==
        "cannot get the API apps/v1: forbidden: User \"system:anonymous\" cannot get path \"/apis/apps/v1\" "
        "(grant get on apps/v1, see deploy/cluster/clusterrole-check.yaml)");
  // Credentials accepted, permission missing: the usual RBAC hint.
  CHECK(describe_api_error(403, "list", resources::statefulsets, "x", "", status_body("forbidden.json"), "",
                           SentCredentials::BasicAuth)
            .find("(grant list on statefulsets.apps, see deploy/cluster/clusterrole-check.yaml)") !=
        std::string::npos);
}

TEST_CASE("describe_api_error: 401 names the server") {
  CHECK(describe_api_error(401, "list", resources::pods, "vm", "", status_body("unauthorized.json"),
                           "https://127.0.0.1:6443") ==
        "credentials rejected by https://127.0.0.1:6443: token expired or invalid (refresh your kubeconfig "
        "credentials)");
  CHECK(describe_api_error(401, "get", resources::pods, "vm", "p", "") ==
        "credentials rejected by the server: token expired or invalid (refresh your kubeconfig credentials)");
}

TEST_CASE("describe_api_error: 404 names the object, or the API that is not served") {
  CHECK(describe_api_error(404, "get", resources::pods, "vm", "vminsert-0", status_body("not_found.json")) ==
        "cannot get pods \"vminsert-0\" in namespace \"vm\": not found");
  const Resource vmclusters{"operator.victoriametrics.com", "v1beta1", "vmclusters", "VMCluster", true};
  CHECK(describe_api_error(404, "list", vmclusters, "vm", "",
                           R"({"kind":"Status","message":"the server could not find the requested resource","reason":"NotFound","code":404})") ==
        "cannot list vmclusters.operator.victoriametrics.com in namespace \"vm\": not found (the server does not "
        "serve operator.victoriametrics.com/v1beta1 vmclusters)");
}

TEST_CASE("describe_api_error: 409, 422, 500") {
  CHECK(describe_api_error(409, "patch", resources::configmaps, "vm", "vm-config", status_body("conflict.json")) ==
        "cannot patch configmaps \"vm-config\" in namespace \"vm\": conflict: Operation cannot be fulfilled on "
        "configmaps \"vm-config\": the object has been modified; please apply your changes to the latest version and "
        "try again (re-read the object and try again)");
  CHECK(describe_api_error(409, "delete", resources::configmaps, "vm", "vm-config",
                           R"({"kind":"Status","message":"Operation cannot be fulfilled on ConfigMap \"vm-config\": the UID in the precondition (a) does not match the UID in record (b). The object might have been deleted and then recreated","reason":"Conflict","code":409})") ==
        "cannot delete configmaps \"vm-config\" in namespace \"vm\": conflict: Operation cannot be fulfilled on ConfigMap "
        "\"vm-config\": the UID in the precondition (a) does not match the UID in record (b). The object might have been "
        "deleted and then recreated");
  CHECK(describe_api_error(409, "create", resources::configmaps, "vm", "vm-config",
                           status_body("already_exists.json")) ==
        "cannot create configmaps \"vm-config\" in namespace \"vm\": already exists");
  CHECK(describe_api_error(422, "patch", resources::statefulsets, "vm", "vmstorage", status_body("invalid.json")) ==
        "cannot patch statefulsets.apps \"vmstorage\" in namespace \"vm\": invalid: spec.replicas: Invalid value: -1: "
        "must be greater than or equal to 0");
  CHECK(describe_api_error(500, "get", resources::pods, "vm", "p", status_body("internal_error.json")) ==
        "cannot get pods \"p\" in namespace \"vm\": internal error: Internal error occurred: etcdserver: request "
        "timed out");
  CHECK(describe_api_error(503, "list", resources::pods, "", "",
                           R"({"kind":"Status","message":"","reason":"ServiceUnavailable","code":503})") ==
        "cannot list pods in all namespaces: service unavailable");
}

TEST_CASE("describe_api_error: bodies that are not a Status are cut to one line of 200 characters, redacted") {
  CHECK(describe_api_error(502, "list", resources::pods, "", "", "<html>\n<body>bad gateway</body>\n</html>\n") ==
        "cannot list pods in all namespaces: HTTP 502 Bad Gateway: <html> <body>bad gateway</body> </html>");
  const std::string long_body(300, 'x');
  CHECK(describe_api_error(500, "get", resources::pods, "vm", "p", long_body) ==
        "cannot get pods \"p\" in namespace \"vm\": HTTP 500 Internal Server Error: " + std::string(200, 'x') + "...");
  CHECK(describe_api_error(400, "get", resources::pods, "vm", "p", "echo: Authorization: Bearer abc123.def") ==
        "cannot get pods \"p\" in namespace \"vm\": HTTP 400 Bad Request: echo: Authorization: Bearer <redacted>");
  CHECK(describe_api_error(418, "get", resources::pods, "vm", "p", "") ==
        "cannot get pods \"p\" in namespace \"vm\": HTTP 418");
}

// --- requests -----------------------------------------------------------------------------------------------------

TEST_CASE("Client: headers on every request (bearer token, User-Agent, Accept)") {
  Harness h(script({respond(200, R"({"metadata":{"name":"p"}})")}));
  const auto pod = h.client->get(resources::pods, "vm", "p");
  CHECK(pod["metadata"]["name"] == "p");
  REQUIRE(h.transport->sent.size() == 1);
  const auto &r = h.transport->sent[0];
  CHECK(r.method == Method::Get);
  CHECK(r.path == "/api/v1/namespaces/vm/pods/p");
  CHECK(header(r, "Authorization") == "Bearer tok-secret-1");
  CHECK(header(r, "User-Agent") == fmt::format("vmsync/{}", version()));
  CHECK(header(r, "Accept") == "application/json");
  CHECK(r.timeout == 0ms);
}

TEST_CASE("Client: basic auth, impersonation, and a token file re-read before each request") {
  ClientConfig basic;
  basic.username = "admin";
  basic.password = "pa55word";
  basic.impersonate_user = "jane";
  basic.impersonate_groups = {"ops"};
  Harness h(script({respond(200)}), basic);
  h.client->get(resources::pods, "vm", "p");
  CHECK(header(h.transport->sent[0], "Authorization") == "Basic YWRtaW46cGE1NXdvcmQ=");
  CHECK(header(h.transport->sent[0], "Impersonate-User") == "jane");
  CHECK(header(h.transport->sent[0], "Impersonate-Group") == "ops");

  TempDir dir;
  const auto file = dir.write("token", "first-token\n");
  ClientConfig tf;
  tf.token = "first-token";
  tf.token_file = file;
  Harness t(script({respond(200), respond(200)}), tf);
  t.client->get(resources::pods, "vm", "p");
  dir.write("token", "rotated-token\n");
  t.client->get(resources::pods, "vm", "p");
  CHECK(header(t.transport->sent[0], "Authorization") == "Bearer first-token");
  CHECK(header(t.transport->sent[1], "Authorization") == "Bearer rotated-token");
}

TEST_CASE("Client: create, patch and delete with dryRun, content types and preconditions") {
  Harness h(script({respond(201, R"({"metadata":{"name":"cm"}})"), respond(200, "{}"), respond(200, "{}"),
                    respond(200, "{}"), respond(200, "{}")}));
  h.client->create(resources::configmaps, "vm", {{"metadata", {{"name", "cm"}}}}, DryRun::All);
  h.client->patch(resources::statefulsets, "vm", "vmstorage", PatchType::Strategic, {{"spec", {{"replicas", 3}}}},
                  DryRun::None);
  h.client->patch(resources::configmaps, "vm", "cm", PatchType::Merge, {{"data", {{"k", "v"}}}}, DryRun::All);
  h.client->patch(resources::configmaps, "vm", "cm", PatchType::Json,
                  json::array({{{"op", "test"}, {"path", "/data/k"}, {"value", "v"}}}), DryRun::None);
  h.client->remove(resources::pods, "vm", "vminsert-0", DryRun::All, std::string("uid-123"));
  const auto &s = h.transport->sent;
  REQUIRE(s.size() == 5);
  CHECK(s[0].method == Method::Post);
  CHECK(s[0].path == "/api/v1/namespaces/vm/configmaps?dryRun=All");
  CHECK(header(s[0], "Content-Type") == "application/json");
  CHECK(s[0].body == R"({"metadata":{"name":"cm"}})");
  CHECK(s[1].method == Method::Patch);
  CHECK(s[1].path == "/apis/apps/v1/namespaces/vm/statefulsets/vmstorage");
  CHECK(header(s[1], "Content-Type") == "application/strategic-merge-patch+json");
  CHECK(s[2].path == "/api/v1/namespaces/vm/configmaps/cm?dryRun=All");
  CHECK(header(s[2], "Content-Type") == "application/merge-patch+json");
  CHECK(header(s[3], "Content-Type") == "application/json-patch+json");
  CHECK(s[3].body == R"([{"op":"test","path":"/data/k","value":"v"}])");
  CHECK(s[4].method == Method::Delete);
  CHECK(s[4].path == "/api/v1/namespaces/vm/pods/vminsert-0?dryRun=All");
  // The API server ignores the query's dryRun when a DELETE has a body: it must be in the body too.
  CHECK(json::parse(s[4].body) ==
        json::parse(R"({"apiVersion":"v1","kind":"DeleteOptions","preconditions":{"uid":"uid-123"},"dryRun":["All"]})"));
}

TEST_CASE("Client: 409 is surfaced as ApiError(409), never retried") {
  Harness h(script({respond(409, status_body("conflict.json"))}));
  try {
    h.client->patch(resources::configmaps, "vm", "vm-config", PatchType::Merge, json::object(), DryRun::None);
    FAIL("no exception");
  } catch (const ApiError &e) {
    CHECK(e.status() == 409);
    CHECK(e.reason() == "Conflict");
    CHECK(std::string(e.what()).rfind("cannot patch configmaps \"vm-config\" in namespace \"vm\": conflict: ", 0) == 0);
  }
  CHECK(h.transport->sent.size() == 1);
}

TEST_CASE("Client: get_if_exists and serves treat 404 as an answer") {
  Harness h(script({respond(404, status_body("not_found.json")), respond(404, "404 page not found"),
                    respond(200, R"({"resources":[{"name":"vmclusters"},{"name":"vmclusters/status"}]})"),
                    respond(200, R"({"resources":[{"name":"vmagents"}]})")}));
  CHECK_FALSE(h.client->get_if_exists(resources::pods, "vm", "vminsert-0").has_value());
  CHECK_FALSE(h.client->serves("operator.victoriametrics.com", "v1beta1", "vmclusters"));
  CHECK(h.client->serves("operator.victoriametrics.com", "v1beta1", "vmclusters"));
  CHECK_FALSE(h.client->serves("operator.victoriametrics.com", "v1beta1", "vmclusters"));
  CHECK(h.transport->sent[1].path == "/apis/operator.victoriametrics.com/v1beta1");
}

TEST_CASE("Client::serves_all: every probe in one round, one answer each, 404 is an answer") {
  Harness h([](const HttpRequest &r) {
    if (r.path == "/apis/workloads.kubeblocks.io/v1") return respond(200, R"({"resources":[{"name":"instancesets"}]})");
    if (r.path == "/apis/workloads.kubeblocks.io/v1alpha1") return respond(404, "404 page not found");
    return respond(200, R"({"resources":[{"name":"vmagents"}]})");
  });
  const auto served = h.client->serves_all({{"workloads.kubeblocks.io", "v1", "instancesets"},
                                            {"workloads.kubeblocks.io", "v1alpha1", "instancesets"},
                                            {"operator.victoriametrics.com", "v1beta1", "vmclusters"}});
  CHECK(served == std::vector<bool>{true, false, false});
  CHECK(h.transport->batches == std::vector<std::size_t>{3});
  CHECK(h.transport->sent[2].path == "/apis/operator.victoriametrics.com/v1beta1");
}

TEST_CASE("Client: errors are redacted with the secrets the client knows") {
  Harness h(script({respond(400, R"({"kind":"Status","message":"bad header tok-secret-1","reason":"BadRequest","code":400})")}));
  CHECK_THROWS_WITH_AS(h.client->get(resources::pods, "vm", "p"),
                       "cannot get pods \"p\" in namespace \"vm\": bad request: bad header <redacted>", ApiError);
}

// --- paging -------------------------------------------------------------------------------------------------------

TEST_CASE("Client::list: pages across 3 requests are joined, the item filter drops fields") {
  Harness h(script({respond(200, page({"a", "b"}, "t1")), respond(200, page({"c", "d"}, "t2")),
                    respond(200, page({"e"}, "", "105"))}));
  auto q = pods_in("vm", 2);
  q.options.label_selector = "app=vmstorage";
  q.items.fields = std::make_shared<const FieldTree>(FieldTree::everything("", {"spec"}));
  const auto r = h.client->list(q);
  CHECK(names(r) == std::vector<std::string>{"a", "b", "c", "d", "e"});
  CHECK(r.resource_version == "105");
  CHECK_FALSE(r.items[0].contains("spec"));
  const auto &s = h.transport->sent;
  REQUIRE(s.size() == 3);
  CHECK(s[0].path == "/api/v1/namespaces/vm/pods?limit=2&labelSelector=app%3Dvmstorage");
  CHECK(s[1].path == "/api/v1/namespaces/vm/pods?limit=2&labelSelector=app%3Dvmstorage&continue=t1");
  CHECK(s[2].path == "/api/v1/namespaces/vm/pods?limit=2&labelSelector=app%3Dvmstorage&continue=t2");
}

TEST_CASE("Client::list: 410 Gone on a continue token restarts the list from scratch") {
  Harness h(script({respond(200, page({"a", "b"}, "t1")), respond(410, status_body("expired.json")),
                    respond(200, page({"a", "b"}, "t9")), respond(200, page({"c"}, ""))}));
  const auto r = h.client->list(pods_in("vm", 2));
  CHECK(names(r) == std::vector<std::string>{"a", "b", "c"});
  const auto &s = h.transport->sent;
  REQUIRE(s.size() == 4);
  CHECK(s[2].path == "/api/v1/namespaces/vm/pods?limit=2");
  CHECK(s[3].path == "/api/v1/namespaces/vm/pods?limit=2&continue=t9");
}

TEST_CASE("Client::list: after a 410 restart, `restarted` voids what an accept hook kept of the earlier pages") {
  Harness h(script({respond(200, page({"a", "b"}, "t1")), respond(410, status_body("expired.json")),
                    respond(200, page({"a", "b"}, "t9")), respond(200, page({"c"}, ""))}));
  std::vector<std::string> kept; // what a caller keeping items elsewhere holds
  int restarts = 0;
  auto q = pods_in("vm", 2);
  q.items.accept = [&kept](nlohmann::json &item) {
    kept.push_back(item["metadata"]["name"].get<std::string>());
    return false;
  };
  q.restarted = [&] {
    ++restarts;
    kept.clear();
  };
  const auto r = h.client->list(q);
  CHECK(r.items.empty());
  CHECK(restarts == 1);
  CHECK(kept == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("Client::list: restarts are bounded") {
  Harness h([](const HttpRequest &r) {
    return r.path.find("continue=") == std::string::npos ? respond(200, page({"a"}, "t1"))
                                                          : respond(410, status_body("expired.json"));
  });
  CHECK_THROWS_WITH_AS(
      h.client->list(pods_in("vm", 1)),
      "cannot list pods in namespace \"vm\": gone: The provided continue parameter is too old to display a consistent "
      "list result. You can start a new list without the continue parameter, or use the continue token in this "
      "response to retrieve the remainder of the results. Continuing with the provided token results in an "
      "inconsistent list - objects that were created, modified, or deleted between the time the first chunk was "
      "returned and now may show up in the list. (restarted 3 times after the continue token expired)",
      ApiError);
  CHECK(h.transport->sent.size() == 8);
}

TEST_CASE("Client::list_many: first pages together, then each list continues; errors stay per query") {
  Harness h([](const HttpRequest &r) {
    if (r.path.rfind("/api/v1/namespaces/a/", 0) == 0)
      return r.path.find("continue") == std::string::npos ? respond(200, page({"a1"}, "ta"))
                                                          : respond(200, page({"a2"}, ""));
    if (r.path.rfind("/api/v1/namespaces/b/", 0) == 0) return respond(200, page({"b1"}, ""));
    return respond(403, status_body("forbidden.json"));
  });
  auto outcomes = h.client->list_many({pods_in("a"), pods_in("b"), pods_in("c")});
  REQUIRE(outcomes.size() == 3);
  CHECK(names(*outcomes[0].result) == std::vector<std::string>{"a1", "a2"});
  CHECK(names(*outcomes[1].result) == std::vector<std::string>{"b1"});
  CHECK_FALSE(outcomes[2].result.has_value());
  CHECK_THROWS_AS(std::rethrow_exception(outcomes[2].error), ApiError);
  CHECK(h.transport->batches == std::vector<std::size_t>{3, 1});
}

TEST_CASE("Client::list_many: pages parsed in parallel keep each list's order; a bad page fails its list only") {
  // 12 lists of 3 pages of 4 items each, answered in one round per page; list 7's second page is not JSON. The
  // pages of a round are parsed on several threads: every list must still hold its own items in page order.
  Harness h([](const HttpRequest &r) {
    const auto ns_at = std::string("/api/v1/namespaces/").size();
    const std::string ns = r.path.substr(ns_at, r.path.find('/', ns_at) - ns_at);
    const int pg = r.path.find("continue=p2") != std::string::npos   ? 2
                   : r.path.find("continue=p1") != std::string::npos ? 1
                                                                     : 0;
    if (ns == "n7" && pg == 1) return respond(200, R"({"kind":"PodList","items":[{"metadata":{"name":)");
    std::vector<std::string> items;
    for (int i = 0; i < 4; ++i) items.push_back(fmt::format("{}-{}-{}", ns, pg, i));
    return respond(200, page(items, pg < 2 ? fmt::format("p{}", pg + 1) : ""));
  });
  std::vector<ListQuery> queries;
  for (int n = 0; n < 12; ++n) queries.push_back(pods_in(fmt::format("n{}", n)));
  auto outcomes = h.client->list_many(queries);
  REQUIRE(outcomes.size() == 12);
  for (int n = 0; n < 12; ++n) {
    CAPTURE(n);
    if (n == 7) {
      CHECK_FALSE(outcomes[7].result.has_value());
      CHECK_THROWS_WITH_AS(std::rethrow_exception(outcomes[7].error),
                           doctest::Contains("cannot list pods in namespace \"n7\""), ParseError);
      continue;
    }
    std::vector<std::string> want;
    for (int pg = 0; pg < 3; ++pg)
      for (int i = 0; i < 4; ++i) want.push_back(fmt::format("n{}-{}-{}", n, pg, i));
    REQUIRE(outcomes[static_cast<std::size_t>(n)].result.has_value());
    CHECK(names(*outcomes[static_cast<std::size_t>(n)].result) == want);
  }
  CHECK(h.transport->batches == std::vector<std::size_t>{12, 12, 11});
}

// --- retries ------------------------------------------------------------------------------------------------------

TEST_CASE("Client: 429 with Retry-After is retried after that many seconds") {
  Harness h(script({respond(429, "{}", {{"retry-after", "3"}}), respond(200, page({"a"}, ""))}));
  CHECK(names(h.client->list(pods_in("vm"))) == std::vector<std::string>{"a"});
  CHECK(h.sleeps == std::vector<std::chrono::milliseconds>{3000ms});
  CHECK(h.transport->sent.size() == 2);
}

TEST_CASE("Client: 503 eleven times gives up after max_retries with exponential backoff capped at max_backoff") {
  Harness h([](const HttpRequest &) {
    return respond(503, R"({"kind":"Status","message":"the server is overloaded","reason":"ServiceUnavailable","code":503})");
  });
  CHECK_THROWS_WITH_AS(h.client->list(pods_in("vm")),
                       "cannot list pods in namespace \"vm\": service unavailable: the server is overloaded (gave up "
                       "after 11 attempts)",
                       ApiError);
  CHECK(h.transport->sent.size() == 11);
  CHECK(h.sleeps == std::vector<std::chrono::milliseconds>{200ms, 400ms, 800ms, 1600ms, 3200ms, 6400ms, 12800ms,
                                                           25600ms, 30000ms, 30000ms});
}

TEST_CASE("Client: backoff jitter adds up to half, and Retry-After is capped by max_backoff") {
  Harness h(script({respond(503), respond(503), respond(429, "{}", {{"retry-after", "120"}}), respond(200)}), {},
            [](ClientOptions &o) { o.random = [] { return 0.5; }; });
  h.client->get(resources::pods, "vm", "p");
  CHECK(h.sleeps == std::vector<std::chrono::milliseconds>{250ms, 500ms, 30000ms});
}

TEST_CASE("Client: the deadline is never slept past") {
  Harness h([](const HttpRequest &) { return respond(503, "upstream busy"); }, {},
            [](ClientOptions &o) { o.deadline = std::chrono::steady_clock::time_point{} + 5s; });
  CHECK_THROWS_WITH_AS(h.client->get(resources::pods, "vm", "p"),
                       "cannot get pods \"p\" in namespace \"vm\": HTTP 503 Service Unavailable: upstream busy (gave "
                       "up after 5 attempts: the next retry, in 3.2s, would pass the deadline)",
                       ApiError);
  CHECK(h.sleeps == std::vector<std::chrono::milliseconds>{200ms, 400ms, 800ms, 1600ms});
  // Each attempt may only use what is left of the deadline.
  const auto &s = h.transport->sent;
  REQUIRE(s.size() == 5);
  CHECK(s[0].timeout == 5000ms);
  CHECK(s[4].timeout == 2000ms);
}

TEST_CASE("Client: the request timeout applies per attempt, bounded by the deadline") {
  ClientConfig c;
  c.request_timeout = 10s;
  Harness h(script({respond(200), respond(200)}), c);
  h.client->get(resources::pods, "vm", "p");
  CHECK(h.transport->sent[0].timeout == 10000ms);
  Harness d(script({respond(200)}), c, [](ClientOptions &o) { o.deadline = std::chrono::steady_clock::time_point{} + 4s; });
  d.client->get(resources::pods, "vm", "p");
  CHECK(d.transport->sent[0].timeout == 4000ms);
  Harness late(script({}), c, [](ClientOptions &o) { o.deadline = std::chrono::steady_clock::time_point{}; });
  CHECK_THROWS_WITH_AS(late.client->get(resources::pods, "vm", "p"),
                       "GET https://k8s.test:6443/api/v1/namespaces/vm/pods/p: the deadline passed before it could be "
                       "sent",
                       TransportError);
}

TEST_CASE("Client: POST, PATCH and DELETE are not retried on 5xx, only on 429") {
  Harness h(script({respond(500, status_body("internal_error.json"))}));
  CHECK_THROWS_WITH_AS(h.client->create(resources::configmaps, "vm", {{"metadata", {{"name", "cm"}}}}, DryRun::None),
                       "cannot create configmaps \"cm\" in namespace \"vm\": internal error: Internal error occurred: "
                       "etcdserver: request timed out",
                       ApiError);
  CHECK(h.transport->sent.size() == 1);

  Harness p(script({respond(503)}));
  CHECK_THROWS_AS(p.client->patch(resources::configmaps, "vm", "cm", PatchType::Merge, json::object(), DryRun::None),
                  ApiError);
  CHECK(p.transport->sent.size() == 1);

  Harness r(script({respond(429), respond(200)}));
  r.client->remove(resources::pods, "vm", "p", DryRun::None);
  CHECK(r.transport->sent.size() == 2);
}

TEST_CASE("Client: transport failures before sending are retried for any method, after sending only for GET") {
  Harness h(script({fail(TransferFailure::Connect, "cannot connect to https://k8s.test:6443: connection refused"),
                    respond(201, "{}")}));
  h.client->create(resources::configmaps, "vm", {{"metadata", {{"name", "cm"}}}}, DryRun::None);
  CHECK(h.transport->sent.size() == 2);

  Harness b(script({fail(TransferFailure::Broken, "POST x: connection broken: reset")}));
  CHECK_THROWS_WITH_AS(b.client->create(resources::configmaps, "vm", json::object(), DryRun::None),
                       "POST x: connection broken: reset (not sent again: the server may have acted on it)",
                       TransferError);
  CHECK(b.transport->sent.size() == 1);

  Harness t(script({fail(TransferFailure::Timeout, "PATCH x timed out after 2s")}));
  CHECK_THROWS_WITH_AS(
      t.client->patch(resources::configmaps, "vm", "cm", PatchType::Merge, json::object(), DryRun::None),
      "PATCH x timed out after 2s (not sent again: the server may have acted on it)", TransferError);
  CHECK(t.transport->sent.size() == 1);

  Harness g(script({fail(TransferFailure::Broken, "GET x: connection broken: reset"), respond(200)}));
  g.client->get(resources::pods, "vm", "p");
  CHECK(g.transport->sent.size() == 2);

  Harness refused([](const HttpRequest &) {
    return fail(TransferFailure::Connect, "cannot connect to https://k8s.test:6443: connection refused");
  });
  CHECK_THROWS_WITH_AS(refused.client->get(resources::pods, "vm", "p"),
                       "cannot connect to https://k8s.test:6443: connection refused (gave up after 3 attempts)",
                       TransferError);
  CHECK(refused.sleeps == std::vector<std::chrono::milliseconds>{200ms, 400ms});

  Harness tls(script({fail(TransferFailure::Tls, "TLS verification of https://k8s.test:6443: certificate signed by "
                                                 "unknown authority (set --certificate-authority or "
                                                 "certificate-authority-data)")}));
  CHECK_THROWS_WITH_AS(tls.client->get(resources::pods, "vm", "p"),
                       "TLS verification of https://k8s.test:6443: certificate signed by unknown authority (set "
                       "--certificate-authority or certificate-authority-data)",
                       TransferError);
  CHECK(tls.transport->sent.size() == 1);
}

TEST_CASE("Client: 401 with an exec plugin runs it again and retries once") {
  TempDir dir;
  // Each run prints a new token: tok-1, tok-2, ...
  const auto plugin = dir.write("plugin.sh", fmt::format(R"(#!/bin/sh
n=$(cat {0}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {0}/count
echo '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"tok-'$n'"}}}}'
)",
                                                         dir.path()),
                                true);
  ClientConfig c;
  c.server = "https://k8s.test:6443";
  c.user_name = "u";
  c.exec = ExecConfig{};
  c.exec->api_version = "client.authentication.k8s.io/v1";
  c.exec->command = plugin;
  c.exec->interactive_mode = "Never";
  Harness h(
      [](const HttpRequest &r) {
        return header(r, "Authorization") == "Bearer tok-2" ? respond(200) : respond(401, status_body("unauthorized.json"));
      },
      c, [](ClientOptions &o) { o.verbosity = 1; });
  h.client->get(resources::pods, "vm", "p");
  CHECK(h.transport->sent.size() == 2);
  CHECK(h.log == std::vector<std::string>(2, "running exec credential plugin \"" + plugin + "\" from kubeconfig"));

  // A second 401 for the same request is the answer: credentials rejected, once re-run.
  Harness twice([](const HttpRequest &) { return respond(401, status_body("unauthorized.json")); }, c);
  CHECK_THROWS_WITH_AS(twice.client->get(resources::pods, "vm", "p"),
                       "credentials rejected by https://k8s.test:6443: token expired or invalid (refresh your "
                       "kubeconfig credentials)",
                       ApiError);
  CHECK(twice.transport->sent.size() == 2);
}

TEST_CASE("Client: exec plugins that return a client certificate hand it to the transport") {
  TempDir dir;
  ClientConfig c;
  c.exec = ExecConfig{};
  c.exec->api_version = "client.authentication.k8s.io/v1";
  c.exec->interactive_mode = "Never";
  c.exec->command = dir.write("p.sh",
                              "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                              "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"CERT\",\"clientKeyData\":\"KEY\"}}'\n",
                              true);
  Harness h(script({respond(200)}), c);
  h.client->get(resources::pods, "vm", "p");
  CHECK(h.transport->cert == "CERT");
  CHECK(h.transport->key == "KEY");
  CHECK(header(h.transport->sent[0], "Authorization") == "<none>");
}

// --- logging ------------------------------------------------------------------------------------------------------

TEST_CASE("Client: -v6 logs each request like kubectl, -v8 the headers with Authorization redacted") {
  Harness h(script({respond(200, page({}, "")), respond(404, status_body("not_found.json"))}), {},
            [](ClientOptions &o) { o.verbosity = 6; });
  h.client->list(pods_in("vm"));
  CHECK_FALSE(h.client->get_if_exists(resources::pods, "vm", "vminsert-0"));
  CHECK(h.log == std::vector<std::string>{
                     "GET https://k8s.test:6443/api/v1/namespaces/vm/pods?limit=500 200 OK in 12 milliseconds",
                     "GET https://k8s.test:6443/api/v1/namespaces/vm/pods/vminsert-0 404 Not Found in 12 milliseconds"});

  Harness v8(script({respond(200, "{}", {{"content-type", "application/json"}})}), {},
             [](ClientOptions &o) { o.verbosity = 8; });
  v8.client->get(resources::pods, "vm", "p");
  CHECK(v8.log == std::vector<std::string>{
                      "GET https://k8s.test:6443/api/v1/namespaces/vm/pods/p",
                      "Request Headers:",
                      "    Accept: application/json",
                      fmt::format("    User-Agent: vmsync/{}", version()),
                      "    Authorization: Bearer <redacted>",
                      "GET https://k8s.test:6443/api/v1/namespaces/vm/pods/p 200 OK in 12 milliseconds",
                      "Response Headers:",
                      "    content-type: application/json",
                  });
  for (const auto &line : v8.log) CHECK(line.find("tok-secret-1") == std::string::npos);
}

TEST_CASE("Client::list_many: list pages ask for gzip as received and are parsed from it; others do not") {
  Harness h([](const HttpRequest &r) {
    if (r.path.find("continue=t1") != std::string::npos)
      return respond(200, page({"c"}, ""), {{"content-type", "application/json"}}); // small: not compressed
    return respond(200, vmsync::test::gzip(page({"a", "b"}, "t1")), {{"content-encoding", "gzip"}});
  });
  const auto r = h.client->list(pods_in("vm", 2));
  CHECK(names(r) == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(h.transport->sent.size() == 2);
  CHECK(h.transport->sent[0].keep_compressed);
  CHECK(h.transport->sent[1].keep_compressed);
}

TEST_CASE("Client::list_many: a gzip page cut short or corrupt is a ParseError naming the list") {
  const auto whole = vmsync::test::gzip(page({"a", "b"}, ""));
  Harness h(script({respond(200, whole.substr(0, whole.size() / 2), {{"content-encoding", "gzip"}}),
                    respond(200, "not gzip at all", {{"content-encoding", "gzip"}})}));
  CHECK_THROWS_WITH_AS(h.client->list(pods_in("vm")), doctest::Contains("list pods in namespace \"vm\""), ParseError);
  CHECK_THROWS_WITH_AS(h.client->list(pods_in("vm")), doctest::Contains("corrupt"), ParseError);
}

TEST_CASE("Client::list_many: a gzip error answer is inflated, so its Status message reaches the error") {
  Harness h(script({respond(403, vmsync::test::gzip(status_body("forbidden.json")), {{"content-encoding", "gzip"}})}));
  try {
    (void)h.client->list(pods_in("vm"));
    FAIL("no error");
  } catch (const ApiError &e) {
    CHECK(e.status() == 403);
    CHECK(std::string(e.what()).find("forbidden") != std::string::npos);
    CHECK(std::string(e.what()).find("gzip") == std::string::npos);
  }
}
