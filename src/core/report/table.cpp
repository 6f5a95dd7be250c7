// The table for people. Rows are built as plain cells first and aligned over the whole report (so columns line
// up across clusters); colour is applied after padding, so escape codes never count towards a width. With
// no_headers the grouping and the header lines disappear and every row and note carries its cluster, so each line
// stands alone for scripts.
#include "vmsync/report/render.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

namespace vmsync::report {
namespace {

using model::ClusterStatus;
using model::PodStatus;

constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kCyan = "\x1b[36m";
constexpr std::string_view kBoldRed = "\x1b[1;31m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kGap = "   ";

struct Cell {
  std::string text;
  std::string_view color; // empty: none
};
using Row = std::vector<Cell>;

std::string_view color_of(PodStatus s) {
  switch (s) {
  case PodStatus::InSync: return kGreen;
  case PodStatus::Stale: return kRed;
  case PodStatus::Unknown: return kYellow;
  case PodStatus::Discovery: break;
  }
  return kCyan;
}

std::string_view color_of(ClusterStatus s) {
  switch (s) {
  case ClusterStatus::InSync: return kGreen;
  case ClusterStatus::Drift: return kRed;
  case ClusterStatus::Unknown: return kYellow;
  case ClusterStatus::Error: break;
  }
  return kBoldRed;
}

std::string paint(std::string_view text, std::string_view color, bool enabled) {
  if (!enabled || color.empty()) return std::string(text);
  return fmt::format("{}{}{}", color, text, kReset);
}

std::string join(const std::vector<std::string> &v, std::string_view sep, std::string_view none = "-") {
  if (v.empty()) return std::string(none);
  std::string out;
  for (const auto &s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The addresses of a MISSING or UNEXPECTED cell. In the narrow table an in-cluster address of the cluster's own
// namespace reads as its first label and port ("vm-vmstorage-3:8400" for
// "vm-vmstorage-3.vm-vmstorage.monitoring.svc.cluster.local.:8400", or for the short ".monitoring" form), as long
// as that stays unambiguous within the cell; anything else (another namespace, an IP, an outside name) and -o wide
// show the address as written.
// An entry the evidence says reaches no storage pod is kept as written too: shortened,
// "vm-vmstorage-0.wrongsvc.<ns>:8400" would read as the very node it fails to reach.
std::string addresses(const std::vector<std::string> &v, const std::string &ns, bool wide,
                      const std::vector<std::string> &evidence = {}) {
  if (wide || v.empty()) return join(v, ",");
  auto shorten = [&](const std::string &a) -> std::string {
    const auto unreached = a + std::string(model::kNamesNoStoragePod);
    if (std::any_of(evidence.begin(), evidence.end(), [&](const std::string &e) { return e.starts_with(unreached); }))
      return a;
    const auto colon = a.rfind(':');
    if (colon == std::string::npos) return a;
    std::string host = a.substr(0, colon);
    if (!host.empty() && host.back() == '.') host.pop_back();
    std::vector<std::string_view> labels;
    for (std::string_view h = host;;) {
      const auto dot = h.find('.');
      labels.push_back(h.substr(0, dot));
      if (dot == std::string_view::npos) break;
      h.remove_prefix(dot + 1);
    }
    // <pod>.<ns>[.svc...] or <pod>.<service>.<ns>[.svc...]
    auto ns_at = [&](std::size_t i) {
      return labels.size() > i && labels[i] == ns && (labels.size() == i + 1 || labels[i + 1] == "svc");
    };
    if (labels.size() < 2 || labels[0].empty() || !(ns_at(1) || ns_at(2))) return a;
    return fmt::format("{}{}", labels[0], a.substr(colon));
  };
  std::vector<std::string> shortened;
  std::set<std::string> seen;
  for (const auto &a : v) {
    shortened.push_back(shorten(a));
    if (!seen.insert(shortened.back()).second)
      return join(v, ","); // two addresses read the same when shortened: the whole cell as written
  }
  return join(shortened, ",");
}

std::string ref(const model::ObjectRef &r) {
  if (r.kind.empty() && r.name.empty()) return "-";
  return text::lower(r.kind) + "/" + r.name;
}

std::string cluster_ref(const model::ClusterDrift &c) { return c.namespace_ + "/" + c.name; }

// The status of a consumer as a whole, for --summary.
std::string consumer_status(const model::ConsumerDrift &c, std::string_view &color) {
  bool stale = c.source_drift || c.mixed_spellings, unknown = false;
  bool discovery = !c.pods.empty();
  for (const auto &p : c.pods) {
    stale = stale || p.status == PodStatus::Stale;
    unknown = unknown || p.status == PodStatus::Unknown;
    discovery = discovery && p.status == PodStatus::Discovery;
  }
  if (stale) {
    color = kRed;
    return "Drift";
  }
  if (discovery) {
    color = kCyan;
    return "Discovery";
  }
  if (unknown) {
    color = kYellow;
    return "Unknown";
  }
  color = kGreen;
  return "InSync";
}

Row header(const RenderOptions &o) {
  std::vector<std::string> names;
  if (o.no_headers) names.push_back("CLUSTER");
  if (o.summary) {
    names.insert(names.end(), {"ROLE", "WORKLOAD", "STATUS", "PODS", "STALE", "UNKNOWN", "SOURCE-DRIFT", "MISSING",
                               "UNEXPECTED"});
    if (o.wide) names.push_back("SOURCE");
  } else {
    names.insert(names.end(), {"ROLE", "POD", "STATUS", "MISSING", "UNEXPECTED"});
    if (o.wide) names.insert(names.end(), {"WORKLOAD", "SOURCE", "EVIDENCE"});
  }
  Row r;
  for (auto &n : names)
    r.push_back({std::move(n), {}});
  return r;
}

std::vector<Row> rows_of(const model::ClusterDrift &c, const RenderOptions &o) {
  std::vector<Row> rows;
  for (const auto &consumer : c.consumers) {
    const std::string role(model::to_string(consumer.role));
    const std::string source = consumer.source.description.empty() ? "-" : consumer.source.description;
    if (o.summary) {
      std::string_view color;
      std::string status = consumer_status(consumer, color);
      int stale = 0, unknown = 0;
      std::vector<std::string> missing = consumer.source_missing, unexpected = consumer.source_unexpected;
      std::vector<std::string> evidence = consumer.source_evidence;
      for (const auto &p : consumer.pods) {
        stale += p.status == PodStatus::Stale ? 1 : 0;
        unknown += p.status == PodStatus::Unknown ? 1 : 0;
        missing.insert(missing.end(), p.missing.begin(), p.missing.end());
        unexpected.insert(unexpected.end(), p.unexpected.begin(), p.unexpected.end());
        evidence.insert(evidence.end(), p.evidence.begin(), p.evidence.end());
      }
      auto tidy = [](std::vector<std::string> &v) {
        std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return model::natural_less(a, b); });
        v.erase(std::unique(v.begin(), v.end()), v.end());
      };
      tidy(missing);
      tidy(unexpected);
      Row r;
      r.push_back({role, {}});
      r.push_back({ref(consumer.workload), {}});
      r.push_back({std::move(status), color});
      r.push_back({std::to_string(consumer.pods.size()), {}});
      r.push_back({std::to_string(stale), {}});
      r.push_back({std::to_string(unknown), {}});
      r.push_back({!consumer.source.entries ? "?"
                   : consumer.source_drift  ? "yes"
                                            : "no",
                   consumer.source_drift ? kRed : std::string_view{}});
      r.push_back({addresses(missing, c.namespace_, o.wide), {}});
      r.push_back({addresses(unexpected, c.namespace_, o.wide, evidence), {}});
      if (o.wide) r.push_back({source, {}});
      rows.push_back(std::move(r));
      continue;
    }
    for (const auto &p : consumer.pods) {
      const bool unknown_list = !p.running && p.status != PodStatus::Discovery;
      Row r;
      r.push_back({role, {}});
      r.push_back({p.name, {}});
      r.push_back({std::string(model::to_string(p.status)), color_of(p.status)});
      r.push_back({unknown_list ? "?" : addresses(p.missing, c.namespace_, o.wide), {}});
      std::string unexpected = unknown_list ? "?" : addresses(p.unexpected, c.namespace_, o.wide, p.evidence);
      // Nodes the probe saw the process fail to reach (check --probe), marked where the pod's nodes are.
      if (!p.unreachable.empty())
        unexpected += " [unreachable: " + addresses(p.unreachable, c.namespace_, o.wide) + "]";
      r.push_back({std::move(unexpected), {}});
      if (o.wide) {
        r.push_back({ref(consumer.workload), {}});
        r.push_back({source, {}});
        r.push_back({join(p.evidence, "; "), {}});
      }
      rows.push_back(std::move(r));
    }
  }
  if (o.no_headers) {
    for (auto &r : rows)
      r.insert(r.begin(), Cell{cluster_ref(c), {}});
  }
  return rows;
}

// Consumer findings that are not per pod: shown under the cluster's rows.
std::vector<std::string> notes_of(const model::ClusterDrift &c) {
  std::vector<std::string> notes;
  for (const auto &e : c.errors)
    notes.push_back("error: " + e);
  for (const auto &w : c.warnings)
    notes.push_back("warning: " + w);
  for (const auto &consumer : c.consumers) {
    const auto who = fmt::format("{} {}", model::to_string(consumer.role), ref(consumer.workload));
    if (consumer.source_drift) {
      std::string what = consumer.source.description.empty() ? "source" : consumer.source.description;
      std::vector<std::string> parts;
      if (!consumer.source_missing.empty()) parts.push_back("missing " + join(consumer.source_missing, ","));
      if (!consumer.source_unexpected.empty())
        parts.push_back("unexpected " + join(consumer.source_unexpected, ","));
      if (parts.empty()) parts.push_back("has duplicate or empty entries");
      // The counts first: what a reviewer of a chart change checks at a glance.
      std::string counts;
      if (consumer.source.entries && !consumer.source.discovery)
        counts = fmt::format(" (vmstorage declares {}, the list has {})", c.storage.declared_replicas,
                             consumer.source.entries->size());
      notes.push_back(fmt::format("{}: {} is wrong{}: {}", who, what, counts, join(parts, "; ")));
      for (const auto &e : consumer.source_evidence)
        notes.push_back(fmt::format("{}: {}", who, e));
    }
    if (!consumer.duplicates.empty())
      notes.push_back(fmt::format("{}: duplicate entries: {}", who, join(consumer.duplicates, ",")));
    for (const auto &e : consumer.empty_entries)
      notes.push_back(fmt::format("{}: {}", who, e));
    for (const auto &v : consumer.spelling_variants)
      notes.push_back(fmt::format("{}: mixed spellings of {}: {}", who, v.identity, join(v.spellings, ", ")));
  }
  for (const auto &split : c.spelling_splits) {
    std::vector<std::string> each;
    for (const auto &w : split.workloads)
      each.push_back(fmt::format("{} as {}", ref(w.workload), join(w.spellings, ", ")));
    const bool insert = split.role == model::Role::Insert;
    notes.push_back(
        fmt::format("{}{} workloads spell {} differently: {} ({})",
                    insert ? "" : "warning: ", model::to_string(split.role), split.identity, join(each, "; "),
                    insert ? "vminsert routes series by the exact string, so they write the same series "
                             "to different nodes"
                           : "vmselect queries every node whatever its spelling: no drift"));
  }
  return notes;
}

std::string cluster_line(const model::ClusterDrift &c, bool color) {
  const auto &s = c.storage;
  std::string line = fmt::format("{}   {}   {}   storage {}", cluster_ref(c), model::to_string(c.layout),
                                 paint(model::to_string(c.status), color_of(c.status), color), ref(s.workload));
  // Offline no pod exists: the declared replicas are all there is to say.
  if (!c.pods_known) return line + fmt::format(" declares {}", s.declared_replicas);
  line += fmt::format(" ready {}/{}", s.ready_pods, s.declared_replicas);
  if (s.existing_pods != s.declared_replicas) line += fmt::format(", {} pods exist", s.existing_pods);
  return line;
}

void print_row(std::ostream &out, const Row &r, const std::vector<std::size_t> &widths, std::string_view indent,
               bool color) {
  std::string line(indent);
  for (std::size_t i = 0; i < r.size(); ++i) {
    line += paint(r[i].text, r[i].color, color);
    if (i + 1 < r.size()) {
      line.append(widths[i] - r[i].text.size(), ' ');
      line += kGap;
    }
  }
  out << line << '\n';
}

} // namespace

std::string summary_line(const model::Summary &s) {
  std::string line = fmt::format("{} cluster{}: {} in sync, {} drifted", s.clusters, s.clusters == 1 ? "" : "s",
                                 s.in_sync, s.drifted);
  if (s.unknown > 0) line += fmt::format(", {} unknown", s.unknown);
  if (s.errors > 0) line += fmt::format(", {} failed", s.errors);
  line += fmt::format("; {} of {} pod{} stale", s.stale_pods, s.pods, s.pods == 1 ? "" : "s");
  if (s.unknown_pods > 0) line += fmt::format(", {} unknown", s.unknown_pods);
  if (s.discovery_pods > 0) line += fmt::format(", {} using discovery", s.discovery_pods);
  return line;
}

void render_table(const model::DriftReport &r, const RenderOptions &o, std::ostream &out) {
  const Row head = header(o);
  std::vector<std::vector<Row>> groups;
  std::vector<std::size_t> widths(head.size(), 0);
  auto widen = [&](const Row &row) {
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].text.size());
  };
  if (!o.no_headers) widen(head);
  for (const auto &c : r.clusters) {
    groups.push_back(rows_of(c, o));
    for (const auto &row : groups.back())
      widen(row);
  }

  // Without headers only the header lines go (the cluster line, the column titles, the summary): the notes that
  // explain a drift stay, each led by its cluster like the rows, or a source drift would print nothing at all.
  if (o.no_headers) {
    for (std::size_t i = 0; i < r.clusters.size(); ++i) {
      for (const auto &row : groups[i])
        print_row(out, row, widths, "", o.color);
      for (const auto &n : notes_of(r.clusters[i]))
        out << cluster_ref(r.clusters[i]) << "   " << n << '\n';
    }
    for (const auto &e : r.errors)
      out << "error: " << e << '\n';
    return;
  }
  for (std::size_t i = 0; i < r.clusters.size(); ++i) {
    const auto &c = r.clusters[i];
    if (i > 0) out << '\n';
    out << cluster_line(c, o.color) << '\n';
    if (!groups[i].empty()) {
      print_row(out, head, widths, "  ", false);
      for (const auto &row : groups[i])
        print_row(out, row, widths, "  ", o.color);
    }
    for (const auto &n : notes_of(c))
      out << "  " << n << '\n';
  }
  if (!r.clusters.empty()) out << '\n';
  for (const auto &e : r.errors)
    out << "error: " << e << '\n';
  out << summary_line(r.summary) << '\n';
}

} // namespace vmsync::report
