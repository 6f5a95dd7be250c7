// The list page parser (kube::parse_list_page: a byte scanner that cuts out items, simdjson for each item)
// against nlohmann parsing the whole page, on any input: both accept or both refuse, and when they accept, the
// same items and the same continue token. Deliberate differences, skipped: a NUL byte (nlohmann stops reading
// there, vmsync refuses it) and an integer beyond 64 bits (nlohmann reads it as a double, simdjson refuses it).
// The field tree and the hook are not used here: test_list_page.cpp and the list_page target cover them.
#include "../src/core/kube/list_page.hpp"
#include "fuzz_common.hpp"

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
  return 0;
}
