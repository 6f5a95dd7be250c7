#pragma once
// Reading the live CLI11 definition, for the two things that must never drift from it: shell completion
// (`vmsync __complete`) and the man page (`vmsync __man`). Hidden means CLI11's hidden: an empty group.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace vmsync::cli::tree {

// The subcommands a user sees, in definition order.
std::vector<CLI::App *> visible_subcommands(CLI::App &app);

// The options a user sees in `--help` of `app`: named options (help flag included), then positionals.
std::vector<CLI::Option *> visible_options(CLI::App &app);

// Whether the option reads a value (`--context NAME`) rather than being a flag (`-A`).
bool takes_value(const CLI::Option &opt);

// The fixed values an option accepts, read from its CLI::IsMember / CLI::CheckedTransformer validators
// ("{table,wide,json}" -> table, wide, json); empty when any value goes.
std::vector<std::string> choices(CLI::Option &opt);

// For a flag whose value is optional, as kubectl's --dry-run[=none|client|server] (a CLI11 flag with a default
// value: `--dry-run` alone gives the default, `--dry-run=server` another value, and the next word is never its
// value): "[=none|client|server]" (its choices, else "[=VALUE]"). Empty for every other option.
std::string optional_value(CLI::Option &opt);

// "-o, --output" as the user types them: short names first, then long ones; a positional gives its name.
std::vector<std::string> spellings(const CLI::Option &opt);

// The option of `app` or of a parent that `app` falls through to, named by "-o" or "--output"; nullptr if none.
CLI::Option *find_option(CLI::App &app, const std::string &name);

} // namespace vmsync::cli::tree
