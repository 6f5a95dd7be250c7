#pragma once

namespace vmsync {
// Diff-style exit codes, as kubectl diff: 0 nothing to report, 1 drift found (or remains), 2 error.
enum class ExitCode : int { Ok = 0, Drift = 1, Error = 2 };
constexpr int to_int(ExitCode c) noexcept { return static_cast<int>(c); }
} // namespace vmsync
