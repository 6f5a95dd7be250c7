#include "app.hpp"

#include "vmsync/version.hpp"

#include <fmt/format.h>

namespace vmsync::cli {

void register_version(CLI::App &app, Action &action) {
  auto *cmd = app.add_subcommand("version", "Print the vmsync version and git commit");
  cmd->callback([&action] {
    action = [] {
      fmt::print("vmsync {}\ngit commit {}\n", version(), git_commit());
      return 0;
    };
  });
}

} // namespace vmsync::cli
