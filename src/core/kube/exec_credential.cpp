#include "vmsync/kube/exec_credential.hpp"

#include "text.hpp"
#include "vmsync/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ; // NOLINT(readability-redundant-declaration): POSIX declares it nowhere in a header

namespace vmsync::kube {

std::string describe_exec_plugin(const ExecConfig &exec, const std::string &user_name) {
  if (user_name.empty()) return fmt::format("exec credential plugin \"{}\"", exec.command);
  return fmt::format("exec credential plugin \"{}\" (user \"{}\")", exec.command, user_name);
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  auto digits = [&s](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  // YYYY-MM-DDTHH:MM:SS
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2),
             sec = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  std::size_t at = 19;
  nanoseconds fraction{0};
  if (at < s.size() && s[at] == '.') {
    ++at;
    long long scale = 100000000;
    const std::size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      fraction += nanoseconds{(s[at] - '0') * scale};
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  minutes offset{0};
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || at + 3 >= s.size() || s[at + 3] != ':') return std::nullopt;
    offset = hours{*oh} + minutes{*om};
    if (s[at] == '-') offset = -offset;
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  // In whole seconds first: system_clock counts nanoseconds in 64 bits, which ends in 2262, and plugins do say
  // "9999-12-31T23:59:59Z" for "never". Beyond its range the time saturates instead of overflowing.
  const sys_seconds utc = sys_days{date} + hours{*h} + minutes{*mi} + seconds{*sec} - offset;
  constexpr auto limit = duration_cast<seconds>(system_clock::duration::max()) - seconds{1};
  if (utc.time_since_epoch() >= limit) return system_clock::time_point::max();
  if (utc.time_since_epoch() <= -limit) return system_clock::time_point::min();
  return time_point_cast<system_clock::duration>(utc) + duration_cast<system_clock::duration>(fraction);
}

ExecCredential parse_exec_credential(std::string_view output, const std::string &api_version,
                                     const std::string &plugin) {
  const auto fail = [&plugin](const std::string &what) { throw ConfigError(fmt::format("{} {}", plugin, what)); };
  const auto j = nlohmann::json::parse(output, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail("printed something that is not an ExecCredential (not a JSON object)");
  const auto str = [&j](const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (str("kind") != "ExecCredential")
    fail(fmt::format("printed kind \"{}\", expected ExecCredential", str("kind")));
  if (str("apiVersion") != api_version)
    fail(fmt::format("answered in apiVersion \"{}\", but the kubeconfig asks for \"{}\"", str("apiVersion"),
                     api_version));
  auto status = j.find("status");
  if (status == j.end() || !status->is_object()) fail("printed an ExecCredential without a status");
  const auto field = [&status, &fail](const char *key) {
    auto it = status->find(key);
    if (it == status->end() || it->is_null()) return std::string();
    if (!it->is_string()) fail(fmt::format("printed a status.{} that is not a string", key));
    return it->get<std::string>();
  };
  ExecCredential c;
  c.token = field("token");
  c.client_certificate_pem = field("clientCertificateData");
  c.client_key_pem = field("clientKeyData");
  const std::string expiry = field("expirationTimestamp");
  if (!expiry.empty()) {
    c.expiration = parse_rfc3339(expiry);
    if (!c.expiration) fail(fmt::format("printed an invalid status.expirationTimestamp \"{}\"", expiry));
  }
  if (c.client_certificate_pem.empty() != c.client_key_pem.empty())
    fail("printed only one of status.clientCertificateData and status.clientKeyData (both are needed)");
  if (c.token.empty() && c.client_certificate_pem.empty())
    fail("printed neither status.token nor status.clientCertificateData and status.clientKeyData");
  return c;
}

std::string exec_info(const ExecConfig &exec, const ClientConfig &config, bool interactive) {
  nlohmann::json spec = {{"interactive", interactive}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", config.server}};
    if (!config.tls_server_name.empty()) cluster["tls-server-name"] = config.tls_server_name;
    if (config.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    if (!config.cluster_ca_data_for_exec.empty())
      cluster["certificate-authority-data"] = config.cluster_ca_data_for_exec;
    if (!config.proxy_url.empty()) cluster["proxy-url"] = config.proxy_url;
    if (config.disable_compression) cluster["disable-compression"] = true;
    if (!exec.cluster_config_json.empty())
      cluster["config"] = nlohmann::json::parse(exec.cluster_config_json, nullptr, false);
    spec["cluster"] = std::move(cluster);
  }
  const nlohmann::json info = {{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  // Command-line values (--server, ...) need not be UTF-8: replaced as Go's encoding/json would, never thrown.
  return info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// RAII for the file descriptors and spawn attributes used below.
class Fd {
public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_;
};

class FileActions {
public:
  FileActions() {
    if (int rc = posix_spawn_file_actions_init(&actions_); rc != 0)
      throw ConfigError(fmt::format("cannot prepare the exec credential plugin: {}", text::errno_text(rc)));
  }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions &) = delete;
  FileActions &operator=(const FileActions &) = delete;
  posix_spawn_file_actions_t *get() noexcept { return &actions_; }

private:
  posix_spawn_file_actions_t actions_{};
};

void check(int rc, const std::string &plugin) {
  if (rc != 0) throw ConfigError(fmt::format("{}: cannot start: {}", plugin, text::errno_text(rc)));
}

} // namespace

std::string run_exec_plugin(const ExecConfig &exec, const EnvVars &env, bool interactive,
                            const std::string &plugin) {
  // Our environment, then the plugin's variables on top (later ones win, as in Go's os/exec).
  std::map<std::string, std::string> vars;
  std::vector<std::string> order;
  const auto set = [&vars, &order](const std::string &name, const std::string &value) {
    if (vars.find(name) == vars.end()) order.push_back(name);
    vars[name] = value;
  };
  for (char **e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    set(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  for (const auto &[name, value] : exec.env) set(name, value);
  for (const auto &[name, value] : env) set(name, value);
  std::vector<std::string> env_strings;
  env_strings.reserve(order.size());
  for (const auto &name : order) env_strings.push_back(name + "=" + vars[name]);
  std::vector<char *> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto &s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings{exec.command};
  argv_strings.insert(argv_strings.end(), exec.args.begin(), exec.args.end());
  std::vector<char *> argv;
  argv.reserve(argv_strings.size() + 1);
  for (auto &s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int pipe_fds[2] = {-1, -1};
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw ConfigError(fmt::format("{}: cannot start: {}", plugin, text::errno_text(errno)));
  Fd read_end(pipe_fds[0]);
  Fd write_end(pipe_fds[1]);

  FileActions actions;
  check(posix_spawn_file_actions_adddup2(actions.get(), write_end.get(), STDOUT_FILENO), plugin);
  if (!interactive)
    check(posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0), plugin);

  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, exec.command.c_str(), actions.get(), nullptr, argv.data(), envp.data());
  write_end.reset();
  if (rc == ENOENT) {
    if (!exec.install_hint.empty())
      throw ConfigError(fmt::format("{}: command not found; {}", plugin, text::one_line(exec.install_hint)));
    throw ConfigError(fmt::format("{}: command not found (is it installed and in PATH?)", plugin));
  }
  if (rc != 0) throw ConfigError(fmt::format("{}: cannot run: {}", plugin, text::errno_text(rc)));

  std::string output;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n > 0) {
      output.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw ConfigError(fmt::format("{}: cannot wait for it: {}", plugin, text::errno_text(errno)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw ConfigError(fmt::format("{} failed with exit code {}", plugin, WEXITSTATUS(status)));
  if (WIFSIGNALED(status)) throw ConfigError(fmt::format("{} was killed by signal {}", plugin, WTERMSIG(status)));
  return output;
}

ExecAuthenticator::ExecAuthenticator(const ClientConfig &config, std::function<void(const std::string &)> log,
                                     int verbosity, Hooks hooks)
    : config_(config), log_(std::move(log)), verbosity_(verbosity), hooks_(std::move(hooks)) {
  if (!config_.exec) throw ConfigError("internal: ExecAuthenticator without an exec config");
  if (!hooks_.now) hooks_.now = [] { return std::chrono::system_clock::now(); };
  if (!hooks_.stdin_is_terminal) hooks_.stdin_is_terminal = [] { return ::isatty(STDIN_FILENO) != 0; };
  if (!hooks_.run) hooks_.run = run_exec_plugin;
}

const ExecCredential &ExecAuthenticator::credential() {
  if (cached_ && (!cached_->expiration || hooks_.now() < *cached_->expiration)) return *cached_;
  cached_.reset();
  const ExecConfig &exec = *config_.exec;
  const std::string plugin = describe_exec_plugin(exec, config_.user_name);
  bool interactive = false;
  if (exec.interactive_mode != "Never") {
    interactive = hooks_.stdin_is_terminal();
    if (exec.interactive_mode == "Always" && !interactive)
      throw ConfigError(fmt::format("{} needs a terminal (interactiveMode: Always) but standard input is not one",
                                    plugin));
  }
  EnvVars env{{"KUBERNETES_EXEC_INFO", exec_info(exec, config_, interactive)}};
  if (verbosity_ >= 1 && log_) log_(fmt::format("running exec credential plugin \"{}\" from kubeconfig", exec.command));
  ++runs_;
  const std::string output = hooks_.run(exec, env, interactive, plugin);
  cached_ = parse_exec_credential(output, exec.api_version, plugin);
  return *cached_;
}

void ExecAuthenticator::invalidate() noexcept { cached_.reset(); }

} // namespace vmsync::kube
