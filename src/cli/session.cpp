#include "session.hpp"

#include "vmsync/util/duration.hpp"
#include "vmsync/version.hpp"

#include <fmt/format.h>

namespace vmsync::cli {

Session connect(const GlobalOptions &g, std::optional<std::chrono::steady_clock::time_point> deadline) {
  auto overrides = g.kube;
  if (!g.request_timeout_text.empty())
    overrides.request_timeout = util::parse_duration(g.request_timeout_text, "--request-timeout");
  Session s;
  s.config = kube::load_client_config(overrides, kube::Environment::system());
  if (s.config.insecure_skip_tls_verify)
    log_stderr(fmt::format("vmsync: warning: TLS verification of {} is disabled (insecure-skip-tls-verify): the "
                           "connection can be intercepted",
                           s.config.server));
  if (g.verbosity >= 1)
    log_stderr(fmt::format("vmsync: using {} (context \"{}\", server {})", s.config.source, s.config.context_name,
                           s.config.server));
  kube::ClientOptions opts;
  opts.user_agent = fmt::format("vmsync/{}", version());
  opts.verbosity = g.verbosity;
  opts.deadline = deadline;
  opts.log = log_stderr;
  s.client = kube::Client::connect(s.config, std::move(opts));
  return s;
}

std::string effective_namespace(const GlobalOptions &g, const Session *s) {
  if (g.kube.namespace_ && !g.kube.namespace_->empty()) return *g.kube.namespace_;
  if (s != nullptr && !s->config.namespace_.empty()) return s->config.namespace_;
  return "default";
}

} // namespace vmsync::cli
