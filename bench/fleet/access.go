package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"vmsync/test/cluster/fixtureapi"
)

const (
	benchNamespace = "vmsync-bench"
	benchSA        = "fleet"
	fleetLabel     = "bench.vmsync.io/fleet"
	policyName     = "vmsync-bench-fleet-pods"
)

// builder holds the fleet's clients (as the fleet service account) and counters.
type builder struct {
	o       options
	env     *fixtureapi.Env
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	created atomic.Int64
	deleted atomic.Int64
	podSeq  atomic.Int64
	nodes   sync.Map // name -> struct{}
	nodeMu  sync.Mutex
}

func (b *builder) logf(format string, args ...any) {
	if !b.o.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func newBuilder(ctx context.Context, admin *fixtureapi.Env, o options) (*builder, error) {
	cs := admin.CS
	// The service account that alone may create fleet pods, with a token for it.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := cs.CoreV1().ServiceAccounts(benchNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: benchSA}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vmsync-bench-fleet"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: benchSA, Namespace: benchNamespace}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	tok, err := cs.CoreV1().ServiceAccounts(benchNamespace).CreateToken(ctx, benchSA, &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](6 * 3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for %s/%s: %w", benchNamespace, benchSA, err)
	}
	cfg := rest.AnonymousClientConfig(admin.Cfg)
	cfg.BearerToken = tok.Status.Token
	cfg.QPS, cfg.Burst = 2000, 4000
	fcs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	fdyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	b := &builder{o: o, cs: fcs, dyn: fdyn}
	b.env = &fixtureapi.Env{CS: fcs, Dyn: fdyn, Cfg: cfg, Out: func(string, ...any) {}}
	if err := b.reservePods(ctx, admin, "system:serviceaccount:"+benchNamespace+":"+benchSA); err != nil {
		return nil, err
	}
	n, err := countPods(ctx, fcs)
	if err != nil {
		return nil, err
	}
	b.podSeq.Store(n)
	return b, nil
}

// reservePods installs the ValidatingAdmissionPolicy that refuses pod creation and deletion in fleet
// namespaces to anyone but `user`, and waits until the API server enforces it.
func (b *builder) reservePods(ctx context.Context, admin *fixtureapi.Env, user string) error {
	ar := admin.CS.AdmissionregistrationV1()
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{fleetLabel: "true"}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Delete},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
				}}},
			},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf("request.userInfo.username == %q", user),
				Message:    "pods of the benchmark fleet are created by bench/fleet only",
			}},
		},
	}
	if _, err := ar.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("admission policy: %w", err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policyName},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        policyName,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	if _, err := ar.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("admission policy binding: %w", err)
	}
	// Enforced once a dry-run pod from the admin is refused in a fleet namespace.
	probe := "fleet-probe"
	if err := b.ensureNamespaceWith(ctx, admin.CS, probe); err != nil {
		return err
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: probe},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := admin.CS.CoreV1().Pods(probe).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return apierrors.IsInvalid(err) || apierrors.IsForbidden(err), nil
	})
}

func (b *builder) ensureNamespace(ctx context.Context, name string) error {
	return b.ensureNamespaceWith(ctx, b.cs, name)
}

func (b *builder) ensureNamespaceWith(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{fleetLabel: "true"},
	}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return nil
}

// countPods is how many pods exist (from a one-item list), so pod IPs stay unique across builds.
func countPods(ctx context.Context, cs kubernetes.Interface) (int64, error) {
	l, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return 0, err
	}
	n := int64(len(l.Items))
	if l.RemainingItemCount != nil {
		n += *l.RemainingItemCount
	}
	return n, nil
}

// podsPerNode is about the kubelet's default limit (110).
const podsPerNode = 100

// node returns the fleet node for the seq-th pod, registering it (Ready, no kubelet) on first use.
// The nodes must exist: the pod garbage collector deletes pods bound to nodes that do not.
func (b *builder) node(ctx context.Context, seq int64) (name, ip string, err error) {
	idx := seq / podsPerNode
	name = fmt.Sprintf("fleet-node-%03d", idx)
	ip = nodeIP(name)
	if _, ok := b.nodes.Load(name); ok {
		return name, ip, nil
	}
	b.nodeMu.Lock()
	defer b.nodeMu.Unlock()
	if _, ok := b.nodes.Load(name); ok {
		return name, ip, nil
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", fleetLabel: "true",
	}}}
	created, err := b.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		b.nodes.Store(name, struct{}{})
		return name, ip, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("node %s: %w", name, err)
	}
	now := metav1.Now()
	status := corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}},
		Capacity:   corev1.ResourceList{corev1.ResourcePods: *resourceQuantity("110")},
	}
	// Controllers (ttl) annotate new nodes at once: retry on conflicts with the latest version.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		created.Status = status
		_, err := b.cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if latest, gerr := b.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); gerr == nil {
				created = latest
			}
		}
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("node %s status: %w", name, err)
	}
	b.nodes.Store(name, struct{}{})
	return name, ip, nil
}

// nodeIP is the InternalIP of a fleet node.
func nodeIP(name string) string {
	var idx int64
	_, _ = fmt.Sscanf(name, "fleet-node-%d", &idx)
	return fmt.Sprintf("10.0.%d.%d", idx/250, idx%250+1)
}
