#pragma once
// The name vmsync calls itself in usage lines and errors. Installed also as kubectl-vmsync, it is run by kubectl
// as a plugin (`kubectl vmsync check`), and a user told "Run 'vmsync --help'" would type a command they never
// used: the name follows how the program was started. One place decides it; everything that prints the name asks
// here.
#include <string>
#include <string_view>

namespace vmsync::cli {

// "kubectl vmsync" when the file name of argv[0] is kubectl-vmsync (kubectl's plugin naming: kubectl-<name>),
// else "vmsync" (also for any other link or copy name: the manual and the completions know only vmsync).
std::string display_name(std::string_view argv0);

// The display name of this process, once run() has recorded argv[0]; "vmsync" before.
const std::string &program_name();
void set_program_name(std::string_view argv0);

} // namespace vmsync::cli
