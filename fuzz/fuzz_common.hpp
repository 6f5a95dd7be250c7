#pragma once
// Shared by the libFuzzer targets. The contract each target checks: hostile input ends in a vmsync::Error (a
// clean one-line `vmsync: error:` with exit 2) or a result; anything else (another exception type, a crash,
// ASan/UBSan findings, a hang or unbounded memory, caught by libFuzzer's -timeout and -rss_limit_mb) is a bug.
//
// Each target is written once, as VMSYNC_FUZZ_TARGET(name) { ... }. Built for libFuzzer it is
// LLVMFuzzerTestOneInput; built into the unit tests (VMSYNC_FUZZ_REPLAY, see cmake/Fuzz.cmake) it is
// vmsync_fuzz_<name>(), which test/unit/fuzz/test_fuzz_corpus.cpp runs on every committed seed and every
// regression input, so a finding once fixed stays fixed under the normal compiler too.
#include "vmsync/error.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#ifdef VMSYNC_FUZZ_REPLAY
#define VMSYNC_FUZZ_TARGET(name) int vmsync_fuzz_##name(const std::uint8_t *data, std::size_t size)
#else
#define VMSYNC_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
#endif

namespace vmsync::fuzz {

// A broken contract, as an exception in the unit tests.
class Finding : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Aborts (so libFuzzer saves the input) with a reason; throws Finding in the unit tests.
[[noreturn]] inline void finding(const std::string &what) {
#ifdef VMSYNC_FUZZ_REPLAY
  throw Finding(what);
#else
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
#endif
}

// Runs `body`; vmsync::Error is an accepted outcome, anything else thrown is a finding.
template <typename F> void expect_clean(F &&body) {
  try {
    body();
  } catch (const Finding &) {
    throw;
  } catch (const vmsync::Error &) {
  } catch (const std::exception &e) {
    finding(std::string("exception other than vmsync::Error escaped: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding("non-std exception escaped");
  }
}

// One temporary folder per process, removed at exit. The name is never destroyed: the exit handler runs after
// static destructors registered before it.
inline const std::string &temp_dir() {
  static const std::string *dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "vmsync-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) finding("mkdtemp failed");
    auto *kept = new std::string(pattern); // NOLINT(cppcoreguidelines-owning-memory): lives until exit
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir(), ec);
    });
    return kept;
  }();
  return *dir;
}

inline std::string write_file(const std::string &name, std::string_view content) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

// Splits on a separator line ("\n<sep>\n"); the fuzzer learns it from the seeds.
inline std::vector<std::string_view> split_on(std::string_view in, std::string_view sep, std::size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    const auto at = in.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + sep.size());
  }
  out.push_back(in);
  return out;
}

} // namespace vmsync::fuzz
