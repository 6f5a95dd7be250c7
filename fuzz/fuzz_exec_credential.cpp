// ExecCredential parsing (what a credential plugin printed) and RFC 3339 expiry times. The first byte picks the
// apiVersion the kubeconfig asked for. Checks: only vmsync::Error escapes, and an error never quotes the
// token or the client key (plugin output is a secret).
#include "fuzz_common.hpp"
#include "vmsync/kube/exec_credential.hpp"

#include <nlohmann/json.hpp>

using namespace vmsync;

namespace {

std::string status_string(const nlohmann::json &j, const char *key) {
  if (!j.is_object()) return {};
  auto st = j.find("status");
  if (st == j.end() || !st->is_object()) return {};
  auto it = st->find(key);
  return it != st->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

} // namespace

VMSYNC_FUZZ_TARGET(exec_credential) {
  if (size == 0) return 0;
  const std::string api =
      (data[0] & 1) != 0 ? "client.authentication.k8s.io/v1" : "client.authentication.k8s.io/v1beta1";
  const std::string_view output(reinterpret_cast<const char *>(data) + 1, size - 1);

  (void)kube::parse_rfc3339(output);

  try {
    const auto c = kube::parse_exec_credential(output, api, "exec credential plugin \"fuzz\"");
    if (c.token.empty() && c.client_certificate_pem.empty())
      fuzz::finding("accepted a credential with nothing in it");
  } catch (const vmsync::Error &e) {
    const auto j = nlohmann::json::parse(output, nullptr, false);
    const std::string_view message = e.what();
    for (const char *key : {"token", "clientKeyData"}) {
      const std::string secret = status_string(j, key);
      // Only a secret that is unmistakably itself: long enough, and written nowhere else in the output.
      if (secret.size() >= 12 && count(output, secret) == 1 && message.find(secret) != std::string_view::npos)
        fuzz::finding(std::string("error quotes status.") + key + ": " + std::string(message));
    }
  } catch (const fuzz::Finding &) {
    throw;
  } catch (const std::exception &e) {
    fuzz::finding(std::string("exception other than vmsync::Error escaped: ") + e.what());
  }
  return 0;
}
