// The list page parser (kube::parse_list_page: a byte scanner that cuts out items, simdjson for each item)
// against nlohmann parsing the whole page, on any input: both accept or both refuse, and when they accept, the
// same items and the same continue token. Deliberate differences, skipped: a NUL byte (nlohmann stops reading
// there, vmsync refuses it) and an integer beyond 64 bits (nlohmann reads it as a double, simdjson refuses it).
// The page is parsed a second time with a triage that drops an object item, keeps it whole or keeps only its
// metadata by a hash of the metadata it is shown, against the same choice made on nlohmann's items. The field
// tree and the hook are not used here: test_list_page.cpp and the list_page target cover them.
#include "../src/core/kube/list_page.hpp"
#include "fuzz_common.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

using nlohmann::json;

VMSYNC_FUZZ_TARGET(list_page_parser) {
  const std::string text(reinterpret_cast<const char *>(data), size); // NOLINT: libFuzzer's bytes
  std::optional<vmsync::kube::ListPage> page;
  std::string error;
  vmsync::fuzz::expect_clean([&] {
    try {
      page = vmsync::kube::parse_list_page(text, {});
    } catch (const vmsync::ParseError &e) {
      error = e.what();
      throw;
    }
  });
  if (text.find('\0') != std::string::npos) return 0;
  const json ref = json::parse(text, nullptr, false);
  if (ref.is_discarded() != !page.has_value()) {
    if (page || error.find("number") == std::string::npos) // simdjson: "Problem while parsing a number"
      vmsync::fuzz::finding(std::string("nlohmann ") + (ref.is_discarded() ? "refuses" : "accepts") +
                            " a page that vmsync " + (page ? "accepts" : "refuses: " + error));
    return 0;
  }
  if (!page) return 0;
  json items = json::array();
  std::string token;
  if (ref.is_object()) {
    if (auto it = ref.find("items"); it != ref.end() && it->is_array()) items = *it;
    if (auto m = ref.find("metadata"); m != ref.end() && m->is_object())
      if (auto c = m->find("continue"); c != m->end() && c->is_string()) token = c->get<std::string>();
  }
  if (json(page->items) != items) vmsync::fuzz::finding("the items differ from nlohmann's");
  if (page->continue_token != token) vmsync::fuzz::finding("the continue token differs from nlohmann's");

  using vmsync::kube::FieldTree;
  static const FieldTree whole = FieldTree::everything("");
  static const FieldTree metadata_only = FieldTree::only("", {FieldTree::everything("metadata")});
  const auto choice = [](const json &head) { return std::hash<std::string>{}(head.dump()) % 3; };
  const auto triaged = vmsync::kube::parse_list_page(text, {nullptr, {}, [&](const json &head) -> const FieldTree * {
                                                              switch (choice(head)) {
                                                              case 0: return nullptr;
                                                              case 1: return &whole;
                                                              default: return &metadata_only;
                                                              }
                                                            }});
  json want = json::array();
  for (const auto &item : items) {
    if (!item.is_object()) {
      want.push_back(item);
      continue;
    }
    json head = json::object();
    if (auto m = item.find("metadata"); m != item.end()) head["metadata"] = *m;
    const auto c = choice(head);
    if (c == 1) want.push_back(item);
    if (c == 2) want.push_back(head);
  }
  if (json(triaged.items) != want) vmsync::fuzz::finding("the triaged items differ from nlohmann's");
  return 0;
}
