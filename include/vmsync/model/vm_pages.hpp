#pragma once
// What a VictoriaMetrics process says about itself on its HTTP port, which is the truth about what it runs with
// (a pod's spec and its ConfigMaps only let us infer it):
//  - /metrics, Prometheus text exposition: `flag{name="storageNode", value="a:8400,b:8400", is_set="true"} 1` (the
//    value as passed; `is_set` since v1.63), `vm_app_version{version=...}`, `vm_app_start_timestamp`, and per
//    storage node the process really uses (sorted, default port added; with discovery, the discovered ones):
//    `vm_rpc_vmstorage_is_reachable{addr=...}` on vminsert, `vm_tcpdialer_addr_available{addr=...}` on vmselect;
//  - /flags: the flags that were set, one `-name="value"` a line, the value quoted as Go's %q does.
// Both are parsed as they stream in: complete lines are read as they arrive and only the facts below are kept,
// so memory is bounded by the longest line (and the page by a size cap), never by the page.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmsync::model {

// A storage node the process uses, as its metrics name it, and whether it can reach it (every series of the
// node reads non-zero: vminsert's is_reachable stays 1 until a dial or send fails).
struct NodeUse {
  std::string addr;
  bool reachable = true;
  friend bool operator==(const NodeUse &, const NodeUse &) = default;
};

struct VmPageFacts {
  std::optional<std::string> storage_node; // -storageNode as the process holds it (comma-joined, Go-quoted items)
  std::optional<bool> storage_node_is_set; // /metrics' is_set (v1.63+); nullopt on /flags and older pages
  std::optional<std::string> http_listen_addr;
  std::optional<std::int64_t> start_timestamp; // vm_app_start_timestamp, Unix seconds
  std::optional<std::string> version;          // vm_app_version's `version` label
  std::vector<NodeUse> nodes;                  // sorted by addr; empty on /flags
};

enum class VmPage { Metrics, Flags };
std::string_view to_string(VmPage page) noexcept; // "/metrics" / "/flags"

// Reads one page fed chunk by chunk. Not thread-safe; one parser per page.
class VmPageParser {
public:
  // Pages larger than `max_bytes` are refused (a misrouted port can serve anything); lines longer than
  // `max_line` too (a real page's longest is the -storageNode flag, a few KiB for hundreds of nodes).
  explicit VmPageParser(VmPage page, std::size_t max_bytes = std::size_t{4} << 20U,
                        std::size_t max_line = std::size_t{256} << 10U);

  // The next chunk of the body. False once the page is known to be bad (too large, not VictoriaMetrics'):
  // stop reading, finish() says why.
  bool feed(std::string_view chunk);

  // After the last chunk: the facts, or ParseError with one line saying what the page is instead ("is larger
  // than 4194304 bytes", "is not a VictoriaMetrics /metrics page: line 1 ...").
  VmPageFacts finish();

  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
  void line(std::string_view text);
  void metrics_line(std::string_view text);
  void flags_line(std::string_view text);
  void fail(std::string why);

  VmPage page_;
  std::size_t max_bytes_;
  std::size_t max_line_;
  std::size_t bytes_ = 0;
  std::size_t lines_ = 0;
  std::string pending_; // the current line's start, until its newline arrives
  std::optional<std::string> error_;
  bool victoria_metrics_ = false; // saw a line only VictoriaMetrics writes
  VmPageFacts facts_;
  std::map<std::string, bool> reach_; // addr -> every series non-zero
};

// Convenience for a page held whole (tests, the fuzz target).
VmPageFacts parse_vm_page(VmPage page, std::string_view body, std::size_t max_bytes = std::size_t{4} << 20U);

// Go's strconv.Unquote for a double-quoted string (quotes included): \a \b \f \n \r \t \v \\ \" \' \xHH, octal
// \ooo, \uHHHH and \UHHHHHHHH (as UTF-8). nullopt when it is not one valid quoted string. Also reads Prometheus
// label values (\\ \" \n are a subset).
std::optional<std::string> go_unquote(std::string_view quoted);

// The items of an array flag's value as VictoriaMetrics' flagutil.ArrayString reads them: split on commas, where
// an item starting with '"' is a Go-quoted string (holding commas, quotes or brackets), and one starting with
// '[', '{' or '(' runs to its matching bracket. An empty value has no items.
std::vector<std::string> split_vm_array(std::string_view value);

} // namespace vmsync::model
