package kubelet

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

type fakeSource struct {
	cms  map[string]*corev1.ConfigMap
	secs map[string]*corev1.Secret
	svcs []corev1.Service
}

func (f fakeSource) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	return f.cms[ns+"/"+name], nil
}
func (f fakeSource) Secret(ns, name string) (*corev1.Secret, error) { return f.secs[ns+"/"+name], nil }
func (f fakeSource) Services(ns string) ([]corev1.Service, error)   { return f.svcs, nil }

func cm(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func cmRef(name string) *corev1.ConfigMapEnvSource {
	return &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p-0", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "kcp-node"},
		Status:     corev1.PodStatus{PodIP: "127.100.1.2"},
	}
}

func TestResolveOrderAndExpansion(t *testing.T) {
	src := fakeSource{cms: map[string]*corev1.ConfigMap{
		"ns/one": cm("ns", "one", map[string]string{"A": "from-one", "B": "b1", "bad=key": "skipped"}),
		"ns/two": cm("ns", "two", map[string]string{"A": "from-two", "C": "c2"}),
		"ns/kv":  cm("ns", "kv", map[string]string{"K": "kval"}),
	}}
	c := &corev1.Container{
		Name: "vminsert",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: cmRef("one")},
			{ConfigMapRef: cmRef("two")},               // later envFrom wins: A=from-two
			{ConfigMapRef: cmRef("one"), Prefix: "P_"}, // P_A, P_B
		},
		Env: []corev1.EnvVar{
			{Name: "B", Value: "env-$(A)"},  // env overrides envFrom, expands against earlier vars
			{Name: "D", Value: "$(E)-$(B)"}, // E not yet defined: stays literal
			{Name: "E", Value: "e"},         //
			{Name: "K", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "kv"}, Key: "K"}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "LBL", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "E", Value: "e2"}, // later env wins
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "x", Optional: ptr.To(true)}}},
		},
		Command: []string{"/vminsert-prod", "-x=$(POD)"},
		Args:    []string{"-storageNode=$(A),$(P_B)", "$$(A)", "$(UNDEF)", "-e=$(E)", "-d=$(D)"},
	}
	r, err := ResolveContainer(testPod(), c, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"A": "from-two", "B": "env-from-two", "C": "c2", "P_A": "from-one", "P_B": "b1",
		"D": "$(E)-env-from-two", "E": "e2", "K": "kval", "POD": "p-0", "IP": "127.100.1.2", "LBL": "x",
	}
	for k, v := range want {
		if r.EnvMap[k] != v {
			t.Errorf("env %s = %q, want %q", k, r.EnvMap[k], v)
		}
	}
	if _, ok := r.EnvMap["bad=key"]; ok {
		t.Error("invalid env name from envFrom was not skipped")
	}
	if _, ok := r.EnvMap["OPT"]; ok {
		t.Error("optional missing configMapKeyRef should leave the variable unset")
	}
	wantArgs := []string{"-storageNode=from-two,b1", "$(A)", "$(UNDEF)", "-e=e2", "-d=$(E)-env-from-two"}
	for i, a := range wantArgs {
		if r.Args[i] != a {
			t.Errorf("arg %d = %q, want %q", i, r.Args[i], a)
		}
	}
	if r.Command[1] != "-x=p-0" {
		t.Errorf("command = %q", r.Command)
	}
}

func TestResolveMissingSources(t *testing.T) {
	src := fakeSource{cms: map[string]*corev1.ConfigMap{"ns/kv": cm("ns", "kv", map[string]string{"K": "v"})}}
	var ce *ConfigError
	_, err := ResolveContainer(testPod(), &corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: cmRef("nope")}}}, src)
	if !errors.As(err, &ce) {
		t.Fatalf("missing envFrom ConfigMap: err = %v", err)
	}
	r, err := ResolveContainer(testPod(), &corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr.To(true)}}}}, src)
	if err != nil || len(r.Env) != 0 {
		t.Fatalf("optional envFrom: %v %v", r, err)
	}
	_, err = ResolveContainer(testPod(), &corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "kv"}, Key: "missing"}}}}}, src)
	if !errors.As(err, &ce) {
		t.Fatalf("missing key: err = %v", err)
	}
}

func TestServiceLinks(t *testing.T) {
	svc := func(ns, name, ip string, ports ...corev1.ServicePort) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
	}
	src := fakeSource{svcs: []corev1.Service{
		svc("ns", "vm-vmstorage-0", "10.96.0.10", corev1.ServicePort{Name: "vminsert", Port: 8400}, corev1.ServicePort{Name: "http", Port: 8482}),
		svc("ns", "headless", "None", corev1.ServicePort{Port: 1}),
		svc("default", "kubernetes", "10.96.0.1", corev1.ServicePort{Name: "https", Port: 443}),
		svc("other", "elsewhere", "10.96.0.99", corev1.ServicePort{Port: 80}),
	}}
	c := &corev1.Container{Env: []corev1.EnvVar{{Name: "X", Value: "$(VM_VMSTORAGE_0_SERVICE_HOST):$(VM_VMSTORAGE_0_SERVICE_PORT_VMINSERT)"}}}
	r, err := ResolveContainer(testPod(), c, src)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"X": "10.96.0.10:8400", "VM_VMSTORAGE_0_SERVICE_PORT": "8400", "VM_VMSTORAGE_0_PORT": "tcp://10.96.0.10:8400",
		"VM_VMSTORAGE_0_PORT_8482_TCP_ADDR": "10.96.0.10", "KUBERNETES_SERVICE_HOST": "10.96.0.1",
	}
	for k, v := range checks {
		if r.EnvMap[k] != v {
			t.Errorf("%s = %q, want %q", k, r.EnvMap[k], v)
		}
	}
	if _, ok := r.EnvMap["HEADLESS_SERVICE_HOST"]; ok {
		t.Error("headless service must not get variables")
	}
	if _, ok := r.EnvMap["ELSEWHERE_SERVICE_HOST"]; ok {
		t.Error("other namespace's service must not get variables")
	}
	p := testPod()
	p.Spec.EnableServiceLinks = ptr.To(false)
	r, _ = ResolveContainer(p, &corev1.Container{}, src)
	if _, ok := r.EnvMap["VM_VMSTORAGE_0_SERVICE_HOST"]; ok {
		t.Error("enableServiceLinks=false must drop namespace services")
	}
	if r.EnvMap["KUBERNETES_SERVICE_HOST"] != "10.96.0.1" {
		t.Error("kubernetes service variables are always present")
	}
}
