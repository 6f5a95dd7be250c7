// Package kubelet is the kubelet stand-in of kcp: it registers a Ready node
// with lease heartbeats, binds unscheduled pods to it, "starts" their
// containers (resolving env and args exactly as the kubelet does, once, at
// start), serves each running VictoriaMetrics container's flags on
// podIP:port/metrics, reports Running/Ready status, and completes graceful
// deletions.
package kubelet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"vmsync/test/cluster/internal/vmflags"
)

// Annotations understood by the stand-in.
const (
	// AnnReadyDelay delays the Ready condition after container start (a Go
	// duration, e.g. "2s").
	AnnReadyDelay = "kcp.vmsync.io/ready-delay"
	// AnnRunFor makes containers of pods with restartPolicy Never/OnFailure
	// exit 0 after this duration (default 1s).
	AnnRunFor = "kcp.vmsync.io/run-for"
	// VMVersion is what vm_app_version reports.
	VMVersion = "v1.110.0-cluster"
)

// Config of the stand-in.
type Config struct {
	NodeName string
	StateDir string
}

type containerRT struct {
	name     string
	role     string
	port     int
	image    string
	id       string
	resolved *Resolved
	flags    vmflags.Result
	crash    string // non-empty: the process exits at start with this message
}

type podRT struct {
	uid        types.UID
	key        string
	ip         string
	startTime  metav1.Time
	started    metav1.Time
	readyAt    time.Time
	finishAt   time.Time // zero: runs forever
	containers []*containerRT
	servers    []*http.Server
}

// Kubelet is the stand-in.
type Kubelet struct {
	cs     kubernetes.Interface
	cfg    Config
	queue  workqueue.TypedRateLimitingInterface[string]
	pods   corelisters.PodLister
	ips    *ipAlloc
	mu     sync.Mutex
	byKey  map[string]*podRT
	stopMu sync.Mutex
}

// New creates the stand-in; Run starts it.
func New(cfg *rest.Config, c Config) (*Kubelet, error) {
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, err
	}
	ips, err := newIPAlloc()
	if err != nil {
		return nil, err
	}
	return &Kubelet{
		cs:    cs,
		cfg:   c,
		ips:   ips,
		byKey: map[string]*podRT{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "kcp-kubelet"}),
	}, nil
}

// PodIPBlock tells which 127.B.0.0/16 block pods get.
func (k *Kubelet) PodIPBlock() string { return fmt.Sprintf("127.%d.0.0/16", k.ips.block) }

// Run registers the node and processes pods until ctx ends.
func (k *Kubelet) Run(ctx context.Context) error {
	if err := k.registerNode(ctx); err != nil {
		return err
	}
	go k.heartbeat(ctx)
	f := informers.NewSharedInformerFactory(k.cs, 0)
	pi := f.Core().V1().Pods()
	k.pods = pi.Lister()
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := pi.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n any) { enqueue(n) },
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	for i := 0; i < 4; i++ {
		go func() {
			for k.processNext(ctx) {
			}
		}()
	}
	klog.InfoS("kcp kubelet stand-in running", "node", k.cfg.NodeName, "podIPs", k.PodIPBlock())
	<-ctx.Done()
	k.queue.ShutDown()
	k.mu.Lock()
	for _, rt := range k.byKey {
		k.stopRT(rt)
	}
	k.mu.Unlock()
	return nil
}

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	requeue, err := k.sync(ctx, key)
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			klog.ErrorS(err, "kcp kubelet stand-in: sync failed", "pod", key)
		}
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	if requeue > 0 {
		k.queue.AddAfter(key, requeue)
	}
	return true
}

func (k *Kubelet) nodeObject() *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("64"),
		corev1.ResourceMemory:           resource.MustParse("256Gi"),
		corev1.ResourcePods:             resource.MustParse("2000"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: k.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname":  k.cfg.NodeName,
				"kubernetes.io/os":        "linux",
				"kubernetes.io/arch":      "amd64",
				"beta.kubernetes.io/os":   "linux",
				"beta.kubernetes.io/arch": "amd64",
				"kcp.vmsync.io/stand-in":  "kubelet",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    res,
			Allocatable: res,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: corev1.NodeHostName, Address: k.cfg.NodeName},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               "kcp",
				SystemUUID:              "kcp",
				BootID:                  "kcp",
				KernelVersion:           "kcp",
				OSImage:                 "kcp kubelet stand-in",
				ContainerRuntimeVersion: "kcp://" + version.Get().GitVersion,
				KubeletVersion:          version.Get().GitVersion,
				KubeProxyVersion:        "",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

func nodeConditions(now metav1.Time, prev []corev1.NodeCondition) []corev1.NodeCondition {
	want := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status (kcp stand-in)"},
	}
	for i := range want {
		want[i].LastHeartbeatTime = now
		want[i].LastTransitionTime = now
		for _, p := range prev {
			if p.Type == want[i].Type && p.Status == want[i].Status && !p.LastTransitionTime.IsZero() {
				want[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return want
}

func (k *Kubelet) registerNode(ctx context.Context) error {
	n := k.nodeObject()
	created, err := k.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = k.cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	return k.updateNodeStatus(ctx, created)
}

func (k *Kubelet) updateNodeStatus(ctx context.Context, n *corev1.Node) error {
	want := k.nodeObject()
	n = n.DeepCopy()
	now := metav1.Now()
	n.Status.Capacity = want.Status.Capacity
	n.Status.Allocatable = want.Status.Allocatable
	n.Status.Addresses = want.Status.Addresses
	n.Status.DaemonEndpoints = want.Status.DaemonEndpoints
	n.Status.NodeInfo = want.Status.NodeInfo
	n.Status.Conditions = nodeConditions(now, n.Status.Conditions)
	// Remove taints a missing node controller would never clear.
	var taints []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Key != "node.kubernetes.io/not-ready" && t.Key != "node.kubernetes.io/unreachable" && t.Key != "node.cloudprovider.kubernetes.io/uninitialized" {
			taints = append(taints, t)
		}
	}
	if len(taints) != len(n.Spec.Taints) {
		n.Spec.Taints = taints
		u, err := k.cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		u.Status = n.Status
		n = u
	}
	_, err := k.cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

func (k *Kubelet) heartbeat(ctx context.Context) {
	leaseTick := time.NewTicker(10 * time.Second)
	defer leaseTick.Stop()
	lastStatus := time.Now()
	for {
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			klog.ErrorS(err, "kcp kubelet stand-in: lease renewal failed")
		}
		if time.Since(lastStatus) > 50*time.Second {
			if n, err := k.cs.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{}); err == nil {
				if err := k.updateNodeStatus(ctx, n); err != nil && ctx.Err() == nil {
					klog.ErrorS(err, "kcp kubelet stand-in: node status update failed")
				} else {
					lastStatus = time.Now()
				}
			} else if apierrors.IsNotFound(err) {
				_ = k.registerNode(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-leaseTick.C:
		}
	}
}

func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		var owners []metav1.OwnerReference
		if n, err := k.cs.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{}); err == nil {
			owners = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.Name, UID: n.UID}}
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: corev1.NamespaceNodeLease, OwnerReferences: owners},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(k.cfg.NodeName),
				LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr.To(k.cfg.NodeName)
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// ---- pods ----

func (k *Kubelet) stopRT(rt *podRT) {
	for _, s := range rt.servers {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.Shutdown(sctx)
		cancel()
		_ = s.Close()
	}
	rt.servers = nil
	if rt.ip != "" {
		k.ips.Release(rt.ip)
	}
}

func (k *Kubelet) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := k.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		k.mu.Lock()
		if rt := k.byKey[key]; rt != nil {
			k.stopRT(rt)
			delete(k.byKey, key)
		}
		k.mu.Unlock()
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	k.mu.Lock()
	rt := k.byKey[key]
	if rt != nil && rt.uid != pod.UID {
		// An earlier pod of the same name is gone.
		k.stopRT(rt)
		delete(k.byKey, key)
		rt = nil
	}
	k.mu.Unlock()

	if pod.DeletionTimestamp != nil {
		if pod.Spec.NodeName != "" && pod.Spec.NodeName != k.cfg.NodeName {
			return 0, nil
		}
		// Containers stop at once; then the kubelet removes the pod.
		if rt != nil {
			k.mu.Lock()
			k.stopRT(rt)
			delete(k.byKey, key)
			k.mu.Unlock()
		}
		err := k.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return 0, nil
		}
		return 0, err
	}
	if pod.Spec.NodeName == "" {
		if pod.Spec.SchedulerName != "" && pod.Spec.SchedulerName != corev1.DefaultSchedulerName {
			return 0, nil
		}
		err := k.cs.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.cfg.NodeName},
		}, metav1.CreateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	if pod.Spec.NodeName != k.cfg.NodeName {
		return 0, nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		if rt != nil {
			k.mu.Lock()
			k.stopRT(rt)
			delete(k.byKey, key)
			k.mu.Unlock()
		}
		return 0, nil
	}
	if rt == nil {
		var cfgErr *ConfigError
		rt, err = k.start(ctx, pod)
		if errors.As(err, &cfgErr) {
			return 2 * time.Second, k.reportConfigError(ctx, pod, cfgErr)
		}
		if err != nil {
			return 0, err
		}
		k.mu.Lock()
		k.byKey[key] = rt
		k.mu.Unlock()
	}
	status, requeue := k.desiredStatus(pod, rt)
	if !statusEqual(&pod.Status, status) {
		p := pod.DeepCopy()
		p.Status = *status
		if _, err := k.cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return 0, err
		}
	}
	return requeue, nil
}

// apiSource reads env sources straight from the API at container start.
type apiSource struct {
	ctx context.Context
	cs  kubernetes.Interface
}

func (s apiSource) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	cm, err := s.cs.CoreV1().ConfigMaps(ns).Get(s.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return cm, err
}

func (s apiSource) Secret(ns, name string) (*corev1.Secret, error) {
	sec, err := s.cs.CoreV1().Secrets(ns).Get(s.ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return sec, err
}

func (s apiSource) Services(ns string) ([]corev1.Service, error) {
	l, err := s.cs.CoreV1().Services(ns).List(s.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := l.Items
	if ns != "default" {
		if k, err := s.cs.CoreV1().Services("default").Get(s.ctx, "kubernetes", metav1.GetOptions{}); err == nil {
			out = append(out, *k)
		}
	}
	return out, nil
}

func containerID(uid types.UID, name string) string {
	h := sha256.Sum256([]byte(string(uid) + "/" + name))
	return hex.EncodeToString(h[:])
}

func parseDur(s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second
	}
	return def
}

// start "starts" the pod's containers: resolves their env and args once,
// allocates the pod IP and serves each container's HTTP port.
func (k *Kubelet) start(ctx context.Context, pod *corev1.Pod) (*podRT, error) {
	src := apiSource{ctx: ctx, cs: k.cs}
	// Downward API fields like status.podIP need the IP first.
	ip, err := k.ips.Allocate()
	if err != nil {
		return nil, err
	}
	pp := pod.DeepCopy()
	pp.Status.PodIP = ip
	pp.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pp.Status.HostIP = "127.0.0.1"
	pp.Status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	rt := &podRT{uid: pod.UID, key: pod.Namespace + "/" + pod.Name, ip: ip, startTime: now, started: now}
	if pod.Status.StartTime != nil {
		rt.startTime = *pod.Status.StartTime
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		res, err := ResolveContainer(pp, c, src)
		if err != nil {
			k.ips.Release(ip)
			return nil, err
		}
		argv := res.Args
		if len(res.Command) > 0 {
			argv = append(append([]string{}, res.Command[1:]...), res.Args...)
		}
		crt := &containerRT{
			name:     c.Name,
			role:     vmflags.Role(c),
			image:    c.Image,
			id:       containerID(pod.UID, c.Name),
			resolved: res,
			flags:    vmflags.Parse(argv, res.EnvMap),
			port:     vmflags.HTTPPort(c, argv),
		}
		if crt.role == "vminsert" || crt.role == "vmselect" {
			crt.crash = storageNodeProblem(crt.flags)
		}
		rt.containers = append(rt.containers, crt)
	}
	ready := parseDur(pod.Annotations[AnnReadyDelay], 0)
	rt.readyAt = time.Now().Add(ready)
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever || pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
		rt.finishAt = time.Now().Add(parseDur(pod.Annotations[AnnRunFor], time.Second))
	}
	// Serve each container's port on the pod IP.
	for _, c := range rt.containers {
		if c.port == 0 || c.crash != "" {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(c.port)))
		if err != nil {
			klog.ErrorS(err, "kcp kubelet stand-in: cannot listen", "pod", rt.key, "container", c.name)
			continue
		}
		srv := &http.Server{Handler: k.containerHandler(pod.Namespace, rt.started.Time, c), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		rt.servers = append(rt.servers, srv)
	}
	klog.InfoS("kcp kubelet stand-in: started pod", "pod", rt.key, "podIP", ip)
	return rt, nil
}

// storageNodeProblem mirrors vminsert/vmselect refusing to start on a bad
// -storageNode list (empty list, empty entry, duplicate entry).
func storageNodeProblem(r vmflags.Result) string {
	if len(r.StorageNode) == 0 {
		return "missing -storageNode arg"
	}
	seen := map[string]bool{}
	for _, n := range r.StorageNode {
		if n == "" {
			return "-storageNode contains an empty entry"
		}
		if seen[n] {
			return fmt.Sprintf("duplicate -storageNode entry %q", n)
		}
		seen[n] = true
	}
	return ""
}

// reachable tells whether a storage node address reaches a pod that exists
// and is not terminating, the way a dial from a consumer in namespace ns would:
// the address's first DNS label is the pod (or its per-pod Service, named like
// it), the third, when given (<pod>.<svc>.<ns>...), its namespace.
func (k *Kubelet) reachable(ns, addr string) bool {
	host := addr
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		host = addr[:i]
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) >= 3 {
		ns = labels[2]
	}
	p, err := k.pods.Pods(ns).Get(labels[0])
	return err == nil && p.DeletionTimestamp == nil && p.Status.PodIP != ""
}

// discover resolves an srv+ storage node entry as cluster DNS answers the SRV
// query: "srv+_<port>._tcp.<svc>.<ns>.svc[.domain]" names the Ready pods the
// Service selects, as "<pod>.<svc>.<ns>.svc.cluster.local.:<port>" (the SRV
// target keeps its trailing dot), <port> being the Service port of that name.
func (k *Kubelet) discover(ns, entry string) []string {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(entry, "srv+"), "."), ".")
	if len(parts) < 3 || !strings.HasPrefix(parts[0], "_") || parts[1] != "_tcp" {
		return nil
	}
	portName, svcName := strings.TrimPrefix(parts[0], "_"), parts[2]
	if len(parts) >= 4 {
		ns = parts[3]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	svc, err := k.cs.CoreV1().Services(ns).Get(ctx, svcName, metav1.GetOptions{})
	if err != nil || len(svc.Spec.Selector) == 0 {
		return nil
	}
	var port int32
	for _, p := range svc.Spec.Ports {
		if p.Name == portName {
			port = p.Port
		}
	}
	if port == 0 {
		return nil
	}
	pods, err := k.pods.Pods(ns).List(k8slabels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range pods {
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if ready && p.DeletionTimestamp == nil {
			out = append(out, fmt.Sprintf("%s.%s.%s.svc.cluster.local.:%d", p.Name, svcName, ns, port))
		}
	}
	return out
}

// checkAuthKey mirrors lib/httpserver CheckAuthFlag in
// github.com/VictoriaMetrics/VictoriaMetrics: with -<flag> set, the page needs
// ?authKey= with its value, else 401.
func checkAuthKey(w http.ResponseWriter, r *http.Request, c *containerRT, flag string) bool {
	key, set := c.flags.Values[flag]
	if !c.flags.Set[flag] || !set || key == "" || r.FormValue("authKey") == key {
		return true
	}
	http.Error(w, fmt.Sprintf("The provided authKey doesn't match -%s", flag), http.StatusUnauthorized)
	return false
}

func (k *Kubelet) containerHandler(ns string, start time.Time, c *containerRT) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if !checkAuthKey(w, r, c, "metricsAuthKey") {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		vmflags.WriteMetrics(w, c.role, VMVersion, c.flags, vmflags.Runtime{
			Start:     start,
			Reachable: func(addr string) bool { return k.reachable(ns, addr) },
			Discover:  func(entry string) []string { return k.discover(ns, entry) },
		})
	})
	mux.HandleFunc("/flags", func(w http.ResponseWriter, r *http.Request) {
		if !checkAuthKey(w, r, c, "flagsAuthKey") {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		vmflags.WriteFlags(w, c.flags)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("OK")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "kcp kubelet stand-in: container %s (%s); see /metrics, /flags\n", c.name, c.role)
	})
	return mux
}

func (k *Kubelet) reportConfigError(ctx context.Context, pod *corev1.Pod, e *ConfigError) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Phase = corev1.PodPending
	p.Status.HostIP = "127.0.0.1"
	p.Status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	var cs []corev1.ContainerStatus
	for _, c := range pod.Spec.Containers {
		cs = append(cs, corev1.ContainerStatus{
			Name:  c.Name,
			Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: e.Msg}},
		})
	}
	p.Status.ContainerStatuses = cs
	setCond(&p.Status, corev1.PodInitialized, corev1.ConditionTrue, "", now)
	setCond(&p.Status, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", now)
	setCond(&p.Status, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", now)
	if statusEqual(&pod.Status, &p.Status) {
		return nil
	}
	_, err := k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func setCond(s *corev1.PodStatus, t corev1.PodConditionType, st corev1.ConditionStatus, reason string, now metav1.Time) {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status != st {
				s.Conditions[i].Status = st
				s.Conditions[i].LastTransitionTime = now
			}
			s.Conditions[i].Reason = reason
			return
		}
	}
	s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: st, Reason: reason, LastTransitionTime: now})
}

func imageID(image string) string {
	h := sha256.Sum256([]byte(image))
	name := image
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	if !strings.Contains(name, "/") {
		name = "library/" + name
	}
	if strings.Count(name, "/") == 1 {
		name = "docker.io/" + name
	}
	return name + "@sha256:" + hex.EncodeToString(h[:])
}

// desiredStatus is the status the pod has at this moment, plus when to look
// again (a pending readiness or exit).
func (k *Kubelet) desiredStatus(pod *corev1.Pod, rt *podRT) (*corev1.PodStatus, time.Duration) {
	s := pod.Status.DeepCopy()
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	var requeue time.Duration
	s.HostIP = "127.0.0.1"
	s.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	s.PodIP = rt.ip
	s.PodIPs = []corev1.PodIP{{IP: rt.ip}}
	st := rt.startTime
	s.StartTime = &st
	s.Message, s.Reason = "", ""

	finished := !rt.finishAt.IsZero() && !time.Now().Before(rt.finishAt)
	if !rt.finishAt.IsZero() && !finished {
		requeue = time.Until(rt.finishAt) + 50*time.Millisecond
	}
	ready := !time.Now().Before(rt.readyAt)
	if !ready {
		d := time.Until(rt.readyAt) + 50*time.Millisecond
		if requeue == 0 || d < requeue {
			requeue = d
		}
	}
	allReady := true
	var statuses []corev1.ContainerStatus
	for _, c := range rt.containers {
		cst := corev1.ContainerStatus{
			Name:        c.name,
			Image:       c.image,
			ImageID:     imageID(c.image),
			ContainerID: "containerd://" + c.id,
			Started:     ptr.To(true),
		}
		switch {
		case c.crash != "":
			cst.Started = ptr.To(false)
			cst.RestartCount = 1
			cst.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container=" + c.name + " pod=" + pod.Name + "_" + pod.Namespace + "(" + string(pod.UID) + ")"}}
			cst.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: c.crash, StartedAt: rt.started, FinishedAt: rt.started, ContainerID: cst.ContainerID}}
			allReady = false
		case finished:
			cst.Started = ptr.To(false)
			cst.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: rt.started, FinishedAt: metav1.NewTime(rt.finishAt.Truncate(time.Second)), ContainerID: cst.ContainerID}}
			allReady = false
		default:
			cst.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: rt.started}}
			cst.Ready = ready
			if !ready {
				allReady = false
			}
		}
		statuses = append(statuses, cst)
	}
	s.ContainerStatuses = statuses
	var inits []corev1.ContainerStatus
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), Ready: true,
			ContainerID: "containerd://" + containerID(pod.UID, "init/"+c.Name),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: rt.started, FinishedAt: rt.started,
				ContainerID: "containerd://" + containerID(pod.UID, "init/"+c.Name)}},
		})
	}
	s.InitContainerStatuses = inits
	if finished {
		s.Phase = corev1.PodSucceeded
	} else {
		s.Phase = corev1.PodRunning
	}
	setCond(s, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", rt.started)
	setCond(s, corev1.PodInitialized, corev1.ConditionTrue, "", rt.started)
	if allReady {
		setCond(s, corev1.ContainersReady, corev1.ConditionTrue, "", now)
		setCond(s, corev1.PodReady, corev1.ConditionTrue, "", now)
	} else {
		reason := "ContainersNotReady"
		if finished {
			reason = "PodCompleted"
		}
		setCond(s, corev1.ContainersReady, corev1.ConditionFalse, reason, now)
		setCond(s, corev1.PodReady, corev1.ConditionFalse, reason, now)
	}
	return s, requeue
}

func statusEqual(a, b *corev1.PodStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}
