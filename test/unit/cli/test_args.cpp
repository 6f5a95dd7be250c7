// The pure helpers of the command line (src/cli/args.cpp): did-you-mean, `-n=value`, wrapping.
#include "args.hpp"

#include <doctest/doctest.h>

using namespace vmsync::cli;

TEST_CASE("closest: a typo within two edits, or a prefix, as cobra suggests") {
  const std::vector<std::string> commands{"version", "check", "fix", "help"};
  CHECK(args::closest("chek", commands) == "check");
  CHECK(args::closest("CHECK", commands) == "check");
  CHECK(args::closest("fxi", commands) == "fix");
  CHECK(args::closest("ver", commands) == "version"); // a prefix, five edits away
  CHECK(args::closest("deploy", commands).empty());
  CHECK(args::closest("", commands).empty());
  const std::vector<std::string> flags{"-n", "--namespace", "--color", "--context", "-o", "--output"};
  CHECK(args::closest("--colr", flags) == "--color");
  CHECK(args::closest("--namspace", flags) == "--namespace");
  CHECK(args::closest("--outptu", flags) == "--output");
}

TEST_CASE("split_short_equals: -n=x is -n x for short options that take a value") {
  auto value_flag = [](char c) { return c == 'n' || c == 'o' || c == 'f'; };
  using V = std::vector<std::string>;
  CHECK(args::split_short_equals({"-n=monitoring", "check", "-o=json", "-f=a.yaml"}, value_flag) ==
        V{"-n", "monitoring", "check", "-o", "json", "-f", "a.yaml"});
  // An empty value stays one: `-n=` gives the namespace "" (an error later), not the next word.
  CHECK(args::split_short_equals({"-n="}, value_flag) == V{"-n", ""});
  // Flags, long options, values and words after -- are left as they are.
  CHECK(args::split_short_equals({"-A=true", "--namespace=x", "-nx", "--", "-n=y"}, value_flag) ==
        V{"-A=true", "--namespace=x", "-nx", "--", "-n=y"});
}

TEST_CASE("wrap: at spaces, continuation lines indented, a long word alone") {
  CHECK(args::wrap("one two three four", 9, 0) == "one two\nthree\nfour");
  CHECK(args::wrap("one two three four", 14, 4) == "one two\n    three four");
  CHECK(args::wrap("a verylongwordthatdoesnotfit b", 10, 2) == "a\n  verylongwordthatdoesnotfit\n  b");
  CHECK(args::wrap("", 80, 2).empty());
}
