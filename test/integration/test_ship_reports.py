"""The CI formats of a real check: JUnit XML (one test case per consumer workload, the drift in the failure),
SARIF and the Prometheus text format, from the local control plane and from rendered manifests (-f)."""
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, run_vmsync

HELM_SCALED = os.path.join(ROOT, "test", "data", "manifests", "helm-scaled.yaml")


@pytest.fixture(scope="module")
def drifted(cp):
    ns = cp.new_namespace("ci")
    cp.deploy("helm", ns, "vm", storage=2)
    cp.deploy("generic", ns, "vm", storage=2)
    cp.drift("helm", ns, "vm", 3)
    return ns


def suites(xml_text):
    root = ET.fromstring(xml_text)
    assert root.tag == "testsuites"
    return root, {s.get("name"): s for s in root.findall("testsuite")}


def test_junit_one_testcase_per_workload(cp, drifted):
    r = cp.vmsync("check", "-n", drifted, "-o", "junit")
    assert r.rc == 1, r
    root, by_name = suites(r.out)
    assert sorted(by_name) == [f"{drifted}/vm", f"{drifted}/vm-vmstorage"]
    helm = by_name[f"{drifted}/vm"]
    cases = {c.get("name"): c for c in helm.findall("testcase")}
    assert sorted(cases) == ["vminsert deployment/vm-victoria-metrics-cluster-vminsert",
                             "vmselect deployment/vm-victoria-metrics-cluster-vmselect"]
    for name, case in cases.items():
        assert case.get("classname") == f"{drifted}.vm"
        failure = case.find("failure")
        assert failure is not None, name
        assert failure.get("type") == "Drift"
        assert failure.get("message").startswith("2 of 2 pods stale")
        port = 8400 if "vminsert" in name else 8401
        missing = f"vm-victoria-metrics-cluster-vmstorage-2.vm-victoria-metrics-cluster-vmstorage.{drifted}" \
                  f".svc.cluster.local.:{port}"
        assert f"missing {missing}" in failure.text
        assert len(re.findall(r"^pod \S+: Stale; missing ", failure.text, re.M)) == 2
    generic = by_name[f"{drifted}/vm-vmstorage"]
    assert [c.find("failure") for c in generic.findall("testcase")] == [None, None]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "0")
    assert (helm.get("tests"), helm.get("failures")) == ("2", "2")


def test_junit_error_when_a_namespace_cannot_be_read(cp):
    ns = cp.new_namespace("ci-rbac")
    cp.kubectl("-n", ns, "create", "serviceaccount", "nobody")
    token = cp.kubectl("-n", ns, "create", "token", "nobody").strip()
    r = cp.vmsync("check", "-n", ns, "-o", "junit", "--token", token)
    assert r.rc == 2, r
    root = ET.fromstring(r.out) if r.out else None
    # Either the whole check fails (no document) or the document carries the error as a test error.
    if root is not None:
        assert int(root.get("errors")) >= 1
    assert token not in r.out + r.err


def test_junit_from_manifests():
    r = run_vmsync("check", "-f", HELM_SCALED, "-n", "mon", "-o", "junit")
    assert r.rc == 1, r
    root, by_name = suites(r.out)
    assert list(by_name) == ["mon/vm"]
    assert int(root.get("failures")) == 2


def test_sarif_results_point_at_objects(cp, drifted):
    r = cp.vmsync("check", "-n", drifted, "-o", "sarif")
    assert r.rc == 1, r
    doc = json.loads(r.out)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = [x["id"] for x in run["tool"]["driver"]["rules"]]
    stale = [x for x in run["results"] if x["ruleId"] == "stale-pod"]
    assert len(stale) == 4
    for x in run["results"]:
        assert rules[x["ruleIndex"]] == x["ruleId"]
        name = x["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        assert name.startswith(f"{drifted}/")


def test_prometheus_text_is_parseable_and_consistent(cp, drifted):
    r = cp.vmsync("check", "-n", drifted, "-o", "prometheus")
    assert r.rc == 1, r
    families = re.findall(r"^# TYPE (\S+) gauge$", r.out, re.M)
    assert len(families) == len(set(families)) == 11
    stale = dict(re.findall(r'^vmsync_stale_pods\{namespace="[^"]+",cluster="vm",role="(\w+)"\} (\d+)$', r.out, re.M))
    assert stale == {"vminsert": "2", "vmselect": "2"}
    assert re.search(r"^vmsync_check_success 1$", r.out, re.M)
