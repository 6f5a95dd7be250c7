#pragma once
#include <string_view>

namespace vmsync {
std::string_view version() noexcept;
std::string_view git_commit() noexcept;
} // namespace vmsync
