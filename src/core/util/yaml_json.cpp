#include "vmsync/util/yaml_json.hpp"

#include "vmsync/error.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
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
  // No number has that many characters worth keeping, and libstdc++'s std::regex recurses per character (a long
  // scalar would exhaust the stack): keep it as text.
  if (s.size() > 128) return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, int_re)) {
    long long v = 0;
    const char *b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc{} && p == s.data() + s.size()) return v;
    return s;
  }
  if (std::regex_match(s, float_re)) {
    // Out of double range (1e999): kept as text, as JSON has no infinity (std::stod would throw).
    errno = 0;
    const double d = std::strtod(s.c_str(), nullptr);
    if (errno == ERANGE || !std::isfinite(d)) return s;
    return d;
  }
  return s;
}

nlohmann::json core_schema_scalar(const YAML::Node &n) { return plain_scalar(n.Scalar()); }

class Converter {
public:
  Converter(PlainScalar plain, std::size_t max_nodes) : plain_(plain), left_(max_nodes) {}

  nlohmann::json convert(const YAML::Node &n) {
    if (left_ == 0)
      throw YAML::ParserException(n.Mark(), "document contains excessive aliasing (too many nodes once its "
                                            "aliases are expanded)");
    --left_;
    switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return n.Tag() == "?" ? plain_(n) : nlohmann::json(n.Scalar());
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map: break;
    }
    if (open_.size() >= kMaxDepth) {
      // An alias inside the node it names nests without end; aliases share their anchor's node, so at this depth
      // that node is among its own ancestors. Only looked for here: a scan per node would be quadratic.
      if (std::any_of(open_.begin(), open_.end(), [&n](const YAML::Node &a) { return a.is(n); }))
        throw YAML::ParserException(n.Mark(), "an alias refers to a node that contains it (an alias cycle)");
      throw YAML::ParserException(n.Mark(), fmt::format("nested deeper than {} levels", kMaxDepth));
    }
    open_.push_back(n);
    auto out = n.IsSequence() ? nlohmann::json::array() : nlohmann::json::object();
    if (n.IsSequence())
      for (const auto &x : n)
        out.push_back(convert(x));
    else
      for (const auto &kv : n)
        out[key(kv.first)] = convert(kv.second);
    open_.pop_back();
    return out;
  }

private:
  static constexpr std::size_t kMaxDepth = 1000;

  // JSON keys are strings: a scalar key as written (a tag with no text, `!tag : x`, is ""), a null one (`~: x`)
  // as "null", as Go's YAML-to-JSON conversion writes it; a sequence or mapping as key has no string form.
  static std::string key(const YAML::Node &k) {
    if (k.IsSequence() || k.IsMap())
      throw YAML::ParserException(k.Mark(), "a mapping key must be a scalar, not a sequence or mapping");
    return k.IsScalar() ? k.Scalar() : "null";
  }
  PlainScalar plain_;
  std::size_t left_;
  std::vector<YAML::Node> open_; // the containers being converted, outermost first
};

} // namespace

nlohmann::json yaml_to_json(const YAML::Node &n, PlainScalar plain, std::size_t max_nodes) {
  return Converter(plain != nullptr ? plain : core_schema_scalar, max_nodes).convert(n);
}

std::optional<std::string> invalid_utf8_at(std::string_view text) {
  // RFC 3629, section 4: by lead byte, how many continuation bytes follow and the range of the first one.
  struct Form {
    unsigned char first, last;     // lead byte range
    std::size_t continuations;
    unsigned char next_lo, next_hi; // range of the byte after the lead
  };
  static constexpr Form forms[] = {{0x00, 0x7F, 0, 0x00, 0x00}, {0xC2, 0xDF, 1, 0x80, 0xBF},
                                   {0xE0, 0xE0, 2, 0xA0, 0xBF}, {0xE1, 0xEC, 2, 0x80, 0xBF},
                                   {0xED, 0xED, 2, 0x80, 0x9F}, {0xEE, 0xEF, 2, 0x80, 0xBF},
                                   {0xF0, 0xF0, 3, 0x90, 0xBF}, {0xF1, 0xF3, 3, 0x80, 0xBF},
                                   {0xF4, 0xF4, 3, 0x80, 0x8F}};
  std::size_t line = 1;
  std::size_t line_start = 0;
  const auto where = [&](std::size_t i) {
    return fmt::format("line {}, column {}", line, i - line_start + 1);
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const Form *form = nullptr;
    for (const auto &f : forms)
      if (c >= f.first && c <= f.last) form = &f;
    if (form == nullptr || text.size() - i <= form->continuations) return where(i); // bad lead byte, or cut short
    for (std::size_t k = 1; k <= form->continuations; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      const unsigned char lo = k == 1 ? form->next_lo : 0x80;
      const unsigned char hi = k == 1 ? form->next_hi : 0xBF;
      if (b < lo || b > hi) return where(i);
    }
    if (c == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += form->continuations + 1;
  }
  return std::nullopt;
}

namespace {

struct Document {
  std::string text;
  std::size_t first_line = 0; // of the whole text, 0-based, for messages
};

// Documents as kubectl splits them (k8s.io/apimachinery/pkg/util/yaml YAMLReader): at a line that starts with
// "---" followed by nothing or white space. Each is then parsed on its own with YAML::Load; not with
// YAML::LoadAll, which in yaml-cpp 0.7 loops forever, allocating, on a stray ',' at block level (",a:" alone;
// found by fuzzing).
std::vector<Document> split_documents(std::string_view text) {
  std::vector<Document> docs(1);
  std::size_t line = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto row = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(row.size());
    const bool separator =
        row.starts_with("---") && (row.size() == 3 || std::isspace(static_cast<unsigned char>(row[3])) != 0);
    ++line;
    if (separator) {
      docs.push_back(Document{{}, line});
      continue;
    }
    docs.back().text += row;
  }
  return docs;
}

} // namespace

std::vector<nlohmann::json> parse_yaml_documents(std::string_view text, std::string_view origin) {
  if (auto at = invalid_utf8_at(text)) throw ParseError(fmt::format("{}: {}: not valid UTF-8", origin, *at));
  std::vector<nlohmann::json> out;
  for (const auto &doc : split_documents(text)) {
    try {
      // Without aliases a document has fewer nodes than characters: the bound only stops expansions.
      auto j = yaml_to_json(YAML::Load(doc.text), nullptr, kMaxYamlNodes + doc.text.size());
      if (!j.is_null()) out.push_back(std::move(j));
    } catch (const YAML::Exception &e) {
      throw ParseError(fmt::format("{}: line {}, column {}: {}", origin,
                                   static_cast<long long>(doc.first_line) + e.mark.line + 1, e.mark.column + 1,
                                   e.msg));
    }
  }
  return out;
}

} // namespace vmsync::util
