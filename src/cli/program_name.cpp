#include "program_name.hpp"

namespace vmsync::cli {

namespace {
std::string &name() {
  static std::string n = "vmsync";
  return n;
}
} // namespace

std::string display_name(std::string_view argv0) {
  const auto slash = argv0.find_last_of('/');
  const auto base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  return base == "kubectl-vmsync" ? "kubectl vmsync" : "vmsync";
}

const std::string &program_name() { return name(); }

void set_program_name(std::string_view argv0) { name() = display_name(argv0); }

} // namespace vmsync::cli
