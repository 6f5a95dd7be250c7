package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"vmsync/test/cluster/internal/fixture"
)

// consumers lists the running vminsert/vmselect pods of a fixture by role.
func consumers(t *testing.T, cs kubernetes.Interface, s fixture.Spec) map[string][]corev1.Pod {
	sel := map[string]map[string]string{}
	switch s.Layout {
	case fixture.LayoutHelm:
		sel["vminsert"] = map[string]string{"app": "vminsert", "app.kubernetes.io/instance": s.Name}
		sel["vmselect"] = map[string]string{"app": "vmselect", "app.kubernetes.io/instance": s.Name}
	case fixture.LayoutOperator, fixture.LayoutGeneric:
		sel["vminsert"] = map[string]string{"app.kubernetes.io/name": "vminsert", "app.kubernetes.io/instance": s.Name}
		sel["vmselect"] = map[string]string{"app.kubernetes.io/name": "vmselect", "app.kubernetes.io/instance": s.Name}
	default:
		sel["vminsert"] = map[string]string{"apps.kubeblocks.io/component-name": "vminsert", "app.kubernetes.io/instance": s.Name}
		sel["vmselect"] = map[string]string{"apps.kubeblocks.io/component-name": "vmselect", "app.kubernetes.io/instance": s.Name}
	}
	out := map[string][]corev1.Pod{}
	for role, l := range sel {
		out[role] = podsBy(t, cs, s.Namespace, metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: l}))
	}
	return out
}

// expected is the list a consumer of role should run with for n storage nodes.
func expected(s fixture.Spec, role string, n int) string {
	port := 8400
	if role == "vmselect" {
		port = 8401
	}
	switch s.Layout {
	case fixture.LayoutHelm:
		var parts []string
		for _, a := range fixture.HelmStorageNodeArgs(s.Name, s.Namespace, n, port) {
			parts = append(parts, strings.TrimPrefix(a, "--storageNode="))
		}
		return strings.Join(parts, ",")
	case fixture.LayoutOperator:
		return fixture.OperatorStorageNodes(s.Name, s.Namespace, n, port)
	case fixture.LayoutGeneric:
		return fixture.GenericStorageURLs(s.Name, s.Namespace, n, port)
	default:
		return fixture.KubeBlocksStorageAddr(s.Name, n, port)
	}
}

func checkConsumers(t *testing.T, cs kubernetes.Interface, s fixture.Spec, role string, n int) {
	t.Helper()
	pods := consumers(t, cs, s)[role]
	want := map[string]int{"vminsert": s.Insert, "vmselect": s.Select}[role]
	if len(pods) != want {
		t.Fatalf("%s: %d %s pods, want %d", s.Layout, len(pods), role, want)
	}
	exp := expected(s, role, n)
	for _, p := range pods {
		if got := storageNode(t, cs, s.Namespace, p.Name); got != exp {
			t.Errorf("%s: %s pod %s runs with\n  %s\nwant\n  %s", s.Layout, role, p.Name, got, exp)
		}
	}
}

func storagePods(t *testing.T, cs kubernetes.Interface, s fixture.Spec) int {
	var sel string
	switch s.Layout {
	case fixture.LayoutHelm:
		sel = "app=vmstorage,app.kubernetes.io/instance=" + s.Name
	case fixture.LayoutOperator, fixture.LayoutGeneric:
		sel = "app.kubernetes.io/name=vmstorage,app.kubernetes.io/instance=" + s.Name
	default:
		sel = "apps.kubeblocks.io/component-name=vmstorage,app.kubernetes.io/instance=" + s.Name
	}
	n := 0
	for _, p := range podsBy(t, cs, s.Namespace, sel) {
		if podReady(&p) {
			n++
		}
	}
	return n
}

func deployAndDrift(t *testing.T, e *fixture.Env, layout string) fixture.Spec {
	cs := e.CS
	s := fixture.Spec{Namespace: namespace(t, cs, "fx-"+strings.ReplaceAll(layout, ".", "")), Layout: layout, Name: "vm", Storage: 3, Insert: 2, Select: 2, Wait: true, Timeout: 2 * time.Minute}
	ctx := ctxT(t, 5*time.Minute)
	start := time.Now()
	if err := fixture.Deploy(ctx, e, s); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s deployed and Ready in %s", layout, time.Since(start).Round(time.Millisecond))
	if n := storagePods(t, cs, s); n != 3 {
		t.Fatalf("%d Ready vmstorage pods, want 3", n)
	}
	checkConsumers(t, cs, s, "vminsert", 3)
	checkConsumers(t, cs, s, "vmselect", 3)
	// Deploying again leaves everything as is.
	if err := fixture.Deploy(ctx, e, s); err != nil {
		t.Fatalf("second deploy: %v", err)
	}
	d := s
	d.Storage = 5
	d.UpdateConfigMap = true
	if err := fixture.Drift(ctx, e, d); err != nil {
		t.Fatal(err)
	}
	if n := storagePods(t, cs, s); n != 5 {
		t.Fatalf("after drift: %d Ready vmstorage pods, want 5", n)
	}
	// Consumers still run with the old list.
	checkConsumers(t, cs, s, "vminsert", 3)
	checkConsumers(t, cs, s, "vmselect", 3)
	return s
}

func TestFixtureHelm(t *testing.T) {
	e := env(t)
	s := deployAndDrift(t, e, fixture.LayoutHelm)
	ctx := ctxT(t, time.Minute)
	st, err := e.CS.AppsV1().StatefulSets(s.Namespace).Get(ctx, "vm-victoria-metrics-cluster-vmstorage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Labels["app.kubernetes.io/managed-by"] != "Helm" || st.Annotations["meta.helm.sh/release-name"] != "vm" || *st.Spec.Replicas != 5 {
		t.Errorf("helm StatefulSet labels/annotations/replicas: %v %v %d", st.Labels, st.Annotations, *st.Spec.Replicas)
	}
	if _, err := e.CS.CoreV1().Secrets(s.Namespace).Get(ctx, "sh.helm.release.v1.vm.v1", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	dep, _ := e.CS.AppsV1().Deployments(s.Namespace).Get(ctx, "vm-victoria-metrics-cluster-vminsert", metav1.GetOptions{})
	n := 0
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--storageNode=") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("vminsert template has %d --storageNode args after drift, want 3 (stale)", n)
	}
}

func TestFixtureOperator(t *testing.T) {
	e := env(t)
	s := deployAndDrift(t, e, fixture.LayoutOperator)
	ctx := ctxT(t, 2*time.Minute)
	cs := e.CS
	vmc, err := e.Dyn.Resource(fixture.VMClusterGVR).Namespace(s.Namespace).Get(ctx, "vm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(vmc.Object, "spec", "vmstorage", "replicaCount"); r != 5 {
		t.Errorf("VMCluster replicaCount = %d", r)
	}
	st, _ := cs.AppsV1().StatefulSets(s.Namespace).Get(ctx, "vmselect-vm", metav1.GetOptions{})
	if len(st.OwnerReferences) != 1 || st.OwnerReferences[0].Kind != "VMCluster" || st.OwnerReferences[0].UID != vmc.GetUID() {
		t.Errorf("vmselect-vm owner: %+v", st.OwnerReferences)
	}
	if st.Spec.UpdateStrategy.Type != "OnDelete" {
		t.Errorf("vmselect update strategy %s", st.Spec.UpdateStrategy.Type)
	}
	want5 := "-storageNode=" + expected(s, "vmselect", 5)
	found := false
	for _, a := range st.Spec.Template.Spec.Containers[0].Args {
		found = found || a == want5
	}
	if !found {
		t.Errorf("vmselect template not updated: %v", st.Spec.Template.Spec.Containers[0].Args)
	}
	// The operator's next step: delete vmselect pods one by one.
	if err := cs.CoreV1().Pods(s.Namespace).Delete(ctx, "vmselect-vm-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() (bool, string) {
		p, err := cs.CoreV1().Pods(s.Namespace).Get(ctx, "vmselect-vm-0", metav1.GetOptions{})
		return err == nil && podReady(p), "vmselect-vm-0 not back"
	})
	if got := storageNode(t, cs, s.Namespace, "vmselect-vm-0"); got != expected(s, "vmselect", 5) {
		t.Errorf("recreated vmselect-vm-0 runs with %q", got)
	}
	if got := storageNode(t, cs, s.Namespace, "vmselect-vm-1"); got != expected(s, "vmselect", 3) {
		t.Errorf("untouched vmselect-vm-1 runs with %q", got)
	}
	// Garbage collection: deleting the VMCluster removes what it owns.
	if err := e.Dyn.Resource(fixture.VMClusterGVR).Namespace(s.Namespace).Delete(ctx, "vm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() (bool, string) {
		_, err := cs.AppsV1().StatefulSets(s.Namespace).Get(ctx, "vmstorage-vm", metav1.GetOptions{})
		return apierrors.IsNotFound(err), "vmstorage-vm still exists"
	})
}

func TestFixtureGeneric(t *testing.T) {
	e := env(t)
	s := deployAndDrift(t, e, fixture.LayoutGeneric)
	ctx := ctxT(t, 2*time.Minute)
	cs := e.CS
	cm, _ := cs.CoreV1().ConfigMaps(s.Namespace).Get(ctx, fixture.GenericConfigMap("vm", "vminsert"), metav1.GetOptions{})
	if cm.Data["VM_STORAGE_URLS"] != expected(s, "vminsert", 5) {
		t.Errorf("ConfigMap not updated: %q", cm.Data["VM_STORAGE_URLS"])
	}
	d, _ := cs.AppsV1().Deployments(s.Namespace).Get(ctx, "vm-vminsert", metav1.GetOptions{})
	if d.Annotations["vmsync.io/storage-workload"] != "statefulset/vm-vmstorage" || d.Annotations["vmsync.io/role"] != "vminsert" {
		t.Errorf("annotations %v", d.Annotations)
	}
	// kubectl rollout restart: new pods pick up the new ConfigMap value.
	out := runKcp(t, "kubectl", "--kubeconfig", kubeconfig(), "-n", s.Namespace, "rollout", "restart", "deployment/vm-vminsert")
	t.Log(strings.TrimSpace(out))
	runKcp(t, "kubectl", "--kubeconfig", kubeconfig(), "-n", s.Namespace, "rollout", "status", "deployment/vm-vminsert", "--timeout=90s")
	eventually(t, time.Minute, func() (bool, string) {
		pods := consumers(t, cs, s)["vminsert"]
		return len(pods) == 2, fmt.Sprintf("%d vminsert pods", len(pods))
	})
	checkConsumers(t, cs, s, "vminsert", 5)
	checkConsumers(t, cs, s, "vmselect", 3)
}

func TestFixtureKubeBlocks10(t *testing.T) {
	e := env(t)
	s := deployAndDrift(t, e, fixture.LayoutKB10)
	restartAndCheck(t, e, s)
}

func restartAndCheck(t *testing.T, e *fixture.Env, s fixture.Spec) {
	ctx := ctxT(t, 3*time.Minute)
	cs := e.CS
	cm, _ := cs.CoreV1().ConfigMaps(s.Namespace).Get(ctx, "vm-vminsert-env", metav1.GetOptions{})
	if cm.Data["VMSTORAGE_ADDR"] != expected(s, "vminsert", 5) {
		t.Errorf("env ConfigMap: %q", cm.Data["VMSTORAGE_ADDR"])
	}
	for i := 0; i < 5; i++ {
		if _, err := cs.CoreV1().Services(s.Namespace).Get(ctx, fmt.Sprintf("vm-vmstorage-%d", i), metav1.GetOptions{}); err != nil {
			t.Errorf("pod service %d: %v", i, err)
		}
	}
	// Pods are owned by the InstanceSet, which the stand-in recreates on delete.
	old, _ := cs.CoreV1().Pods(s.Namespace).Get(ctx, "vm-vmstorage-1", metav1.GetOptions{})
	if len(old.OwnerReferences) != 1 || old.OwnerReferences[0].Kind != "InstanceSet" {
		t.Errorf("owner of vm-vmstorage-1: %+v", old.OwnerReferences)
	}
	if err := cs.CoreV1().Pods(s.Namespace).Delete(ctx, "vm-vmstorage-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() (bool, string) {
		p, err := cs.CoreV1().Pods(s.Namespace).Get(ctx, "vm-vmstorage-1", metav1.GetOptions{})
		return err == nil && p.UID != old.UID && podReady(p), "vm-vmstorage-1 not recreated"
	})
	ops := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": fixture.OpsRequestGVR(s.Layout).GroupVersion().String(),
		"kind":       "OpsRequest",
		"metadata":   map[string]any{"name": "restart-vminsert", "namespace": s.Namespace},
		"spec":       map[string]any{"clusterName": "vm", "type": "Restart", "restart": []any{map[string]any{"componentName": "vminsert"}}},
	}}
	before := map[string]types.UID{}
	for _, p := range consumers(t, cs, s)["vminsert"] {
		before[p.Name] = p.UID
	}
	if _, err := e.Dyn.Resource(fixture.OpsRequestGVR(s.Layout)).Namespace(s.Namespace).Create(ctx, ops, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, func() (bool, string) {
		o, err := e.Dyn.Resource(fixture.OpsRequestGVR(s.Layout)).Namespace(s.Namespace).Get(ctx, "restart-vminsert", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ph, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return ph == "Succeed", "phase " + ph
	})
	for _, p := range consumers(t, cs, s)["vminsert"] {
		if before[p.Name] == p.UID {
			t.Errorf("vminsert pod %s was not restarted", p.Name)
		}
	}
	checkConsumers(t, cs, s, "vminsert", 5)
	checkConsumers(t, cs, s, "vmselect", 3)
}

// KubeBlocks 0.9 needs its own control plane (its CRDs conflict with 1.0's).
// Also drives the fixture and flags commands through the CLI, and scales down.
func TestFixtureKubeBlocks09(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second control plane")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "kb09")
	if err := up(dir, "kubeblocks-0.9"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down(dir) })
	kc := filepath.Join(dir, "kubeconfig")
	e, err := fixture.NewEnv(kc)
	if err != nil {
		t.Fatal(err)
	}
	e.Out = func(f string, a ...any) { t.Logf(f, a...) }
	ns := "kb09"
	runKcp(t, "fixture", "deploy", "--kubeconfig", kc, "-n", ns, "--layout", "kubeblocks-0.9", "--name", "vm", "--storage", "3", "--insert", "2", "--select", "2", "--wait")
	s := fixture.Spec{Namespace: ns, Layout: fixture.LayoutKB09, Name: "vm", Storage: 3, Insert: 2, Select: 2}
	checkConsumers(t, e.CS, s, "vminsert", 3)
	out := strings.TrimSpace(runKcp(t, "flags", "--kubeconfig", kc, "-n", ns, "vm-vmselect-1"))
	if out != "vm-vmstorage-0:8401,vm-vmstorage-1:8401,vm-vmstorage-2:8401" {
		t.Errorf("kcp flags = %q", out)
	}
	its, err := e.Dyn.Resource(schemaITS09).Namespace(ns).Get(context.Background(), "vm-vmstorage", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if its.GetAPIVersion() != "workloads.kubeblocks.io/v1alpha1" {
		t.Errorf("InstanceSet apiVersion %s", its.GetAPIVersion())
	}
	// Scale down: ordinal 2 and its pod service go away; consumers keep 3 nodes.
	runKcp(t, "fixture", "drift", "--kubeconfig", kc, "-n", ns, "--layout", "kubeblocks-0.9", "--name", "vm", "--storage", "2")
	eventually(t, time.Minute, func() (bool, string) {
		_, err := e.CS.CoreV1().Pods(ns).Get(context.Background(), "vm-vmstorage-2", metav1.GetOptions{})
		return apierrors.IsNotFound(err), "vm-vmstorage-2 still exists"
	})
	if _, err := e.CS.CoreV1().Services(ns).Get(context.Background(), "vm-vmstorage-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod service vm-vmstorage-2: %v", err)
	}
	checkConsumers(t, e.CS, s, "vminsert", 3)
	// 0.9 does not resolve the consumers' vars again after a vmstorage scale: the env ConfigMap keeps 3 nodes.
	cm, _ := e.CS.CoreV1().ConfigMaps(ns).Get(context.Background(), "vm-vmselect-env", metav1.GetOptions{})
	if cm.Data["VMSTORAGE_ADDR"] != "vm-vmstorage-0:8401,vm-vmstorage-1:8401,vm-vmstorage-2:8401" {
		t.Errorf("vmselect env after the scale = %q", cm.Data["VMSTORAGE_ADDR"])
	}
	// A Restart OpsRequest reconciles vmselect: its vars are resolved again and its pods restarted with them.
	ops := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.kubeblocks.io/v1alpha1",
		"kind":       "OpsRequest",
		"metadata":   map[string]any{"name": "restart-vmselect", "namespace": ns},
		"spec":       map[string]any{"clusterName": "vm", "type": "Restart", "restart": []any{map[string]any{"componentName": "vmselect"}}},
	}}
	if _, err := e.Dyn.Resource(fixture.OpsRequestGVR(s.Layout)).Namespace(ns).Create(context.Background(), ops, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, func() (bool, string) {
		o, err := e.Dyn.Resource(fixture.OpsRequestGVR(s.Layout)).Namespace(ns).Get(context.Background(), "restart-vmselect", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ph, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		return ph == "Succeed", "phase " + ph
	})
	cm, _ = e.CS.CoreV1().ConfigMaps(ns).Get(context.Background(), "vm-vmselect-env", metav1.GetOptions{})
	if cm.Data["VMSTORAGE_ADDR"] != "vm-vmstorage-0:8401,vm-vmstorage-1:8401" {
		t.Errorf("vmselect env after the Restart = %q", cm.Data["VMSTORAGE_ADDR"])
	}
	raw, _ := json.Marshal(cm.Data)
	t.Logf("vm-vmselect-env: %s", raw)
	s.Storage = 2
	checkConsumers(t, e.CS, s, "vmselect", 2)
	_ = os.Getenv
}
