// Kubeconfig loading as client-go's clientcmd does it (loader.go, client_config.go, merged_client_builder.go,
// validation.go), in three steps:
//   1. find the files: --kubeconfig alone (missing = error), else every existing file of $KUBECONFIG, else
//      ~/.kube/config; parse each, resolving relative paths against its folder, and merge them so that the
//      first file to define a cluster, user or context name (or current-context) wins;
//   2. nothing found (and no --server): the in-cluster config of the pod's service account;
//   3. pick the context, its cluster and user, lay the command-line overrides on top, validate the chosen
//      entries only (as ConfirmUsable does) and read the files they point at.
// Every failure is one ConfigError line naming the file and the entry: `kubeconfig /x/config: user "u": ...`.
// Deliberate differences from client-go, each because the client-go behaviour hides a mistake: a context naming
// a user that does not exist is an error (client-go goes on anonymously); --client-certificate/--client-key
// replace the -data fields of the kubeconfig (client-go reports both as set); --token drops tokenFile (client-go
// would keep re-reading the file and ignore the flag); in-cluster, --insecure-skip-tls-verify and
// --tls-server-name are honoured too.
#include "vmsync/kube/config.hpp"

#include "text.hpp"
#include "vmsync/error.hpp"
#include "vmsync/kube/base64.hpp"
#include "vmsync/util/yaml_json.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <yaml-cpp/yaml.h>

namespace vmsync::kube {

namespace fs = std::filesystem;

Environment Environment::system() {
  Environment e;
  e.getenv = [](const std::string &name) -> std::optional<std::string> {
    const char *value = std::getenv(name.c_str()); // NOLINT(concurrency-mt-unsafe): read before any thread starts
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  if (auto home = e.getenv("HOME")) e.home = *home;
  return e;
}

namespace {

constexpr std::string_view exec_v1 = "client.authentication.k8s.io/v1";
constexpr std::string_view exec_v1beta1 = "client.authentication.k8s.io/v1beta1";
constexpr std::string_view exec_extension = "client.authentication.k8s.io/exec";

// The kubeconfig entries as written (paths already resolved against their file's folder).
struct RawCluster {
  std::string file;
  std::string server;
  std::string ca_file;
  std::optional<std::string> ca_data;
  bool insecure = false;
  std::string tls_server_name;
  std::string proxy_url;
  bool disable_compression = false;
  std::string exec_config_json;
};

struct RawUser {
  std::string file;
  std::string token;
  std::string token_file;
  std::string cert_file;
  std::optional<std::string> cert_data;
  std::string key_file;
  std::optional<std::string> key_data;
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
  std::optional<std::string> auth_provider;
  std::string as;
  std::string as_uid;
  std::vector<std::string> as_groups;
};

struct RawContext {
  std::string file;
  std::string cluster;
  std::string user;
  std::string namespace_;
};

struct Kubeconfig {
  std::vector<std::string> files; // loaded, in order
  std::map<std::string, RawCluster> clusters;
  std::map<std::string, RawUser> users;
  std::map<std::string, RawContext> contexts;
  std::string current_context;
  [[nodiscard]] bool empty() const {
    return clusters.empty() && users.empty() && contexts.empty() && current_context.empty();
  }
  // How errors name the merged files: as $KUBECONFIG would list them.
  [[nodiscard]] std::string label() const { return files.empty() ? "(no file)" : text::join(files, ":"); }
};

template <typename Map> std::string names_of(const Map &m) {
  std::vector<std::string> names;
  names.reserve(m.size());
  for (const auto &entry : m) names.push_back(entry.first);
  return text::join(names, ", ");
}

template <typename Map> std::string known(std::string_view what, const Map &m) {
  if (m.empty()) return fmt::format("no {} defined", what);
  return fmt::format("{}: {}", what, names_of(m));
}

// Reads one kubeconfig document; every error names the file and the key.
class FileParser {
public:
  FileParser(std::string path, std::string base) : path_(std::move(path)), base_(std::move(base)) {}

  Kubeconfig parse(const std::string &content) {
    Kubeconfig out;
    out.files.push_back(path_);
    if (auto at = util::invalid_utf8_at(content)) fail(fmt::format("not valid UTF-8 at {}", *at));
    YAML::Node root;
    try {
      root = YAML::Load(content);
    } catch (const YAML::ParserException &e) {
      fail(fmt::format("invalid YAML at line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    if (!root || root.IsNull()) return out; // an empty file is an empty config, as in client-go
    if (!root.IsMap()) fail("expected a mapping (apiVersion, clusters, users, contexts, ...) at the top level");
    read_named(root, "clusters", "cluster", out.clusters,
               [this](const YAML::Node &n, const std::string &where) { return cluster(n, where); });
    read_named(root, "users", "user", out.users,
               [this](const YAML::Node &n, const std::string &where) { return user(n, where); });
    read_named(root, "contexts", "context", out.contexts,
               [this](const YAML::Node &n, const std::string &where) { return context(n, where); });
    out.current_context = string(root, "current-context", "");
    return out;
  }

private:
  std::string path_;
  std::string base_; // absolute folder of path_

  [[noreturn]] void fail(const std::string &what) const {
    throw ConfigError(fmt::format("kubeconfig {}: {}", path_, what));
  }

  static std::string at(const std::string &where, std::string_view key) {
    return where.empty() ? std::string(key) : fmt::format("{}: {}", where, key);
  }

  std::string string(const YAML::Node &map, std::string_view key, const std::string &where) const {
    const YAML::Node n = map[std::string(key)];
    if (!n || n.IsNull()) return {};
    if (!n.IsScalar()) fail(fmt::format("{}: expected a string", at(where, key)));
    return n.Scalar();
  }

  bool boolean(const YAML::Node &map, std::string_view key, const std::string &where) const {
    const YAML::Node n = map[std::string(key)];
    if (!n || n.IsNull()) return false;
    bool value = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value))
      fail(fmt::format("{}: expected true or false, got \"{}\"", at(where, key), n.IsScalar() ? n.Scalar() : ""));
    return value;
  }

  std::optional<std::string> data(const YAML::Node &map, std::string_view key, const std::string &where) const {
    const YAML::Node n = map[std::string(key)];
    if (!n || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) fail(fmt::format("{}: expected a base64 string", at(where, key)));
    auto decoded = base64_decode(n.Scalar());
    // Never quote the value: it may be a private key.
    if (!decoded) fail(fmt::format("{}: not valid base64", at(where, key)));
    return decoded;
  }

  std::vector<std::string> strings(const YAML::Node &map, std::string_view key, const std::string &where) const {
    const YAML::Node n = map[std::string(key)];
    std::vector<std::string> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsSequence()) fail(fmt::format("{}: expected a list of strings", at(where, key)));
    for (const auto &item : n) {
      if (!item.IsScalar()) fail(fmt::format("{}: expected a list of strings", at(where, key)));
      out.push_back(item.Scalar());
    }
    return out;
  }

  // client-go ResolvePaths: relative to the folder of the file that holds the reference.
  std::string path(const std::string &p) const {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(base_) / p).lexically_normal().string();
  }

  template <typename Map, typename Read>
  void read_named(const YAML::Node &root, const std::string &list, const std::string &field, Map &out,
                  Read read) const {
    const YAML::Node items = root[list];
    if (!items || items.IsNull()) return;
    if (!items.IsSequence()) fail(fmt::format("{}: expected a list", list));
    std::size_t i = 0;
    for (const auto &item : items) {
      const std::string where = fmt::format("{}[{}]", list, i++);
      if (!item.IsMap()) fail(fmt::format("{}: expected a mapping with name and {}", where, field));
      const std::string name = string(item, "name", where);
      if (name.empty()) fail(fmt::format("{}: missing name", where));
      // client-go refuses a file that defines a name twice.
      if (out.count(name) != 0) fail(fmt::format("{}: duplicate {} name \"{}\"", where, field, name));
      const YAML::Node body = item[field];
      const std::string entry = fmt::format("{} \"{}\"", field, name);
      if (body && !body.IsNull() && !body.IsMap()) fail(fmt::format("{}: expected a mapping", entry));
      out.emplace(name, read(body && body.IsMap() ? body : YAML::Node(YAML::NodeType::Map), entry));
    }
  }

  RawCluster cluster(const YAML::Node &n, const std::string &where) const {
    RawCluster c;
    c.file = path_;
    c.server = string(n, "server", where);
    c.ca_file = path(string(n, "certificate-authority", where));
    c.ca_data = data(n, "certificate-authority-data", where);
    c.insecure = boolean(n, "insecure-skip-tls-verify", where);
    c.tls_server_name = string(n, "tls-server-name", where);
    c.proxy_url = string(n, "proxy-url", where);
    c.disable_compression = boolean(n, "disable-compression", where);
    const YAML::Node extensions = n["extensions"];
    if (extensions && extensions.IsSequence()) {
      for (const auto &ext : extensions) {
        if (ext.IsMap() && ext["name"] && ext["name"].IsScalar() && ext["name"].Scalar() == exec_extension &&
            ext["extension"])
          c.exec_config_json =
              to_json(ext["extension"], fmt::format("{}: extension {}", where, exec_extension)).dump();
      }
    }
    return c;
  }

  RawUser user(const YAML::Node &n, const std::string &where) const {
    RawUser u;
    u.file = path_;
    u.token = string(n, "token", where);
    u.token_file = path(string(n, "tokenFile", where));
    u.cert_file = path(string(n, "client-certificate", where));
    u.cert_data = data(n, "client-certificate-data", where);
    u.key_file = path(string(n, "client-key", where));
    u.key_data = data(n, "client-key-data", where);
    u.username = string(n, "username", where);
    u.password = string(n, "password", where);
    u.as = string(n, "as", where);
    u.as_uid = string(n, "as-uid", where);
    u.as_groups = strings(n, "as-groups", where);
    const YAML::Node provider = n["auth-provider"];
    if (provider && !provider.IsNull()) {
      u.auth_provider = provider.IsMap() ? string(provider, "name", at(where, "auth-provider")) : std::string();
    }
    const YAML::Node exec = n["exec"];
    if (exec && !exec.IsNull()) {
      const std::string w = at(where, "exec");
      if (!exec.IsMap()) fail(fmt::format("{}: expected a mapping", w));
      ExecConfig e;
      e.api_version = string(exec, "apiVersion", w);
      e.command = string(exec, "command", w);
      // Only a command with a folder in it is a path; a bare name is looked up in PATH (client-go does the same).
      if (e.command.find('/') != std::string::npos) e.command = path(e.command);
      e.args = strings(exec, "args", w);
      e.install_hint = string(exec, "installHint", w);
      e.provide_cluster_info = boolean(exec, "provideClusterInfo", w);
      e.interactive_mode = string(exec, "interactiveMode", w);
      // client-go's defaulting: v1beta1 plugins were interactive when they could be.
      if (e.interactive_mode.empty() && e.api_version == exec_v1beta1) e.interactive_mode = "IfAvailable";
      const YAML::Node env = exec["env"];
      if (env && !env.IsNull()) {
        if (!env.IsSequence()) fail(fmt::format("{}: env: expected a list of name/value pairs", w));
        std::size_t i = 0;
        for (const auto &item : env) {
          const std::string ew = fmt::format("{}: env[{}]", w, i++);
          if (!item.IsMap()) fail(fmt::format("{}: expected a mapping with name and value", ew));
          e.env.emplace_back(string(item, "name", ew), string(item, "value", ew));
        }
      }
      u.exec = std::move(e);
    }
    return u;
  }

  RawContext context(const YAML::Node &n, const std::string &where) const {
    RawContext c;
    c.file = path_;
    c.cluster = string(n, "cluster", where);
    c.user = string(n, "user", where);
    c.namespace_ = string(n, "namespace", where);
    return c;
  }

  // Extension objects are free-form; plain scalars keep the type yaml-cpp gives them (true, 3, 1.5), quoted ones
  // are strings.
  static nlohmann::json typed_scalar(const YAML::Node &n) {
    bool b = false;
    long long i = 0;
    double d = 0;
    if (YAML::convert<bool>::decode(n, b)) return b;
    if (YAML::convert<long long>::decode(n, i)) return i;
    if (YAML::convert<double>::decode(n, d)) return d;
    return n.Scalar();
  }

  [[nodiscard]] nlohmann::json to_json(const YAML::Node &n, const std::string &where) const {
    try {
      return util::yaml_to_json(n, typed_scalar, util::kMaxYamlNodes);
    } catch (const YAML::ParserException &e) {
      fail(fmt::format("{}: line {}, column {}: {}", where, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
  }
};

Kubeconfig parse_file(const std::string &path) {
  std::string error;
  auto content = text::read_file(path, error);
  if (!content) throw ConfigError(fmt::format("kubeconfig {}: cannot read: {}", path, error));
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  return FileParser(path, absolute.parent_path().lexically_normal().string()).parse(*content);
}

// First file wins for every name and for current-context (client-go mapConfig/mergo without override).
void merge(Kubeconfig &into, Kubeconfig &&from) {
  into.files.insert(into.files.end(), from.files.begin(), from.files.end());
  into.clusters.merge(from.clusters);
  into.users.merge(from.users);
  into.contexts.merge(from.contexts);
  if (into.current_context.empty()) into.current_context = from.current_context;
}

std::vector<std::string> split_kubeconfig_list(const std::string &value) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto end = value.find(':', start);
    if (end == std::string::npos) end = value.size();
    std::string item = value.substr(start, end - start);
    if (!item.empty() && seen.insert(item).second) out.push_back(item);
    start = end + 1;
  }
  return out;
}

struct Loaded {
  Kubeconfig config;
  std::string where_looked; // for "nothing found" messages
};

bool exists(const std::string &path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

Loaded load_files(const Overrides &o, const Environment &env) {
  Loaded l;
  if (o.kubeconfig) {
    l.config = parse_file(*o.kubeconfig);
    return l;
  }
  const auto kubeconfig_env = env.getenv ? env.getenv("KUBECONFIG") : std::nullopt;
  if (kubeconfig_env && !kubeconfig_env->empty()) {
    const auto files = split_kubeconfig_list(*kubeconfig_env);
    for (const auto &file : files) {
      if (!exists(file)) continue; // missing entries are skipped, as in client-go
      merge(l.config, parse_file(file));
    }
    l.where_looked = fmt::format("none of the files in KUBECONFIG exist: {}", text::join(files, ", "));
    return l;
  }
  std::string home = env.home;
  if (home.empty() && env.getenv) home = env.getenv("HOME").value_or("");
  const std::string default_file = home.empty() ? std::string() : home + "/.kube/config";
  if (!default_file.empty() && exists(default_file)) {
    l.config = parse_file(default_file);
    return l;
  }
  l.where_looked = fmt::format("KUBECONFIG is not set and {} does not exist",
                               default_file.empty() ? std::string("~/.kube/config") : default_file);
  return l;
}

std::string read_referenced(const std::string &path, const std::string &owner, std::string_view key) {
  std::string error;
  auto content = text::read_file(path, error);
  if (!content) throw ConfigError(fmt::format("{}{} {}: cannot read: {}", owner, key, path, error));
  return *content;
}

std::string join_host_port(const std::string &host, const std::string &port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// In-cluster config (client-go rest.InClusterConfig): possible when the service environment variables are set
// and the service-account token exists.
std::optional<std::string> in_cluster_unavailable(const Environment &env) {
  const auto host = env.getenv ? env.getenv("KUBERNETES_SERVICE_HOST") : std::nullopt;
  const auto port = env.getenv ? env.getenv("KUBERNETES_SERVICE_PORT") : std::nullopt;
  if (!host || host->empty()) return std::string("KUBERNETES_SERVICE_HOST is not set");
  if (!port || port->empty()) return std::string("KUBERNETES_SERVICE_PORT is not set");
  const std::string token = env.service_account_dir + "/token";
  if (!exists(token)) return fmt::format("no service-account token at {}", token);
  return std::nullopt;
}

// --as, --as-group, --as-uid and --disable-compression, over whatever the kubeconfig or the pod said.
void apply_identity_overrides(ClientConfig &c, const Overrides &o) {
  if (o.impersonate_user) c.impersonate_user = *o.impersonate_user;
  if (!o.impersonate_groups.empty()) c.impersonate_groups = o.impersonate_groups;
  if (o.impersonate_uid) c.impersonate_uid = *o.impersonate_uid;
  if (c.impersonate_user.empty() && (!c.impersonate_groups.empty() || !c.impersonate_uid.empty()))
    throw ConfigError("impersonating groups or a uid needs a user to impersonate: give --as too (or `as` in the "
                      "kubeconfig user)");
  if (o.disable_compression.value_or(false)) c.disable_compression = true;
}

ClientConfig in_cluster(const Overrides &o, const Environment &env) {
  ClientConfig c;
  const std::string dir = env.service_account_dir;
  c.in_cluster = true;
  c.source = fmt::format("in-cluster (service account in {})", dir);
  c.server = "https://" + join_host_port(*env.getenv("KUBERNETES_SERVICE_HOST"),
                                         *env.getenv("KUBERNETES_SERVICE_PORT"));
  c.token_file = dir + "/token";
  c.token = std::string(text::trim(read_referenced(c.token_file, "in-cluster config: ", "service-account token")));
  std::string error;
  // As client-go: a missing or unreadable ca.crt leaves the system store in charge.
  if (auto ca = text::read_file(dir + "/ca.crt", error)) c.ca_pem = *ca;

  if (o.namespace_ && !o.namespace_->empty()) {
    c.namespace_ = *o.namespace_;
    c.namespace_from_config = true;
  } else if (auto ns = env.getenv("POD_NAMESPACE"); ns && !ns->empty()) {
    c.namespace_ = *ns;
    c.namespace_from_config = true;
  } else if (auto file = text::read_file(dir + "/namespace", error); file && !text::trim(*file).empty()) {
    c.namespace_ = std::string(text::trim(*file));
    c.namespace_from_config = true;
  }

  if (o.server && !o.server->empty()) c.server = *o.server;
  if (o.token && !o.token->empty()) {
    c.token = *o.token;
    c.token_file.clear();
  }
  if (o.certificate_authority && !o.certificate_authority->empty())
    c.ca_pem = read_referenced(*o.certificate_authority, "", "--certificate-authority");
  if (o.insecure_skip_tls_verify.value_or(false)) {
    c.insecure_skip_tls_verify = true;
    c.ca_pem.clear();
  }
  if (o.tls_server_name) c.tls_server_name = *o.tls_server_name;
  c.request_timeout = o.request_timeout.value_or(std::chrono::milliseconds{0});
  c.cluster_ca_data_for_exec = base64_encode(c.ca_pem);
  apply_identity_overrides(c, o);
  return c;
}

std::string replacement_for_auth_provider(const std::string &name) {
  if (name == "gcp")
    return "use the exec plugin gke-gcloud-auth-plugin instead (gcloud components install "
           "gke-gcloud-auth-plugin, then fetch the credentials again)";
  if (name == "azure") return "use the exec plugin kubelogin instead (kubelogin convert-kubeconfig)";
  if (name == "oidc")
    return "use the exec plugin kubelogin instead (kubectl oidc-login, github.com/int128/kubelogin)";
  return "use an exec credential plugin instead";
}

void validate_exec(const ExecConfig &e, const std::string &owner) {
  if (e.command.empty()) throw ConfigError(owner + "exec.command is required");
  if (e.api_version.empty()) throw ConfigError(owner + "exec.apiVersion is required");
  if (e.api_version != exec_v1 && e.api_version != exec_v1beta1)
    throw ConfigError(fmt::format("{}exec.apiVersion \"{}\" is not supported (use {} or {})", owner,
                                  e.api_version, exec_v1, exec_v1beta1));
  for (std::size_t i = 0; i < e.env.size(); ++i)
    if (e.env[i].first.empty()) throw ConfigError(fmt::format("{}exec.env[{}]: missing name", owner, i));
  if (e.interactive_mode.empty())
    throw ConfigError(fmt::format("{}exec.interactiveMode is required in {} (Never, IfAvailable or Always)",
                                  owner, e.api_version));
  if (e.interactive_mode != "Never" && e.interactive_mode != "IfAvailable" && e.interactive_mode != "Always")
    throw ConfigError(fmt::format("{}exec.interactiveMode \"{}\" is not valid (Never, IfAvailable or Always)",
                                  owner, e.interactive_mode));
}

std::string scheme_of(const std::string &server) {
  const auto at = server.find("://");
  return at == std::string::npos ? std::string() : server.substr(0, at);
}

ClientConfig from_kubeconfig(const Kubeconfig &k, const Overrides &o) {
  const std::string files = k.label();
  ClientConfig c;
  c.source = "kubeconfig " + files;

  // 1. The context: --context, else current-context.
  RawContext context;
  const bool context_from_flag = o.context && !o.context->empty();
  c.context_name = context_from_flag ? *o.context : k.current_context;
  if (!c.context_name.empty()) {
    auto it = k.contexts.find(c.context_name);
    if (it == k.contexts.end())
      throw ConfigError(fmt::format("kubeconfig {}: {} \"{}\" not found ({})", files,
                                    context_from_flag ? "context" : "current-context", c.context_name,
                                    known("contexts", k.contexts)));
    context = it->second;
  } else if (!(o.cluster && !o.cluster->empty()) && !(o.server && !o.server->empty())) {
    throw ConfigError(fmt::format("kubeconfig {}: no current-context is set and --context is not given ({})",
                                  files, known("contexts", k.contexts)));
  }
  const std::string context_owner = fmt::format("kubeconfig {}: context \"{}\": ", context.file, c.context_name);

  // 2. The cluster it names (or --cluster), with the cluster flags on top.
  RawCluster cluster;
  const bool cluster_from_flag = o.cluster && !o.cluster->empty();
  c.cluster_name = cluster_from_flag ? *o.cluster : context.cluster;
  if (!c.cluster_name.empty()) {
    auto it = k.clusters.find(c.cluster_name);
    if (it == k.clusters.end()) {
      if (cluster_from_flag)
        throw ConfigError(fmt::format("kubeconfig {}: cluster \"{}\" (from --cluster) not found ({})", files,
                                      c.cluster_name, known("clusters", k.clusters)));
      throw ConfigError(fmt::format("{}cluster \"{}\" not found ({})", context_owner, c.cluster_name,
                                    known("clusters", k.clusters)));
    }
    cluster = it->second;
  } else if (!(o.server && !o.server->empty())) {
    throw ConfigError(context_owner + "no cluster is set (set cluster in the context, or use --cluster)");
  }
  const std::string cluster_owner =
      c.cluster_name.empty() ? std::string()
                             : fmt::format("kubeconfig {}: cluster \"{}\": ", cluster.file, c.cluster_name);
  if (o.server && !o.server->empty()) {
    cluster.server = *o.server;
    // client-go: a --server from the command line drops the kubeconfig's tls-server-name unless one is given.
    cluster.tls_server_name = o.tls_server_name.value_or("");
  } else if (o.tls_server_name) {
    cluster.tls_server_name = *o.tls_server_name;
  }
  bool ca_from_flag = false;
  if (o.insecure_skip_tls_verify.value_or(false) || (o.certificate_authority && !o.certificate_authority->empty())) {
    cluster.insecure = o.insecure_skip_tls_verify.value_or(false);
    cluster.ca_file = o.certificate_authority.value_or("");
    cluster.ca_data.reset();
    ca_from_flag = !cluster.ca_file.empty();
  }

  // 3. The user it names (or --user), with the credential flags on top.
  RawUser user;
  const bool user_from_flag = o.user && !o.user->empty();
  c.user_name = user_from_flag ? *o.user : context.user;
  if (!c.user_name.empty()) {
    auto it = k.users.find(c.user_name);
    if (it == k.users.end()) {
      if (user_from_flag)
        throw ConfigError(fmt::format("kubeconfig {}: user \"{}\" (from --user) not found ({})", files,
                                      c.user_name, known("users", k.users)));
      throw ConfigError(
          fmt::format("{}user \"{}\" not found ({})", context_owner, c.user_name, known("users", k.users)));
    }
    user = it->second;
  }
  const std::string user_owner =
      c.user_name.empty() ? std::string() : fmt::format("kubeconfig {}: user \"{}\": ", user.file, c.user_name);
  if (o.token && !o.token->empty()) {
    user.token = *o.token;
    user.token_file.clear();
  }
  bool cert_from_flag = false;
  bool key_from_flag = false;
  if (o.client_certificate && !o.client_certificate->empty()) {
    user.cert_file = *o.client_certificate;
    user.cert_data.reset();
    cert_from_flag = true;
  }
  if (o.client_key && !o.client_key->empty()) {
    user.key_file = *o.client_key;
    user.key_data.reset();
    key_from_flag = true;
  }

  // 4. Validate what was chosen (client-go validateClusterInfo / validateAuthInfo).
  if (cluster.server.empty()) throw ConfigError(cluster_owner + "no server is set");
  if (!cluster.ca_file.empty() && cluster.ca_data)
    throw ConfigError(cluster_owner + "certificate-authority and certificate-authority-data are both set (keep one)");
  if (cluster.insecure && (!cluster.ca_file.empty() || cluster.ca_data))
    throw ConfigError(cluster_owner +
                      "insecure-skip-tls-verify cannot be combined with a certificate authority (remove one)");
  if (!cluster.proxy_url.empty()) {
    const auto scheme = scheme_of(cluster.proxy_url);
    if (scheme != "http" && scheme != "https" && scheme != "socks5")
      throw ConfigError(
          fmt::format("{}proxy-url \"{}\" must use http, https or socks5", cluster_owner, cluster.proxy_url));
  }
  if (user.auth_provider)
    throw ConfigError(fmt::format("{}auth-provider \"{}\" is no longer supported by Kubernetes clients; {}",
                                  user_owner, *user.auth_provider,
                                  replacement_for_auth_provider(*user.auth_provider)));
  const bool has_cert = !user.cert_file.empty() || user.cert_data;
  const bool has_key = !user.key_file.empty() || user.key_data;
  if (!user.cert_file.empty() && user.cert_data)
    throw ConfigError(user_owner + "client-certificate and client-certificate-data are both set (keep one)");
  if (!user.key_file.empty() && user.key_data)
    throw ConfigError(user_owner + "client-key and client-key-data are both set (keep one)");
  if (has_cert && !has_key)
    throw ConfigError(user_owner + "client-certificate is set but no client-key (set client-key or client-key-data)");
  if (has_key && !has_cert)
    throw ConfigError(user_owner +
                      "client-key is set but no client-certificate (set client-certificate or client-certificate-data)");
  if ((!user.token.empty() || !user.token_file.empty()) && (!user.username.empty() || !user.password.empty()))
    throw ConfigError(user_owner + "token and username/password are both set (only one authentication method is allowed)");
  if (user.exec) validate_exec(*user.exec, user_owner);

  // 5. Server URL: as client-go, a bare host:port means https when TLS settings are present.
  const std::string server_as_given = cluster.server;
  const auto scheme = scheme_of(cluster.server);
  if (scheme.empty()) {
    const bool tls = !cluster.ca_file.empty() || cluster.ca_data || has_cert || cluster.insecure;
    cluster.server = (tls ? "https://" : "http://") + cluster.server;
  } else if (scheme != "https" && scheme != "http") {
    throw ConfigError(fmt::format("{}server \"{}\" is not an http or https URL",
                                  cluster_owner.empty() ? "--server: " : cluster_owner, cluster.server));
  }
  const auto authority_at = cluster.server.find("://") + 3;
  // The host[:port] part; "https://" alone would otherwise lose its slashes below and become "https:".
  const auto authority =
      cluster.server.substr(authority_at, cluster.server.find_first_of("/?#", authority_at) - authority_at);
  if (authority.empty() || authority.front() == ':')
    throw ConfigError(fmt::format("{}server \"{}\" has no host (set it to https://HOST:PORT)",
                                  cluster_owner.empty() ? "--server: " : cluster_owner, server_as_given));
  while (cluster.server.size() > authority_at + authority.size() && cluster.server.back() == '/')
    cluster.server.pop_back();

  // 6. Read what the entries point at, and fill the config.
  c.server = cluster.server;
  c.insecure_skip_tls_verify = cluster.insecure;
  c.tls_server_name = cluster.tls_server_name;
  c.proxy_url = cluster.proxy_url;
  c.disable_compression = cluster.disable_compression;
  if (cluster.ca_data) c.ca_pem = *cluster.ca_data;
  if (!cluster.ca_file.empty())
    c.ca_pem = read_referenced(cluster.ca_file, ca_from_flag ? "" : cluster_owner,
                               ca_from_flag ? "--certificate-authority" : "certificate-authority");
  c.cluster_ca_data_for_exec = base64_encode(c.ca_pem);

  // client-go sends credentials only over TLS (IsConfigTransportTLS); over plain http the user is not used.
  if (scheme_of(c.server) == "https") {
    c.token = user.token;
    if (!user.token_file.empty()) {
      c.token_file = user.token_file;
      if (c.token.empty())
        c.token = std::string(text::trim(read_referenced(user.token_file, user_owner, "tokenFile")));
    }
    if (user.cert_data) c.client_cert_pem = *user.cert_data;
    if (!user.cert_file.empty())
      c.client_cert_pem = read_referenced(user.cert_file, cert_from_flag ? "" : user_owner,
                                          cert_from_flag ? "--client-certificate" : "client-certificate");
    if (user.key_data) c.client_key_pem = *user.key_data;
    if (!user.key_file.empty())
      c.client_key_pem =
          read_referenced(user.key_file, key_from_flag ? "" : user_owner, key_from_flag ? "--client-key" : "client-key");
    c.username = user.username;
    c.password = user.password;
    if (user.exec) {
      c.exec = *user.exec;
      c.exec->cluster_config_json = cluster.exec_config_json;
    }
    c.impersonate_user = user.as;
    c.impersonate_uid = user.as_uid;
    c.impersonate_groups = user.as_groups;
  }

  if (o.namespace_ && !o.namespace_->empty()) {
    c.namespace_ = *o.namespace_;
    c.namespace_from_config = true;
  } else if (!context.namespace_.empty()) {
    c.namespace_ = context.namespace_;
    c.namespace_from_config = true;
  }
  c.request_timeout = o.request_timeout.value_or(std::chrono::milliseconds{0});
  apply_identity_overrides(c, o);
  return c;
}

// Only the command-line flags: --server with no kubeconfig at all (client-go accepts that).
ClientConfig from_flags_only(const Overrides &o) {
  Kubeconfig none;
  ClientConfig c = from_kubeconfig(none, o);
  c.source = "command-line flags";
  return c;
}

} // namespace

ClientConfig load_client_config(const Overrides &overrides, const Environment &env) {
  Loaded loaded = load_files(overrides, env);
  if (!loaded.config.empty()) return from_kubeconfig(loaded.config, overrides);

  const bool server_flag = overrides.server && !overrides.server->empty();
  if (server_flag && !(overrides.context && !overrides.context->empty())) return from_flags_only(overrides);
  const auto not_in_cluster = in_cluster_unavailable(env);
  if (!not_in_cluster) return in_cluster(overrides, env);
  if (loaded.config.files.empty())
    throw ConfigError(fmt::format("no kubeconfig found ({}) and not running in a cluster ({}); use --kubeconfig "
                                  "or set KUBECONFIG",
                                  loaded.where_looked, *not_in_cluster));
  throw ConfigError(fmt::format("kubeconfig {}: defines no contexts, clusters or users, and not running in a "
                                "cluster ({})",
                                loaded.config.label(), *not_in_cluster));
}

std::vector<std::string> list_contexts(const Overrides &overrides, const Environment &env) {
  const Loaded loaded = load_files(overrides, env);
  std::vector<std::string> out;
  for (const auto &entry : loaded.config.contexts) out.push_back(entry.first);
  return out;
}

} // namespace vmsync::kube
