// The drift model. Comparison is by node identity (address.hpp), so "a:8400" and
// "a.ns.svc.cluster.local.:8400" are the same node; what VictoriaMetrics does with exact strings (duplicates,
// routing by spelling) is reported beside it rather than folded into membership.
#include "vmsync/model/drift.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>
#include <memory>
#include <set>

namespace vmsync::model {
namespace {

struct Entry {
  std::string spelling;
  std::string identity;
};

std::vector<Entry> identify(const std::vector<std::string> &list, const NameContext &ctx) {
  std::vector<Entry> out;
  out.reserve(list.size());
  for (const auto &s : list) {
    auto a = parse_address(s, ctx);
    out.push_back({s, a ? a->identity : s}); // not an address: compared as a plain string
  }
  return out;
}

void natural_sort_unique(std::vector<std::string> &v) {
  std::sort(v.begin(), v.end(), [](const std::string &a, const std::string &b) { return natural_less(a, b); });
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

struct Difference {
  std::vector<std::string> missing;
  std::vector<std::string> unexpected;
};

Difference compare(const std::vector<Entry> &expected, const std::vector<Entry> &actual) {
  std::set<std::string> want, have;
  for (const auto &e : expected)
    want.insert(e.identity);
  for (const auto &e : actual)
    if (!e.spelling.empty())
      have.insert(e.identity);
  Difference d;
  for (const auto &e : expected)
    if (!have.contains(e.identity))
      d.missing.push_back(e.spelling);
  for (const auto &e : actual)
    if (!e.spelling.empty() && !want.contains(e.identity))
      d.unexpected.push_back(e.spelling);
  natural_sort_unique(d.missing);
  natural_sort_unique(d.unexpected);
  return d;
}

// Duplicate and empty entries of one list; `where` names it in the empty-entry descriptions.
void check_entries(const std::vector<Entry> &list, const std::string &where, std::vector<std::string> &duplicates,
                   std::vector<std::string> &empty) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].spelling.empty()) {
      empty.push_back(where + " entry " + std::to_string(i + 1) + " of " + std::to_string(list.size()) +
                      " is empty");
      continue;
    }
    if (!seen.insert(list[i].identity).second)
      duplicates.push_back(list[i].spelling);
  }
}

// Why entries of a list reach no storage pod, one sentence per distinct entry.
std::vector<std::string> unreached(const std::vector<Entry> &list, const NameContext &ctx) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto &e : list) {
    if (e.spelling.empty() || !seen.insert(e.spelling).second) continue;
    if (auto a = parse_address(e.spelling, ctx))
      if (auto why = why_no_storage_pod(*a, ctx)) out.push_back(std::move(*why));
  }
  return out;
}

void add_spellings(const std::vector<Entry> &list, std::map<std::string, std::set<std::string>> &by_identity) {
  for (const auto &e : list)
    if (!e.spelling.empty())
      by_identity[e.identity].insert(e.spelling);
}

} // namespace

std::string_view to_string(Role r) noexcept { return r == Role::Insert ? "vminsert" : "vmselect"; }

std::string_view to_string(Layout l) noexcept {
  switch (l) {
  case Layout::KubeBlocks:
    return "kubeblocks";
  case Layout::Helm:
    return "helm";
  case Layout::Operator:
    return "operator";
  case Layout::Generic:
    break;
  }
  return "generic";
}

std::string_view to_string(PodStatus s) noexcept {
  switch (s) {
  case PodStatus::InSync:
    return "InSync";
  case PodStatus::Stale:
    return "Stale";
  case PodStatus::Discovery:
    return "Discovery";
  case PodStatus::Unknown:
    break;
  }
  return "Unknown";
}

std::string_view to_string(ClusterStatus s) noexcept {
  switch (s) {
  case ClusterStatus::InSync:
    return "InSync";
  case ClusterStatus::Drift:
    return "Drift";
  case ClusterStatus::Error:
    return "Error";
  case ClusterStatus::Unknown:
    break;
  }
  return "Unknown";
}

std::string_view to_string(ListSource::Kind k) noexcept {
  switch (k) {
  case ListSource::Kind::TemplateArgs:
    return "templateArgs";
  case ListSource::Kind::TemplateEnv:
    return "templateEnv";
  case ListSource::Kind::ConfigMap:
    return "configMap";
  case ListSource::Kind::Unknown:
    break;
  }
  return "unknown";
}

ConsumerDrift compute_consumer(const ConsumerInput &in) {
  ConsumerDrift out;
  out.role = in.role;
  out.workload = in.workload;
  out.source = in.source;
  out.expected = in.expected;

  const auto expected = identify(in.expected, in.names);
  std::map<std::string, std::set<std::string>> spellings;

  if (in.source.entries) {
    const auto source = identify(*in.source.entries, in.names);
    if (!in.source.discovery) {
      auto diff = compare(expected, source);
      out.source_missing = std::move(diff.missing);
      out.source_unexpected = std::move(diff.unexpected);
      out.source_evidence = unreached(source, in.names);
    }
    check_entries(source, "source", out.duplicates, out.empty_entries);
    out.source_drift = !out.source_missing.empty() || !out.source_unexpected.empty() || !out.duplicates.empty() ||
                       !out.empty_entries.empty();
    add_spellings(source, spellings);
  }

  // The pods of a consumer mostly run one or two distinct lists: each is compared with the expected one once.
  struct Running {
    std::shared_ptr<const std::vector<std::string>> list;
    bool compared = false; // entries and diff are set (only for pods that are not in discovery mode)
    std::vector<Entry> entries;
    Difference diff;
    std::vector<std::string> unreached; // why its entries reach no storage pod
  };
  std::map<std::vector<std::string>, Running> lists; // by distinct running list
  out.pods.reserve(in.pods.size());                  // a fleet's report holds thousands: no spare capacity
  for (const auto &pod : in.pods) {
    PodDrift p;
    p.name = pod.name;
    Running *run = nullptr;
    if (pod.running) {
      run = &lists[*pod.running];
      if (!run->list) run->list = std::make_shared<const std::vector<std::string>>(*pod.running);
      p.running = run->list;
    }
    p.evidence = pod.evidence;
    p.observed = pod.observed;
    p.unreachable = pod.unreachable;
    if (pod.discovery) {
      p.status = PodStatus::Discovery;
    } else if (!pod.running) {
      p.status = pod.started_before_source_change ? PodStatus::Stale : PodStatus::Unknown;
    } else {
      if (!run->compared) {
        run->compared = true;
        run->entries = identify(*pod.running, in.names);
        run->diff = compare(expected, run->entries);
        run->unreached = unreached(run->entries, in.names);
        add_spellings(run->entries, spellings);
      }
      p.missing = run->diff.missing;
      p.unexpected = run->diff.unexpected;
      p.evidence.insert(p.evidence.end(), run->unreached.begin(), run->unreached.end());
      p.status = p.missing.empty() && p.unexpected.empty() ? PodStatus::InSync : PodStatus::Stale;
      check_entries(run->entries, "pod " + pod.name, out.duplicates, out.empty_entries);
    }
    out.pods.push_back(std::move(p));
  }

  natural_sort_unique(out.duplicates);
  out.node_spellings.reserve(spellings.size());
  for (auto &[identity, set] : spellings) {
    SpellingVariants v{identity, {set.begin(), set.end()}};
    natural_sort_unique(v.spellings);
    if (v.spellings.size() > 1) out.spelling_variants.push_back(v);
    out.node_spellings.push_back(std::move(v));
  }
  auto by_identity = [](const SpellingVariants &a, const SpellingVariants &b) {
    return natural_less(a.identity, b.identity);
  };
  std::sort(out.spelling_variants.begin(), out.spelling_variants.end(), by_identity);
  std::sort(out.node_spellings.begin(), out.node_spellings.end(), by_identity);
  out.mixed_spellings = !out.spelling_variants.empty();
  return out;
}

std::vector<SpellingSplit> spelling_splits(const std::vector<ConsumerDrift> &consumers) {
  std::vector<SpellingSplit> out;
  for (const Role role : {Role::Insert, Role::Select}) {
    // Node identity -> the workloads of this role naming it, each with its spellings.
    std::map<std::string, std::vector<WorkloadSpellings>> by_node;
    for (const auto &c : consumers) {
      if (c.role != role) continue;
      for (const auto &v : c.node_spellings)
        by_node[v.identity].push_back({c.workload, v.spellings});
    }
    std::vector<SpellingSplit> splits;
    for (auto &[identity, workloads] : by_node) {
      // Not captured by a lambda: clang before 16 (the fuzz and clang-tidy builds) cannot capture a binding.
      const auto &first = workloads.front().spellings;
      const bool split = std::any_of(workloads.begin(), workloads.end(),
                                     [&first](const WorkloadSpellings &w) { return w.spellings != first; });
      if (!split) continue;
      std::sort(workloads.begin(), workloads.end(), [](const WorkloadSpellings &a, const WorkloadSpellings &b) {
        if (a.workload.name != b.workload.name) return natural_less(a.workload.name, b.workload.name);
        return a.workload.kind < b.workload.kind;
      });
      splits.push_back({role, identity, std::move(workloads)});
    }
    std::sort(splits.begin(), splits.end(),
              [](const SpellingSplit &a, const SpellingSplit &b) { return natural_less(a.identity, b.identity); });
    std::move(splits.begin(), splits.end(), std::back_inserter(out));
  }
  return out;
}

ClusterStatus cluster_status(const ClusterDrift &c) {
  if (!c.errors.empty())
    return ClusterStatus::Error;
  bool unknown = false;
  for (const auto &split : c.spelling_splits)
    if (split.role == Role::Insert)
      return ClusterStatus::Drift;
  for (const auto &consumer : c.consumers) {
    if (consumer.source_drift || consumer.mixed_spellings)
      return ClusterStatus::Drift;
    for (const auto &p : consumer.pods) {
      if (p.status == PodStatus::Stale)
        return ClusterStatus::Drift;
      unknown = unknown || p.status == PodStatus::Unknown;
    }
  }
  return unknown ? ClusterStatus::Unknown : ClusterStatus::InSync;
}

Summary summarize(const std::vector<ClusterDrift> &clusters) {
  Summary s;
  for (const auto &c : clusters) {
    ++s.clusters;
    switch (c.status) {
    case ClusterStatus::InSync:
      ++s.in_sync;
      break;
    case ClusterStatus::Drift:
      ++s.drifted;
      break;
    case ClusterStatus::Unknown:
      ++s.unknown;
      break;
    case ClusterStatus::Error:
      ++s.errors;
      break;
    }
    for (const auto &consumer : c.consumers) {
      for (const auto &p : consumer.pods) {
        ++s.pods;
        s.stale_pods += p.status == PodStatus::Stale ? 1 : 0;
        s.unknown_pods += p.status == PodStatus::Unknown ? 1 : 0;
        s.discovery_pods += p.status == PodStatus::Discovery ? 1 : 0;
      }
    }
  }
  return s;
}

bool natural_less(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && digit(a[ei]))
        ++ei;
      while (ej < b.size() && digit(b[ej]))
        ++ej;
      auto na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      na.remove_prefix(std::min(na.find_first_not_of('0'), na.size()));
      nb.remove_prefix(std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size())
        return na.size() < nb.size();
      if (na != nb)
        return na < nb;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j])
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  if ((a.size() - i) != (b.size() - j))
    return (a.size() - i) < (b.size() - j);
  return a < b; // naturally equal ("x-01" and "x-1"): keep a strict order
}

void sort_report(DriftReport &r) {
  auto by_name = [](const auto &x, const auto &y) { return natural_less(x.name, y.name); };
  for (auto &c : r.clusters) {
    std::sort(c.consumers.begin(), c.consumers.end(), [](const ConsumerDrift &x, const ConsumerDrift &y) {
      if (x.role != y.role)
        return x.role < y.role;
      if (x.workload.name != y.workload.name)
        return natural_less(x.workload.name, y.workload.name);
      return x.workload.kind < y.workload.kind;
    });
    for (auto &consumer : c.consumers) {
      std::sort(consumer.pods.begin(), consumer.pods.end(), by_name);
      for (auto &p : consumer.pods) {
        natural_sort_unique(p.missing);
        natural_sort_unique(p.unexpected);
      }
    }
  }
  // Stable: clusters of one namespace and name (two layouts, or errors) keep the order they were found in.
  std::stable_sort(r.clusters.begin(), r.clusters.end(), [](const ClusterDrift &x, const ClusterDrift &y) {
    if (x.namespace_ != y.namespace_)
      return natural_less(x.namespace_, y.namespace_);
    return natural_less(x.name, y.name);
  });
  r.summary = summarize(r.clusters);
  r.summary.errors += static_cast<int>(r.errors.size());
}

} // namespace vmsync::model
