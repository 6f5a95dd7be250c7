// The storage-node list and argument parsers: kubelet $(VAR) expansion, VictoriaMetrics flag parsing with
// -envflag and %{ENV}, list splitting, and address normalisation. Input: lines; "E:NAME=VALUE" is an env var,
// "H:svc" a headless service, "N:ns" the namespace, "P:port" the default port, anything else an argv entry.
// Checks beyond crashes: every in-cluster address written in the FQDN spelling reads back as the same node
// and identity (the repair writes lists that way), and the spelling helpers agree with each other.
#include "fuzz_common.hpp"
#include "vmsync/model/address.hpp"
#include "vmsync/model/storage_nodes.hpp"

#include <map>

using namespace vmsync;
using namespace vmsync::model;

VMSYNC_FUZZ_TARGET(storage_nodes) {
  const std::string_view in(reinterpret_cast<const char *>(data), size);
  std::map<std::string, std::string> env;
  std::vector<std::string> raw_argv;
  NameContext ctx;
  ctx.namespace_ = "ns";
  for (const auto line : fuzz::split_on(in, "\n", 4096)) {
    if (line.starts_with("E:")) {
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      env[std::string(line.substr(2, eq - 2))] = std::string(line.substr(eq + 1));
    } else if (line.starts_with("H:")) {
      ctx.headless_services.emplace_back(line.substr(2));
    } else if (line.starts_with("N:")) {
      // Namespaces are DNS labels (the API server enforces it); anything else is not a context pods run in.
      const auto ns = line.substr(2);
      if (!ns.empty() && ns.size() <= 63 &&
          ns.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string_view::npos)
        ctx.namespace_ = std::string(ns);
    } else if (line.starts_with("P:")) {
      ctx.default_port = std::string(line.substr(2));
    } else {
      raw_argv.emplace_back(line);
    }
  }

  std::vector<std::string> argv;
  for (const auto &a : raw_argv) {
    (void)kubelet_references(a);
    (void)vm_env_references(a);
    argv.push_back(expand_kubelet(a, env));
  }
  fuzz::expect_clean([&] {
    const auto list = find_storage_nodes(argv, env);
    if (!list) return;
    const auto &src = list->source;
    if (src.kind == FlagSource::Kind::Args && src.arg_indexes.size() != src.value_indexes.size())
      fuzz::finding("arg_indexes and value_indexes differ in length");
    for (const auto i : list->source.value_indexes)
      if (i >= argv.size()) fuzz::finding("value index past argv");
    (void)list_spelling(list->entries, ctx);
    for (const auto &entry : list->entries) {
      const auto a = parse_address(entry, ctx);
      if (!a) continue;
      if (a->identity.empty()) fuzz::finding("parsed address with an empty identity: " + entry);
      (void)to_string(spelling_of(*a, ctx));
      const auto node = node_of(*a, ctx);
      if (!node) continue;
      for (const auto style : {Spelling::Fqdn, Spelling::FqdnDot, Spelling::Svc}) {
        const std::string written = spell(*node, style, ctx);
        const auto back = parse_address(written, ctx);
        if (!back) fuzz::finding("spell() wrote an unparsable address: " + entry + " -> " + written);
        if (back->identity != a->identity)
          fuzz::finding("identity changed by respelling: " + entry + " (" + a->identity + ") -> " + written +
                        " (" +
                        back->identity + ")");
        const auto node2 = node_of(*back, ctx);
        if (!node2 || !(*node2 == *node)) fuzz::finding("node changed by respelling: " + entry + " -> " + written);
      }
    }
  });
  return 0;
}
