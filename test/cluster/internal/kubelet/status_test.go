package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vmsync/test/cluster/internal/vmflags"
)

func TestStorageNodeProblem(t *testing.T) {
	cases := map[string]string{
		"-storageNode=a:8400,b:8400":        "",
		"-storageNode=":                     "-storageNode contains an empty entry",
		"-storageNode=a:8400,,b:8400":       "-storageNode contains an empty entry",
		"-storageNode=a:8400,a:8400":        `duplicate -storageNode entry "a:8400"`,
		"-httpListenAddr=:8480":             "missing -storageNode arg",
		"-storageNode=a.ns:8400,a.ns.:8400": "", // different strings: VictoriaMetrics accepts them
	}
	for arg, want := range cases {
		if got := storageNodeProblem(vmflags.Parse([]string{arg}, nil)); got != want {
			t.Errorf("%s: %q, want %q", arg, got, want)
		}
	}
}

func TestDesiredStatus(t *testing.T) {
	k := &Kubelet{}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vminsert", Image: "victoriametrics/vminsert:v1"}, {Name: "bad", Image: "victoriametrics/vmselect:v1"}}}}
	rt := &podRT{ip: "127.100.1.9", startTime: now, started: now, readyAt: time.Now().Add(time.Hour), containers: []*containerRT{
		{name: "vminsert", image: "victoriametrics/vminsert:v1", id: "1"},
		{name: "bad", image: "victoriametrics/vmselect:v1", id: "2", crash: "missing -storageNode arg"},
	}}
	s, requeue := k.desiredStatus(pod, rt)
	if s.Phase != corev1.PodRunning || s.PodIP != "127.100.1.9" || s.StartTime == nil || requeue <= 0 {
		t.Fatalf("status %+v requeue %s", s, requeue)
	}
	if s.ContainerStatuses[0].State.Running == nil || s.ContainerStatuses[0].Ready {
		t.Errorf("container 0 before ready-delay: %+v", s.ContainerStatuses[0])
	}
	if w := s.ContainerStatuses[1].State.Waiting; w == nil || w.Reason != "CrashLoopBackOff" || s.ContainerStatuses[1].LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("crashing container: %+v", s.ContainerStatuses[1])
	}
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionFalse {
			t.Error("pod Ready although a container crashes")
		}
	}
	// Same input, same status: no update loop.
	pod.Status = *s
	s2, _ := k.desiredStatus(pod, rt)
	if !statusEqual(s, s2) {
		t.Error("desiredStatus is not stable")
	}
}
