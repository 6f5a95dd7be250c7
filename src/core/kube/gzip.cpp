#include "gzip.hpp"

#include "vmsync/error.hpp"

#include <fmt/format.h>
#include <limits>
#include <zlib.h>

namespace vmsync::kube {

namespace {

// 16 + MAX_WBITS: a gzip header and trailer, not a raw or zlib stream.
constexpr int kGzipWindowBits = 16 + MAX_WBITS;

std::string zlib_error(int rc, const z_stream &zs) {
  return fmt::format("{} ({})", zs.msg != nullptr ? zs.msg : "no detail", rc);
}

} // namespace

struct GunzipBuf::Stream {
  z_stream zs{};
  bool initialised = false;
};

GunzipBuf::GunzipBuf(std::string_view compressed) : stream_(std::make_unique<Stream>()) {
  auto &zs = stream_->zs;
  if (compressed.size() > std::numeric_limits<uInt>::max())
    throw ParseError("gzip body: larger than zlib can take in one buffer");
  // zlib's API is not const-correct; it never writes through next_in.
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(compressed.data())); // NOLINT
  zs.avail_in = static_cast<uInt>(compressed.size());
  if (int rc = inflateInit2(&zs, kGzipWindowBits); rc != Z_OK)
    throw ParseError(fmt::format("gzip body: cannot start inflating: {}", zlib_error(rc, zs)));
  stream_->initialised = true;
}

GunzipBuf::~GunzipBuf() {
  if (stream_ && stream_->initialised) inflateEnd(&stream_->zs);
}

GunzipBuf::int_type GunzipBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  if (ended_) return traits_type::eof();
  auto &zs = stream_->zs;
  zs.next_out = reinterpret_cast<Bytef *>(window_.data()); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  zs.avail_out = static_cast<uInt>(window_.size());
  // Loop until some output or the end: inflate may consume header bytes and produce nothing.
  while (zs.avail_out == window_.size()) {
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      ended_ = true;
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0)
      throw ParseError(fmt::format("gzip body ends early, after {} bytes inflated (a truncated answer)",
                                   inflated_ + window_.size() - zs.avail_out));
    if (rc != Z_OK) throw ParseError(fmt::format("gzip body is corrupt: {}", zlib_error(rc, zs)));
  }
  const auto produced = window_.size() - zs.avail_out;
  inflated_ += produced;
  setg(window_.data(), window_.data(), window_.data() + produced);
  return produced == 0 ? traits_type::eof() : traits_type::to_int_type(window_[0]);
}

std::string gunzip(std::string_view compressed, std::size_t max_out) {
  GunzipBuf buf(compressed);
  std::string out;
  std::array<char, std::size_t{16} * 1024> chunk{};
  for (;;) {
    const auto n = buf.sgetn(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (n <= 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_out)
      throw ParseError(fmt::format("gzip body inflates to more than {} bytes", max_out));
    out.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace vmsync::kube
