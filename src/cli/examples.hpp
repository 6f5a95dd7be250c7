#pragma once
// The examples of each command, written once: `vmsync CMD --help` ends with them and the man page prints them in
// the command's section (cmd_man.cpp).
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::cli {

struct Example {
  std::string_view what;    // one line saying what it does
  std::string_view command; // the command line, as typed
};

// The examples of `command` ("check", "fix", ...; "" for vmsync itself); empty when it has none.
const std::vector<Example> &examples(std::string_view command);

// The Examples section of `vmsync COMMAND --help`, lines indented by two spaces; empty when it has none.
std::string examples_text(std::string_view command);

} // namespace vmsync::cli
