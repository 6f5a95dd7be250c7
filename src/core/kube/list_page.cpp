// Parsing a list page an item at a time.
//
// Approach: a byte scanner follows the page's JSON structure (nesting depth, whether it is inside a string, and
// at depth 1 the keys of the list object) as the text streams in, a window at a time. Everything outside the
// `items` array is copied into a small skeleton (`{"kind":...,"metadata":{...},"items":[]}`) that nlohmann
// parses at the end. Each element of `items` is cut out of the window as soon as its closing comma or bracket
// is seen and parsed on its own by simdjson, whose DOM is then walked along the ItemFilter's FieldTree to build
// nlohmann values for the kept fields only. The window keeps just the element being read, so memory is bounded
// by the largest item, not the page.
//
// Why not nlohmann's parser with a callback (what vmsync did before): its callback parser builds every value
// before the callback may refuse it, and a fleet-wide check lexes 90+ MiB of JSON. simdjson parses at over a
// gigabyte per second; the scanner's own pass is a byte loop that spends most of its time skipping string bytes.
//
// Validity: every byte of the page is either in the skeleton (checked by nlohmann) or in one element (checked by
// simdjson, which rejects an element with unbalanced brackets), and the scanner itself rejects an empty element
// and a trailing comma, so a page is accepted exactly when it is one JSON document.
#include "list_page.hpp"

#include "vmsync/error.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <simdjson.h>

namespace vmsync::kube {

namespace {

using nlohmann::json;
namespace dom = simdjson::dom;

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kReadSize = std::size_t{64} * 1024;

// The first '"' or '\\' in [p, end), or end. Eight bytes at a time (most of a page is string bytes): a byte of
// the word equal to b makes (w ^ b...) have a zero byte, found with the carry trick; the lowest flagged byte is
// exact. Reads up to 7 bytes past `end`, which the window's padding allows.
const char *string_special(const char *p, const char *end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    auto zero_bytes = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    for (; p < end; p += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, sizeof w);
      const std::uint64_t hits = zero_bytes(w ^ (ones * '"')) | zero_bytes(w ^ (ones * '\\'));
      if (hits != 0) return std::min(end, p + std::countr_zero(hits) / 8);
    }
    return end;
  }
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

[[noreturn]] void invalid(const std::string &why) {
  throw ParseError(fmt::format("the server's answer is not valid JSON ({})", why));
}

bool where_matches(dom::element e, const FieldTree &node) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return false;
  std::string_view v;
  return o.at_key(node.where_key).get_string().get(v) == simdjson::SUCCESS && v == node.where_value;
}

// Whether `node` (null: everything) keeps field `key` of an object; `sub` is then the field's own node.
bool keeps(const FieldTree *node, std::string_view key, const FieldTree *&sub) {
  sub = nullptr;
  if (node == nullptr) return true;
  for (const auto &c : node->children)
    if (c.name == key) {
      sub = c.keeps_whole() ? nullptr : &c;
      return true;
    }
  return node->all && key.starts_with(node->prefix) &&
         std::find(node->except.begin(), node->except.end(), key) == node->except.end();
}

// The kept part of `e` as a nlohmann value; `node` null keeps everything below. Numbers take nlohmann's own
// types (a non-negative integer is unsigned), so a filtered item equals what nlohmann would have parsed.
json project(dom::element e, const FieldTree *node) { // NOLINT(misc-no-recursion): bounded by simdjson's depth
  switch (e.type()) {
  case dom::element_type::OBJECT: {
    json o = json::object();
    const dom::object object = e.get_object().value_unsafe();
    for (const dom::key_value_pair kv : object) {
      const FieldTree *sub = nullptr;
      if (keeps(node, kv.key, sub)) o[std::string(kv.key)] = project(kv.value, sub);
    }
    return o;
  }
  case dom::element_type::ARRAY: {
    json a = json::array();
    const dom::array array = e.get_array().value_unsafe();
    for (const dom::element v : array)
      if (node == nullptr || node->where_key.empty() || where_matches(v, *node)) a.push_back(project(v, node));
    return a;
  }
  case dom::element_type::STRING: return std::string(e.get_string().value_unsafe());
  case dom::element_type::INT64: {
    const std::int64_t v = e.get_int64().value_unsafe();
    return v >= 0 ? json(static_cast<std::uint64_t>(v)) : json(v);
  }
  case dom::element_type::UINT64: return e.get_uint64().value_unsafe();
  case dom::element_type::DOUBLE: return e.get_double().value_unsafe();
  case dom::element_type::BOOL: return e.get_bool().value_unsafe();
  case dom::element_type::NULL_VALUE: return nullptr;
  }
  return nullptr;
}

class Scanner {
public:
  Scanner(std::streambuf &in, const ItemFilter &filter) : in_(in), filter_(filter) {
    buf_.resize(kReadSize + simdjson::SIMDJSON_PADDING);
    if (parser_.allocate(kReadSize) != simdjson::SUCCESS) throw std::bad_alloc();
  }

  ListPage run() {
    while (fill())
      scan();
    if (in_items_)
      invalid(fmt::format("it ends inside the items list, after {} item{}: a truncated answer", index_,
                          index_ == 1 ? "" : "s"));
    flush(len_);
    json root;
    try {
      root = json::parse(skeleton_);
    } catch (const json::exception &e) {
      invalid(e.what());
    }
    if (auto meta = root.find("metadata"); root.is_object() && meta != root.end() && meta->is_object()) {
      if (auto c = meta->find("continue"); c != meta->end() && c->is_string()) page_.continue_token = *c;
      if (auto rv = meta->find("resourceVersion"); rv != meta->end() && rv->is_string())
        page_.resource_version = *rv;
    }
    return std::move(page_);
  }

private:
  std::streambuf &in_;
  const ItemFilter &filter_;
  dom::parser parser_;
  ListPage page_;

  // The window: bytes [0, len_) of buf_, scanned up to pos_; buf_ always has SIMDJSON_PADDING bytes past
  // its capacity for simdjson to read.
  std::vector<char> buf_;
  std::size_t len_ = 0, pos_ = 0;
  std::size_t offset_ = 0; // of the window's first byte in the page

  // The JSON structure at pos_.
  int depth_ = 0;
  bool in_string_ = false, escaped_ = false;

  // Outside the items array: the bytes [copy_from_, pos_) are still to be copied into the skeleton.
  std::string skeleton_;
  std::size_t copy_from_ = 0;
  bool root_object_ = false;   // the root is an object (only then does it have keys at depth 1)
  bool expect_key_ = false;    // at depth 1, the next string is a key
  bool in_key_ = false;        // the string being read is such a key
  std::size_t key_begin_ = 0;  // where that key starts in the skeleton
  bool items_key_ = false;     // the last key at depth 1 was "items"
  bool items_value_ = false;   // ...and its colon has been read: the next value is the items

  // Inside the items array (at depth 2 between elements).
  bool in_items_ = false;
  std::size_t elem_start_ = kNone; // where the element being read starts in the window
  bool after_comma_ = false;
  std::size_t index_ = 0; // elements seen

  std::size_t capacity() const { return buf_.size() - simdjson::SIMDJSON_PADDING; }

  void flush(std::size_t upto) {
    if (!in_items_ && upto > copy_from_) skeleton_.append(buf_.data() + copy_from_, upto - copy_from_);
    copy_from_ = upto;
  }

  // Drops what the window no longer needs and reads more; false at the end of the stream.
  bool fill() {
    std::size_t keep = len_;
    if (!in_items_) flush(len_);
    else if (elem_start_ != kNone) keep = elem_start_;
    std::memmove(buf_.data(), buf_.data() + keep, len_ - keep);
    offset_ += keep;
    len_ -= keep;
    if (elem_start_ != kNone) elem_start_ -= keep;
    pos_ = copy_from_ = len_;
    if (capacity() - len_ < kReadSize / 2) buf_.resize(2 * capacity() + simdjson::SIMDJSON_PADDING);
    const auto n = in_.sgetn(buf_.data() + len_, static_cast<std::streamsize>(capacity() - len_));
    if (n <= 0) return false;
    len_ += static_cast<std::size_t>(n);
    return true;
  }

  void scan() {
    const char *data = buf_.data();
    while (pos_ < len_) {
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
          ++pos_;
          continue;
        }
        const char *end = data + len_;
        const char *p = string_special(data + pos_, end);
        pos_ = static_cast<std::size_t>(p - data);
        if (p == end) return;
        ++pos_;
        if (*p == '\\') escaped_ = true;
        else end_string();
        continue;
      }
      const char c = data[pos_];
      if (in_items_ && depth_ == 2 && between_items(c)) {
        ++pos_;
        continue;
      }
      if (depth_ == 1 && items_value_ && !is_space(c)) {
        items_value_ = false;
        if (c == '[') {
          begin_items();
          ++pos_;
          continue;
        }
        page_.items.clear(); // a later "items" that is not an array replaces an earlier one too
      }
      switch (c) {
      case '"':
        in_string_ = true;
        if (depth_ == 1 && expect_key_) begin_key();
        break;
      case '{':
      case '[':
        if (depth_ == 0 && c == '{') root_object_ = true;
        ++depth_;
        expect_key_ = depth_ == 1 && root_object_;
        break;
      case '}':
      case ']': --depth_; break;
      case ',': expect_key_ = depth_ == 1 && root_object_; break;
      case ':':
        if (depth_ == 1 && items_key_) items_value_ = true;
        break;
      case '\0': // never valid outside a string, and nlohmann would take it for the end of the skeleton
        invalid(fmt::format("a NUL byte at offset {}", offset_ + pos_));
      default: break;
      }
      ++pos_;
    }
  }

  void begin_key() {
    in_key_ = true;
    expect_key_ = false;
    flush(pos_);
    key_begin_ = skeleton_.size();
  }

  void end_string() {
    in_string_ = false;
    if (!in_key_) return;
    in_key_ = false;
    flush(pos_);
    const std::string_view key = std::string_view(skeleton_).substr(key_begin_);
    items_key_ = key == "\"items\"";
    if (!items_key_ && key.find('\\') != std::string_view::npos) { // spelled with escapes, as JSON allows
      const json unescaped = json::parse(key, nullptr, false);
      items_key_ = unescaped.is_string() && unescaped.get_ref<const std::string &>() == "items";
    }
  }

  void begin_items() {
    flush(pos_ + 1); // the skeleton keeps "[", and later "]": an empty list
    in_items_ = true;
    items_value_ = items_key_ = false;
    depth_ = 2;
    elem_start_ = kNone;
    after_comma_ = false;
    page_.items.clear(); // a second "items" replaces the first, as in any JSON object
    index_ = 0;
  }

  // At depth 2 of the items array, outside strings: handles separators; false for the first byte of an element
  // (or a byte within a scalar one), which the caller scans as usual.
  bool between_items(char c) {
    if (is_space(c)) return true;
    switch (c) {
    case ',':
      if (elem_start_ == kNone) invalid(fmt::format("items[{}] is missing", index_));
      item(elem_start_, pos_);
      elem_start_ = kNone;
      after_comma_ = true;
      return true;
    case ']':
      if (elem_start_ != kNone) item(elem_start_, pos_);
      else if (after_comma_) invalid(fmt::format("a comma after the last item, items[{}]", index_ - 1));
      elem_start_ = kNone;
      in_items_ = false;
      depth_ = 1;
      copy_from_ = pos_; // "]" and what follows go to the skeleton
      return true;
    case '}':
      if (elem_start_ != kNone) invalid(fmt::format("items[{}] has an unmatched '}}'", index_));
      invalid(fmt::format("a '}}' where items[{}] should be", index_));
    default:
      if (elem_start_ == kNone) elem_start_ = pos_;
      return false;
    }
  }

  // What an item's triage sees: {"metadata": ...} as `tree` keeps it (the last "metadata", as nlohmann reads
  // an object with a repeated key), or {} when the item has none or the tree does not keep it.
  static json head(const dom::object &item, const FieldTree *tree) {
    json h = json::object();
    const FieldTree *sub = nullptr;
    if (!keeps(tree, "metadata", sub)) return h;
    for (const dom::key_value_pair kv : item)
      if (kv.key == "metadata") h["metadata"] = project(kv.value, sub);
    return h;
  }

  void item(std::size_t begin, std::size_t end) {
    const std::size_t n = index_++;
    dom::element e;
    if (const auto rc = parser_.parse(buf_.data() + begin, end - begin, false).get(e); rc != simdjson::SUCCESS)
      invalid(fmt::format("items[{}]: {}", n, simdjson::error_message(rc)));
    const FieldTree *tree = filter_.fields.get();
    if (filter_.triage && e.type() == dom::element_type::OBJECT) {
      tree = filter_.triage(head(e.get_object().value_unsafe(), tree));
      if (tree == nullptr) return;
    }
    json kept = project(e, tree);
    if (kept.is_object() && filter_.accept && !filter_.accept(kept)) return;
    page_.items.push_back(std::move(kept));
  }
};

// A read-only stream buffer over text that outlives it.
class ViewBuf : public std::streambuf {
public:
  explicit ViewBuf(std::string_view text) {
    char *p = const_cast<char *>(text.data()); // NOLINT(cppcoreguidelines-pro-type-const-cast): never written
    setg(p, p, p + text.size());
  }
};

} // namespace

ListPage parse_list_page(std::streambuf &in, const ItemFilter &filter) { return Scanner(in, filter).run(); }

ListPage parse_list_page(std::string_view text, const ItemFilter &filter) {
  ViewBuf buf(text);
  return parse_list_page(buf, filter);
}

} // namespace vmsync::kube
