// Executing a fix plan. Per cluster:
//   1. take the Lease vmsync-fix-<cluster> (one fixer per VictoriaMetrics cluster; wait up to --lock-wait);
//   2. re-read and re-plan under it: the plan shown before may be stale, and what another run already applied
//      simply drops out of a plan computed from live state (this is also how a failed run resumes);
//   3. execute the steps in order; a 409 (stale resourceVersion, a JSON patch `test` that no longer holds, a pod
//      replaced under a uid precondition) re-reads and re-plans, a bounded number of times; a write whose answer
//      was lost is decided by reading its object back (applied: go on; not applied: re-plan and resend, bounded;
//      unreadable: its outcome stays unknown); any other failure stops the cluster, and the outcome lists the
//      steps applied, the one of unknown outcome, and those not applied;
//   4. waits poll the same read + drift computation that check uses, so "done" means what check will say;
//   5. Events on every object changed and the last-fix annotation on workloads vmsync edited; release the Lease.
// Then one fresh check of the whole scope decides the exit code.
#include "vmsync/fix/apply.hpp"

#include "consumer_state.hpp"
#include "vmsync/error.hpp"
#include "vmsync/fix/read_back.hpp"
#include "vmsync/fix/render.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <set>
#include <thread>

namespace vmsync::fix {

using check::meta_name;
using check::str_at;
using nlohmann::json;
using std::chrono::system_clock;
namespace chrono = std::chrono;

namespace {

// A write whose answer was lost and whose object could not be read back either: it may have been applied.
class OutcomeUnknown : public Error {
public:
  using Error::Error;
};

// A write whose answer was lost and that, read back, was not applied: safe to plan again and resend.
class LostNotApplied : public Error {
public:
  using Error::Error;
};

// Whether a write that failed with `e` may still have been applied: it reached the server and no readable answer
// came back. A status the API server chose to send (409, 422, 500 with a Status, ...) says it was not applied;
// 504 says the server stopped waiting for it, not that it was undone.
bool may_have_acted(const Error &e) {
  if (dynamic_cast<const OutcomeUnknown *>(&e) != nullptr) return true;
  if (const auto *api = dynamic_cast<const ApiError *>(&e)) return api->status() == 504;
  if (const auto *transfer = dynamic_cast<const kube::TransferError *>(&e)) return transfer->request_sent();
  return dynamic_cast<const ParseError *>(&e) != nullptr; // a 2xx answer that could not be read: it was applied
}

} // namespace

bool ApplyResult::failed() const {
  return std::any_of(clusters.begin(), clusters.end(), [](const ClusterOutcome &c) { return !c.error.empty(); });
}

std::string micro_time(system_clock::time_point t) {
  const auto secs = chrono::time_point_cast<chrono::seconds>(t);
  const auto micros = chrono::duration_cast<chrono::microseconds>(t - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

namespace {

std::string seconds_time(system_clock::time_point t) {
  auto s = micro_time(t);
  return s.substr(0, 19) + "Z";
}

} // namespace

std::optional<system_clock::time_point> parse_time(const std::string &s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (s.size() < 19 || std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  auto t = system_clock::from_time_t(timegm(&tm));
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t end = pos + 1;
    long long frac = 0;
    int digits = 0;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end])) != 0) {
      if (digits < 6) {
        frac = frac * 10 + (s[end] - '0');
        ++digits;
      }
      ++end;
    }
    while (digits < 6) {
      frac *= 10;
      ++digits;
    }
    t += chrono::microseconds(frac);
    pos = end;
  }
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &oh, &om) == 2) {
      const auto offset = chrono::hours(oh) + chrono::minutes(om);
      t += s[pos] == '+' ? -offset : offset;
    }
  }
  return t;
}

namespace {

kube::Resource resource_for(const Target &t) {
  if (t.kind == "ConfigMap") return kube::resources::configmaps;
  if (t.kind == "Pod") return kube::resources::pods;
  if (t.kind == "Deployment") return kube::resources::deployments;
  if (t.kind == "StatefulSet") return kube::resources::statefulsets;
  const auto slash = t.api_version.find('/');
  const std::string group = slash == std::string::npos ? "" : t.api_version.substr(0, slash);
  const std::string version = slash == std::string::npos ? t.api_version : t.api_version.substr(slash + 1);
  if (t.kind == "InstanceSet") return {group, version, "instancesets", "InstanceSet", true};
  if (t.kind == "OpsRequest") return {group, version, "opsrequests", "OpsRequest", true};
  throw Error(fmt::format("internal: no API resource known for kind {}", t.kind));
}

// A 409, or a 422 on a JSON patch: a failed `test` operation comes back as 422 with only a generic message (the
// "testing value ... failed" text is in details.causes), so any 422 there is taken as "the object moved since it
// was read". A patch that is really invalid fails again after re-planning, and the bound on conflicts ends it.
bool is_conflict(const ApiError &e, const Step &s) {
  if (e.status() == 409) return true;
  return e.status() == 422 && s.patch_type == kube::PatchType::Json;
}

std::string target_text(const Target &t) { return fmt::format("{} {}/{}", t.kind, t.namespace_, t.name); }

// Why an OpsRequest ended `phase`, from what KubeBlocks writes: the message of the condition of that type and
// those of the failed progress details of its components (": <message>; <pod>: <message>"), or "".
std::string opsrequest_why(const json &ops, const std::string &phase) {
  std::vector<std::string> why;
  const auto &conds = check::at_path(ops, {"status", "conditions"});
  if (conds.is_array())
    for (const auto &c : conds)
      if (str_at(c, {"type"}) == phase && !str_at(c, {"message"}).empty()) why.push_back(str_at(c, {"message"}));
  const auto &comps = check::at_path(ops, {"status", "components"});
  if (comps.is_object())
    for (const auto &[name, comp] : comps.items()) {
      const auto &details = check::at_path(comp, {"progressDetails"});
      if (!details.is_array()) continue;
      for (const auto &d : details)
        if (str_at(d, {"status"}) == "Failed" && !str_at(d, {"message"}).empty())
          why.push_back(fmt::format("{}: {}", str_at(d, {"objectKey"}), str_at(d, {"message"})));
    }
  return why.empty() ? std::string{} : fmt::format(": {}", fmt::join(why, "; "));
}

struct Clock {
  const ApplyOptions &o;
  [[nodiscard]] system_clock::time_point now() const { return o.now ? o.now() : system_clock::now(); }
  void sleep(chrono::milliseconds d) const {
    if (d.count() <= 0) return;
    if (o.sleep) o.sleep(d);
    else std::this_thread::sleep_for(d);
  }
};

// ---- the Lease ----------------------------------------------------------------------------------------------

class LeaseLock {
public:
  LeaseLock(kube::Client &client, std::string ns, std::string name, const ApplyOptions &o)
      : client_(client), ns_(std::move(ns)), name_(std::move(name)), o_(o), clock_{o} {}

  // nullopt when acquired; else who holds it.
  std::optional<std::string> acquire() {
    const auto give_up = chrono::steady_clock::now() + o_.lock_wait;
    for (;;) {
      auto cur = client_.get_if_exists(kube::resources::leases, ns_, name_);
      const auto now = clock_.now();
      const auto stamp = micro_time(now);
      if (!cur) {
        json body = {{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", name_}, {"namespace", ns_}, {"labels", {{"app.kubernetes.io/managed-by", "vmsync"}}}}},
                     {"spec",
                      {{"holderIdentity", o_.holder},
                       {"leaseDurationSeconds", o_.lease_duration.count()},
                       {"acquireTime", stamp},
                       {"renewTime", stamp},
                       {"leaseTransitions", 0}}}};
        try {
          auto created = client_.create(kube::resources::leases, ns_, body, kube::DryRun::None);
          uid_ = str_at(created, {"metadata", "uid"});
          held_ = true;
          last_renew_ = chrono::steady_clock::now();
          return std::nullopt;
        } catch (const ApiError &e) {
          if (e.status() != 409) throw;
          continue; // someone created it just now: look again
        }
      }
      const auto holder = str_at(*cur, {"spec", "holderIdentity"});
      const auto renewed = parse_time(str_at(*cur, {"spec", "renewTime"}));
      const auto duration = chrono::seconds(check::int_at(*cur, {"spec", "leaseDurationSeconds"}, 60));
      const bool expired = !renewed || *renewed + duration < now;
      if (holder.empty() || holder == o_.holder || expired) {
        const int transitions = check::int_at(*cur, {"spec", "leaseTransitions"}, 0) + (holder == o_.holder ? 0 : 1);
        json patch = {{"metadata", {{"resourceVersion", str_at(*cur, {"metadata", "resourceVersion"})}}},
                      {"spec",
                       {{"holderIdentity", o_.holder},
                        {"leaseDurationSeconds", o_.lease_duration.count()},
                        {"acquireTime", stamp},
                        {"renewTime", stamp},
                        {"leaseTransitions", transitions}}}};
        try {
          client_.patch(kube::resources::leases, ns_, name_, kube::PatchType::Merge, patch, kube::DryRun::None);
          uid_ = str_at(*cur, {"metadata", "uid"});
          held_ = true;
          last_renew_ = chrono::steady_clock::now();
          return std::nullopt;
        } catch (const ApiError &e) {
          if (e.status() != 409) throw;
          continue;
        }
      }
      if (chrono::steady_clock::now() >= give_up) {
        const auto left = chrono::duration_cast<chrono::seconds>(*renewed + duration - now).count();
        return fmt::format("another vmsync fix holds Lease {}/{}: holder {}, renewed {}, expires in {}s unless "
                           "renewed (wait with --lock-wait)",
                           ns_, name_, holder, str_at(*cur, {"spec", "renewTime"}), left);
      }
      clock_.sleep(std::min(o_.poll, chrono::duration_cast<chrono::milliseconds>(give_up - chrono::steady_clock::now())));
    }
  }

  void renew_if_due() {
    if (!held_ || chrono::steady_clock::now() - last_renew_ < o_.lease_duration / 3) return;
    json patch = json::array({{{"op", "test"}, {"path", "/spec/holderIdentity"}, {"value", o_.holder}},
                              {{"op", "replace"}, {"path", "/spec/renewTime"}, {"value", micro_time(clock_.now())}}});
    try {
      client_.patch(kube::resources::leases, ns_, name_, kube::PatchType::Json, patch, kube::DryRun::None);
    } catch (const ApiError &e) {
      throw Error(fmt::format("lost Lease {}/{} (another fixer took it over?): {}", ns_, name_, e.what()));
    }
    last_renew_ = chrono::steady_clock::now();
  }

  // Deletes the Lease when it is still ours (the uid precondition guards against a Lease made anew).
  void release() noexcept {
    if (!held_) return;
    held_ = false;
    try {
      auto cur = client_.get_if_exists(kube::resources::leases, ns_, name_);
      if (!cur || str_at(*cur, {"spec", "holderIdentity"}) != o_.holder) return;
      client_.remove(kube::resources::leases, ns_, name_, kube::DryRun::None, str_at(*cur, {"metadata", "uid"}));
    } catch (const std::exception &) {
      // It expires by itself after leaseDurationSeconds.
    }
  }

private:
  kube::Client &client_;
  std::string ns_, name_;
  const ApplyOptions &o_;
  Clock clock_;
  std::string uid_;
  bool held_ = false;
  chrono::steady_clock::time_point last_renew_;
};

// ---- one cluster's run --------------------------------------------------------------------------------------

struct LastFix {
  std::string hash;
  std::vector<std::string> added, removed;
};

std::string list_text(const std::vector<std::string> &v) { return v.empty() ? "none" : fmt::format("{}", fmt::join(v, ", ")); }

class ClusterRun {
public:
  ClusterRun(kube::Client &client, check::Scope scope, const FixOptions &fo, const ApplyOptions &ao, Reporter &r,
             LeaseLock &lease, std::optional<chrono::steady_clock::time_point> deadline)
      : client_(client), scope_(std::move(scope)), fo_(fo), ao_(ao), reporter_(r), lease_(lease),
        deadline_(deadline), clock_{ao} {}

  void execute(const Step &s, std::string &detail) {
    const auto &t = s.target;
    switch (s.action) {
    case Action::PatchConfigMap: {
      auto resp = write(s, detail, [&] {
        return client_.patch(resource_for(t), t.namespace_, t.name, *s.patch_type, s.body, kube::DryRun::None);
      });
      event(t, str_at(resp, {"metadata", "uid"}), kReasonRepaired, "Repair",
            fmt::format("vmsync repaired the vmstorage list for {} {}: added {}; removed {}", model::to_string(s.role),
                        target_text(s.workload), list_text(s.added), list_text(s.removed)));
      remember(s);
      // A pod started within the second of this change could not be proven to have the new value.
      pass_second(clock_.now());
      break;
    }
    case Action::PatchTemplate:
    case Action::RestartRollout: {
      not_before(s);
      auto resp = write(s, detail, [&] {
        return client_.patch(resource_for(t), t.namespace_, t.name, *s.patch_type, s.body, kube::DryRun::None);
      });
      const auto uid = str_at(resp, {"metadata", "uid"});
      if (s.action == Action::PatchTemplate)
        event(t, uid, kReasonRepaired, "Repair",
              fmt::format("vmsync repaired the vmstorage list of {} {}: added {}; removed {}; its pods roll",
                          model::to_string(s.role), target_text(t), list_text(s.added), list_text(s.removed)));
      else
        event(t, uid, kReasonRestarted, "Restart",
              fmt::format("vmsync restarts the pods of {} so they load the repaired vmstorage list ({}={})",
                          target_text(t), kHashAnnotation, s.hash));
      remember(s);
      edited_.insert(key(s.workload));
      break;
    }
    case Action::DeletePod: {
      not_before(s);
      try {
        write(s, detail, [&] {
          client_.remove(kube::resources::pods, t.namespace_, t.name, kube::DryRun::None, s.uid_precondition);
          return json{};
        });
      } catch (const ApiError &e) {
        if (e.status() != 404) throw;
        detail = "already gone";
      }
      restarted(s, fmt::format("vmsync deleted pod {} of {} so that it is replaced with the repaired vmstorage list",
                               t.name, target_text(s.workload)));
      break;
    }
    case Action::CreateOpsRequest: {
      not_before(s);
      auto resp = write(s, detail,
                        [&] { return client_.create(resource_for(t), t.namespace_, s.body, kube::DryRun::None); });
      const auto name = meta_name(resp);
      created_ops_[t.name] = name;
      detail = detail.empty() ? "created " + name : fmt::format("created {} ({})", name, detail);
      restarted(s, fmt::format("vmsync asked KubeBlocks to restart {} (OpsRequest {}) so its pods load the repaired "
                               "vmstorage list",
                               target_text(s.workload), name));
      break;
    }
    case Action::Wait: wait(s); break;
    }
  }

  // The last-fix annotation on each workload vmsync edited (not on controller-owned ones it only restarted).
  void annotate() {
    for (const auto &[k, fix] : fixes_) {
      if (!edited_.contains(k) && !fo_.force_owned) continue;
      const auto &t = targets_.at(k);
      json value = {{"time", seconds_time(clock_.now())}, {"hash", fix.hash}, {"added", fix.added}, {"removed", fix.removed}};
      json patch = {{"metadata", {{"annotations", {{kLastFixAnnotation, value.dump()}}}}}};
      try {
        client_.patch(resource_for(t), t.namespace_, t.name, kube::PatchType::Merge, patch, kube::DryRun::None);
      } catch (const Error &e) {
        reporter_.info(fmt::format("vmsync: warning: could not annotate {} with {}: {}", target_text(t),
                                   kLastFixAnnotation, e.what()));
      }
    }
  }

private:
  static std::string key(const Target &t) { return t.kind + "/" + t.namespace_ + "/" + t.name; }

  // Sends one write. When its answer is lost (it reached the server, no readable answer came back), the object
  // is read back to decide what became of it: applied, the run goes on with the object read back as the answer
  // and `detail` saying so; not applied, the step fails as not applied; unreadable, its outcome stays unknown.
  template <class Send> json write(const Step &s, std::string &detail, Send &&send) {
    const auto sent = clock_.now();
    try {
      return send();
    } catch (const Error &e) {
      if (!may_have_acted(e)) throw;
      auto back = read_back(s, sent, e);
      detail = "its answer was lost; read back, it was applied";
      return back;
    }
  }

  json read_back(const Step &s, system_clock::time_point sent, const Error &lost) {
    const auto &t = s.target;
    ReadBack verdict = ReadBack::NotApplied;
    json found = json::object();
    try {
      switch (s.action) {
      case Action::PatchConfigMap:
      case Action::PatchTemplate:
      case Action::RestartRollout:
        found = client_.get(resource_for(t), t.namespace_, t.name);
        verdict = patch_reflected(found, *s.patch_type, s.body) ? ReadBack::Applied : ReadBack::NotApplied;
        break;
      case Action::DeletePod:
        verdict =
            pod_deletion(client_.get_if_exists(kube::resources::pods, t.namespace_, t.name), s.uid_precondition);
        break;
      case Action::CreateOpsRequest: {
        kube::ListQuery q;
        q.resource = resource_for(t);
        q.namespace_ = t.namespace_;
        q.options.label_selector = "app.kubernetes.io/managed-by=vmsync";
        auto items = client_.list(q).items;
        std::vector<std::string> known;
        for (const auto &[generate_name, name] : created_ops_)
          known.push_back(name);
        if (auto name = created_opsrequest(items, s, sent, known)) {
          verdict = ReadBack::Applied;
          for (auto &o : items)
            if (meta_name(o) == *name) found = std::move(o);
        }
        break;
      }
      case Action::Wait: break;
      }
    } catch (const Error &e) {
      throw OutcomeUnknown(fmt::format("{}; reading {} back to learn whether it was applied failed too: {}",
                                       lost.what(), target_text(t), e.what()));
    }
    if (verdict == ReadBack::NotApplied)
      throw LostNotApplied(fmt::format("{}; read back, {} shows it was not applied", lost.what(), target_text(t)));
    reporter_.info(fmt::format("vmsync: the answer to \"{}\" was lost ({}); read back, {} shows it was applied: "
                               "going on",
                               describe(s), lost.what(), target_text(t)));
    return found;
  }

  void remember(const Step &s) {
    auto &f = fixes_[key(s.workload)];
    targets_[key(s.workload)] = s.workload;
    f.hash = s.hash;
    if (!s.added.empty() || !s.removed.empty()) {
      f.added = s.added;
      f.removed = s.removed;
    }
  }

  void restarted(const Step &s, const std::string &message) {
    remember(s);
    if (!restart_events_.insert(key(s.workload)).second) return; // one Event per workload per run
    event(s.workload, {}, kReasonRestarted, "Restart", message);
  }

  void event(const Target &t, const std::string &uid, const char *reason, const char *action, const std::string &message) {
    const auto now = seconds_time(clock_.now());
    json involved = {{"apiVersion", t.api_version}, {"kind", t.kind}, {"namespace", t.namespace_}, {"name", t.name}};
    if (!uid.empty()) involved["uid"] = uid;
    json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"generateName", t.name + ".vmsync-"}, {"namespace", t.namespace_}}},
               {"involvedObject", involved},
               {"reason", reason},
               {"action", action},
               {"message", message},
               {"type", "Normal"},
               {"source", {{"component", "vmsync"}}},
               {"reportingComponent", "vmsync"},
               {"reportingInstance", ao_.holder},
               {"firstTimestamp", now},
               {"lastTimestamp", now},
               {"count", 1}};
    try {
      client_.create(kube::resources::events, t.namespace_, ev, kube::DryRun::None);
    } catch (const Error &e) {
      reporter_.info(fmt::format("vmsync: warning: could not record an Event on {}: {}", target_text(t), e.what()));
    }
  }

  void pass_second(system_clock::time_point t) {
    const auto next = chrono::time_point_cast<chrono::seconds>(t) + chrono::seconds(1) + chrono::milliseconds(100);
    const auto now = clock_.now();
    if (next > now) clock_.sleep(chrono::duration_cast<chrono::milliseconds>(next - now));
  }

  void not_before(const Step &s) {
    if (s.not_before.empty()) return;
    if (auto t = parse_time(s.not_before)) pass_second(*t);
  }

  enum class Verdict { Pending, Done };

  Verdict evaluate(const Step &s, const ConsumerState &cs, std::string &failure) {
    auto all_good = [&] {
      return !cs.rollout && static_cast<int>(cs.pods.size()) == cs.replicas &&
             std::all_of(cs.pods.begin(), cs.pods.end(), [](const PodState &p) { return p.ready && p.in_sync; });
    };
    switch (s.wait) {
    case WaitFor::Canary: {
      for (const auto &p : cs.pods) {
        if (p.hash != s.hash || !p.ready) continue;
        if (p.in_sync) return Verdict::Done;
        // Ready on the new template yet another list: the repair did not reach it. Allow a few polls for the
        // API to settle before calling the canary failed.
        if (++canary_misses_ > 3)
          failure = fmt::format("canary pod {} is Ready on the new template but does not run the repaired list; "
                                "stopped before the rest of {}",
                                p.name, target_text(s.workload));
        return Verdict::Pending;
      }
      return all_good() ? Verdict::Done : Verdict::Pending;
    }
    case WaitFor::Rollout: return all_good() ? Verdict::Done : Verdict::Pending;
    case WaitFor::PodReplaced: {
      if (s.workload.kind != "Deployment") {
        for (const auto &p : cs.pods) {
          if (p.name != s.pod || p.uid == s.uid_precondition || !p.ready) continue;
          if (!s.canary || p.in_sync) return Verdict::Done;
          if (++canary_misses_ > 3)
            failure = fmt::format("canary pod {} came back Ready but does not run the repaired list; stopped before "
                                  "the rest of {}",
                                  p.name, target_text(s.workload));
          return Verdict::Pending;
        }
        return Verdict::Pending;
      }
      int ready = 0;
      bool fresh_in_sync = true;
      for (const auto &p : cs.pods) {
        if (p.uid == s.uid_precondition) return Verdict::Pending;
        if (!p.ready) {
          if (std::find(s.prior_pod_uids.begin(), s.prior_pod_uids.end(), p.uid) == s.prior_pod_uids.end())
            return Verdict::Pending;
          continue;
        }
        ++ready;
        if (std::find(s.prior_pod_uids.begin(), s.prior_pod_uids.end(), p.uid) == s.prior_pod_uids.end() && !p.in_sync)
          fresh_in_sync = false;
      }
      if (ready < cs.replicas) return Verdict::Pending;
      if (s.canary && !fresh_in_sync) {
        if (++canary_misses_ > 3)
          failure = fmt::format("the canary replacement in {} does not run the repaired list", target_text(s.workload));
        return Verdict::Pending;
      }
      return Verdict::Done;
    }
    case WaitFor::OpsRequest: {
      Target ops = s.target;
      if (auto it = created_ops_.find(ops.name); it != created_ops_.end()) ops.name = it->second;
      auto o = client_.get(resource_for(ops), ops.namespace_, ops.name);
      const auto phase = str_at(o, {"status", "phase"});
      if (phase == "Failed" || phase == "Cancelled" || phase == "Aborted") {
        failure = fmt::format("KubeBlocks Restart OpsRequest {}/{} ended {}{}; the pods of {} were not all "
                              "restarted (kubectl describe opsrequest -n {} {}), and running `vmsync fix` again "
                              "makes a new one",
                              ops.namespace_, ops.name, phase, opsrequest_why(o, phase), target_text(s.workload),
                              ops.namespace_, ops.name);
        return Verdict::Pending;
      }
      if (phase != "Succeed") return Verdict::Pending;
      // KubeBlocks resolves the component's vars when the restart reconciles it: once it Succeed, a source that
      // still holds another list will not change by waiting.
      if (cs.source_drift && ++canary_misses_ > 3)
        failure = fmt::format("KubeBlocks Restart OpsRequest {}/{} Succeed, but the vmstorage list of {} is still "
                              "not the expected one: KubeBlocks did not resolve VMSTORAGE_ADDR again",
                              ops.namespace_, ops.name, target_text(s.workload));
      return all_good() ? Verdict::Done : Verdict::Pending;
    }
    case WaitFor::None: break;
    }
    return Verdict::Done;
  }

  void wait(const Step &s) {
    canary_misses_ = 0;
    for (;;) {
      auto st = read_state(client_, scope_);
      auto cs = observe_consumer(st.inventory, scope_, s.workload);
      if (!cs.found) throw Error(fmt::format("{} is gone while waiting for it", target_text(s.workload)));
      WorkloadProgress p;
      p.workload = s.workload;
      p.total = cs.replicas;
      p.waiting_for = s.until;
      for (const auto &pod : cs.pods) {
        if (pod.in_sync) ++p.updated;
        if (pod.ready) ++p.ready;
      }
      reporter_.progress(p);
      std::string failure;
      const auto verdict = evaluate(s, cs, failure);
      if (verdict == Verdict::Done) {
        reporter_.progress_done();
        return;
      }
      if (!failure.empty()) {
        reporter_.progress_done();
        throw Error(failure);
      }
      if (deadline_ && chrono::steady_clock::now() >= *deadline_) {
        reporter_.progress_done();
        throw Error(fmt::format("timed out (--timeout) waiting until {}: {} of {} pods run the repaired list, {} Ready",
                                s.until, p.updated, p.total, p.ready));
      }
      lease_.renew_if_due();
      auto pause = ao_.poll;
      if (deadline_)
        pause = std::min(pause, chrono::duration_cast<chrono::milliseconds>(*deadline_ - chrono::steady_clock::now()) +
                                    chrono::milliseconds(1));
      clock_.sleep(pause);
    }
  }

  kube::Client &client_;
  check::Scope scope_;
  const FixOptions &fo_;
  const ApplyOptions &ao_;
  Reporter &reporter_;
  LeaseLock &lease_;
  std::optional<chrono::steady_clock::time_point> deadline_;
  Clock clock_;
  std::map<std::string, std::string> created_ops_; // generateName -> name
  std::map<std::string, LastFix> fixes_;
  std::map<std::string, Target> targets_;
  std::set<std::string> edited_;
  std::set<std::string> restart_events_;
  int canary_misses_ = 0;
};

const ClusterPlan *find_cluster(const Plan &p, const std::string &ns, const std::string &name) {
  for (const auto &c : p.clusters)
    if (c.namespace_ == ns && c.name == name) return &c;
  return nullptr;
}

ClusterOutcome run_cluster(kube::Client &client, const check::Scope &scope, const FixOptions &fo,
                           const ApplyOptions &ao, Reporter &reporter, const ClusterPlan &initial,
                           std::optional<chrono::steady_clock::time_point> deadline) {
  ClusterOutcome out;
  out.namespace_ = initial.namespace_;
  out.name = initial.name;
  out.refusals = initial.refusals;
  out.warnings = initial.warnings;
  const auto label = fmt::format("{}/{}", initial.namespace_, initial.name);

  LeaseLock lease(client, initial.namespace_, "vmsync-fix-" + initial.name, ao);
  if (auto held = lease.acquire()) {
    out.error = *held;
    out.not_applied = initial.steps;
    return out;
  }
  check::Scope cs = scope;
  cs.namespace_ = initial.namespace_;
  cs.all_namespaces = false;
  cs.clusters = {initial.name};
  ClusterRun run(client, cs, fo, ao, reporter, lease, deadline);
  int lost_not_applied = 0;
  try {
    for (;;) {
      // Plan again under the Lease: what is already done drops out, what moved is seen as it is now.
      auto st = read_state(client, cs);
      auto plan = make_plan(st.inventory, cs, fo, st.opsrequests);
      const auto *cp = find_cluster(plan, initial.namespace_, initial.name);
      if (cp == nullptr) throw Error(fmt::format("cluster {} is no longer found", label));
      out.refusals = cp->refusals;
      out.warnings = cp->warnings;
      if (!cp->errors.empty()) throw Error(fmt::format("{}", fmt::join(cp->errors, "; ")));
      // Step i failed with e: it and the later steps are not applied, unless it is a write that may have been.
      auto stop_at = [&](std::size_t i, const Error &e, std::string error) {
        const Step &step = cp->steps[i];
        out.failed_step = step;
        out.error = std::move(error);
        out.outcome_unknown = step.action != Action::Wait && may_have_acted(e);
        const std::size_t first = out.outcome_unknown ? i + 1 : i;
        out.not_applied.assign(cp->steps.begin() + static_cast<std::ptrdiff_t>(first), cp->steps.end());
      };
      bool replan = false;
      for (std::size_t i = 0; i < cp->steps.size() && !replan; ++i) {
        const auto &step = cp->steps[i];
        std::string detail;
        try {
          if (step.action != Action::Wait) reporter.info(fmt::format("{}: {}", label, describe(step)));
          run.execute(step, detail);
          out.applied.push_back({step, detail});
        } catch (const ApiError &e) {
          if (is_conflict(e, step) && ++out.conflicts <= ao.max_conflicts) {
            reporter.info(fmt::format("{}: {} conflicted ({}); re-reading and planning again", label, describe(step),
                                      e.what()));
            replan = true;
            continue;
          }
          stop_at(i, e, out.conflicts > ao.max_conflicts
                            ? fmt::format("{} (gave up after {} conflicts)", e.what(), ao.max_conflicts)
                            : std::string(e.what()));
          break;
        } catch (const LostNotApplied &e) {
          // Known not to have arrived: planning again from live state and resending is safe (bounded).
          if (++lost_not_applied <= ao.max_conflicts) {
            reporter.info(fmt::format("{}: {}; re-reading and planning again", label, e.what()));
            replan = true;
            continue;
          }
          stop_at(i, e, fmt::format("{} (gave up after {} lost answers)", e.what(), ao.max_conflicts));
          break;
        } catch (const Error &e) {
          stop_at(i, e, e.what());
          break;
        }
      }
      if (!replan) break;
    }
  } catch (const Error &e) {
    out.error = e.what();
  }
  run.annotate();
  lease.release();
  return out;
}

} // namespace

// The OpsRequests vmsync made are read so that one still running is waited for, not restarted over. A user who
// may not list them over all namespaces (-A with RoleBindings) reads them namespace by namespace, in the
// namespaces of the KubeBlocks components found, as check -A does with its own lists. A namespace where even
// that is forbidden becomes a namespace error, as an unreadable namespace is for check: its clusters are left
// alone, since planning as if nothing ran could restart pods under a running OpsRequest. A missing OpsRequest
// API (404) means that none can be running.
LiveState read_state(kube::Client &client, const check::Scope &scope) {
  LiveState st;
  st.inventory = check::read_inventory(client, scope);
  if (st.inventory.kubeblocks == check::KubeBlocksVersion::None) return st;
  const kube::Resource ops = st.inventory.kubeblocks == check::KubeBlocksVersion::V09
                                 ? kube::Resource{"apps.kubeblocks.io", "v1alpha1", "opsrequests", "OpsRequest", true}
                                 : kube::Resource{"operations.kubeblocks.io", "v1alpha1", "opsrequests", "OpsRequest", true};
  std::set<std::string> kubeblocks_namespaces;
  for (const auto &its : st.inventory.instancesets)
    kubeblocks_namespaces.insert(check::meta_namespace(its));
  // Whether the OpsRequests of `where` ("": all namespaces) were read; false when that is forbidden.
  auto read = [&](const std::string &where) {
    kube::ListQuery q;
    q.resource = ops;
    q.namespace_ = where;
    q.options.label_selector = "app.kubernetes.io/managed-by=vmsync";
    try {
      for (auto &item : client.list(q).items) {
        if (!item.contains("apiVersion")) item["apiVersion"] = ops.api_version();
        st.opsrequests.push_back(std::move(item));
      }
    } catch (const ApiError &e) {
      if (e.status() == 404) return true;
      if (e.status() != 403) throw;
      if (!where.empty() && kubeblocks_namespaces.contains(where))
        st.inventory.namespace_errors.emplace(
            where, fmt::format("may not list {}.{} in namespace \"{}\": fix waits for a Restart OpsRequest still "
                               "running there before it restarts pods, so without that right it leaves the "
                               "namespace alone ({})",
                               ops.plural, ops.group, where, e.what()));
      return false;
    }
    return true;
  };
  if (read(scope.all_namespaces ? std::string{} : scope.namespace_) || !scope.all_namespaces) return st;
  for (const auto &where : kubeblocks_namespaces)
    read(where);
  return st;
}

ApplyResult apply(kube::Client &client, const check::Scope &scope, const FixOptions &options, const Plan &plan,
                  const ApplyOptions &apply_options, Reporter &reporter) {
  ApplyResult result;
  std::optional<chrono::steady_clock::time_point> deadline;
  if (apply_options.timeout.count() > 0) deadline = chrono::steady_clock::now() + apply_options.timeout;
  for (const auto &c : plan.clusters) {
    if (c.steps.empty()) continue; // nothing to do, or only refusals: nothing is touched
    result.clusters.push_back(run_cluster(client, scope, options, apply_options, reporter, c, deadline));
  }
  auto st = read_state(client, scope);
  result.verified = check::compute_report(st.inventory, scope);
  return result;
}

std::vector<DryRunOutcome> server_dry_run(kube::Client &client, const Plan &plan) {
  std::vector<DryRunOutcome> out;
  for (const auto &c : plan.clusters) {
    for (const auto &s : c.steps) {
      if (s.action == Action::Wait) continue;
      DryRunOutcome o{s, {}};
      const auto &t = s.target;
      try {
        switch (s.action) {
        case Action::PatchConfigMap:
        case Action::PatchTemplate:
        case Action::RestartRollout:
          client.patch(resource_for(t), t.namespace_, t.name, *s.patch_type, s.body, kube::DryRun::All);
          break;
        case Action::DeletePod:
          client.remove(kube::resources::pods, t.namespace_, t.name, kube::DryRun::All, s.uid_precondition);
          break;
        case Action::CreateOpsRequest: client.create(resource_for(t), t.namespace_, s.body, kube::DryRun::All); break;
        case Action::Wait: break;
        }
      } catch (const Error &e) {
        o.error = e.what();
      }
      out.push_back(std::move(o));
    }
  }
  return out;
}

} // namespace vmsync::fix
