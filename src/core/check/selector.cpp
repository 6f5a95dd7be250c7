#include "vmsync/check/selector.hpp"

#include "vmsync/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace vmsync::check {

namespace {

std::string trim(const std::string &s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// apimachinery's qualified name part and label value: alphanumerics, '-', '_', '.', alphanumeric at both ends.
bool name_part(const std::string &s, std::size_t max) {
  if (s.empty() || s.size() > max || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string key_error(const std::string &key) {
  const auto slash = key.find('/');
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (slash != std::string::npos) {
    const std::string prefix = key.substr(0, slash);
    const bool ok = !prefix.empty() && prefix.size() <= 253 &&
                    std::all_of(prefix.begin(), prefix.end(),
                                [](char c) {
                                  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
                                }) &&
                    alnum(prefix.front()) && alnum(prefix.back());
    if (!ok) return fmt::format("key \"{}\": prefix part must be a lowercase RFC 1123 subdomain", key);
  }
  if (!name_part(name, 63))
    return fmt::format("key \"{}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                       "start and end with an alphanumeric character (at most 63 characters)",
                       key);
  return {};
}

std::string value_error(const std::string &v) {
  if (v.empty() || name_part(v, 63)) return {};
  return fmt::format(
      "value \"{}\": a valid label must be an empty string or consist of alphanumeric characters, "
      "'-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
      v);
}

} // namespace

LabelSelector parse_label_selector(const std::string &text) {
  auto fail = [&](const std::string &why) {
    return UsageError(fmt::format("-l \"{}\": unable to parse requirement: {}", text, why));
  };
  // Split at the commas outside parentheses.
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth < 0) throw fail("found ')', expected: identifier");
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) throw fail("found end of string, expected: ')'");
  parts.push_back(cur);
  if (trim(text).empty()) return {};

  LabelSelector out;
  for (const auto &raw : parts) {
    const std::string p = trim(raw);
    if (p.empty()) throw fail("found ',', expected: identifier");
    Requirement r;
    std::string value;
    if (p.front() == '!') {
      r.key = trim(p.substr(1));
      r.op = Requirement::Op::DoesNotExist;
    } else if (auto open = p.find('('); open != std::string::npos) {
      const std::string head = trim(p.substr(0, open));
      const auto space = head.find_last_of(" \t");
      const std::string op = space == std::string::npos ? std::string() : head.substr(space + 1);
      if (p.back() != ')' || (op != "in" && op != "notin"))
        throw fail(fmt::format("\"{}\": expected KEY in (VALUES) or KEY notin (VALUES)", p));
      r.key = trim(head.substr(0, space));
      r.op = op == "in" ? Requirement::Op::In : Requirement::Op::NotIn;
      std::string list = p.substr(open + 1, p.size() - open - 2);
      std::size_t pos = 0;
      while (pos <= list.size()) {
        auto comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        r.values.push_back(trim(list.substr(pos, comma - pos)));
        pos = comma + 1;
      }
    } else if (auto ne = p.find("!="); ne != std::string::npos) {
      r.key = trim(p.substr(0, ne));
      r.op = Requirement::Op::NotEquals;
      r.values.push_back(trim(p.substr(ne + 2)));
    } else if (auto eq = p.find('='); eq != std::string::npos) {
      r.key = trim(p.substr(0, eq));
      r.op = Requirement::Op::Equals;
      const std::size_t from = p.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      r.values.push_back(trim(p.substr(from)));
    } else {
      r.key = p;
      r.op = Requirement::Op::Exists;
    }
    if (r.key.empty()) throw fail(fmt::format("\"{}\": found no key, expected: identifier", p));
    if (r.key.find_first_of(" \t=!()") != std::string::npos || !key_error(r.key).empty())
      throw fail(r.key.find_first_of(" \t=!()") != std::string::npos
                     ? fmt::format("\"{}\": found '{}' in the key, expected: ',' or 'end of string'", p,
                                   r.key[r.key.find_first_of(" \t=!()")])
                     : key_error(r.key));
    for (const auto &v : r.values) {
      if (v.find_first_of("=!(), \t") != std::string::npos)
        throw fail(fmt::format("\"{}\": found '{}' in the value, expected: ',' or 'end of string'", p,
                               v[v.find_first_of("=!(), \t")]));
      if (auto e = value_error(v); !e.empty()) throw fail(e);
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool matches(const LabelSelector &s, const std::map<std::string, std::string> &labels) {
  for (const auto &r : s) {
    const auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
    case Requirement::Op::Equals:
    case Requirement::Op::In:
      if (!in) return false;
      break;
    case Requirement::Op::NotEquals:
    case Requirement::Op::NotIn:
      if (in) return false;
      break;
    case Requirement::Op::Exists:
      if (!has) return false;
      break;
    case Requirement::Op::DoesNotExist:
      if (has) return false;
      break;
    }
  }
  return true;
}

void keep_selected(Inventory &inv, const LabelSelector &s) {
  if (s.empty()) return;
  auto drop = [&s](std::vector<nlohmann::json> &objects) {
    std::erase_if(objects, [&s](const nlohmann::json &o) {
      std::map<std::string, std::string> labels;
      if (const auto m = o.find("metadata"); m != o.end() && m->is_object())
        if (const auto l = m->find("labels"); l != m->end() && l->is_object())
          for (const auto &[k, v] : l->items())
            if (v.is_string()) labels.emplace(k, v.get<std::string>());
      return !matches(s, labels);
    });
  };
  drop(inv.statefulsets);
  drop(inv.deployments);
  drop(inv.instancesets);
  drop(inv.kb_clusters);
  drop(inv.vmclusters);
}

} // namespace vmsync::check
