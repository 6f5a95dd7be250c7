#include "vmsync/report/junit.hpp"

#include "ci_sample.hpp"
#include "sample_report.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace vmsync;

namespace {

std::string junit(const model::DriftReport &r) {
  std::ostringstream out;
  report::render_junit(r, out);
  return out.str();
}

} // namespace

TEST_CASE("render_junit: a test case per consumer workload, the drift in the failure, errors and skips") {
  CHECK(junit(test::ci_sample()) == R"x(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="vmsync check" tests="4" failures="2" errors="1" skipped="1">
  <testsuite name="apps/metrics" tests="1" failures="0" errors="0" skipped="1">
    <properties>
      <property name="layout" value="helm"/>
      <property name="status" value="InSync"/>
      <property name="storage" value="statefulset/metrics-vmstorage: 1 declared, 1 ready"/>
    </properties>
    <testcase classname="apps.metrics" name="vminsert deployment/metrics-vminsert">
      <skipped message="every pod finds its storage nodes by discovery"/>
    </testcase>
  </testsuite>
  <testsuite name="mon/vm" tests="2" failures="2" errors="0" skipped="0">
    <properties>
      <property name="layout" value="kubeblocks"/>
      <property name="status" value="Drift"/>
      <property name="storage" value="instanceset/vm-vmstorage: 3 declared, 2 ready"/>
    </properties>
    <testcase classname="mon.vm" name="vminsert instanceset/vm-vminsert">
      <failure type="Drift" message="2 of 3 pods stale, 1 of 3 pods unproven, wrong list in configmap/vm-vminsert-env key VMSTORAGE_ADDR">expected: vm-vmstorage-0:8400, vm-vmstorage-1:8400, vm-vmstorage-2:8400
wrong list in configmap/vm-vminsert-env key VMSTORAGE_ADDR; missing vm-vmstorage-2:8400
pod vm-vminsert-0: Stale; missing vm-vmstorage-2:8400; unexpected old-node:8400
pod vm-vminsert-1: Unknown
  env VMSTORAGE_ADDR comes from secret &quot;vm-env&quot; &amp; cannot be read
pod vm-vminsert-2: Stale; missing vm-vmstorage-1:8400, vm-vmstorage-2:8400
</failure>
    </testcase>
    <testcase classname="mon.vm" name="vmselect instanceset/vm-vmselect">
      <failure type="Drift" message="mixed spellings">expected: vm-vmstorage-0:8401, vm-vmstorage-1:8401, vm-vmstorage-2:8401
node vm-vmstorage-0.mon:8401 spelled vm-vmstorage-0.mon:8401, vm-vmstorage-0:8401
</failure>
    </testcase>
    <system-out>warning: vmstorage: 2 of 3 pods ready
</system-out>
  </testsuite>
  <testsuite name="team-b/vmc" tests="1" failures="0" errors="1" skipped="0">
    <properties>
      <property name="layout" value="operator"/>
      <property name="status" value="Error"/>
      <property name="storage" value="statefulset/vmstorage-vmc: 2 declared, 0 ready"/>
    </properties>
    <testcase classname="team-b.vmc" name="check">
      <error type="Error" message="pods is forbidden: User &quot;system:serviceaccount:team-b:ci&quot; cannot list resource &quot;pods&quot; &lt;403&gt;">pods is forbidden: User &quot;system:serviceaccount:team-b:ci&quot; cannot list resource &quot;pods&quot; &lt;403&gt;
</error>
    </testcase>
  </testsuite>
</testsuites>
)x");
}

TEST_CASE("render_junit: no clusters is an empty, valid document") {
  CHECK(junit({}) == R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="vmsync check" tests="0" failures="0" errors="0" skipped="0">
</testsuites>
)");
}

TEST_CASE("render_junit: control characters XML cannot carry are dropped, markup is escaped") {
  model::ClusterDrift c;
  c.namespace_ = "ns";
  c.name = "a<b>&\"c'";
  c.status = model::ClusterStatus::Error;
  c.errors = {std::string("bad\x01\x1b[31m byte")};
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  const auto out = junit(r);
  CHECK(out.find("name=\"ns/a&lt;b&gt;&amp;&quot;c&apos;\"") != std::string::npos);
  CHECK(out.find("message=\"bad[31m byte\"") != std::string::npos);
  CHECK(out.find('\x1b') == std::string::npos);
}

TEST_CASE("render_junit: a vminsert spelling split is a failed case of its own; a vmselect split is none") {
  auto c = test::spelling_split_cluster();
  for (const char *name : {"vminsert-a", "vminsert-b"}) { // each in sync by itself
    model::ConsumerDrift d;
    d.workload = {"Deployment", name, "mon"};
    c.consumers.push_back(d);
  }
  model::DriftReport r;
  r.clusters = {c};
  r.summary = model::summarize(r.clusters);
  const auto out = junit(r);
  CHECK(out.find("tests=\"3\" failures=\"1\"") != std::string::npos);
  CHECK(out.find("<testcase classname=\"mon.vm\" name=\"vminsert spelling of vmstorage-0.vmstorage.mon:8400\">") !=
        std::string::npos);
  CHECK(out.find("<failure type=\"Drift\" message=\"2 vminsert workloads spell the node differently\">") !=
        std::string::npos);
  CHECK(out.find("deployment/vminsert-a as vmstorage-0.vmstorage:8400\n"
                 "deployment/vminsert-b as vmstorage-0.vmstorage.mon.svc.cluster.local:8400\n") != std::string::npos);
  CHECK(out.find("vmselect") == std::string::npos);
}

TEST_CASE("render_junit: errors that belong to no cluster are an error case of a suite of their own") {
  model::DriftReport r;
  r.errors = {"cannot connect to https://127.0.0.1:1: connection refused"};
  model::sort_report(r);
  CHECK(junit(r) == R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="vmsync check" tests="1" failures="0" errors="1" skipped="0">
  <testsuite name="vmsync" tests="1" failures="0" errors="1" skipped="0">
    <testcase classname="vmsync" name="check">
      <error type="Error" message="cannot connect to https://127.0.0.1:1: connection refused">cannot connect to https://127.0.0.1:1: connection refused
</error>
    </testcase>
  </testsuite>
</testsuites>
)");
}
