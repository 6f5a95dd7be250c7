package e2e

import (
	"context"
	"k8s.io/apimachinery/pkg/runtime/schema"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vmsync/test/cluster/internal/fixture"
)

func fixtureMetricsURL(p *corev1.Pod) (string, error) { return fixture.MetricsURL(p, "") }

func fixtureFetch(ctx context.Context, url string) (string, error) {
	return fixture.FetchMetrics(ctx, url)
}

var batchJob = batchv1.Job{
	ObjectMeta: metav1.ObjectMeta{Name: "once"},
	Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"kcp.vmsync.io/run-for": "500ms"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			},
		},
	},
}

var schemaITS09 = fixtureITS09()

func fixtureITS09() (g schemaGVR) {
	return schemaGVR{Group: "workloads.kubeblocks.io", Version: "v1alpha1", Resource: "instancesets"}
}

type schemaGVR = schema.GroupVersionResource
