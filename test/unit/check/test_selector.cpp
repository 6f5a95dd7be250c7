// Label selectors (src/core/check/selector.cpp): apimachinery's syntax and matching, kubectl's error words.
#include "vmsync/check/selector.hpp"
#include "vmsync/error.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using check::matches;
using check::parse_label_selector;

TEST_CASE("parse_label_selector and matches: every operator") {
  const std::map<std::string, std::string> vm{{"app.kubernetes.io/instance", "vm"}, {"tier", "db"}};
  const std::map<std::string, std::string> none;
  auto sel = [](const char *t) { return parse_label_selector(t); };
  CHECK(matches(sel(""), vm));
  CHECK(matches(sel("app.kubernetes.io/instance=vm"), vm));
  CHECK(matches(sel("app.kubernetes.io/instance==vm, tier=db"), vm));
  CHECK_FALSE(matches(sel("app.kubernetes.io/instance=other"), vm));
  CHECK(matches(sel("tier!=web"), vm));
  CHECK(matches(sel("tier!=web"), none));
  CHECK_FALSE(matches(sel("tier!=db"), vm));
  CHECK(matches(sel("tier in (web, db)"), vm));
  CHECK_FALSE(matches(sel("tier in (web)"), vm));
  CHECK(matches(sel("tier notin (web)"), vm));
  CHECK(matches(sel("tier notin (web)"), none));
  CHECK(matches(sel("tier"), vm));
  CHECK_FALSE(matches(sel("tier"), none));
  CHECK(matches(sel("!zone"), vm));
  CHECK_FALSE(matches(sel("!tier"), vm));
  CHECK(matches(sel("tier=db,!zone,app.kubernetes.io/instance in (vm,vm2)"), vm));
}

TEST_CASE("parse_label_selector: what the server would refuse, in kubectl's words") {
  CHECK_THROWS_WITH_AS(
      parse_label_selector("a=b=c"),
      "-l \"a=b=c\": unable to parse requirement: \"a=b=c\": found '=' in the value, expected: ',' "
      "or 'end of string'",
      UsageError);
  CHECK_THROWS_WITH_AS(parse_label_selector("=x"),
                       "-l \"=x\": unable to parse requirement: \"=x\": found no key, expected: identifier",
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_label_selector("a,,b"),
                       "-l \"a,,b\": unable to parse requirement: found ',', expected: identifier", UsageError);
  CHECK_THROWS_WITH_AS(parse_label_selector("tier in (a"),
                       "-l \"tier in (a\": unable to parse requirement: found end of string, expected: ')'",
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_label_selector("-tier=x"),
                       "-l \"-tier=x\": unable to parse requirement: key \"-tier\": name part must consist of "
                       "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                       "character (at most 63 characters)",
                       UsageError);
  CHECK_THROWS_AS(parse_label_selector("tier=-x"), UsageError);
  CHECK_THROWS_AS(parse_label_selector("Bad_Prefix/x=y"), UsageError);
}
