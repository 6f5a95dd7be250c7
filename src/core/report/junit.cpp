// JUnit XML. CI systems group test cases by classname, split at dots into package and class, so a consumer shows
// up as <namespace> > <cluster> > "vminsert deployment/x". The failure text is the drift in plain lines that
// read well in a CI log, the message attribute one line that fits a CI summary.
#include "vmsync/report/junit.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace vmsync::report {
namespace {

using model::PodStatus;

// XML 1.0 text and attribute values: the five specials escaped, control characters XML cannot carry dropped.
std::string xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default:
      if (c >= 0x20 || ch == '\n' || ch == '\t' || ch == '\r') out += ch;
    }
  }
  return out;
}

enum class Outcome { Pass, Failure, Skipped };

struct Case {
  std::string name;
  Outcome outcome = Outcome::Pass;
  std::string type;    // failure type: Drift, Unknown
  std::string message; // one line
  std::string text;    // the details
};

std::string missing_unexpected(const std::vector<std::string> &missing,
                               const std::vector<std::string> &unexpected) {
  std::string out;
  if (!missing.empty()) out += "; missing " + text::join(missing);
  if (!unexpected.empty()) out += "; unexpected " + text::join(unexpected);
  return out;
}

Case consumer_case(const model::ConsumerDrift &c) {
  Case k;
  k.name = fmt::format("{} {}/{}", model::to_string(c.role), text::lower(c.workload.kind), c.workload.name);
  int stale = 0, unknown = 0, discovery = 0;
  for (const auto &p : c.pods) {
    stale += p.status == PodStatus::Stale ? 1 : 0;
    unknown += p.status == PodStatus::Unknown ? 1 : 0;
    discovery += p.status == PodStatus::Discovery ? 1 : 0;
  }
  const int pods = static_cast<int>(c.pods.size());
  const bool drift = stale > 0 || c.source_drift || c.mixed_spellings;
  if (!drift && unknown == 0) {
    if (pods > 0 && discovery == pods) {
      k.outcome = Outcome::Skipped;
      k.message = "every pod finds its storage nodes by discovery";
    }
    return k;
  }

  k.outcome = Outcome::Failure;
  k.type = drift ? "Drift" : "Unknown";
  std::vector<std::string> parts;
  if (stale > 0) parts.push_back(fmt::format("{} of {} pods stale", stale, pods));
  if (unknown > 0) parts.push_back(fmt::format("{} of {} pods unproven", unknown, pods));
  const std::string source = c.source.description.empty() ? "its source" : c.source.description;
  if (c.source_drift) parts.push_back("wrong list in " + source);
  if (c.mixed_spellings) parts.push_back("mixed spellings");
  k.message = text::join(parts);

  std::ostringstream t;
  t << "expected: " << text::join(c.expected) << '\n';
  if (c.source_drift) {
    t << "wrong list in " << source << missing_unexpected(c.source_missing, c.source_unexpected);
    if (!c.duplicates.empty()) t << "; duplicates " << text::join(c.duplicates);
    if (!c.empty_entries.empty()) t << "; empty entries " << text::join(c.empty_entries);
    t << '\n';
  }
  for (const auto &v : c.spelling_variants)
    t << "node " << v.identity << " spelled " << text::join(v.spellings) << '\n';
  for (const auto &p : c.pods) {
    if (p.status != PodStatus::Stale && p.status != PodStatus::Unknown) continue;
    t << "pod " << p.name << ": " << model::to_string(p.status) << missing_unexpected(p.missing, p.unexpected)
      << '\n';
    for (const auto &e : p.evidence)
      t << "  " << e << '\n';
  }
  k.text = t.str();
  return k;
}

std::vector<Case> cluster_cases(const model::ClusterDrift &c) {
  std::vector<Case> cases;
  for (const auto &consumer : c.consumers)
    cases.push_back(consumer_case(consumer));
  // A split between vminsert workloads is no one workload's failure: a case of its own (vmselect's is no drift).
  for (const auto &split : c.spelling_splits) {
    if (split.role != model::Role::Insert) continue;
    Case k{"vminsert spelling of " + split.identity,
           Outcome::Failure,
           "Drift",
           fmt::format("{} vminsert workloads spell the node differently", split.workloads.size()),
           {}};
    for (const auto &w : split.workloads)
      k.text +=
          fmt::format("{}/{} as {}\n", text::lower(w.workload.kind), w.workload.name, text::join(w.spellings));
    cases.push_back(std::move(k));
  }
  if (!c.errors.empty()) {
    Case k{"check", Outcome::Failure, "Error", c.errors.front(), {}};
    for (const auto &e : c.errors)
      k.text += e + '\n';
    cases.push_back(std::move(k));
  } else if (c.consumers.empty()) {
    Case k{"check", Outcome::Pass, {}, {}, {}};
    if (c.status != model::ClusterStatus::InSync) {
      k.outcome = Outcome::Failure;
      k.type = std::string(model::to_string(c.status));
      k.message = "no vminsert or vmselect workload could be checked";
    }
    cases.push_back(std::move(k));
  }
  return cases;
}

struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  void add(const Case &k) {
    ++tests;
    if (k.outcome == Outcome::Skipped) ++skipped;
    if (k.outcome == Outcome::Failure) ++(k.type == "Error" ? errors : failures);
  }
  [[nodiscard]] std::string attributes() const {
    return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"", tests, failures, errors,
                       skipped);
  }
};

} // namespace

void render_junit(const model::DriftReport &r, std::ostream &out) {
  std::vector<std::vector<Case>> suites;
  Counts total;
  for (const auto &c : r.clusters) {
    suites.push_back(cluster_cases(c));
    for (const auto &k : suites.back())
      total.add(k);
  }
  // Errors that belong to no cluster are a suite of their own, so a failed check is never an empty report.
  std::vector<Case> general;
  for (const auto &e : r.errors)
    general.push_back(Case{"check", Outcome::Failure, "Error", e, e + '\n'});
  for (const auto &k : general)
    total.add(k);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"vmsync check\" " << total.attributes() << ">\n";
  if (!general.empty()) {
    Counts counts;
    for (const auto &k : general)
      counts.add(k);
    out << "  <testsuite name=\"vmsync\" " << counts.attributes() << ">\n";
    for (const auto &k : general)
      out << "    <testcase classname=\"vmsync\" name=\"" << xml(k.name)
          << "\">\n      <error type=\"Error\" message=\"" << xml(k.message) << "\">" << xml(k.text)
          << "</error>\n    </testcase>\n";
    out << "  </testsuite>\n";
  }
  for (std::size_t i = 0; i < r.clusters.size(); ++i) {
    const auto &c = r.clusters[i];
    Counts counts;
    for (const auto &k : suites[i])
      counts.add(k);
    const std::string classname = xml(c.namespace_ + "." + c.name);
    out << "  <testsuite name=\"" << xml(c.namespace_ + "/" + c.name) << "\" " << counts.attributes() << ">\n";
    out << "    <properties>\n";
    out << "      <property name=\"layout\" value=\"" << model::to_string(c.layout) << "\"/>\n";
    out << "      <property name=\"status\" value=\"" << model::to_string(c.status) << "\"/>\n";
    out << "      <property name=\"storage\" value=\""
        << xml(c.pods_known
                   ? fmt::format("{}/{}: {} declared, {} ready", text::lower(c.storage.workload.kind),
                                 c.storage.workload.name, c.storage.declared_replicas, c.storage.ready_pods)
                   : fmt::format("{}/{}: {} declared", text::lower(c.storage.workload.kind),
                                 c.storage.workload.name, c.storage.declared_replicas))
        << "\"/>\n";
    out << "    </properties>\n";
    for (const auto &k : suites[i]) {
      out << "    <testcase classname=\"" << classname << "\" name=\"" << xml(k.name) << "\"";
      switch (k.outcome) {
      case Outcome::Pass: out << "/>\n"; continue;
      case Outcome::Skipped: out << ">\n      <skipped message=\"" << xml(k.message) << "\"/>\n"; break;
      case Outcome::Failure:
        out << ">\n      <" << (k.type == "Error" ? "error" : "failure") << " type=\"" << xml(k.type)
            << "\" message=\"" << xml(k.message) << "\">" << xml(k.text) << "</"
            << (k.type == "Error" ? "error" : "failure") << ">\n";
        break;
      }
      out << "    </testcase>\n";
    }
    if (!c.warnings.empty()) {
      out << "    <system-out>";
      for (const auto &w : c.warnings)
        out << xml("warning: " + w) << '\n';
      out << "</system-out>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

} // namespace vmsync::report
