// Offline check: rendered manifests (helm template, kustomize build, kubectl get -o yaml) instead of the API.
// No pods exist offline, so the report is about sources: does each consumer's list match its storage's
// declared replicas? That is what fails a pull request before it is applied.
#include "vmsync/check/check.hpp"
#include "vmsync/error.hpp"
#include "vmsync/util/yaml_json.hpp"

#include <algorithm>
#include <filesystem>
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

void add_object(nlohmann::json obj, const std::string &default_ns, const std::string &origin, Inventory &inv) {
  if (!obj.is_object()) return;
  const auto kind = str_at(obj, {"kind"});
  if (kind.ends_with("List") && obj.contains("items") && obj["items"].is_array()) {
    for (auto &item : obj["items"]) add_object(std::move(item), default_ns, origin, inv);
    return;
  }
  if (auto meta = obj.find("metadata"); meta != obj.end() && !meta->is_object() && !meta->is_null())
    throw ParseError(fmt::format("{}: {}: metadata is not a mapping", origin, kind.empty() ? "object" : kind));
  if (meta_namespace(obj).empty()) obj["metadata"]["namespace"] = default_ns;
  const auto api = str_at(obj, {"apiVersion"});
  const auto group = api.substr(0, api.find('/'));
  if (kind == "StatefulSet") inv.statefulsets.push_back(std::move(obj));
  else if (kind == "Deployment") inv.deployments.push_back(std::move(obj));
  else if (kind == "ConfigMap") inv.configmaps.push_back(std::move(obj));
  else if (kind == "Pod")
    inv.pods.emplace_back(obj);
  else if (kind == "InstanceSet" && group == "workloads.kubeblocks.io") inv.instancesets.push_back(std::move(obj));
  else if (kind == "Cluster" && group == "apps.kubeblocks.io") inv.kb_clusters.push_back(std::move(obj));
  else if (kind == "VMCluster") inv.vmclusters.push_back(std::move(obj));
}

void add_text(const std::string &text, const std::string &origin, const std::string &default_ns, Inventory &inv) {
  for (auto &doc : util::parse_yaml_documents(text, origin)) add_object(std::move(doc), default_ns, origin, inv);
}

} // namespace

Inventory read_manifests(const std::vector<std::string> &paths, const std::string &default_namespace) {
  Inventory inv;
  inv.offline = true;
  for (const auto &p : paths) {
    if (p == "-") {
      add_text(read_all(std::cin), "<stdin>", default_namespace, inv);
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto &e : fs::recursive_directory_iterator(p, ec)) {
        const auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto &f : files) {
        std::ifstream in(f);
        add_text(read_all(in), f.string(), default_namespace, inv);
      }
      continue;
    }
    std::ifstream in(p);
    if (!in) throw Error(fmt::format("cannot read manifests from {}: {}", p, std::strerror(errno)));
    add_text(read_all(in), p, default_namespace, inv);
  }
  return inv;
}

} // namespace vmsync::check
