// VictoriaMetrics' /metrics and /flags pages, read line by line as they stream in. Approach: feed() appends to the
// current line only; every complete line is parsed on the spot and reduced to the few facts vmsync keeps (the
// storage node flag, the start time, the version, per-node reachability), then dropped. A /metrics line is
// `name{label="value",...} number [timestamp]` (Prometheus text format 0.0.4; VictoriaMetrics writes label values
// with Go's %q, whose escapes are a superset of Prometheus' \\ \" \n, so both read through go_unquote). Lines of
// other metrics are skipped by name before their labels are read, so a 200 KiB page costs one pass and no
// allocation per line.
#include "vmsync/model/vm_pages.hpp"

#include "vmsync/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace vmsync::model {

namespace {

bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string &out, std::uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD; // as Go writes an invalid rune
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0U | (cp >> 6U));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0U | (cp >> 12U));
    out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  } else {
    out += static_cast<char>(0xF0U | (cp >> 18U));
    out += static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU));
    out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
  }
}

// The length of the Go-quoted string at the start of `s` (s[0] == '"'), quotes included; npos if unterminated.
std::size_t quoted_length(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// One sample line: its name, its labels (as raw text between the braces) and its value text.
struct Sample {
  std::string_view name;
  std::string_view labels;
  std::string_view value;
};

std::optional<Sample> split_sample(std::string_view line) {
  Sample s;
  std::size_t i = 0;
  if (line.empty() || !is_name_start(line[0])) return std::nullopt;
  while (i < line.size() && is_name_char(line[i]))
    ++i;
  s.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    const std::size_t open = i + 1;
    // The closing brace is the first '}' outside a quoted label value.
    std::size_t j = open;
    for (;;) {
      if (j >= line.size()) return std::nullopt;
      if (line[j] == '"') {
        const auto len = quoted_length(line.substr(j));
        if (len == std::string_view::npos) return std::nullopt;
        j += len;
        continue;
      }
      if (line[j] == '}') break;
      ++j;
    }
    s.labels = line.substr(open, j - open);
    i = j + 1;
  }
  if (i >= line.size() || !is_space(line[i])) return std::nullopt;
  auto rest = trim(line.substr(i));
  const auto sp = rest.find_first_of(" \t");
  s.value = rest.substr(0, sp); // a timestamp may follow
  if (s.value.empty()) return std::nullopt;
  return s;
}

std::optional<double> parse_number(std::string_view v) {
  if (v == "NaN") return std::nan("");
  if (v == "+Inf" || v == "Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  double d = 0;
  const auto *end = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(v.data(), end, d);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return d;
}

// Calls on_label(name, unquoted value) for each label of `labels`; false when they do not parse.
template <typename F> bool for_each_label(std::string_view labels, F on_label) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < labels.size() && is_space(labels[i]))
      ++i;
  };
  for (;;) {
    skip_space();
    if (i >= labels.size()) return true;
    const std::size_t start = i;
    while (i < labels.size() && is_name_char(labels[i]))
      ++i;
    if (i == start) return false;
    const auto name = labels.substr(start, i - start);
    skip_space();
    if (i >= labels.size() || labels[i] != '=') return false;
    ++i;
    skip_space();
    if (i >= labels.size() || labels[i] != '"') return false;
    const auto len = quoted_length(labels.substr(i));
    if (len == std::string_view::npos) return false;
    auto value = go_unquote(labels.substr(i, len));
    if (!value) return false;
    on_label(name, std::move(*value));
    i += len;
    skip_space();
    if (i < labels.size()) {
      if (labels[i] != ',') return false;
      ++i; // a trailing comma is allowed
    }
  }
}

std::string shown(std::string_view line) {
  constexpr std::size_t kShown = 60;
  std::string out;
  for (char c : line.substr(0, kShown))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (line.size() > kShown) out += "...";
  return out;
}

} // namespace

std::string_view to_string(VmPage page) noexcept { return page == VmPage::Metrics ? "/metrics" : "/flags"; }

std::optional<std::string> go_unquote(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return std::nullopt;
  q = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    const char c = q[i];
    if (c == '"' || c == '\n') return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= q.size()) return std::nullopt;
    switch (q[i]) {
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'n': out += '\n'; break;
    case 'r': out += '\r'; break;
    case 't': out += '\t'; break;
    case 'v': out += '\v'; break;
    case '\\': out += '\\'; break;
    case '"': out += '"'; break;
    case '\'': out += '\''; break;
    case 'x':
    case 'u':
    case 'U': {
      const std::size_t digits = q[i] == 'x' ? 2 : q[i] == 'u' ? 4 : 8;
      if (i + digits >= q.size()) return std::nullopt;
      std::uint32_t v = 0;
      for (std::size_t k = 1; k <= digits; ++k) {
        const int h = hex_value(q[i + k]);
        if (h < 0) return std::nullopt;
        v = (v << 4U) | static_cast<std::uint32_t>(h);
      }
      if (q[i] == 'x')
        out += static_cast<char>(v);
      else
        append_utf8(out, v);
      i += digits;
      break;
    }
    default:
      if (q[i] >= '0' && q[i] <= '7') {
        if (i + 2 >= q.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k) {
          if (q[i + k] < '0' || q[i + k] > '7') return std::nullopt;
          v = v * 8 + static_cast<std::uint32_t>(q[i + k] - '0');
        }
        if (v > 255) return std::nullopt;
        out += static_cast<char>(v);
        i += 2;
        break;
      }
      return std::nullopt;
    }
  }
  return out;
}

std::vector<std::string> split_vm_array(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (;;) {
    std::size_t end = 0; // where this item's text ends
    std::string item;
    if (s.front() == '"') {
      const auto len = quoted_length(s);
      auto unq = len == std::string_view::npos ? std::nullopt : go_unquote(s.substr(0, len));
      if (unq && (len == s.size() || s[len] == ',')) {
        item = std::move(*unq);
        end = len;
      } else {
        end = std::min(s.find(','), s.size()); // not a quoted item after all: taken as written
        item = std::string(s.substr(0, end));
      }
    } else if (s.front() == '[' || s.front() == '{' || s.front() == '(') {
      int depth = 0;
      end = s.size();
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '[' || s[i] == '{' || s[i] == '(') ++depth;
        if ((s[i] == ']' || s[i] == '}' || s[i] == ')') && --depth == 0) {
          end = std::min(s.find(',', i), s.size());
          break;
        }
      }
      item = std::string(s.substr(0, end));
    } else {
      end = std::min(s.find(','), s.size());
      item = std::string(s.substr(0, end));
    }
    out.push_back(std::move(item));
    if (end >= s.size()) return out;
    s.remove_prefix(end + 1); // the comma
    if (s.empty()) {
      out.emplace_back(); // "a," has an empty last item
      return out;
    }
  }
}

VmPageParser::VmPageParser(VmPage page, std::size_t max_bytes, std::size_t max_line)
    : page_(page), max_bytes_(max_bytes), max_line_(std::min(max_line, max_bytes)) {}

void VmPageParser::fail(std::string why) {
  if (!error_) error_ = std::move(why);
  pending_.clear();
  pending_.shrink_to_fit();
}

bool VmPageParser::feed(std::string_view chunk) {
  if (error_) return false;
  bytes_ += chunk.size();
  if (bytes_ > max_bytes_) {
    fail(fmt::format("is larger than {} bytes", max_bytes_));
    return false;
  }
  while (!chunk.empty() && !error_) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (pending_.size() + chunk.size() > max_line_) {
        fail(fmt::format("has a line longer than {} bytes", max_line_));
        break;
      }
      pending_.append(chunk);
      break;
    }
    if (pending_.empty()) {
      line(chunk.substr(0, nl));
    } else {
      if (pending_.size() + nl > max_line_) {
        fail(fmt::format("has a line longer than {} bytes", max_line_));
        break;
      }
      pending_.append(chunk.substr(0, nl));
      line(pending_);
      pending_.clear();
    }
    chunk.remove_prefix(nl + 1);
  }
  return !error_;
}

void VmPageParser::line(std::string_view text) {
  ++lines_;
  if (page_ == VmPage::Metrics)
    metrics_line(text);
  else
    flags_line(text);
}

void VmPageParser::metrics_line(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.front() == '#') return;
  const auto sample = split_sample(text);
  if (!sample) {
    fail(fmt::format("is not a VictoriaMetrics /metrics page: line {} is not a sample (\"{}\")", lines_,
                     shown(text)));
    return;
  }
  const auto &name = sample->name;
  const bool flag = name == "flag";
  const bool version = name == "vm_app_version";
  const bool start = name == "vm_app_start_timestamp";
  const bool reach = name == "vm_rpc_vmstorage_is_reachable" || name == "vm_tcpdialer_addr_available";
  if (!flag && !version && !start && !reach) return;
  const auto value = parse_number(sample->value);
  if (!value) {
    fail(fmt::format("is not a VictoriaMetrics /metrics page: line {} has no number (\"{}\")", lines_,
                     shown(text)));
    return;
  }
  std::map<std::string_view, std::string> labels;
  static constexpr std::string_view kWanted[] = {"name", "value", "is_set", "version", "addr"};
  const bool ok = for_each_label(sample->labels, [&](std::string_view key, std::string v) {
    if (std::find(std::begin(kWanted), std::end(kWanted), key) != std::end(kWanted)) labels[key] = std::move(v);
  });
  if (!ok) {
    fail(fmt::format("is not a VictoriaMetrics /metrics page: line {} has unreadable labels (\"{}\")", lines_,
                     shown(text)));
    return;
  }
  auto label = [&](std::string_view key) -> const std::string * {
    const auto it = labels.find(key);
    return it == labels.end() ? nullptr : &it->second;
  };
  if (flag) {
    const auto *flag_name = label("name");
    const auto *flag_value = label("value");
    if (flag_name == nullptr || flag_value == nullptr) return;
    victoria_metrics_ = true;
    if (*flag_name == "storageNode") {
      facts_.storage_node = *flag_value;
      if (const auto *set = label("is_set")) facts_.storage_node_is_set = *set == "true";
    } else if (*flag_name == "httpListenAddr") {
      facts_.http_listen_addr = *flag_value;
    }
  } else if (version) {
    victoria_metrics_ = true;
    if (const auto *v = label("version")) facts_.version = *v;
  } else if (start) {
    victoria_metrics_ = true;
    if (std::isfinite(*value) && *value >= 0 && *value < 1e12)
      facts_.start_timestamp = static_cast<std::int64_t>(*value);
  } else if (const auto *addr = label("addr")) {
    auto [it, fresh] = reach_.try_emplace(*addr, true);
    it->second = it->second && *value != 0 && !std::isnan(*value);
  }
}

void VmPageParser::flags_line(std::string_view text) {
  text = trim(text);
  if (text.empty()) return;
  // -name="value", as VictoriaMetrics' flagutil.WriteFlags writes it with %q.
  std::size_t i = 0;
  if (text[0] == '-') i = 1;
  const std::size_t start = i;
  while (i < text.size() && (is_name_char(text[i]) || text[i] == '.' || text[i] == '-'))
    ++i;
  std::optional<std::string> value;
  if (start == 1 && i > start && i < text.size() && text[i] == '=') value = go_unquote(text.substr(i + 1));
  if (!value) {
    fail(fmt::format("is not a VictoriaMetrics /flags page: line {} is not -name=\"value\" (\"{}\")", lines_,
                     shown(text)));
    return;
  }
  victoria_metrics_ = true;
  const auto name = text.substr(start, i - start);
  if (name == "storageNode") facts_.storage_node = std::move(*value);
  if (name == "httpListenAddr") facts_.http_listen_addr = std::move(*value);
}

VmPageFacts VmPageParser::finish() {
  if (!error_ && !pending_.empty()) {
    std::string last = std::move(pending_);
    pending_.clear();
    line(last);
  }
  if (!error_ && page_ == VmPage::Metrics && !victoria_metrics_)
    fail("is not a VictoriaMetrics /metrics page: it has no flag or vm_app_* series");
  if (error_) throw ParseError(*error_);
  facts_.nodes.clear();
  for (const auto &[addr, ok] : reach_)
    facts_.nodes.push_back({addr, ok});
  return facts_;
}

VmPageFacts parse_vm_page(VmPage page, std::string_view body, std::size_t max_bytes) {
  VmPageParser p(page, max_bytes);
  p.feed(body);
  return p.finish();
}

} // namespace vmsync::model
