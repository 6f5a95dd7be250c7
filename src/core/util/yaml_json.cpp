#include "vmsync/util/yaml_json.hpp"

#include "vmsync/error.hpp"

#include <charconv>
#include <fmt/format.h>
#include <regex>
#include <yaml-cpp/yaml.h>

namespace vmsync::util {

namespace {

nlohmann::json plain_scalar(const std::string &s) {
  // YAML 1.2 core schema.
  static const std::regex int_re{"[-+]?[0-9]+"};
  static const std::regex float_re{"[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?"};
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, int_re)) {
    long long v = 0;
    const char *b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc{} && p == s.data() + s.size()) return v;
    return s;
  }
  if (std::regex_match(s, float_re)) return std::stod(s);
  return s;
}

nlohmann::json to_json(const YAML::Node &n) {
  switch (n.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined: return nullptr;
  case YAML::NodeType::Scalar:
    return n.Tag() == "?" ? plain_scalar(n.Scalar()) : nlohmann::json(n.Scalar());
  case YAML::NodeType::Sequence: {
    auto arr = nlohmann::json::array();
    for (const auto &x : n) arr.push_back(to_json(x));
    return arr;
  }
  case YAML::NodeType::Map: {
    auto obj = nlohmann::json::object();
    for (const auto &kv : n) obj[kv.first.as<std::string>()] = to_json(kv.second);
    return obj;
  }
  }
  return nullptr;
}

} // namespace

std::vector<nlohmann::json> parse_yaml_documents(std::string_view text, std::string_view origin) {
  std::vector<nlohmann::json> out;
  try {
    for (const auto &doc : YAML::LoadAll(std::string(text))) {
      auto j = to_json(doc);
      if (!j.is_null()) out.push_back(std::move(j));
    }
  } catch (const YAML::Exception &e) {
    throw ParseError(fmt::format("{}: line {}, column {}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return out;
}

} // namespace vmsync::util
