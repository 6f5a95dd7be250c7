// How fast can a list page be parsed? vmsync's page parser (kube::parse_list_page: a scanner that cuts out the
// items, simdjson, nlohmann values for the kept fields only) against nlohmann's lexing floor (a SAX handler that
// does nothing), nlohmann's parse with a callback that refuses everything (what vmsync's parser before
// c590725 could not go below), and simdjson alone, on one saved page. Evidence for issue 7; not part of the build
// or of CI. See bench/parse/run.
#include "discover.hpp"
#include "field_filter.hpp"
#include "list_page.hpp"

#include <algorithm>
#include <chrono>
#include <malloc.h>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <sstream>
#include <string>

using nlohmann::json;

namespace {

struct Noop : nlohmann::json_sax<json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override { return false; }
};

// simdjson's DOM element to nlohmann's, whole: an upper bound for building the kept fields.
json convert(simdjson::dom::element e) {
  switch (e.type()) {
  case simdjson::dom::element_type::OBJECT: {
    json o = json::object();
    for (auto [k, v] : simdjson::dom::object(e)) o[std::string(k)] = convert(v);
    return o;
  }
  case simdjson::dom::element_type::ARRAY: {
    json a = json::array();
    for (auto v : simdjson::dom::array(e)) a.push_back(convert(v));
    return a;
  }
  case simdjson::dom::element_type::STRING: return std::string(std::string_view(e));
  case simdjson::dom::element_type::INT64: return static_cast<std::int64_t>(e);
  case simdjson::dom::element_type::UINT64: return static_cast<std::uint64_t>(e);
  case simdjson::dom::element_type::DOUBLE: return static_cast<double>(e);
  case simdjson::dom::element_type::BOOL: return static_cast<bool>(e);
  default: return nullptr;
  }
}

template <typename Fn> void measure(const char *name, std::size_t bytes, int rounds, Fn fn) {
  fn(); // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) fn();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / rounds;
  std::printf("| %s | %.1f ms | %.0f MB/s |\n", name, ms, static_cast<double>(bytes) / 1e6 / (ms / 1000));
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: parse_bench PAGE.json pod|workload [ROUNDS]\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  const bool pod = std::string(argv[2]) == "pod";
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 5;
  const auto tree = pod ? vmsync::check::pod_fields() : vmsync::check::workload_fields();
  const simdjson::padded_string padded(text);
  simdjson::dom::parser parser;
  std::printf("%s: %.1f MB, %d rounds, simdjson %s\n\n| parser | per page | speed |\n| --- | --- | --- |\n",
              argv[1], static_cast<double>(text.size()) / 1e6, rounds,
              simdjson::get_active_implementation()->name().c_str());
  measure("nlohmann, SAX doing nothing (its lexer's floor)", text.size(), rounds, [&] {
    Noop n;
    json::sax_parse(text, &n);
  });
  std::size_t kept = 0;
  measure("vmsync: parse_list_page with the check's field tree, from a stream", text.size(), rounds, [&] {
    std::istringstream in(text);
    kept = vmsync::kube::parse_list_page(*in.rdbuf(), {tree, {}}).items.size();
  });
  if (!pod) {
    const vmsync::check::Scope scope;
    std::size_t triaged = 0;
    measure("vmsync, as check reads Deployments: triaged by metadata (may_be_consumer), from a stream", text.size(),
            rounds, [&] {
              std::istringstream in(text);
              triaged = vmsync::kube::parse_list_page(*in.rdbuf(), {tree, {}, [&scope, &tree](const json &head) {
                                                                       return vmsync::check::may_be_consumer(head, scope)
                                                                                  ? tree.get()
                                                                                  : nullptr;
                                                                     }})
                            .items.size();
            });
    std::printf("(%zu of the items kept by the triage)\n", triaged);
  }
  measure("nlohmann + a callback refusing every item's fields, from a stream", text.size(), rounds, [&] {
    std::istringstream in(text);
    auto j = json::parse(in, [](int depth, json::parse_event_t e, json &) {
      return !(depth == 3 && e == json::parse_event_t::key);
    });
  });
  measure("nlohmann, the whole DOM", text.size(), rounds, [&] { auto j = json::parse(text); });
  measure("simdjson DOM parse", text.size(), rounds, [&] { auto r = parser.parse(padded); });
  measure("simdjson parse + the whole page as nlohmann", text.size(), rounds,
          [&] { auto j = convert(parser.parse(padded).value()); });
  // What the kept items cost in memory: the heap in use with them (glibc's count), less the heap without.
  const auto in_use = [] { return static_cast<double>(mallinfo2().uordblks); };
  const double before = in_use();
  std::size_t heap = 0;
  {
    std::istringstream in(text);
    auto page = vmsync::kube::parse_list_page(*in.rdbuf(), {tree, {}});
    const double with_items = in_use();
    std::size_t json_bytes = 0;
    for (const auto &item : page.items) json_bytes += item.dump().size();
    page.items.clear();
    page.items.shrink_to_fit();
    heap = static_cast<std::size_t>(with_items - in_use());
    (void)before;
    std::printf("\n(%zu items kept: %.0f bytes of heap each, for %.0f bytes of JSON)\n", kept,
                static_cast<double>(heap) / static_cast<double>(std::max<std::size_t>(kept, 1)),
                static_cast<double>(json_bytes) / static_cast<double>(std::max<std::size_t>(kept, 1)));
  }
  return 0;
}
