// VictoriaMetrics' /metrics and /flags pages (model/vm_pages.hpp), as a pod or anything on its port may serve
// them. Input: the first byte picks the page (even: /metrics, odd: /flags) and the chunk size the rest is fed in.
// Checks beyond crashes: the facts do not depend on how the page was cut into chunks, the size cap holds, and
// every node the page names is listed once, sorted.
#include "fuzz_common.hpp"
#include "vmsync/model/vm_pages.hpp"

#include <algorithm>

using namespace vmsync;
using namespace vmsync::model;

VMSYNC_FUZZ_TARGET(vm_pages) {
  if (size == 0) return 0;
  const VmPage page = (data[0] & 1U) == 0 ? VmPage::Metrics : VmPage::Flags;
  const std::size_t chunk = 1 + (data[0] >> 1U);
  const std::string_view body(reinterpret_cast<const char *>(data + 1), size - 1);
  constexpr std::size_t kCap = 64 << 10;

  std::optional<VmPageFacts> whole;
  std::string whole_error;
  try {
    whole = parse_vm_page(page, body, kCap);
  } catch (const Error &e) {
    whole_error = e.what();
  }
  VmPageParser p(page, kCap, kCap);
  fuzz::expect_clean([&] {
    for (std::size_t at = 0; at < body.size(); at += chunk)
      if (!p.feed(body.substr(at, chunk))) break;
    std::optional<VmPageFacts> cut;
    std::string cut_error;
    try {
      cut = p.finish();
    } catch (const Error &e) {
      cut_error = e.what();
    }
    if (body.size() > kCap) {
      // Refused either way, maybe for another reason first (a bad line before the cap is passed).
      if (cut || whole) fuzz::finding("a page over the cap was accepted");
      return;
    }
    if (cut_error != whole_error)
      fuzz::finding("chunking changed the outcome: " + whole_error + " / " + cut_error);
    if (!cut) return;
    if (cut->storage_node != whole->storage_node || cut->nodes != whole->nodes ||
        cut->start_timestamp != whole->start_timestamp || cut->version != whole->version)
      fuzz::finding("chunking changed the facts");
    for (std::size_t i = 1; i < cut->nodes.size(); ++i)
      if (!(cut->nodes[i - 1].addr < cut->nodes[i].addr)) fuzz::finding("nodes not sorted and unique");
    if (cut->storage_node) (void)split_vm_array(*cut->storage_node);
  });
  return 0;
}
