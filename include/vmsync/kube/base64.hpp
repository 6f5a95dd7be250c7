#pragma once
// Base64 as Kubernetes uses it (the -data fields of a kubeconfig, certificate-authority-data in
// KUBERNETES_EXEC_INFO, basic auth): RFC 4648 standard alphabet with padding, decoded by OpenSSL.
#include <optional>
#include <string>
#include <string_view>

namespace vmsync::kube {

// nullopt when `text` is not valid padded base64. Line breaks and spaces are ignored, as Go's decoder of
// []byte fields ignores line breaks.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

} // namespace vmsync::kube
