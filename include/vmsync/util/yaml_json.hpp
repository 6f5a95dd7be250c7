#pragma once
// YAML documents as nlohmann::json, with YAML 1.2 core-schema typing of plain scalars (so `replicas: 3` is a
// number and `"3"` a string), for rendered manifests and kubeconfigs.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace vmsync::util {

// Nodes a YAML document may expand to through its aliases, beyond one per character of its text.
inline constexpr std::size_t kMaxYamlNodes = 1'000'000;

// How a plain (unquoted, untagged) scalar becomes JSON; quoted and tagged ones are strings.
using PlainScalar = nlohmann::json (*)(const YAML::Node &);

// A yaml-cpp node graph as JSON, aliases expanded, within bounds Go's YAML decoder (kubectl) has too: an alias
// inside the node it names (a cycle), more than `max_nodes` nodes once aliases are expanded ("billion laughs"),
// or nesting deeper than 1,000 levels throw YAML::ParserException at the node's mark. `plain` (nullptr: YAML 1.2
// core schema, as parse_yaml_documents) types plain scalars.
nlohmann::json yaml_to_json(const YAML::Node &n, PlainScalar plain, std::size_t max_nodes);

// Every document of a multi-document YAML (or JSON) text. Throws ParseError naming `origin` and the line.
std::vector<nlohmann::json> parse_yaml_documents(std::string_view text, std::string_view origin);

// Where `text` stops being UTF-8, as "line L, column C" (nullopt: valid). YAML and JSON are UTF-8; Go's YAML
// decoder (kubectl, client-go) refuses anything else, and nlohmann::json cannot write it out again.
std::optional<std::string> invalid_utf8_at(std::string_view text);

} // namespace vmsync::util
