package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Unrelated workloads are services of a typical platform: an application container with a service-mesh
// sidecar and init container, dozens of environment variables, mounts, probes and resource settings, so a
// pod is about 10 KiB of JSON, like pods in production. Every tenth workload is a StatefulSet.
const unrelatedReplicas = 10

var appNames = []string{"checkout", "payments", "cart", "catalog", "search", "auth", "notifications", "orders",
	"shipping", "pricing", "recommendations", "inventory", "reviews", "gateway", "billing", "accounts"}

func unrelatedPlace(o options, k int) (ns, name string, sts bool) {
	prefix := "apps"
	if k%2 == 0 {
		prefix = "fleet"
	}
	ns = fmt.Sprintf("%s-%02d", prefix, (k/2)%o.namespaces)
	name = fmt.Sprintf("%s-%04d", appNames[k%len(appNames)], k)
	return ns, name, k%10 == 9
}

func (b *builder) createUnrelated(ctx context.Context, o options, k int) (workload, error) {
	ns, name, isSts := unrelatedPlace(o, k)
	app := appNames[k%len(appNames)]
	sel := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name}
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name,
		"app.kubernetes.io/version": "3.14.2", "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "Helm",
		"helm.sh/chart": app + "-3.14.2", "team": "team-" + appNames[(k/3)%len(appNames)]}
	tmpl := bigTemplate(app, name, ns, labels)
	meta := metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: map[string]string{
		"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns}}
	if _, err := b.cs.CoreV1().ConfigMaps(ns).Create(ctx, appConfigMap(name, ns, labels), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return workload{}, err
	}
	if isSts {
		_, err := b.cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
			ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](unrelatedReplicas), ServiceName: name, Selector: &metav1.LabelSelector{MatchLabels: sel},
				PodManagementPolicy: appsv1.ParallelPodManagement, Template: tmpl},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return workload{}, err
		}
		return workload{"StatefulSet", ns, name}, nil
	}
	_, err := b.cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](unrelatedReplicas), Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: tmpl, RevisionHistoryLimit: ptr.To[int32](10)},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return workload{}, err
	}
	return workload{"Deployment", ns, name}, nil
}

func appConfigMap(name, ns string, labels map[string]string) *corev1.ConfigMap {
	var yaml strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&yaml, "feature_%02d:\n  enabled: %v\n  rollout: %d\n", i, i%3 == 0, (i*7)%100)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-config", Namespace: ns, Labels: labels},
		Data: map[string]string{
			"LOG_LEVEL": "info", "LOG_FORMAT": "json", "HTTP_PORT": "8080", "GRPC_PORT": "9090",
			"features.yaml": yaml.String(),
		},
	}
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", h)
}

func bigTemplate(app, name, ns string, labels map[string]string) corev1.PodTemplateSpec {
	podLabels := map[string]string{}
	for k, v := range labels {
		podLabels[k] = v
	}
	podLabels["security.istio.io/tlsMode"] = "istio"
	podLabels["service.istio.io/canonical-name"] = app
	podLabels["service.istio.io/canonical-revision"] = "3.14.2"
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
		{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
		{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-db"}, Key: "password", Optional: ptr.To(true)}}},
		{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: app, Resource: "limits.memory"}}},
	}
	for _, kv := range []string{
		"DB_HOST=" + app + "-db." + ns + ".svc.cluster.local", "DB_PORT=5432", "DB_NAME=" + strings.ReplaceAll(app, "-", "_"),
		"REDIS_URL=redis://redis-master." + ns + ".svc.cluster.local:6379/0", "KAFKA_BROKERS=kafka-0.kafka-headless.kafka.svc:9092,kafka-1.kafka-headless.kafka.svc:9092,kafka-2.kafka-headless.kafka.svc:9092",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector.observability.svc:4317", "OTEL_SERVICE_NAME=" + app, "OTEL_RESOURCE_ATTRIBUTES=service.namespace=" + ns + ",deployment.environment=production",
		"FEATURE_FLAGS_URL=http://flags.platform.svc:8080", "CACHE_TTL=300s", "REQUEST_TIMEOUT=15s", "MAX_CONNECTIONS=256",
		"JAVA_TOOL_OPTIONS=-XX:MaxRAMPercentage=75 -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Dfile.encoding=UTF-8",
		"SENTRY_DSN=https://" + hash(name)[:32] + "@sentry.example.com/42", "TZ=UTC", "LANG=C.UTF-8",
	} {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	probe := func(path string, delay int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(15020), Scheme: corev1.URISchemeHTTP}},
			InitialDelaySeconds: delay, PeriodSeconds: 10, TimeoutSeconds: 3, SuccessThreshold: 1, FailureThreshold: 3}
	}
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true),
		RunAsUser: ptr.To[int64](10001), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	res := func(cpu, mem, lcpu, lmem string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lcpu), corev1.ResourceMemory: resource.MustParse(lmem)},
		}
	}
	appC := corev1.Container{
		Name: app, Image: "registry.example.com/shop/" + app + ":3.14.2", ImagePullPolicy: corev1.PullIfNotPresent,
		Args:  []string{"serve", "--config=/etc/" + app + "/features.yaml", "--http-port=8080", "--grpc-port=9090", "--metrics-port=9102", "--log-format=json", "--shutdown-grace=25s"},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "grpc", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9102, Protocol: corev1.ProtocolTCP}},
		Env:   env,
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-env"}, Optional: ptr.To(true)}}},
		Resources:      res("250m", "512Mi", "2", "1Gi"),
		ReadinessProbe: probe("/app-health/"+app+"/readyz", 5),
		LivenessProbe:  probe("/app-health/"+app+"/livez", 15),
		StartupProbe:   probe("/app-health/"+app+"/startupz", 0),
		Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "sleep 5"}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + app, ReadOnly: true}, {Name: "tmp", MountPath: "/tmp"},
			{Name: "tls", MountPath: "/var/run/secrets/tls", ReadOnly: true}, {Name: "cache", MountPath: "/var/cache/" + app}},
		SecurityContext:          sc,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	proxyEnv := []corev1.EnvVar{
		{Name: "PILOT_CERT_PROVIDER", Value: "istiod"}, {Name: "CA_ADDR", Value: "istiod.istio-system.svc:15012"},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
		{Name: "INSTANCE_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
		{Name: "SERVICE_ACCOUNT", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.serviceAccountName"}}},
		{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.hostIP"}}},
		{Name: "ISTIO_CPU_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
		{Name: "PROXY_CONFIG", Value: `{"discoveryAddress":"istiod.istio-system.svc:15012","tracing":{"zipkin":{"address":"zipkin.istio-system:9411"}},"holdApplicationUntilProxyStarts":true}`},
		{Name: "ISTIO_META_POD_PORTS", Value: `[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"grpc","containerPort":9090,"protocol":"TCP"},{"name":"metrics","containerPort":9102,"protocol":"TCP"}]`},
		{Name: "ISTIO_META_APP_CONTAINERS", Value: app}, {Name: "ISTIO_META_CLUSTER_ID", Value: "Kubernetes"},
		{Name: "ISTIO_META_NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
		{Name: "ISTIO_META_INTERCEPTION_MODE", Value: "REDIRECT"}, {Name: "ISTIO_META_WORKLOAD_NAME", Value: name},
		{Name: "ISTIO_META_OWNER", Value: "kubernetes://apis/apps/v1/namespaces/" + ns + "/deployments/" + name},
		{Name: "ISTIO_META_MESH_ID", Value: "cluster.local"}, {Name: "TRUST_DOMAIN", Value: "cluster.local"},
		{Name: "ISTIO_KUBE_APP_PROBERS", Value: `{"/app-health/` + app + `/livez":{"httpGet":{"path":"/livez","port":8080,"scheme":"HTTP"},"timeoutSeconds":3},"/app-health/` + app + `/readyz":{"httpGet":{"path":"/readyz","port":8080,"scheme":"HTTP"},"timeoutSeconds":3},"/app-health/` + app + `/startupz":{"httpGet":{"path":"/startupz","port":8080,"scheme":"HTTP"},"timeoutSeconds":3}}`},
	}
	proxy := corev1.Container{
		Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.2", ImagePullPolicy: corev1.PullIfNotPresent,
		Args:  []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"},
		Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090, Protocol: corev1.ProtocolTCP}},
		Env:   proxyEnv, Resources: res("100m", "128Mi", "2", "1Gi"),
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(15021), Scheme: corev1.URISchemeHTTP}}, PeriodSeconds: 15, TimeoutSeconds: 3, FailureThreshold: 4},
		StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(15021), Scheme: corev1.URISchemeHTTP}}, PeriodSeconds: 1, TimeoutSeconds: 3, FailureThreshold: 600},
		VolumeMounts: []corev1.VolumeMount{{Name: "workload-socket", MountPath: "/var/run/secrets/workload-spiffe-uds"}, {Name: "credential-socket", MountPath: "/var/run/secrets/credential-uds"},
			{Name: "workload-certs", MountPath: "/var/run/secrets/workload-spiffe-credentials"}, {Name: "istiod-ca-cert", MountPath: "/var/run/secrets/istio"},
			{Name: "istio-data", MountPath: "/var/lib/istio/data"}, {Name: "istio-envoy", MountPath: "/etc/istio/proxy"},
			{Name: "istio-token", MountPath: "/var/run/secrets/tokens"}, {Name: "istio-podinfo", MountPath: "/etc/istio/pod"}},
		SecurityContext:          &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1337), RunAsGroup: ptr.To[int64](1337), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	initC := corev1.Container{
		Name: "istio-init", Image: "docker.io/istio/proxyv2:1.24.2",
		Args:            []string{"istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info"},
		Resources:       res("100m", "128Mi", "2", "1Gi"),
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "NET_RAW"}, Drop: []corev1.Capability{"ALL"}}, RunAsUser: ptr.To[int64](0), RunAsNonRoot: ptr.To(false)},
	}
	vol := func(name string, src corev1.VolumeSource) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: src}
	}
	empty := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: map[string]string{
			"checksum/config":                              hash(name + "config"),
			"checksum/secret":                              hash(name + "secret"),
			"prometheus.io/scrape":                         "true",
			"prometheus.io/port":                           "15020",
			"prometheus.io/path":                           "/stats/prometheus",
			"kubectl.kubernetes.io/default-container":      app,
			"kubectl.kubernetes.io/default-logs-container": app,
			"sidecar.istio.io/status":                      `{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}`,
			"istio.io/rev":                                 "default",
		}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{initC},
			Containers:     []corev1.Container{appC, proxy},
			Volumes: []corev1.Volume{
				vol("config", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name + "-config"}}}),
				vol("tmp", empty), vol("cache", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: resourceQuantity("1Gi")}}),
				vol("tls", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name + "-tls", Optional: ptr.To(true)}}),
				vol("workload-socket", empty), vol("credential-socket", empty), vol("workload-certs", empty),
				vol("istio-envoy", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}),
				vol("istio-data", empty),
				vol("istio-podinfo", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
					{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.annotations"}}}}}),
				vol("istio-token", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "istio-ca", ExpirationSeconds: ptr.To[int64](43200), Path: "istio-token"}}}}}),
				vol("istiod-ca-cert", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "istio-ca-root-cert"}, Optional: ptr.To(true)}}),
			},
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			SecurityContext:               &corev1.PodSecurityContext{FSGroup: ptr.To[int64](10001), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": name}}}}}}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": name}}}},
			Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "shop", Effect: corev1.TaintEffectNoSchedule}},
		},
	}
}
