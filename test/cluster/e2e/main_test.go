// Package e2e tests the kcp control plane itself. It starts one through
// test/cluster/up (CRD sets "all") unless KCP_DIR names a running one.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"vmsync/test/cluster/internal/fixture"
)

var (
	kcpDir     string
	moduleRoot string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	moduleRoot = filepath.Dir(filepath.Dir(file))
	kcpDir = os.Getenv("KCP_DIR")
	own := false
	if kcpDir == "" {
		tmp, err := os.MkdirTemp("", "kcp-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		kcpDir = filepath.Join(tmp, "cp")
		if err := up(kcpDir, "all"); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: up failed:", err)
			os.Exit(1)
		}
		own = true
	}
	code := m.Run()
	if own {
		down(kcpDir)
		os.Remove(filepath.Dir(kcpDir))
	}
	os.Exit(code)
}

func up(dir, crds string) error {
	cmd := exec.Command(filepath.Join(moduleRoot, "up"), dir, "--crds", crds)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func down(dir string) {
	cmd := exec.Command(filepath.Join(moduleRoot, "down"), dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	_ = cmd.Run()
}

func kubeconfig() string { return filepath.Join(kcpDir, "kubeconfig") }

func env(t *testing.T) *fixture.Env {
	t.Helper()
	e, err := fixture.NewEnv(kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	e.Out = func(f string, a ...any) { t.Logf(f, a...) }
	return e
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// namespace creates a fresh namespace and waits for its default ServiceAccount.
func namespace(t *testing.T, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	ctx := ctxT(t, time.Minute)
	name := prefix + "-" + rand.String(5)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	eventually(t, time.Minute, func() (bool, string) {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return name
}

// eventually polls cond until it holds or timeout; the last message explains.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		ok, msg := cond()
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("condition not met within %s: %s", timeout, last)
	}
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// storageNode reads what a pod runs with from its /metrics.
func storageNode(t *testing.T, cs kubernetes.Interface, ns, pod string) string {
	t.Helper()
	ctx := ctxT(t, 30*time.Second)
	p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url, err := fixture.MetricsURL(p, "")
	if err != nil {
		t.Fatal(err)
	}
	body, err := fixture.FetchMetrics(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	v, set, err := fixture.StorageNodeFromMetrics(body)
	if err != nil {
		t.Fatal(err)
	}
	if !set {
		t.Fatalf("pod %s/%s: storageNode not set", ns, pod)
	}
	return v
}

func podsBy(t *testing.T, cs kubernetes.Interface, ns, selector string) []corev1.Pod {
	t.Helper()
	pl, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pl.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func kcpBin() string { return filepath.Join(moduleRoot, "bin", "kcp") }

func runKcp(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(kcpBin(), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kcp %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
