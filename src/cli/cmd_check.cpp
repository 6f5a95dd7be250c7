#include "app.hpp"

#include "vmsync/error.hpp"

namespace vmsync::cli {

void register_check(CLI::App &app, GlobalOptions & /*g*/, Action &action) {
  auto *cmd = app.add_subcommand("check", "Report, per vminsert/vmselect pod, drift of its vmstorage list");
  cmd->callback([&action] { action = []() -> int { throw UsageError("check: not implemented yet"); }; });
}

} // namespace vmsync::cli
