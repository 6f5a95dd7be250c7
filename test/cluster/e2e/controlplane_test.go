package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

func sts(ns, name string, replicas int32, strategy appsv1.StatefulSetUpdateStrategyType) *appsv1.StatefulSet {
	l := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:       ptr.To(replicas),
			ServiceName:    name,
			Selector:       &metav1.LabelSelector{MatchLabels: l},
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: strategy},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "vmstorage", Image: "victoriametrics/vmstorage:v1.110.0-cluster",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8482}},
				}}},
			},
		},
	}
}

func waitStsPods(t *testing.T, cs kubernetes.Interface, ns, name string, n int, revision string) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, 2*time.Minute, func() (bool, string) {
		pods = podsBy(t, cs, ns, "app="+name)
		ready := 0
		for i := range pods {
			if podReady(&pods[i]) && (revision == "" || pods[i].Labels["controller-revision-hash"] == revision) {
				ready++
			}
		}
		return ready == n && len(pods) == n, fmt.Sprintf("%d/%d pods ready at revision %q (of %d)", ready, n, revision, len(pods))
	})
	return pods
}

// A StatefulSet of 3 becomes 3 Running+Ready pods with IPs, startTime and
// running container states; then a template change rolls all of them.
func TestStatefulSetReadyAndRollingUpdate(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "sts")
	ctx := ctxT(t, 3*time.Minute)
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts(ns, "web", 3, appsv1.RollingUpdateStatefulSetStrategyType), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitStsPods(t, cs, ns, "web", 3, "")
	before := map[string]types.UID{}
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Status.StartTime == nil || p.Spec.NodeName != "kcp-node" {
			t.Fatalf("pod %s: phase=%s ip=%q start=%v node=%q", p.Name, p.Status.Phase, p.Status.PodIP, p.Status.StartTime, p.Spec.NodeName)
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil || !p.Status.ContainerStatuses[0].Ready {
			t.Fatalf("pod %s: container status %+v", p.Name, p.Status.ContainerStatuses)
		}
		before[p.Name] = p.UID
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return s.Status.ReadyReplicas == 3, fmt.Sprintf("readyReplicas = %d", s.Status.ReadyReplicas)
	})
	// Template change (what `kubectl rollout restart` does).
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
	patched, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rev string
	eventually(t, time.Minute, func() (bool, string) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		rev = s.Status.UpdateRevision
		return s.Status.ObservedGeneration >= patched.Generation && rev != "", "waiting for the new revision to be observed"
	})
	pods = waitStsPods(t, cs, ns, "web", 3, rev)
	for _, p := range pods {
		if before[p.Name] == p.UID {
			t.Errorf("pod %s was not replaced by the rolling update", p.Name)
		}
	}
	eventually(t, time.Minute, func() (bool, string) {
		s, _ := cs.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return s.Status.CurrentRevision == s.Status.UpdateRevision && s.Status.UpdatedReplicas == 3,
			fmt.Sprintf("current=%s update=%s updated=%d", s.Status.CurrentRevision, s.Status.UpdateRevision, s.Status.UpdatedReplicas)
	})
}

// An OnDelete StatefulSet does not roll on a template change until its pods
// are deleted.
func TestStatefulSetOnDelete(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "ondelete")
	ctx := ctxT(t, 3*time.Minute)
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts(ns, "db", 2, appsv1.OnDeleteStatefulSetStrategyType), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitStsPods(t, cs, ns, "db", 2, "")
	oldRev := pods[0].Labels["controller-revision-hash"]
	uids := map[string]types.UID{}
	for _, p := range pods {
		uids[p.Name] = p.UID
	}
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"vmstorage","args":["-retentionPeriod=2"]}]}}}}`
	if _, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "db", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var newRev string
	eventually(t, time.Minute, func() (bool, string) {
		s, _ := cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		newRev = s.Status.UpdateRevision
		return s.Status.ObservedGeneration == s.Generation && newRev != oldRev, "waiting for updateRevision"
	})
	time.Sleep(3 * time.Second) // give the controller time to (wrongly) roll
	for _, p := range podsBy(t, cs, ns, "app=db") {
		if p.UID != uids[p.Name] || p.Labels["controller-revision-hash"] != oldRev {
			t.Fatalf("OnDelete pod %s was replaced without being deleted", p.Name)
		}
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "db-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "db-1", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.UID != uids["db-1"] && podReady(p) && p.Labels["controller-revision-hash"] == newRev, "db-1 not yet recreated at the new revision"
	})
	p0, _ := cs.CoreV1().Pods(ns).Get(ctx, "db-0", metav1.GetOptions{})
	if p0.UID != uids["db-0"] || p0.Labels["controller-revision-hash"] != oldRev {
		t.Fatal("db-0 changed although only db-1 was deleted")
	}
}

// A TokenRequest token of a ServiceAccount is allowed what its Role grants
// and gets 403 for the rest.
func TestTokenRequestRBAC(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "rbac")
	other := namespace(t, cs, "rbac-other")
	ctx := ctxT(t, 2*time.Minute)
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "pod-reader"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "reader", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status.Token == "" {
		t.Fatal("empty token")
	}
	cfg := rest.AnonymousClientConfig(e.Cfg)
	cfg.BearerToken = tr.Status.Token
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC caches may take a moment after the binding is created.
	eventually(t, 30*time.Second, func() (bool, string) {
		_, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil, fmt.Sprint(err)
	})
	if _, err := sa.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list configmaps (granted): %v", err)
	}
	forbidden := map[string]error{}
	_, forbidden["list secrets"] = sa.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	_, forbidden["list pods in another namespace"] = sa.CoreV1().Pods(other).List(ctx, metav1.ListOptions{})
	_, forbidden["create configmap"] = sa.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	_, forbidden["list nodes"] = sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: want 403 Forbidden, got %v", what, err)
		}
	}
	// pods/proxy is a separate permission: refused now, allowed once granted.
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vminsert-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vminsert", Image: "victoriametrics/vminsert:v1.110.0-cluster",
			Args: []string{"-storageNode=a:8400,b:8400"}, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8480}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "vminsert-0", metav1.GetOptions{})
		return err == nil && podReady(p), "pod not ready"
	})
	proxyPath := "/api/v1/namespaces/" + ns + "/pods/vminsert-0:8480/proxy/metrics"
	if _, err := sa.CoreV1().RESTClient().Get().AbsPath(proxyPath).DoRaw(ctx); !apierrors.IsForbidden(err) {
		t.Errorf("pods/proxy without permission: want 403, got %v", err)
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "proxy"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods/proxy"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "proxy"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "proxy"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "reader", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var body []byte
	eventually(t, 30*time.Second, func() (bool, string) {
		body, err = sa.CoreV1().RESTClient().Get().AbsPath(proxyPath).DoRaw(ctx)
		return err == nil, fmt.Sprint(err)
	})
	if !strings.Contains(string(body), `flag{name="storageNode", value="a:8400,b:8400", is_set="true"} 1`) {
		t.Errorf("pods/proxy /metrics:\n%s", body)
	}
	review, err := sa.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":reader"; review.Status.UserInfo.Username != want {
		t.Errorf("whoami = %q, want %q", review.Status.UserInfo.Username, want)
	}
}

// dryRun=All validates and admits but persists nothing.
func TestDryRunAll(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "dryrun")
	ctx := ctxT(t, time.Minute)
	dry := []string{metav1.DryRunAll}
	out, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{DryRun: dry})
	if err != nil || out.Data["k"] != "v" {
		t.Fatalf("dry-run create: %v %v", out, err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create persisted: %v", err)
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	upd := cm.DeepCopy()
	upd.Data["k"] = "changed"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, upd, metav1.UpdateOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{"k": "patched"}})
	if _, err := cs.CoreV1().ConfigMaps(ns).Patch(ctx, "c", types.StrategicMergePatchType, patch, metav1.PatchOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "c", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("dry-run delete removed the object: %v", err)
	}
	if got.Data["k"] != "v" || got.ResourceVersion != cm.ResourceVersion {
		t.Fatalf("dry-run changed the object: %v rv %s -> %s", got.Data, cm.ResourceVersion, got.ResourceVersion)
	}
	// A dry-run rollout restart of a Deployment changes nothing either.
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
		},
	}
	dd, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rp := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}`
	res, err := cs.AppsV1().Deployments(ns).Patch(ctx, "d", types.StrategicMergePatchType, []byte(rp), metav1.PatchOptions{DryRun: dry})
	if err != nil || res.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Fatalf("dry-run patch: %v", err)
	}
	dd2, _ := cs.AppsV1().Deployments(ns).Get(ctx, "d", metav1.GetOptions{})
	if dd2.Generation != dd.Generation || len(dd2.Spec.Template.Annotations) != 0 {
		t.Fatalf("dry-run patch persisted: generation %d -> %d", dd.Generation, dd2.Generation)
	}
}

// A pod started from a ConfigMap keeps the values it started with after the
// ConfigMap changes; a new pod sees the new values. Also exercises the
// kubelet's expansion rules end to end.
func TestConfigMapSnapshotAtStart(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "snapshot")
	ctx := ctxT(t, 2*time.Minute)
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "urls"},
		Data:       map[string]string{"VM_STORAGE_URLS": "s-0.s:8400,s-1.s:8400", "EXTRA": "s-2.s:8400"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mkPod := func(name string) {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:  "vminsert",
				Image: "victoriametrics/vminsert:v1.110.0-cluster",
				Args:  []string{"-storageNode=$(VM_STORAGE_URLS),$(P_EXTRA)", "-loggerLevel=$(LEVEL)", "-search.x=$$(NOT_EXPANDED)", "-y=$(UNDEFINED)"},
				EnvFrom: []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "urls"}}},
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "urls"}}, Prefix: "P_"},
				},
				Env:   []corev1.EnvVar{{Name: "LEVEL", Value: "WARN"}},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8480}},
			}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, func() (bool, string) {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return podReady(p), "pod not ready"
		})
	}
	mkPod("old")
	want := "s-0.s:8400,s-1.s:8400,s-2.s:8400"
	if got := storageNode(t, cs, ns, "old"); got != want {
		t.Fatalf("old pod runs with %q, want %q", got, want)
	}
	p, _ := cs.CoreV1().Pods(ns).Get(ctx, "old", metav1.GetOptions{})
	url, _ := fixtureMetricsURL(p)
	body := fetch(t, strings.Replace(url, "/metrics", "/flags", 1))
	for _, w := range []string{`-loggerLevel="WARN"`, `-search.x="$(NOT_EXPANDED)"`, `-y="$(UNDEFINED)"`} {
		if !strings.Contains(body, w) {
			t.Errorf("/flags lacks %s:\n%s", w, body)
		}
	}
	cm, _ := cs.CoreV1().ConfigMaps(ns).Get(ctx, "urls", metav1.GetOptions{})
	cm.Data["VM_STORAGE_URLS"] = "s-0.s:8400,s-1.s:8400,s-3.s:8400"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := storageNode(t, cs, ns, "old"); got != want {
		t.Fatalf("after the ConfigMap change the running pod reports %q, want still %q", got, want)
	}
	mkPod("new")
	if got := storageNode(t, cs, ns, "new"); got != "s-0.s:8400,s-1.s:8400,s-3.s:8400,s-2.s:8400" {
		t.Fatalf("new pod runs with %q", got)
	}
	// Nothing about the resolved list is written into the API.
	p, _ = cs.CoreV1().Pods(ns).Get(ctx, "old", metav1.GetOptions{})
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), "s-2.s:8400") {
		t.Fatal("the resolved list leaked into the pod object")
	}
}

// A missing ConfigMap keeps the pod Pending with CreateContainerConfigError;
// it starts once the ConfigMap exists.
func TestMissingConfigMap(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "missingcm")
	ctx := ctxT(t, time.Minute)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "vmselect", Image: "victoriametrics/vmselect:v1.110.0-cluster",
			Args:    []string{"-storageNode=$(X)"},
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "later"}}}},
		}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		p, _ := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
		if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil {
			return p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerConfigError", p.Status.ContainerStatuses[0].State.Waiting.Reason
		}
		return false, "no waiting state yet"
	})
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}, Data: map[string]string{"X": "a:8401"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		p, _ := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
		return podReady(p), string(p.Status.Phase)
	})
	if got := storageNode(t, cs, ns, "p"); got != "a:8401" {
		t.Fatalf("storageNode = %q", got)
	}
}

// The readiness-delay annotation keeps a pod Running but not Ready for a while;
// graceful deletion completes promptly.
func TestReadyDelayAndGracefulDeletion(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "delay")
	ctx := ctxT(t, time.Minute)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "slow", Annotations: map[string]string{"kcp.vmsync.io/ready-delay": "2s"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var runningAt time.Time
	eventually(t, 20*time.Second, func() (bool, string) {
		p, _ := cs.CoreV1().Pods(ns).Get(ctx, "slow", metav1.GetOptions{})
		if p.Status.Phase == corev1.PodRunning && runningAt.IsZero() {
			runningAt = time.Now()
			if podReady(p) {
				t.Error("pod Ready at once despite ready-delay")
			}
		}
		return podReady(p), "not ready"
	})
	if d := time.Since(runningAt); d < time.Second {
		t.Errorf("Ready only %s after Running", d)
	}
	start := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "slow", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, func() (bool, string) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "slow", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	t.Logf("graceful deletion completed in %s", time.Since(start).Round(time.Millisecond))
}

// A Job's pod completes and the Job succeeds.
func TestJobCompletes(t *testing.T) {
	e := env(t)
	cs := e.CS
	ns := namespace(t, cs, "job")
	ctx := ctxT(t, time.Minute)
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchJob, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 45*time.Second, func() (bool, string) {
		j, _ := cs.BatchV1().Jobs(ns).Get(ctx, batchJob.Name, metav1.GetOptions{})
		return j.Status.Succeeded == 1, fmt.Sprintf("succeeded=%d", j.Status.Succeeded)
	})
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	body, err := fixtureFetch(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return body
}
