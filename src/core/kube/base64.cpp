#include "vmsync/kube/base64.hpp"

#include <climits>
#include <memory>
#include <openssl/evp.h>
#include <vector>

namespace vmsync::kube {

namespace {
struct EncodeCtxDeleter {
  void operator()(EVP_ENCODE_CTX *ctx) const noexcept { EVP_ENCODE_CTX_free(ctx); }
};
} // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX / 2)) return std::nullopt;
  std::unique_ptr<EVP_ENCODE_CTX, EncodeCtxDeleter> ctx(EVP_ENCODE_CTX_new());
  if (!ctx) return std::nullopt;
  EVP_DecodeInit(ctx.get());
  std::vector<unsigned char> out(text.size() / 4 * 3 + 4);
  int written = 0;
  // OpenSSL's decoder wants unsigned bytes; the reinterpretation of char data is the documented use.
  const auto *in = reinterpret_cast<const unsigned char *>(text.data());
  if (EVP_DecodeUpdate(ctx.get(), out.data(), &written, in, static_cast<int>(text.size())) < 0)
    return std::nullopt;
  int tail = 0;
  if (EVP_DecodeFinal(ctx.get(), out.data() + written, &tail) < 0) return std::nullopt;
  const auto total = static_cast<std::size_t>(written) + static_cast<std::size_t>(tail);
  return std::string(reinterpret_cast<const char *>(out.data()), total);
}

std::string base64_encode(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::vector<unsigned char> out((bytes.size() + 2) / 3 * 4 + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char *>(bytes.data()),
                                static_cast<int>(bytes.size()));
  return std::string(reinterpret_cast<const char *>(out.data()), static_cast<std::size_t>(n));
}

} // namespace vmsync::kube
