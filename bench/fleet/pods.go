package main

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"vmsync/test/cluster/fixtureapi"
)

// A workload whose pods this program keeps, as its controller would.
type workload struct {
	kind string // StatefulSet, Deployment, InstanceSet
	ns   string
	name string
}

var itsGVR = schema.GroupVersionResource{Group: "workloads.kubeblocks.io", Version: "v1", Resource: "instancesets"}

func helmFullname(release string) string {
	if strings.Contains(release, "victoria-metrics-cluster") {
		return release
	}
	return release + "-victoria-metrics-cluster"
}

// clusterWorkloads are the workloads the fixture of `spec` creates, by the names upstream gives them.
func clusterWorkloads(s fixtureapi.Spec) []workload {
	ns, n := s.Namespace, s.Name
	switch s.Layout {
	case fixtureapi.LayoutHelm:
		f := helmFullname(n)
		return []workload{{"StatefulSet", ns, f + "-vmstorage"}, {"Deployment", ns, f + "-vminsert"}, {"Deployment", ns, f + "-vmselect"}}
	case fixtureapi.LayoutOperator:
		return []workload{{"StatefulSet", ns, "vmstorage-" + n}, {"StatefulSet", ns, "vmselect-" + n}, {"Deployment", ns, "vminsert-" + n}}
	case fixtureapi.LayoutGeneric:
		return []workload{{"StatefulSet", ns, n + "-vmstorage"}, {"Deployment", ns, n + "-vminsert"}, {"Deployment", ns, n + "-vmselect"}}
	default:
		return []workload{{"InstanceSet", ns, n + "-vmstorage"}, {"InstanceSet", ns, n + "-vminsert"}, {"InstanceSet", ns, n + "-vmselect"}}
	}
}

// storageReplicas is the declared vmstorage replicas of a deployed cluster.
func (b *builder) storageReplicas(ctx context.Context, s fixtureapi.Spec) (int, error) {
	w := clusterWorkloads(s)[0]
	if w.kind == "InstanceSet" {
		its, err := b.dyn.Resource(itsGVR).Namespace(w.ns).Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		n, _, _ := unstructured.NestedInt64(its.Object, "spec", "replicas")
		return int(n), nil
	}
	sts, err := b.cs.AppsV1().StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	return int(ptr.Deref(sts.Spec.Replicas, 1)), nil
}

// untilPodsComplete reconciles until every workload has exactly its pods.
func (b *builder) untilPodsComplete(ctx context.Context, ws []workload) error {
	for {
		done := true
		for _, w := range ws {
			ok, err := b.reconcile(ctx, w)
			if err != nil {
				return fmt.Errorf("pods of %s %s/%s: %w", w.kind, w.ns, w.name, err)
			}
			done = done && ok
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second): // gently: the API server shares two cores with the controllers
		}
	}
}

// whileReconciling runs fn (which waits for the workloads to be Ready) while keeping their pods.
func (b *builder) whileReconciling(ctx context.Context, ws []workload, fn func(context.Context) error) error {
	errc := make(chan error, 1)
	go func() { errc <- fn(ctx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if err != nil {
				return err
			}
			return b.untilPodsComplete(ctx, ws)
		case <-tick.C:
			for _, w := range ws {
				if _, err := b.reconcile(ctx, w); err != nil {
					return fmt.Errorf("pods of %s %s/%s: %w", w.kind, w.ns, w.name, err)
				}
			}
		}
	}
}

// reconcile creates the missing pods of one workload and deletes those beyond its replicas. It reports
// whether the workload had exactly its pods (false also when its controller has not written what the pods
// need yet: a ReplicaSet or a ControllerRevision).
func (b *builder) reconcile(ctx context.Context, w workload) (bool, error) {
	switch w.kind {
	case "StatefulSet":
		return b.reconcileSts(ctx, w)
	case "Deployment":
		return b.reconcileDeploy(ctx, w)
	default:
		return b.reconcileITS(ctx, w)
	}
}

func (b *builder) reconcileSts(ctx context.Context, w workload) (bool, error) {
	sts, err := b.cs.AppsV1().StatefulSets(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	sel := metav1.FormatLabelSelector(sts.Spec.Selector)
	revs, err := b.cs.AppsV1().ControllerRevisions(w.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return false, err
	}
	// The update revision: the StatefulSet's own status once written, else its newest ControllerRevision.
	rev := sts.Status.UpdateRevision
	if rev == "" {
		var best int64 = -1
		for _, r := range revs.Items {
			if metav1.IsControlledBy(&r, sts) && r.Revision > best {
				best, rev = r.Revision, r.Name
			}
		}
	}
	if rev == "" {
		return false, nil
	}
	replicas := int(ptr.Deref(sts.Spec.Replicas, 1))
	pods, err := b.ownedPods(ctx, w.ns, sel, sts.UID)
	if err != nil {
		return false, err
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: sts.Name, UID: sts.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	var missing, unstarted []*corev1.Pod
	for i := 0; i < replicas; i++ {
		name := fmt.Sprintf("%s-%d", sts.Name, i)
		if p, ok := pods[name]; ok {
			delete(pods, name)
			unstarted = appendUnstarted(unstarted, p)
			continue
		}
		p := podFromTemplate(&sts.Spec.Template, w.ns, owner)
		p.Name = name
		p.Labels["controller-revision-hash"] = rev
		p.Labels["statefulset.kubernetes.io/pod-name"] = name
		p.Labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(i)
		p.Spec.Hostname = name
		p.Spec.Subdomain = sts.Spec.ServiceName
		for _, claim := range sts.Spec.VolumeClaimTemplates {
			setVolume(&p.Spec, corev1.Volume{Name: claim.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim.Name + "-" + name}}})
		}
		missing = append(missing, p)
	}
	return b.apply(ctx, missing, pods, unstarted)
}

func (b *builder) reconcileDeploy(ctx context.Context, w workload) (bool, error) {
	d, err := b.cs.AppsV1().Deployments(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	rsl, err := b.cs.AppsV1().ReplicaSets(w.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return false, err
	}
	var rs *appsv1.ReplicaSet
	best := -1
	for i := range rsl.Items {
		r := &rsl.Items[i]
		if !metav1.IsControlledBy(r, d) {
			continue
		}
		if n, _ := strconv.Atoi(r.Annotations["deployment.kubernetes.io/revision"]); n > best {
			best, rs = n, r
		}
	}
	if rs == nil {
		return false, nil // the deployment controller has not made its ReplicaSet yet
	}
	replicas := int(ptr.Deref(d.Spec.Replicas, 1))
	pods, err := b.ownedPods(ctx, w.ns, metav1.FormatLabelSelector(rs.Spec.Selector), rs.UID)
	if err != nil {
		return false, err
	}
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	var missing, unstarted []*corev1.Pod
	names := make([]string, 0, len(pods))
	for n := range pods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names[:min(len(names), replicas)] {
		unstarted = appendUnstarted(unstarted, pods[n])
		delete(pods, n)
	}
	for i := len(names); i < replicas; i++ {
		p := podFromTemplate(&rs.Spec.Template, w.ns, owner)
		p.Name = rs.Name + "-" + rand.String(5)
		p.GenerateName = rs.Name + "-"
		missing = append(missing, p)
	}
	return b.apply(ctx, missing, pods, unstarted)
}

func (b *builder) reconcileITS(ctx context.Context, w workload) (bool, error) {
	its, err := b.dyn.Resource(itsGVR).Namespace(w.ns).Get(ctx, w.name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	replicas := int64(1)
	if r, found, _ := unstructured.NestedInt64(its.Object, "spec", "replicas"); found {
		replicas = r
	}
	tmplMap, _, _ := unstructured.NestedMap(its.Object, "spec", "template")
	var tmpl corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmplMap, &tmpl); err != nil {
		return false, err
	}
	rev := fixtureapi.KubeBlocksRevision(w.name, tmplMap)
	pods, err := b.ownedPods(ctx, w.ns, "workloads.kubeblocks.io/instance="+w.name, its.GetUID())
	if err != nil {
		return false, err
	}
	owner := metav1.OwnerReference{APIVersion: its.GetAPIVersion(), Kind: its.GetKind(), Name: its.GetName(), UID: its.GetUID(), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	var missing, unstarted []*corev1.Pod
	for i := int64(0); i < replicas; i++ {
		name := fmt.Sprintf("%s-%d", w.name, i)
		if p, ok := pods[name]; ok {
			delete(pods, name)
			unstarted = appendUnstarted(unstarted, p)
			continue
		}
		// As the KubeBlocks stand-in's podFor.
		p := podFromTemplate(&tmpl, w.ns, owner)
		p.Name = name
		p.Labels["workloads.kubeblocks.io/instance"] = w.name
		p.Labels["workloads.kubeblocks.io/managed-by"] = "InstanceSet"
		p.Labels["apps.kubeblocks.io/pod-name"] = name
		p.Labels["controller-revision-hash"] = rev
		p.Spec.Hostname = name
		if p.Spec.Subdomain == "" {
			p.Spec.Subdomain = w.name + "-headless"
		}
		missing = append(missing, p)
	}
	return b.apply(ctx, missing, pods, unstarted)
}

// ownedPods are the live pods matching `selector` controlled by `uid`, by name.
func (b *builder) ownedPods(ctx context.Context, ns, selector string, uid any) (map[string]*corev1.Pod, error) {
	l, err := b.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := map[string]*corev1.Pod{}
	for i := range l.Items {
		p := &l.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		if ref := metav1.GetControllerOf(p); ref != nil && string(ref.UID) == fmt.Sprint(uid) {
			out[p.Name] = p
		}
	}
	return out, nil
}

// appendUnstarted adds p when it exists without the status of a started pod (an earlier build stopped between
// creating it and writing its status).
func appendUnstarted(list []*corev1.Pod, p *corev1.Pod) []*corev1.Pod {
	if p.Status.Phase == corev1.PodRunning || !strings.HasPrefix(p.Spec.NodeName, "fleet-node-") {
		return list
	}
	return append(list, p)
}

// apply creates `missing` (then marks them Running and Ready), deletes `extra` and marks `unstarted` Running,
// all at once.
func (b *builder) apply(ctx context.Context, missing []*corev1.Pod, extra map[string]*corev1.Pod, unstarted []*corev1.Pod) (bool, error) {
	if len(missing) == 0 && len(extra) == 0 && len(unstarted) == 0 {
		return true, nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for _, p := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.startPod(ctx, p); err != nil {
				fail(err)
			}
		}()
	}
	for _, p := range unstarted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.markRunning(ctx, p, b.podSeq.Add(1)); err != nil {
				fail(err)
			}
		}()
	}
	for _, p := range extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := b.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &p.UID}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				fail(fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err))
				return
			}
			b.deleted.Add(1)
		}()
	}
	wg.Wait()
	return false, first
}

func podFromTemplate(t *corev1.PodTemplateSpec, ns string, owner metav1.OwnerReference) *corev1.Pod {
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	var ann map[string]string
	if len(t.Annotations) > 0 {
		ann = map[string]string{}
		for k, v := range t.Annotations {
			ann[k] = v
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: labels, Annotations: ann, OwnerReferences: []metav1.OwnerReference{owner}},
		Spec:       *t.Spec.DeepCopy(),
	}
}

func setVolume(spec *corev1.PodSpec, v corev1.Volume) {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == v.Name {
			spec.Volumes[i] = v
			return
		}
	}
	spec.Volumes = append(spec.Volumes, v)
}

// startPod creates the pod on a fleet node and writes the status a kubelet would report once its
// containers run (the shape of the kcp kubelet stand-in's).
func (b *builder) startPod(ctx context.Context, p *corev1.Pod) error {
	seq := b.podSeq.Add(1)
	node, _, err := b.node(ctx, seq)
	if err != nil {
		return err
	}
	p.Spec.NodeName = node
	created, err := b.cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil // a name generated twice or an earlier attempt: the next round recounts
	}
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	b.created.Add(1)
	return b.markRunning(ctx, created, seq)
}

// markRunning writes the status of a pod whose containers started now.
func (b *builder) markRunning(ctx context.Context, p *corev1.Pod, seq int64) error {
	hostIP := nodeIP(p.Spec.NodeName)
	p.Status = runningStatus(p, hostIP, podIP(seq), metav1.NewTime(time.Now().Truncate(time.Second)))
	if _, err := b.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("status of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// podIP is the seq-th address of 10.64.0.0/10.
func podIP(seq int64) string {
	return fmt.Sprintf("10.%d.%d.%d", 64+(seq>>16)&63, (seq>>8)&255, seq&255)
}

func runningStatus(p *corev1.Pod, hostIP, ip string, now metav1.Time) corev1.PodStatus {
	s := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    hostIP,
		HostIPs:   []corev1.HostIP{{IP: hostIP}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		QOSClass:  p.Status.QOSClass,
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, c := range p.Spec.InitContainers {
		id := "containerd://" + rand.String(32)
		s.InitContainerStatuses = append(s.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: id, Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now, ContainerID: id}},
		})
	}
	for _, c := range p.Spec.Containers {
		s.ContainerStatuses = append(s.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), ContainerID: "containerd://" + rand.String(32),
			Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	return s
}

func imageID(image string) string {
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
	return name + "@sha256:" + fmt.Sprintf("%064x", len(image)) // stable, realistic length
}

func resourceQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// settle waits until the controllers' view agrees with the pods: every StatefulSet and Deployment reports
// all its replicas ready for its current generation.
func (b *builder) settle(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		pending := ""
		stsl, err := b.cs.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range stsl.Items {
			if s.Status.ObservedGeneration < s.Generation || s.Status.ReadyReplicas != ptr.Deref(s.Spec.Replicas, 1) {
				pending = "StatefulSet " + s.Namespace + "/" + s.Name
				break
			}
		}
		if pending == "" {
			dl, err := b.cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, d := range dl.Items {
				if d.Status.ObservedGeneration < d.Generation || d.Status.ReadyReplicas != ptr.Deref(d.Spec.Replicas, 1) {
					pending = "Deployment " + d.Namespace + "/" + d.Name
					break
				}
			}
		}
		if pending == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("controllers did not settle: %s is not ready", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}
