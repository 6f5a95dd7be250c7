#include "vmsync/model/container_env.hpp"

#include <doctest/doctest.h>

using namespace vmsync::model;
using nlohmann::json;

namespace {

ConfigMapLookup lookup_of(std::map<std::string, ConfigMapData> cms) {
  return [cms = std::move(cms)](const std::string &name) -> std::optional<ConfigMapData> {
    auto it = cms.find(name);
    if (it == cms.end())
      return std::nullopt;
    return it->second;
  };
}

const ConfigMapLookup kNone = [](const std::string &) -> std::optional<ConfigMapData> { return std::nullopt; };

} // namespace

TEST_CASE("resolve_container_env: KubeBlocks envFrom then $(VAR) in args") {
  auto lookup = lookup_of({{"vm-vminsert-env", {{{"VMSTORAGE_ADDR", "vm-vmstorage-0:8400"}, {"OTHER", "1"}}}}});
  auto c = json::parse(R"j({"name":"vminsert","envFrom":[{"configMapRef":{"name":"vm-vminsert-env"}}]})j");
  auto env = resolve_container_env(c, lookup);
  CHECK(env.vars.at("VMSTORAGE_ADDR") == "vm-vmstorage-0:8400");
  CHECK(env.sources.at("VMSTORAGE_ADDR") == std::vector<ConfigMapKey>{{"vm-vminsert-env", "VMSTORAGE_ADDR"}});
  CHECK(env.configmaps_used ==
        std::vector<ConfigMapKey>{{"vm-vminsert-env", "OTHER"}, {"vm-vminsert-env", "VMSTORAGE_ADDR"}});
  CHECK(env.unresolved.empty());
  CHECK(configmap_dependencies("--storageNode=$(VMSTORAGE_ADDR)", env) ==
        std::vector<ConfigMapKey>{{"vm-vminsert-env", "VMSTORAGE_ADDR"}});
  CHECK(configmap_dependencies("--storageNode=a", env).empty());
}

TEST_CASE("resolve_container_env: envFrom prefix, order and overrides") {
  auto lookup = lookup_of({{"a", {{{"X", "from-a"}, {"Y", "a-y"}}}}, {"b", {{{"X", "from-b"}}}}});
  auto c = json::parse(R"j({"envFrom":[{"configMapRef":{"name":"a"}},{"configMapRef":{"name":"b"}},
                                      {"prefix":"P_","configMapRef":{"name":"a"}}],
                           "env":[{"name":"Y","value":"literal"}]})j");
  auto env = resolve_container_env(c, lookup);
  CHECK(env.vars.at("X") == "from-b");
  CHECK(env.sources.at("X") == std::vector<ConfigMapKey>{{"b", "X"}});
  CHECK(env.vars.at("P_X") == "from-a");
  CHECK(env.vars.at("P_Y") == "a-y");
  CHECK(env.vars.at("Y") == "literal");
  CHECK_FALSE(env.sources.contains("Y")); // a literal replaced the ConfigMap value
}

TEST_CASE("resolve_container_env: configMapKeyRef, $(VAR) against earlier definitions only") {
  auto lookup = lookup_of({{"vm", {{{"VM_STORAGE_URLS", "s-0:8400,s-1:8400"}}}}});
  auto c = json::parse(R"j({"env":[
      {"name":"EARLY","value":"[$(URLS)]"},
      {"name":"URLS","valueFrom":{"configMapKeyRef":{"name":"vm","key":"VM_STORAGE_URLS"}}},
      {"name":"LATE","value":"[$(URLS)]"},
      {"name":"ESCAPED","value":"$$(URLS)"},
      {"name":"EMPTY","value":""},
      {"name":"NOVALUE"}]})j");
  auto env = resolve_container_env(c, lookup);
  CHECK(env.vars.at("EARLY") == "[$(URLS)]");
  CHECK(env.vars.at("URLS") == "s-0:8400,s-1:8400");
  CHECK(env.vars.at("LATE") == "[s-0:8400,s-1:8400]");
  CHECK(env.sources.at("LATE") == std::vector<ConfigMapKey>{{"vm", "VM_STORAGE_URLS"}});
  CHECK_FALSE(env.sources.contains("EARLY"));
  CHECK(env.vars.at("ESCAPED") == "$(URLS)");
  CHECK(env.vars.at("EMPTY").empty());
  CHECK(env.vars.at("NOVALUE").empty());
  CHECK(configmap_dependencies("-storageNode=$(LATE)", env) == std::vector<ConfigMapKey>{{"vm", "VM_STORAGE_URLS"}});
  CHECK(configmap_dependencies("-storageNode=%{URLS}", env) == std::vector<ConfigMapKey>{{"vm", "VM_STORAGE_URLS"}});
  CHECK(env.configmaps_used == std::vector<ConfigMapKey>{{"vm", "VM_STORAGE_URLS"}});
}

TEST_CASE("resolve_container_env: optional and missing ConfigMaps and keys") {
  auto lookup = lookup_of({{"vm", {{{"K", "v"}}}}});
  auto c = json::parse(R"j({"envFrom":[{"configMapRef":{"name":"gone","optional":true}},
                                      {"configMapRef":{"name":"gone2"}}],
                           "env":[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"vm","key":"nokey","optional":true}}},
                                  {"name":"B","valueFrom":{"configMapKeyRef":{"name":"vm","key":"nokey"}}},
                                  {"name":"C","valueFrom":{"configMapKeyRef":{"name":"gone","key":"K","optional":true}}},
                                  {"name":"D","valueFrom":{"configMapKeyRef":{"name":"gone","key":"K"}}}]})j");
  auto env = resolve_container_env(c, lookup);
  CHECK(env.vars.empty());
  CHECK(env.unknown.empty());
  REQUIRE(env.unresolved.size() == 3);
  CHECK(env.unresolved[0].var.empty());
  CHECK(env.unresolved[0].reason == "envFrom configmap gone2 does not exist");
  CHECK(env.unresolved[0].fatal);
  CHECK(env.unresolved[1].var == "B");
  CHECK(env.unresolved[1].reason == "configmap vm has no key nokey");
  CHECK(env.unresolved[2].var == "D");
  CHECK(env.unresolved[2].reason == "configmap gone does not exist");
}

TEST_CASE("resolve_container_env: secrets and the downward API are unknown") {
  auto c = json::parse(R"j({"envFrom":[{"secretRef":{"name":"creds"}}],
                           "env":[{"name":"S","valueFrom":{"secretKeyRef":{"name":"creds","key":"nodes"}}},
                                  {"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
                                  {"name":"CPU","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}},
                                  {"name":"USES","value":"x-$(S)"},
                                  {"name":"POD","value":"now-known"}]})j");
  auto env = resolve_container_env(c, kNone);
  CHECK(env.unknown == std::set<std::string>{"CPU", "S", "USES"});
  CHECK(env.vars.at("POD") == "now-known"); // a later literal replaces the unknown value
  REQUIRE(env.unresolved.size() == 5);
  CHECK(env.unresolved[0].reason == "envFrom secret creds (not read)");
  CHECK(env.unresolved[1].reason == "from secret creds key nodes");
  CHECK(env.unresolved[2].reason == "from fieldRef metadata.name");
  CHECK(env.unresolved[3].reason == "from resourceFieldRef limits.cpu");
  CHECK(env.unresolved[4].var == "USES");
  CHECK(env.unresolved[4].reason == "refers to $(S) whose value is unknown");
  CHECK(unknown_references("-storageNode=$(USES),$(POD),%{S}", env) == std::vector<std::string>{"USES", "S"});
  CHECK(unknown_references("-storageNode=$$(S)", env).empty());
}

TEST_CASE("resolve_container_env: a ConfigMap value replaced by an unknown one") {
  auto lookup = lookup_of({{"vm", {{{"ADDR", "a:8400"}}}}});
  auto c = json::parse(R"j({"envFrom":[{"configMapRef":{"name":"vm"}}],
                           "env":[{"name":"ADDR","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]})j");
  auto env = resolve_container_env(c, lookup);
  CHECK_FALSE(env.vars.contains("ADDR"));
  CHECK_FALSE(env.sources.contains("ADDR"));
  CHECK(env.unknown.contains("ADDR"));
}

TEST_CASE("resolve_container_env: no env at all") {
  auto env = resolve_container_env(json::parse(R"j({"name":"x"})j"), kNone);
  CHECK(env.vars.empty());
  CHECK(env.unresolved.empty());
}
