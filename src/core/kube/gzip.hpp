#pragma once
// gzip bodies (Content-Encoding: gzip) decoded by vmsync itself rather than by the transport, so that a large
// list page is kept as the few megabytes that came over the wire and parsed while it is inflated, never held
// decompressed (a page of 500 Deployments is 30+ MiB of JSON, 2 MiB gzipped). zlib does the inflating.
#include <array>
#include <cstddef>
#include <memory>
#include <streambuf>
#include <string>
#include <string_view>

namespace vmsync::kube {

// The whole body, decompressed: for small answers such as error Status objects. Throws ParseError when the
// data is not gzip, is corrupt or ends early, or would inflate beyond `max_out` bytes.
std::string gunzip(std::string_view compressed, std::size_t max_out);

// A read-only stream buffer that inflates `compressed` as it is read, a window at a time, for parsers that take
// a std::istream (nlohmann::json::parse). `compressed` must outlive it. Corrupt or truncated data throws
// ParseError out of the read that meets it (never a silent end of input).
class GunzipBuf : public std::streambuf {
public:
  explicit GunzipBuf(std::string_view compressed);
  ~GunzipBuf() override;
  GunzipBuf(const GunzipBuf &) = delete;
  GunzipBuf &operator=(const GunzipBuf &) = delete;
  GunzipBuf(GunzipBuf &&) = delete;
  GunzipBuf &operator=(GunzipBuf &&) = delete;

  // Bytes produced so far.
  [[nodiscard]] std::size_t inflated() const noexcept { return inflated_; }

protected:
  int_type underflow() override;

private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  std::array<char, std::size_t{64} * 1024> window_{};
  std::size_t inflated_ = 0;
  bool ended_ = false;
};

} // namespace vmsync::kube
