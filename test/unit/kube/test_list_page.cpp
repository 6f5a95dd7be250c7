// List pages parsed an item at a time: the same items, continue token and resourceVersion as parsing the whole
// page with nlohmann, whatever the page's spelling and wherever the stream's reads cut it; every invalid page a
// ParseError naming what is wrong; the field tree and the item hook applied to each item.
#include "../../../src/core/kube/list_page.hpp"

#include "vmsync/error.hpp"

#include <doctest/doctest.h>
#include <random>

using namespace vmsync;
using namespace vmsync::kube;
using nlohmann::json;

namespace {

// A stream that hands out at most `chunk` bytes per read, so items, strings and escapes straddle reads.
class ChunkBuf : public std::streambuf {
public:
  ChunkBuf(std::string text, std::size_t chunk) : text_(std::move(text)), chunk_(chunk) {}

protected:
  std::streamsize xsgetn(char *s, std::streamsize n) override {
    const std::size_t k = std::min({static_cast<std::size_t>(n), chunk_, text_.size() - at_});
    std::copy_n(text_.data() + at_, k, s);
    at_ += k;
    return static_cast<std::streamsize>(k);
  }
  int_type underflow() override { return traits_type::eof(); }

private:
  std::string text_;
  std::size_t chunk_;
  std::size_t at_ = 0;
};

ListPage parse_chunked(const std::string &text, std::size_t chunk, const ItemFilter &filter = {}) {
  ChunkBuf buf(text, chunk);
  return parse_list_page(buf, filter);
}

std::string parse_chunked_error(const std::string &text, std::size_t chunk) {
  try {
    (void)parse_chunked(text, chunk);
  } catch (const ParseError &e) {
    return e.what();
  }
  return "accepted";
}

json items_of(const ListPage &p) { return json(p.items); }

// What nlohmann makes of the whole page's items: the oracle for unfiltered pages.
json oracle_items(const std::string &text) {
  const json page = json::parse(text);
  return page.contains("items") && page["items"].is_array() ? page["items"] : json::array();
}

// Written the way no API server writes, but valid JSON: escapes (quotes, backslashes, unicode) and brackets in
// strings, "items" as a nested key and as a value, scalars and arrays as items, whitespace everywhere.
const std::string kOddPage = "\n{ \"kind\" : \"PodList\" ,\"x\":\"items\",\t\"metadata\": {\"items\": [\"not\", "
                             "\"these\"], \"continue\": \"c\\\"1\\\\\", \"resourceVersion\": \"77\"},\r\n"
                             " \"items\" : [ {\"metadata\": {\"name\": \"a]\\\"},{[\", \"e\": \"\\\\\"}},"
                             "{\"s\":\"\\\\\\\"\\u00e9\\ud83d\\ude00 \\/ \\n\"} , 5 ,\"str,]}\", null, [1, [2, {\"k\": [3]}]],"
                             " {\"items\": [9]}, {}, [] ,-0.5e-3, true ] , \"tail\" : { \"a\" : [ 1 ] } }\n";

} // namespace

TEST_CASE("parse_list_page: items, continue token and resourceVersion of a page") {
  const auto p = parse_list_page(R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9",)"
                                 R"("continue":"tok","remainingItemCount":2},"items":[{"a":1},{"b":[2]}]})",
                                 {});
  CHECK(items_of(p) == json::parse(R"([{"a":1},{"b":[2]}])"));
  CHECK(p.continue_token == "tok");
  CHECK(p.resource_version == "9");
}

TEST_CASE("parse_list_page: an oddly spelled page gives nlohmann's items, whatever the reads' sizes") {
  const json want = oracle_items(kOddPage);
  REQUIRE(want.size() == 11);
  for (std::size_t chunk = 1; chunk <= 40; ++chunk) {
    CAPTURE(chunk);
    const auto p = parse_chunked(kOddPage, chunk);
    CHECK(items_of(p) == want);
    CHECK(p.continue_token == "c\"1\\");
    CHECK(p.resource_version == "77");
  }
  CHECK(items_of(parse_list_page(kOddPage, {})) == want);
}

TEST_CASE("parse_list_page: pages and items larger than the read window") {
  std::mt19937 rng(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): a fixed seed, so the test is the same every run
  std::string page = R"({"metadata":{"continue":"n"},"items":[)";
  for (int i = 0; i < 3000; ++i) {
    if (i > 0) page += ',';
    std::string s(static_cast<std::size_t>(rng() % 200), 'x');
    for (auto &c : s)
      c = "ab\"\\{}[],: "[rng() % 11];
    page += json{{"i", i}, {"s", s}, {"n", {{"d", {1, 2, {{"e", s}}}}}}}.dump();
  }
  page += R"(,{"big":")" + std::string(300 * 1024, 'q') + R"("}]})";
  const json want = oracle_items(page);
  for (std::size_t chunk : {std::size_t{1000}, std::size_t{65536}, std::size_t{1} << 30})
    CHECK(items_of(parse_chunked(page, chunk)) == want);
}

TEST_CASE("parse_list_page: a key spelled with escapes is the key it spells") {
  CHECK(items_of(parse_list_page(R"({"it\u0065ms":[1,2],"metadata":{"continue":"x"}})", {})) == json{1, 2});
  CHECK(items_of(parse_list_page(R"({"i\"tems":[1,2]})", {})).empty());
}

TEST_CASE("parse_list_page: a document that is not a list is a page without items") {
  for (const char *text : {"[]", "[{\"items\":[1]}]", "\"items\"", "null", "{}", R"({"items":null})",
                           R"({"items":{"a":1}})", R"({"items":"[1]"})", R"({"metadata":{"items":[1]}})"}) {
    CAPTURE(text);
    const auto p = parse_list_page(text, {});
    CHECK(p.items.empty());
    CHECK(p.continue_token.empty());
  }
  CHECK(parse_list_page(R"({"items":5,"metadata":{"continue":"c"}})", {}).continue_token == "c");
  CHECK(parse_list_page(R"({"metadata":{"continue":5,"resourceVersion":[]}})", {}).continue_token.empty());
}

TEST_CASE("parse_list_page: a second items array replaces the first, as a JSON object's last key wins") {
  CHECK(items_of(parse_list_page(R"({"items":[1,2],"items":[3]})", {})) == json{3});
  CHECK(parse_list_page(R"({"items":[1,2],"items":null})", {}).items.empty());
}

TEST_CASE("parse_list_page: numbers keep nlohmann's types") {
  const auto p = parse_list_page(R"({"items":[[0,1,-1,9223372036854775807,18446744073709551615,-9223372036854775808,)"
                                 R"(1.5,-0.0,1e300,true,false,null]]})",
                                 {});
  const json want = oracle_items(R"({"items":[[0,1,-1,9223372036854775807,18446744073709551615,)"
                                 R"(-9223372036854775808,1.5,-0.0,1e300,true,false,null]]})");
  REQUIRE(p.items.size() == 1);
  CHECK(items_of(p) == want);
  const json &a = p.items[0];
  CHECK(a[0].is_number_unsigned());
  CHECK(a[1].is_number_unsigned());
  CHECK(a[2].is_number_integer());
  CHECK_FALSE(a[2].is_number_unsigned());
  CHECK(a[4].get<std::uint64_t>() == 18446744073709551615ULL);
  CHECK(a[6].is_number_float());
  CHECK(a.dump() == want[0].dump());
}

TEST_CASE("parse_list_page: an invalid page is one ParseError saying what is wrong") {
  auto error_of = [](const std::string &text) -> std::string {
    try {
      (void)parse_list_page(text, {});
    } catch (const ParseError &e) {
      return e.what();
    }
    return "accepted";
  };
  const std::string prefix = "the server's answer is not valid JSON (";
  CHECK(error_of(R"({"items":[{"a":1},{"b")") ==
        prefix + "it ends inside the items list, after 1 item: a truncated answer)");
  CHECK(error_of(R"({"items":[)") == prefix + "it ends inside the items list, after 0 items: a truncated answer)");
  CHECK(error_of(R"({"items":[1,]})") == prefix + "a comma after the last item, items[0])");
  CHECK(error_of(R"({"items":[,1]})") == prefix + "items[0] is missing)");
  CHECK(error_of(R"({"items":[1,,2]})") == prefix + "items[1] is missing)");
  CHECK(error_of(R"({"items":[{"a":1}}})") == prefix + "items[0] has an unmatched '}')");
  CHECK(error_of(R"({"items":[{"a":1},}]})") == prefix + "a '}' where items[1] should be)");
  // simdjson's reason for an invalid item, named by its index.
  for (const char *text : {R"({"items":[{"a":1},{"a":tru}]})", R"({"items":[{"a":1},{"a":[}]})",
                           R"({"items":[{"a":1},1 2]})", R"({"items":[{"a":1},{"a":"\x"}]})",
                           "{\"items\":[{\"a\":1},\"\xff\"]}", R"({"items":[{"a":1},{"a":1,}]})"}) {
    const std::string e = error_of(text);
    CAPTURE(e);
    CHECK(e.starts_with(prefix + "items[1]"));
    CHECK(e.ends_with(")"));
  }
  // A NUL byte, which nlohmann would take for the end of the text, after which anything could follow.
  CHECK(error_of(std::string("{}\0{\"items\":[1]}", 16)) == prefix + "a NUL byte at offset 2)");
  CHECK(error_of(std::string("{\"items\":[1,\0]}", 15)) == prefix + "a NUL byte at offset 12)");
  std::string late(100000, ' ');
  late += std::string("{\"items\":[1,\0]}", 15);
  CHECK(parse_chunked_error(late, 777) == prefix + "a NUL byte at offset 100012)");
  // Outside the items: nlohmann's reason.
  for (const char *text : {"", "   ", R"({"metadata":{"continue":"x")", R"({"items":[]} x)", R"({"items":[]]})",
                           R"({"metadata":{"continue":"x}],"items":[]})", "{\"kind\":\"\xff\",\"items\":[]}",
                           R"({"items":[1]]})", R"({"items" [1]})"}) {
    const std::string e = error_of(text);
    CAPTURE(e);
    CHECK(e.starts_with(prefix + "[json.exception.parse_error."));
  }
}

TEST_CASE("parse_list_page: the field tree keeps everything but exceptions, or only the named children") {
  const auto tree = std::make_shared<const FieldTree>(FieldTree::only(
      "", {FieldTree::everything("metadata", {"managedFields", "annotations"}),
           FieldTree::only("data", {FieldTree::everything("keep")})}));
  const auto p = parse_list_page(R"({"items": [
      {"metadata": {"annotations": {"x": {"y": [1]}}, "name": "a", "managedFields": [{}]},
       "data": {"drop": {"deep": [{"keep": 1}]}, "keep": {"deep": [1, 2]}}, "other": 1},
      {"data": {"keep": "v"}}, 7, [{"metadata": {"name": "b", "managedFields": 1}, "x": 1}]]})",
                                 {tree, {}});
  // Arrays are transparent: an array item's elements are filtered by the item's node.
  CHECK(items_of(p) == json::parse(R"([{"metadata": {"name": "a"}, "data": {"keep": {"deep": [1, 2]}}},
                                       {"data": {"keep": "v"}}, 7, [{"metadata": {"name": "b"}}]])"));
}

TEST_CASE("parse_list_page: FieldTree::prefixed keeps the fields whose names begin with the prefix, whole") {
  const auto tree = std::make_shared<const FieldTree>(
      FieldTree::only("", {FieldTree::only("metadata", {FieldTree::prefixed("annotations", "vmsync.io/")})}));
  CHECK_FALSE(FieldTree::prefixed("a", "p").keeps_whole());
  const auto p = parse_list_page(R"({"items": [
      {"metadata": {"name": "a", "annotations": {"vmsync.io/role": {"deep": [1]}, "vmsync.io": "x", "a/vmsync.io/b": "y",
                                                 "vmsync.io/": "", "istio": "z"}}},
      {"metadata": {"annotations": {"other": "v"}}}, {"metadata": {}}]})",
                                 {tree, {}});
  CHECK(items_of(p) ==
        json::parse(R"([{"metadata": {"annotations": {"vmsync.io/role": {"deep": [1]}, "vmsync.io/": ""}}},
                                       {"metadata": {"annotations": {}}}, {"metadata": {}}])"));
}

TEST_CASE("parse_list_page: FieldTree::where keeps the array elements with the field value, whole or filtered") {
  const auto tree = std::make_shared<const FieldTree>(FieldTree::only(
      "", {FieldTree::only("c", {FieldTree::everything("type"), FieldTree::everything("s")}).where("type", "A"),
           FieldTree::everything("d").where("k", "v")}));
  const auto p = parse_list_page(R"({"items": [{"c": [{"type": "B", "s": 1}, {"type": "A", "s": 2, "x": 3}, {"s": 4},
                                                       {"type": 5}, "A", {"type": "A", "s": [6]}],
                                                 "d": [{"k": "v", "n": {"m": 1}}, {"k": "w"}]}]})",
                                 {tree, {}});
  CHECK(items_of(p) == json::parse(R"([{"c": [{"type": "A", "s": 2}, {"type": "A", "s": [6]}],
                                        "d": [{"k": "v", "n": {"m": 1}}]}])"));
}

TEST_CASE("parse_list_page: the hook sees each filtered object item, may change it, and drops what it refuses") {
  std::vector<std::string> seen;
  const auto tree = std::make_shared<const FieldTree>(FieldTree::everything("", {"status"}));
  const ItemFilter filter{tree, [&seen](json &item) {
                            const std::string name = item.at("metadata").value("name", "?");
                            seen.push_back(name);
                            if (name == "b") item.erase("spec");
                            return name != "unrelated";
                          }};
  const auto p = parse_list_page(R"({"metadata": {"continue": "x"}, "items": [
      {"metadata": {"name": "a"}, "spec": {"replicas": 1}, "status": {"replicas": 1}},
      {"metadata": {"name": "unrelated"}},
      {"metadata": {"name": "b"}, "spec": {"replicas": 2}},
      "not an object"]})",
                                 filter);
  CHECK(seen == std::vector<std::string>{"a", "unrelated", "b"});
  CHECK(items_of(p) == json::parse(R"([{"metadata": {"name": "a"}, "spec": {"replicas": 1}},
                                       {"metadata": {"name": "b"}}, "not an object"])"));
  CHECK(p.continue_token == "x");
  // Every item refused: an empty page, its continue token kept.
  seen.clear();
  const auto none = parse_list_page(R"({"metadata":{"continue":"y"},"items":[{"metadata":{"name":"unrelated"}}]})",
                                    filter);
  CHECK(none.items.empty());
  CHECK(none.continue_token == "y");
}

TEST_CASE("parse_list_page: the triage sees only an object item's filtered metadata and chooses its tree") {
  const auto full = std::make_shared<const FieldTree>(
      FieldTree::only("", {FieldTree::everything("metadata", {"managedFields"}), FieldTree::everything("spec")}));
  static const FieldTree meta_only = FieldTree::only("", {FieldTree::everything("metadata", {"managedFields"})});
  std::vector<json> heads;
  const ItemFilter filter{full, [](json &item) { return !item.contains("drop-after"); }, [&](const json &head) {
                            heads.push_back(head);
                            const auto name = head.contains("metadata") ? head["metadata"].value("name", "") : "";
                            if (name == "unrelated") return static_cast<const FieldTree *>(nullptr);
                            return name == "storage" ? &meta_only : full.get();
                          }};
  const auto p = parse_list_page(R"({"items": [
      {"spec": {"x": 1}, "metadata": {"name": "consumer", "managedFields": [1]}, "status": {}},
      {"metadata": {"name": "unrelated"}, "spec": {"huge": [1, 2, 3]}},
      {"metadata": {"name": "storage"}, "spec": {"replicas": 3}},
      {"metadata": {"name": "first"}, "metadata": {"name": "storage"}, "spec": {"replicas": 4}},
      {"spec": {"no": "metadata"}},
      "not an object"]})",
                                 filter);
  // The head is the metadata as the item's tree keeps it (a repeated key: the last, as nlohmann reads it),
  // never any other field.
  CHECK(json(heads) == json::parse(R"([{"metadata": {"name": "consumer"}}, {"metadata": {"name": "unrelated"}},
                                       {"metadata": {"name": "storage"}}, {"metadata": {"name": "storage"}}, {}])"));
  CHECK(items_of(p) == json::parse(R"([{"metadata": {"name": "consumer"}, "spec": {"x": 1}},
                                       {"metadata": {"name": "storage"}}, {"metadata": {"name": "storage"}},
                                       {"spec": {"no": "metadata"}}, "not an object"])"));
  // The hook still runs last, on the item built with the chosen tree.
  const auto dropped = parse_list_page(R"({"items": [{"metadata": {"name": "c"}, "spec": {}, "drop-after": 1}]})",
                                       ItemFilter{nullptr, filter.accept, [](const json &) {
                                                    return static_cast<const FieldTree *>(nullptr);
                                                  }});
  CHECK(dropped.items.empty());
  const auto kept = parse_list_page(R"({"items": [{"metadata": {"name": "c"}, "drop-after": 1}, {"x": 2}]})",
                                    ItemFilter{nullptr, filter.accept, [&](const json &) { return full.get(); }});
  CHECK(items_of(kept) == json::parse(R"([{"metadata": {"name": "c"}}, {}])"));
}
