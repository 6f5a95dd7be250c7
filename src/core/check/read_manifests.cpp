// Offline check: rendered manifests (helm template, kustomize build, kubectl get -o yaml) instead of the API.
// No pods exist offline, so the report is about sources: does each consumer's list match its storage's
// declared replicas? That is what fails a pull request before it is applied.
//
// An input that holds no object at all is an error, as kubectl apply's "no objects passed to apply": an empty
// file or stdin is what a failed `helm template` leaves in a pipeline, and it must not read as "0 clusters, all in
// sync". An object read twice (one file given twice, a directory holding copies) counts once when the copies are
// equal; two different objects of one kind, namespace and name are an error naming both inputs, because which of
// them would be applied is not ours to guess.
#include "vmsync/check/check.hpp"
#include "vmsync/error.hpp"
#include "vmsync/util/yaml_json.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <cstring>

namespace vmsync::check {

namespace fs = std::filesystem;

namespace {

std::string read_all(std::istream &in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What has been read so far: the number of objects, and each named object's first origin and content (as
// nlohmann::json's own hash of the value: equal objects hash equally, whatever order their keys came in).
struct Reading {
  std::size_t objects = 0;
  struct First {
    std::string origin;
    std::size_t hash = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string>, First> seen; // group, kind, ns, name
};

// False when `obj` is an equal copy of an object read before (skip it); throws when it conflicts with one.
bool first_reading(const nlohmann::json &obj, const std::string &group, const std::string &kind,
                   const std::string &origin, Reading &reading) {
  const auto name = meta_name(obj);
  if (name.empty()) return true; // generateName: every copy is another object
  const auto ns = meta_namespace(obj);
  const auto hash = std::hash<nlohmann::json>{}(obj);
  auto [it, inserted] = reading.seen.try_emplace({group, kind, ns, name}, Reading::First{origin, hash});
  if (inserted) return true;
  if (it->second.hash == hash) return false;
  throw ParseError(fmt::format("{} {}/{} is read twice with different content: in {} and in {}", kind, ns, name,
                               it->second.origin, origin));
}

void add_object(nlohmann::json obj, const std::string &default_ns, const std::string &origin, Inventory &inv,
                Reading &reading) {
  if (!obj.is_object()) return;
  const auto kind = str_at(obj, {"kind"});
  if (kind.ends_with("List") && obj.contains("items") && obj["items"].is_array()) {
    for (auto &item : obj["items"]) add_object(std::move(item), default_ns, origin, inv, reading);
    return;
  }
  if (kind.empty()) return; // not a Kubernetes object (kubectl refuses it; vmsync has no use for it)
  ++reading.objects;
  if (auto meta = obj.find("metadata"); meta != obj.end() && !meta->is_object() && !meta->is_null())
    throw ParseError(fmt::format("{}: {}: metadata is not a mapping", origin, kind));
  if (meta_namespace(obj).empty()) obj["metadata"]["namespace"] = default_ns;
  const auto api = str_at(obj, {"apiVersion"});
  const auto group = api.find('/') == std::string::npos ? std::string{} : api.substr(0, api.find('/'));
  if (!first_reading(obj, group, kind, origin, reading)) return;
  if (kind == "StatefulSet") inv.statefulsets.push_back(std::move(obj));
  else if (kind == "Deployment") inv.deployments.push_back(std::move(obj));
  else if (kind == "ConfigMap") inv.configmaps.push_back(std::move(obj));
  else if (kind == "Pod")
    inv.pods.emplace_back(obj);
  else if (kind == "InstanceSet" && group == "workloads.kubeblocks.io") inv.instancesets.push_back(std::move(obj));
  else if (kind == "Cluster" && group == "apps.kubeblocks.io") inv.kb_clusters.push_back(std::move(obj));
  else if (kind == "VMCluster") inv.vmclusters.push_back(std::move(obj));
}

// Helm templates are not manifests: `{{ ... }}` is no YAML (or YAML that means something else), and the usual
// mistake is to give -f the chart instead of what `helm template` renders from it.
constexpr std::string_view kRenderHint = "render the chart first: helm template NAME CHART | vmsync check -f -";

void add_text(const std::string &text, const std::string &origin, const std::string &default_ns, Inventory &inv,
              Reading &reading) {
  std::vector<nlohmann::json> docs;
  try {
    docs = util::parse_yaml_documents(text, origin);
  } catch (const ParseError &e) {
    if (text.find("{{") == std::string::npos) throw;
    throw ParseError(fmt::format("{} (it holds Helm template syntax: {})", e.what(), kRenderHint));
  }
  for (auto &doc : docs)
    add_object(std::move(doc), default_ns, origin, inv, reading);
}

} // namespace

Inventory read_manifests(const std::vector<std::string> &paths, const std::string &default_namespace,
                         Recursion recursion) {
  Inventory inv;
  inv.offline = true;
  Reading reading;
  for (const auto &p : paths) {
    if (p == "-") {
      add_text(read_all(std::cin), "<stdin>", default_namespace, inv, reading);
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      if (fs::exists(fs::path(p) / "Chart.yaml", ec))
        throw ParseError(
            fmt::format("{} is a Helm chart (it holds Chart.yaml), not rendered manifests: {}", p, kRenderHint));
      std::vector<fs::path> files;
      auto keep = [&files](const fs::directory_entry &e) {
        const auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
      };
      if (recursion == Recursion::Recursive)
        for (const auto &e : fs::recursive_directory_iterator(p, ec))
          keep(e);
      else
        for (const auto &e : fs::directory_iterator(p, ec))
          keep(e);
      std::sort(files.begin(), files.end());
      for (const auto &f : files) {
        std::ifstream in(f);
        add_text(read_all(in), f.string(), default_namespace, inv, reading);
      }
      continue;
    }
    std::ifstream in(p);
    if (!in) throw Error(fmt::format("cannot read manifests from {}: {}", p, std::strerror(errno)));
    add_text(read_all(in), p, default_namespace, inv, reading);
  }
  if (reading.objects == 0) throw ParseError(fmt::format("no objects passed to check in {}", inputs_text(paths)));
  return inv;
}

std::string inputs_text(const std::vector<std::string> &paths) {
  std::string out;
  for (const auto &p : paths) {
    if (!out.empty()) out += ", ";
    out += p == "-" ? "<stdin>" : p;
  }
  return out;
}

} // namespace vmsync::check
