// YAML to JSON (src/core/util/yaml_json.cpp): typing of plain scalars, and the bounds on what aliases may expand.
#include "vmsync/error.hpp"
#include "vmsync/util/yaml_json.hpp"

#include <doctest/doctest.h>
#include <string>
#include <yaml-cpp/yaml.h>

using namespace vmsync;
using nlohmann::json;

TEST_CASE("parse_yaml_documents: aliases are expanded, plain scalars typed by the YAML 1.2 core schema") {
  const auto docs =
      util::parse_yaml_documents("a: &x {n: 3, s: \"3\", b: true, y: yes, f: 1.5, z: ~}\nb: [*x, *x]\n"
                                 "---\nkind: Second\n",
                                 "in.yaml");
  REQUIRE(docs.size() == 2);
  const json x = {{"n", 3}, {"s", "3"}, {"b", true}, {"y", "yes"}, {"f", 1.5}, {"z", nullptr}};
  CHECK(docs[0] == json{{"a", x}, {"b", {x, x}}});
  CHECK(docs[1] == json{{"kind", "Second"}});
}

TEST_CASE(
    "parse_yaml_documents: an alias inside the node it names is an error at that node, not a stack overflow") {
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("kind: A\n---\nkind: B\nspec: &s\n  again: *s\n", "in.yaml"),
                       "in.yaml: line 4, column 7: an alias refers to a node that contains it (an alias cycle)",
                       ParseError);
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("x: &b [1, *b]\n", "in.yaml"),
                       "in.yaml: line 1, column 4: an alias refers to a node that contains it (an alias cycle)",
                       ParseError);
}

TEST_CASE("parse_yaml_documents: a billion laughs stops at the node budget") {
  // Nine levels of ten aliases each: 10^9 nodes once expanded, from a few hundred bytes.
  std::string text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      text += (j ? ", *l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents(text, "in.yaml"),
                       doctest::Contains("document contains excessive aliasing"), ParseError);
  // Up to a million nodes is fine: five levels, 111,111 sequences and a million scalars (well, 10^5 * 10).
  std::string small = text.substr(0, text.find("l5:"));
  const auto docs = util::parse_yaml_documents(small, "in.yaml");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0]["l4"][9][9][9][9][9] == "lol");
}

TEST_CASE("yaml_to_json: nesting beyond 1,000 levels is refused; a caller's scalar typing is used") {
  // yaml-cpp refuses deep nesting as it parses; a chain of aliases, each in a sequence, nests deeper than that.
  auto chain = [](int links) {
    std::string text = "l0: &l0 [x]\n";
    for (int i = 1; i < links; ++i)
      text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) + "]\n";
    return text;
  };
  CHECK_THROWS_WITH_AS(util::yaml_to_json(YAML::Load(chain(1000)), nullptr, 10'000'000),
                       doctest::Contains("nested deeper than 1000 levels"), YAML::ParserException);
  CHECK(util::yaml_to_json(YAML::Load(chain(999)), nullptr, 10'000'000).size() == 999);
  const auto upper = [](const YAML::Node &n) -> json { return "plain:" + n.Scalar(); };
  CHECK(util::yaml_to_json(YAML::Load("{a: x, b: 'x'}"), upper, 10) == json{{"a", "plain:x"}, {"b", "x"}});
  CHECK_THROWS_AS(util::yaml_to_json(YAML::Load("[1, 2, 3]"), nullptr, 3), YAML::ParserException);
  CHECK(util::yaml_to_json(YAML::Load("[1, 2, 3]"), nullptr, 4) == json{1, 2, 3});
}

TEST_CASE("yaml_to_json: keys are strings: scalars as written, null as \"null\", containers refused") {
  CHECK(util::yaml_to_json(YAML::Load("{1: a, true: b, 'q': c}"), nullptr, 100) ==
        json{{"1", "a"}, {"true", "b"}, {"q", "c"}});
  CHECK(util::yaml_to_json(YAML::Load("{a: 1, !tag : 2}"), nullptr, 100) == json{{"a", 1}, {"", 2}});
  CHECK(util::yaml_to_json(YAML::Load("{~: 3}"), nullptr, 100) == json{{"null", 3}});
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("x: {[1, 2]: a}\n", "in.yaml"),
                       "in.yaml: line 1, column 5: a mapping key must be a scalar, not a sequence or mapping",
                       ParseError);
  CHECK_THROWS_WITH_AS(util::parse_yaml_documents("? {a: 1}\n: b\n", "in.yaml"),
                       "in.yaml: line 1, column 3: a mapping key must be a scalar, not a sequence or mapping",
                       ParseError);
}
