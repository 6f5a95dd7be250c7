#include "vmsync/report/sarif.hpp"

#include "ci_sample.hpp"
#include "sample_report.hpp"
#include "vmsync/version.hpp"

#include <doctest/doctest.h>

using namespace vmsync;

TEST_CASE("to_sarif: one result per finding, rules indexed, logical locations") {
  auto s = report::to_sarif(test::ci_sample());
  CHECK(s["version"] == "2.1.0");
  CHECK(s["runs"][0]["tool"]["driver"]["semanticVersion"] == std::string(version()));
  s["runs"][0]["tool"]["driver"].erase("semanticVersion");
  CHECK(s.dump(2) == R"x({
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "version": "2.1.0",
  "runs": [
    {
      "tool": {
        "driver": {
          "name": "vmsync",
          "rules": [
            {
              "id": "stale-pod",
              "name": "StalePod",
              "shortDescription": {
                "text": "A vminsert or vmselect pod runs with a vmstorage list that differs from the vmstorage nodes."
              },
              "defaultConfiguration": {
                "level": "error"
              }
            },
            {
              "id": "unproven-pod",
              "name": "UnprovenPod",
              "shortDescription": {
                "text": "The vmstorage list a pod runs with could not be proven."
              },
              "defaultConfiguration": {
                "level": "warning"
              }
            },
            {
              "id": "source-drift",
              "name": "SourceDrift",
              "shortDescription": {
                "text": "The source of a consumer's vmstorage list (pod template or ConfigMap) is wrong: new pods would start with it."
              },
              "defaultConfiguration": {
                "level": "error"
              }
            },
            {
              "id": "mixed-spellings",
              "name": "MixedSpellings",
              "shortDescription": {
                "text": "The same vmstorage node is written differently across a consumer's pods and source."
              },
              "defaultConfiguration": {
                "level": "warning"
              }
            },
            {
              "id": "check-error",
              "name": "CheckError",
              "shortDescription": {
                "text": "A VictoriaMetrics cluster could not be checked."
              },
              "defaultConfiguration": {
                "level": "error"
              }
            },
            {
              "id": "spelling-split",
              "name": "SpellingSplit",
              "shortDescription": {
                "text": "Two vminsert workloads of a cluster write the same vmstorage node differently, so they route the same series to different nodes (between vmselect workloads: a note, it changes no routing)."
              },
              "defaultConfiguration": {
                "level": "error"
              }
            }
          ]
        }
      },
      "results": [
        {
          "ruleId": "source-drift",
          "ruleIndex": 2,
          "level": "error",
          "message": {
            "text": "vminsert list in configmap/vm-vminsert-env key VMSTORAGE_ADDR is wrong: missing vm-vmstorage-2:8400"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vm-vminsert-env",
                  "fullyQualifiedName": "mon/configmap/vm-vminsert-env",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "mon",
            "cluster": "vm"
          }
        },
        {
          "ruleId": "stale-pod",
          "ruleIndex": 0,
          "level": "error",
          "message": {
            "text": "vminsert pod vm-vminsert-0 runs with a stale vmstorage list: missing vm-vmstorage-2:8400; unexpected old-node:8400"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vm-vminsert-0",
                  "fullyQualifiedName": "mon/pod/vm-vminsert-0",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "mon",
            "cluster": "vm"
          }
        },
        {
          "ruleId": "unproven-pod",
          "ruleIndex": 1,
          "level": "warning",
          "message": {
            "text": "vminsert pod vm-vminsert-1: its vmstorage list could not be proven (env VMSTORAGE_ADDR comes from secret \"vm-env\" & cannot be read)"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vm-vminsert-1",
                  "fullyQualifiedName": "mon/pod/vm-vminsert-1",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "mon",
            "cluster": "vm"
          }
        },
        {
          "ruleId": "stale-pod",
          "ruleIndex": 0,
          "level": "error",
          "message": {
            "text": "vminsert pod vm-vminsert-2 runs with a stale vmstorage list: missing vm-vmstorage-1:8400, vm-vmstorage-2:8400"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vm-vminsert-2",
                  "fullyQualifiedName": "mon/pod/vm-vminsert-2",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "mon",
            "cluster": "vm"
          }
        },
        {
          "ruleId": "mixed-spellings",
          "ruleIndex": 3,
          "level": "warning",
          "message": {
            "text": "vmselect instanceset/vm-vmselect spells nodes differently: vm-vmstorage-0.mon:8401 as vm-vmstorage-0.mon:8401, vm-vmstorage-0:8401"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vm-vmselect",
                  "fullyQualifiedName": "mon/instanceset/vm-vmselect",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "mon",
            "cluster": "vm"
          }
        },
        {
          "ruleId": "check-error",
          "ruleIndex": 4,
          "level": "error",
          "message": {
            "text": "cluster team-b/vmc: pods is forbidden: User \"system:serviceaccount:team-b:ci\" cannot list resource \"pods\" <403>"
          },
          "locations": [
            {
              "logicalLocations": [
                {
                  "name": "vmc",
                  "fullyQualifiedName": "team-b/cluster/vmc",
                  "kind": "resource"
                }
              ]
            }
          ],
          "properties": {
            "namespace": "team-b",
            "cluster": "vmc"
          }
        }
      ]
    }
  ]
})x");
}

TEST_CASE("to_sarif: a spelling split is one result located at every workload; vmselect's is a note") {
  auto c = test::spelling_split_cluster();
  model::DriftReport r;
  r.clusters = {c};
  const auto s = report::to_sarif(r);
  const auto &results = s["runs"][0]["results"];
  REQUIRE(results.size() == 2);
  CHECK(results[0]["ruleId"] == "spelling-split");
  CHECK(results[0]["ruleIndex"] == 5);
  CHECK(results[0]["level"] == "error");
  CHECK(results[0]["message"]["text"] ==
        "vminsert workloads spell vmstorage-0.vmstorage.mon:8400 differently: deployment/vminsert-a as "
        "vmstorage-0.vmstorage:8400, deployment/vminsert-b as vmstorage-0.vmstorage.mon.svc.cluster.local:8400");
  REQUIRE(results[0]["locations"].size() == 2);
  CHECK(results[0]["locations"][1]["logicalLocations"][0]["fullyQualifiedName"] == "mon/deployment/vminsert-b");
  CHECK(results[1]["level"] == "note");
}

TEST_CASE("to_sarif: errors that belong to no cluster are results with no location, and the run did not succeed") {
  model::DriftReport r;
  r.errors = {"no objects passed to check in <stdin>"};
  const auto s = report::to_sarif(r);
  const auto &run = s["runs"][0];
  CHECK(run["invocations"][0]["executionSuccessful"] == false);
  CHECK(run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"] ==
        "no objects passed to check in <stdin>");
  REQUIRE(run["results"].size() == 1);
  CHECK(run["results"][0]["ruleId"] == "check-error");
  CHECK(run["results"][0]["level"] == "error");
  CHECK_FALSE(run["results"][0].contains("locations"));
  // A report without such errors has no invocations, as before.
  CHECK_FALSE(report::to_sarif(test::ci_sample())["runs"][0].contains("invocations"));
}
