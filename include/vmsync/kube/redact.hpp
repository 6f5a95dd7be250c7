#pragma once
// The one place where secrets are cut out of text that may reach a terminal, a log or a report: request
// logging, API error messages, transport errors and anything quoted from a server or a credential plugin all
// pass through here. Known secret values are removed wherever they appear; recognisable shapes (Authorization
// schemes, JWTs, PEM private keys, token/password fields, URL user info) are removed even when unknown.
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::kube {

inline constexpr std::string_view redacted = "<redacted>";

// `secrets`: values known to be secret (the token, the password, exec plugin tokens). Values shorter than four
// characters are not searched for (they would mangle ordinary words); the shape rules still apply to them.
std::string redact(std::string_view text, const std::vector<std::string> &secrets = {});

// A header value as it may be shown: "Bearer <redacted>" for Authorization, "<redacted>" for cookies,
// redact(value) otherwise.
std::string redact_header(std::string_view name, std::string_view value);

} // namespace vmsync::kube
