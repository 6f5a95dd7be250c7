// -storageNode discovery in a container's argv and environment. Two expansions meet here and must not be
// confused: the kubelet's $(VAR) (done before the process starts, by the caller via expand_kubelet) and
// VictoriaMetrics' own %{VAR} (done by the process on its flag values, here).
#include "vmsync/model/storage_nodes.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

namespace vmsync::model {
namespace {

// Walks input with the kubelet's rules, calling on_text for literal output and on_ref for each $(NAME).
void scan_kubelet(std::string_view in, const std::function<void(std::string_view)> &on_text,
                  const std::function<void(std::string_view)> &on_ref) {
  std::size_t checkpoint = 0;
  for (std::size_t cursor = 0; cursor < in.size(); ++cursor) {
    if (in[cursor] != '$' || cursor + 1 >= in.size())
      continue;
    on_text(in.substr(checkpoint, cursor - checkpoint));
    const char next = in[cursor + 1];
    std::size_t consumed = 1; // characters after the '$'
    if (next == '$') {
      on_text("$"); // escaped operator
    } else if (next == '(') {
      const auto close = in.find(')', cursor + 2);
      if (close == std::string_view::npos) {
        on_text("$("); // incomplete reference, kept; scanning resumes after "("
      } else {
        on_ref(in.substr(cursor + 2, close - cursor - 2));
        consumed = close - cursor;
      }
    } else {
      on_text(in.substr(cursor, 2)); // "$" not starting an expression: kept with the next character
    }
    cursor += consumed;
    checkpoint = cursor + 1;
  }
  if (checkpoint < in.size())
    on_text(in.substr(checkpoint));
}

bool is_vm_env_name(std::string_view s) {
  if (s.empty())
    return false;
  const auto first = static_cast<unsigned char>(s.front());
  if (std::isalpha(first) == 0 && s.front() != '_')
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
  });
}

// Walks input with lib/envtemplate's rules ("%{" ... "}").
void scan_vm(std::string_view in, const std::function<void(std::string_view)> &on_text,
             const std::function<void(std::string_view)> &on_ref) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    const auto open = in.find("%{", pos);
    if (open == std::string_view::npos)
      break;
    const auto close = in.find('}', open + 2);
    if (close == std::string_view::npos)
      break;
    on_text(in.substr(pos, open - pos));
    const auto name = in.substr(open + 2, close - open - 2);
    if (is_vm_env_name(name))
      on_ref(name);
    else
      on_text(in.substr(open, close - open + 1));
    pos = close + 1;
  }
  if (pos < in.size())
    on_text(in.substr(pos));
}

// Expansions are bounded: a value may name another twice, which names another twice, ... (A=%{B}%{B},
// B=%{C}%{C}, ...), doubling per level, so forty variables would otherwise take a terabyte (a libFuzzer timeout).
// Each variable is expanded once per depth (memo), and all expansion work together stops at this many bytes;
// nothing real comes close (a ConfigMap holds at most 1 MiB). Past it, references stay as written, and the list
// they are in reads as unparsable entries.
constexpr std::size_t kMaxExpansion = std::size_t{1} << 20;

struct VmExpansion {
  const std::map<std::string, std::string> &env;
  std::map<std::pair<std::string, std::size_t>, std::string> memo; // (name, depth) -> expanded value
  std::size_t work = 0;                                             // bytes written so far, memo included

  void into(std::string_view in, std::size_t depth, std::string &out) {
    const auto append = [&](std::string_view t) {
      out += t;
      work += t.size();
    };
    scan_vm(in, append, [&](std::string_view name) {
      auto it = env.find(std::string(name));
      if (it == env.end() || depth == 0 || work > kMaxExpansion) {
        append("%{");
        append(name);
        append("}");
        return;
      }
      const auto key = std::make_pair(it->first, depth - 1);
      auto m = memo.find(key);
      if (m == memo.end()) {
        std::string value;
        into(it->second, depth - 1, value);
        m = memo.emplace(key, std::move(value)).first;
      }
      if (work + m->second.size() > kMaxExpansion) {
        append("%{");
        append(name);
        append("}");
      } else {
        append(m->second);
      }
    });
  }
};

// Go's strconv.ParseBool, which the flag package uses for "-flag=value" on bool flags.
std::optional<bool> parse_go_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True")
    return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False")
    return false;
  return std::nullopt;
}

struct Flag {
  std::string_view name;
  std::optional<std::string_view> value; // from "=value"
};

std::optional<Flag> parse_flag(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-')
    return std::nullopt;
  std::string_view rest = arg.substr(1);
  if (rest.front() == '-')
    rest.remove_prefix(1);
  if (rest.empty() || rest.front() == '-' || rest.front() == '=')
    return std::nullopt; // "---x" and "-=x" are bad flag syntax for Go
  Flag f;
  const auto eq = rest.find('=');
  f.name = rest.substr(0, eq);
  if (eq != std::string_view::npos)
    f.value = rest.substr(eq + 1);
  return f;
}

} // namespace

std::string expand_kubelet(std::string_view input, const std::map<std::string, std::string> &env) {
  std::string out;
  scan_kubelet(
      input, [&](std::string_view t) { out += t; },
      [&](std::string_view name) {
        auto it = env.find(std::string(name));
        // Bounded as above (the kubelet expands one level only, but a value may repeat $(A) thousands of times).
        if (it != env.end() && out.size() + it->second.size() <= kMaxExpansion) {
          out += it->second;
        } else {
          out += "$(";
          out += name;
          out += ")";
        }
      });
  return out;
}

std::vector<std::string> kubelet_references(std::string_view input) {
  std::vector<std::string> out;
  scan_kubelet(input, [](std::string_view) {}, [&](std::string_view name) { out.emplace_back(name); });
  return out;
}

std::string expand_vm_env(std::string_view input, const std::map<std::string, std::string> &env) {
  std::string out;
  VmExpansion{env, {}, 0}.into(input, env.size(), out);
  return out;
}

std::vector<std::string> vm_env_references(std::string_view input) {
  std::vector<std::string> out;
  scan_vm(input, [](std::string_view) {}, [&](std::string_view name) { out.emplace_back(name); });
  return out;
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      out.emplace_back(value.substr(start));
      break;
    }
    out.emplace_back(value.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<StorageNodeList> find_storage_nodes(const std::vector<std::string> &argv,
                                                  const std::map<std::string, std::string> &env) {
  StorageNodeList list;
  bool envflag = false;
  std::string prefix;
  bool on_command_line = false;

  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--")
      break;
    auto flag = parse_flag(argv[i]);
    if (!flag)
      continue;
    // A flag with a separate value takes the next entry whatever it looks like, as Go's flag package does.
    auto value_of = [&](std::size_t &value_index) -> std::optional<std::string> {
      if (flag->value) {
        value_index = i;
        return std::string(*flag->value);
      }
      if (i + 1 >= argv.size())
        return std::nullopt;
      value_index = ++i;
      return argv[i];
    };
    if (flag->name == "storageNode") {
      const std::size_t flag_index = i;
      std::size_t value_index = i;
      auto value = value_of(value_index);
      if (!value)
        continue; // "flag needs an argument": the process would not start; nothing to read
      auto entries = split_list(expand_vm_env(*value, env));
      if (entries.size() > 1)
        list.source.comma_joined = true;
      list.entries.insert(list.entries.end(), entries.begin(), entries.end());
      list.source.arg_indexes.push_back(flag_index);
      list.source.value_indexes.push_back(value_index);
      on_command_line = true;
    } else if (flag->name == "envflag.enable") {
      envflag = flag->value ? parse_go_bool(*flag->value).value_or(false) : true;
    } else if (flag->name == "envflag.prefix") {
      std::size_t ignored = 0;
      if (auto value = value_of(ignored))
        prefix = *value;
    }
  }

  if (on_command_line) {
    list.source.kind = FlagSource::Kind::Args;
  } else if (envflag) {
    const std::string name = prefix + "storageNode";
    auto it = env.find(name);
    if (it == env.end())
      return std::nullopt;
    list.entries = split_list(expand_vm_env(it->second, env));
    list.source.kind = FlagSource::Kind::EnvFlag;
    list.source.env_name = name;
    list.source.comma_joined = list.entries.size() > 1;
  } else {
    return std::nullopt;
  }
  list.discovery = std::any_of(list.entries.begin(), list.entries.end(), [](const std::string &e) {
    return e.starts_with("srv+") || e.starts_with("file:");
  });
  return list;
}

} // namespace vmsync::model
