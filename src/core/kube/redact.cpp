#include "vmsync/kube/redact.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace vmsync::kube {

namespace {

struct Rule {
  std::regex pattern;
  const char *replacement;
};

const std::vector<Rule> &rules() {
  using std::regex;
  constexpr auto icase = regex::ECMAScript | regex::icase;
  static const std::vector<Rule> all = {
      // A PEM private key, complete or cut short.
      {regex(R"(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$))"),
       "-----BEGIN $1PRIVATE KEY-----<redacted>-----END $1PRIVATE KEY-----"},
      // JSON Web Tokens: service-account tokens, OIDC id tokens.
      {regex(R"(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)"), "<redacted>"},
      // Authorization headers as printed: everything after the scheme.
      {regex(R"(\b((?:proxy-)?authorization:\s*)([A-Za-z]+)\s+(?!<redacted>)[^\s"',;]+)", icase), "$1$2 <redacted>"},
      // Credentials after "Bearer"/"Basic" elsewhere (a word with a digit or symbol, so that prose such as
      // "basic authentication" stays).
      {regex(R"(\b(bearer|basic)\s+(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]+)", icase), "$1 <redacted>"},
      // JSON fields that hold secrets (kubeconfig, ExecCredential status, OAuth answers).
      {regex(R"x("(token|access_token|id_token|refresh_token|password|client-key-data|clientKeyData|client_secret)"\s*:\s*"(?:[^"\\]|\\.)*")x",
             icase),
       "\"$1\": \"<redacted>\""},
      // key: value / key=value forms (YAML, flags, query strings).
      {regex(R"(\b(token|access_token|id_token|password|client-key-data|client_secret)(\s*[:=]\s*)(?!<redacted>)[^\s"',;&}]+)",
             icase),
       "$1$2<redacted>"},
      // User info in URLs: scheme://user:password@host.
      {regex(R"((://)[^/\s:@]+:[^/\s@]+@)"), "$1<redacted>@"},
  };
  return all;
}

void replace_all(std::string &text, const std::string &needle) {
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + redacted.size()))
    text.replace(at, needle.size(), redacted);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

std::string redact(std::string_view text, const std::vector<std::string> &secrets) {
  std::string out(text);
  // Longest first, so that a secret containing another is removed whole.
  std::vector<std::string> known;
  for (const auto &s : secrets)
    if (s.size() >= 4) known.push_back(s);
  std::sort(known.begin(), known.end(), [](const auto &a, const auto &b) { return a.size() > b.size(); });
  for (const auto &s : known) replace_all(out, s);
  for (const auto &rule : rules()) out = std::regex_replace(out, rule.pattern, rule.replacement);
  return out;
}

std::string redact_header(std::string_view name, std::string_view value) {
  if (iequals(name, "authorization") || iequals(name, "proxy-authorization")) {
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return std::string(redacted);
    return std::string(value.substr(0, space)) + " " + std::string(redacted);
  }
  if (iequals(name, "cookie") || iequals(name, "set-cookie")) return std::string(redacted);
  return redact(value);
}

} // namespace vmsync::kube
