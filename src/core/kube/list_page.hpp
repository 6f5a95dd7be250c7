#pragma once
// One page of a list response (`{"kind":..., "metadata":{"continue":...}, "items":[...]}`), parsed as it streams
// in: each element of `items` is cut out of the stream and parsed on its own, so at most one item's text is held
// at a time however large the page (a page of 5,000 pods is 20+ MiB of JSON), and only the fields its
// ItemFilter keeps become nlohmann values.
#include "vmsync/kube/item_filter.hpp"

#include <nlohmann/json.hpp>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::kube {

struct ListPage {
  std::vector<nlohmann::json> items; // filtered; items the filter's hook refused are not here
  std::string continue_token;        // metadata.continue
  std::string resource_version;      // metadata.resourceVersion
};

// Reads the page from `in` to its end. Throws ParseError ("the server's answer is not valid JSON (...)") for
// anything that is not one JSON document; ParseErrors of the stream itself (a corrupt gzip body) pass through.
// A document that is JSON but not a list (no object, no `items` array) is a page without items.
ListPage parse_list_page(std::streambuf &in, const ItemFilter &filter);
ListPage parse_list_page(std::string_view text, const ItemFilter &filter);

} // namespace vmsync::kube
