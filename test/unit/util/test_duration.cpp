// Durations as every option takes them (src/core/util/duration.cpp): one parser, one rule, for --timeout,
// --request-timeout and --lock-wait alike.
#include "vmsync/error.hpp"
#include "vmsync/util/duration.hpp"

#include <doctest/doctest.h>

using namespace vmsync;
using std::chrono::milliseconds;

TEST_CASE("parse_duration: Go's units, a bare number in seconds") {
  CHECK(util::parse_duration("0", "--timeout") == milliseconds(0));
  CHECK(util::parse_duration("30", "--timeout") == milliseconds(30'000));
  CHECK(util::parse_duration("1m30s", "--timeout") == milliseconds(90'000));
  CHECK(util::parse_duration("500ms", "--timeout") == milliseconds(500));
  CHECK(util::parse_duration("1.5h", "--timeout") == milliseconds(5'400'000));
}

TEST_CASE("parse_duration: a negative duration is refused, naming the flag") {
  CHECK_THROWS_WITH_AS(util::parse_duration("-1s", "--timeout"),
                       "--timeout \"-1s\": a duration cannot be negative (0: no limit)", UsageError);
  CHECK_THROWS_WITH_AS(util::parse_duration("-0", "--lock-wait"),
                       "--lock-wait \"-0\": a duration cannot be negative (0: no limit)", UsageError);
  CHECK_THROWS_WITH_AS(util::parse_duration("10 s", "--request-timeout"),
                       "--request-timeout \"10 s\": not a duration (use e.g. 30s, 2m, 1h30m, 500ms)", UsageError);
}
