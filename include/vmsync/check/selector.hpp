#pragma once
// Label selectors as the API server reads them (k8s.io/apimachinery labels.Parse): `k=v`, `k==v`, `k!=v`,
// `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by commas. -l is sent to the server as it is when vmsync
// reads the cluster; offline (check -f) the same selector is applied here, so both read the same objects, and a
// selector the server would refuse is refused before anything is read, in both modes.
#include "vmsync/check/inventory.hpp"

#include <map>
#include <string>
#include <vector>

namespace vmsync::check {

struct Requirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;
};

using LabelSelector = std::vector<Requirement>; // all must hold; empty selects everything

// Throws UsageError `-l "TEXT": unable to parse requirement: WHY` (kubectl's words) on a malformed selector.
LabelSelector parse_label_selector(const std::string &text);

bool matches(const LabelSelector &s, const std::map<std::string, std::string> &labels);

// Drops from an offline inventory the objects -l would not have listed live: the workloads and the custom
// resources (pods and ConfigMaps are never selected by -l).
void keep_selected(Inventory &inv, const LabelSelector &s);

} // namespace vmsync::check
