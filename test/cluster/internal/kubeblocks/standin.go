// Package kubeblocks is kcp's KubeBlocks STAND-IN. No KubeBlocks controller
// runs in kcp; this small loop plays only the parts of it that the fixtures
// and tests need:
//
//   - the InstanceSet controller: keeps pods <its>-<ordinal> for ordinals
//     0..replicas-1 from spec.template (recreating deleted pods, deleting
//     ordinals beyond replicas), rolls pods whose template revision is
//     outdated one at a time (waiting for each replacement to be Ready), and
//     sets status (replicas, readyReplicas, updateRevision, ...);
//   - the OpsRequest controller for type Restart: sets kubeblocks.io/restart
//     on the component's InstanceSet pod template (which makes the stand-in
//     roll the pods one at a time) and marks the OpsRequest Succeed once every
//     pod runs the new revision and is Ready.
//
// It works with KubeBlocks 0.9 (workloads.kubeblocks.io/v1alpha1,
// apps.kubeblocks.io/v1alpha1 OpsRequest) and 1.0 (workloads.kubeblocks.io/v1,
// operations.kubeblocks.io/v1alpha1 OpsRequest), whichever CRDs are installed.
package kubeblocks

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Label and annotation keys KubeBlocks uses.
const (
	LabelInstance      = "workloads.kubeblocks.io/instance"
	LabelManagedBy     = "workloads.kubeblocks.io/managed-by"
	LabelPodName       = "apps.kubeblocks.io/pod-name"
	LabelRevision      = "controller-revision-hash"
	LabelAppInstance   = "app.kubernetes.io/instance"
	LabelComponentName = "apps.kubeblocks.io/component-name"
	AnnRestart         = "kubeblocks.io/restart"
	// Not KubeBlocks': a test's hook. The stand-in leaves an OpsRequest with
	// this annotation as it is (Pending), so that a test sees what vmsync does
	// while an OpsRequest is in progress, however fast the stand-in would run it.
	AnnHold = "kcp.vmsync.io/hold"
)

// StandIn is the KubeBlocks stand-in.
type StandIn struct {
	cs  kubernetes.Interface
	dyn dynamic.Interface
}

// New creates the stand-in.
func New(cfg *rest.Config) (*StandIn, error) {
	cs, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, err
	}
	return &StandIn{cs: cs, dyn: dyn}, nil
}

type gvrs struct {
	its schema.GroupVersionResource
	ops schema.GroupVersionResource
	ok  bool
	has bool // OpsRequest CRD found
}

func (s *StandIn) discover() gvrs {
	var g gvrs
	served := func(gv, res string) bool {
		rl, err := s.cs.Discovery().ServerResourcesForGroupVersion(gv)
		if err != nil {
			return false
		}
		for _, r := range rl.APIResources {
			if r.Name == res {
				return true
			}
		}
		return false
	}
	switch {
	case served("workloads.kubeblocks.io/v1", "instancesets"):
		g.its = schema.GroupVersionResource{Group: "workloads.kubeblocks.io", Version: "v1", Resource: "instancesets"}
		g.ok = true
	case served("workloads.kubeblocks.io/v1alpha1", "instancesets"):
		g.its = schema.GroupVersionResource{Group: "workloads.kubeblocks.io", Version: "v1alpha1", Resource: "instancesets"}
		g.ok = true
	}
	switch {
	case served("operations.kubeblocks.io/v1alpha1", "opsrequests"):
		g.ops = schema.GroupVersionResource{Group: "operations.kubeblocks.io", Version: "v1alpha1", Resource: "opsrequests"}
		g.has = true
	case served("apps.kubeblocks.io/v1alpha1", "opsrequests"):
		g.ops = schema.GroupVersionResource{Group: "apps.kubeblocks.io", Version: "v1alpha1", Resource: "opsrequests"}
		g.has = true
	}
	return g
}

// Run reconciles until ctx ends. It idles until InstanceSet CRDs appear.
func (s *StandIn) Run(ctx context.Context) {
	var g gvrs
	for ctx.Err() == nil {
		if !g.ok {
			g = s.discover()
			if !g.ok {
				sleep(ctx, 2*time.Second)
				continue
			}
			klog.InfoS("kcp KubeBlocks stand-in active", "instancesets", g.its.String(), "opsrequests", g.ops.String())
		}
		if err := s.reconcileAll(ctx, g); err != nil && ctx.Err() == nil {
			if apierrors.IsNotFound(err) {
				g = gvrs{} // CRDs went away; rediscover
			}
			klog.V(2).InfoS("kcp KubeBlocks stand-in: reconcile", "err", err)
		}
		sleep(ctx, 500*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (s *StandIn) reconcileAll(ctx context.Context, g gvrs) error {
	list, err := s.dyn.Resource(g.its).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		if err := s.reconcileITS(ctx, g, &list.Items[i]); err != nil && !apierrors.IsConflict(err) && ctx.Err() == nil {
			klog.ErrorS(err, "kcp KubeBlocks stand-in: InstanceSet", "name", list.Items[i].GetNamespace()+"/"+list.Items[i].GetName())
		}
	}
	if !g.has {
		return nil
	}
	ops, err := s.dyn.Resource(g.ops).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range ops.Items {
		if err := s.reconcileOps(ctx, g, &ops.Items[i]); err != nil && !apierrors.IsConflict(err) && ctx.Err() == nil {
			klog.ErrorS(err, "kcp KubeBlocks stand-in: OpsRequest", "name", ops.Items[i].GetNamespace()+"/"+ops.Items[i].GetName())
		}
	}
	return nil
}

// Revision is the controller-revision-hash value for an InstanceSet's template.
func Revision(itsName string, template map[string]any) string {
	b, _ := json.Marshal(template)
	h := fnv.New32a()
	_, _ = h.Write(b)
	return fmt.Sprintf("%s-%x", itsName, h.Sum32())
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ordinalOf(itsName, podName string) (int, bool) {
	if !strings.HasPrefix(podName, itsName+"-") {
		return 0, false
	}
	n, err := strconv.Atoi(podName[len(itsName)+1:])
	return n, err == nil && n >= 0
}

func (s *StandIn) reconcileITS(ctx context.Context, g gvrs, its *unstructured.Unstructured) error {
	if its.GetDeletionTimestamp() != nil {
		return nil
	}
	ns, name := its.GetNamespace(), its.GetName()
	replicas := int64(1)
	if r, found, _ := unstructured.NestedInt64(its.Object, "spec", "replicas"); found {
		replicas = r
	}
	tmplMap, _, _ := unstructured.NestedMap(its.Object, "spec", "template")
	var tmpl corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmplMap, &tmpl); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	offline := map[string]bool{}
	if off, _, _ := unstructured.NestedStringSlice(its.Object, "spec", "offlineInstances"); off != nil {
		for _, o := range off {
			offline[o] = true
		}
	}
	rev := Revision(name, tmplMap)

	pl, err := s.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + name})
	if err != nil {
		return err
	}
	byOrdinal := map[int]*corev1.Pod{}
	var extra []*corev1.Pod
	for i := range pl.Items {
		p := &pl.Items[i]
		if !metav1.IsControlledBy(p, its) {
			continue
		}
		o, ok := ordinalOf(name, p.Name)
		if !ok || int64(o) >= replicas || offline[p.Name] {
			extra = append(extra, p)
			continue
		}
		byOrdinal[o] = p
	}
	// Create missing pods.
	for o := 0; int64(o) < replicas; o++ {
		pn := fmt.Sprintf("%s-%d", name, o)
		if offline[pn] {
			continue
		}
		if _, ok := byOrdinal[o]; ok {
			continue
		}
		pod := s.podFor(its, &tmpl, pn, rev)
		if _, err := s.cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create pod %s: %w", pn, err)
		}
		klog.InfoS("kcp KubeBlocks stand-in: created pod", "pod", ns+"/"+pn, "revision", rev)
	}
	// Delete pods beyond replicas (highest ordinal first).
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name > extra[j].Name })
	for _, p := range extra {
		if p.DeletionTimestamp != nil {
			continue
		}
		if err := s.cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		klog.InfoS("kcp KubeBlocks stand-in: deleted pod beyond replicas", "pod", ns+"/"+p.Name)
	}
	// Rolling update: one outdated pod at a time, only when all are Ready.
	allReady := int64(len(byOrdinal)) == replicas-int64(len(offline))
	var outdated []*corev1.Pod
	for _, p := range byOrdinal {
		if !podReady(p) {
			allReady = false
		}
		if p.Labels[LabelRevision] != rev {
			outdated = append(outdated, p)
		}
	}
	if allReady && len(outdated) > 0 {
		sort.Slice(outdated, func(i, j int) bool {
			oi, _ := ordinalOf(name, outdated[i].Name)
			oj, _ := ordinalOf(name, outdated[j].Name)
			return oi > oj
		})
		p := outdated[0]
		if err := s.cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		klog.InfoS("kcp KubeBlocks stand-in: rolling outdated pod", "pod", ns+"/"+p.Name, "from", p.Labels[LabelRevision], "to", rev)
	}
	// Status.
	var ready, updated, current int64
	currentRevs := map[string]any{}
	updateRevs := map[string]any{}
	for _, p := range byOrdinal {
		if podReady(p) {
			ready++
		}
		if p.Labels[LabelRevision] == rev {
			updated++
		}
		currentRevs[p.Name] = p.Labels[LabelRevision]
		updateRevs[p.Name] = rev
	}
	currentRev := rev
	if updated != int64(len(byOrdinal)) {
		currentRev, _, _ = unstructured.NestedString(its.Object, "status", "currentRevision")
		if currentRev == "" {
			currentRev = rev
		}
	}
	for _, p := range byOrdinal {
		if p.Labels[LabelRevision] == currentRev {
			current++
		}
	}
	oldStatus, _, _ := unstructured.NestedMap(its.Object, "status")
	status := map[string]any{}
	for k, v := range oldStatus {
		status[k] = v
	}
	status["observedGeneration"] = its.GetGeneration()
	status["replicas"] = int64(len(byOrdinal))
	status["readyReplicas"] = ready
	status["availableReplicas"] = ready
	status["updatedReplicas"] = updated
	status["currentReplicas"] = current
	status["updateRevision"] = rev
	status["currentRevision"] = currentRev
	status["updateRevisions"] = updateRevs
	status["currentRevisions"] = currentRevs
	if g.its.Version == "v1alpha1" {
		status["readyWithoutPrimary"] = false
	}
	if apiequality.Semantic.DeepEqual(jsonRound(oldStatus), jsonRound(status)) {
		return nil
	}
	u := its.DeepCopy()
	if err := unstructured.SetNestedField(u.Object, jsonRound(status), "status"); err != nil {
		return err
	}
	_, err = s.dyn.Resource(g.its).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}

func jsonRound(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *StandIn) podFor(its *unstructured.Unstructured, tmpl *corev1.PodTemplateSpec, name, rev string) *corev1.Pod {
	labels := map[string]string{}
	for k, v := range tmpl.Labels {
		labels[k] = v
	}
	labels[LabelInstance] = its.GetName()
	labels[LabelManagedBy] = "InstanceSet"
	labels[LabelPodName] = name
	labels[LabelRevision] = rev
	annotations := map[string]string{}
	for k, v := range tmpl.Annotations {
		annotations[k] = v
	}
	spec := *tmpl.Spec.DeepCopy()
	spec.Hostname = name
	if spec.Subdomain == "" {
		spec.Subdomain = its.GetName() + "-headless"
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   its.GetNamespace(),
			Labels:      labels,
			Annotations: annotations,
			Finalizers:  nil,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         its.GetAPIVersion(),
				Kind:               its.GetKind(),
				Name:               its.GetName(),
				UID:                its.GetUID(),
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: spec,
	}
}

// ---- OpsRequest ----

func (s *StandIn) reconcileOps(ctx context.Context, g gvrs, ops *unstructured.Unstructured) error {
	typ, _, _ := unstructured.NestedString(ops.Object, "spec", "type")
	if typ != "Restart" {
		return nil
	}
	phase, _, _ := unstructured.NestedString(ops.Object, "status", "phase")
	switch phase {
	case "Succeed", "Failed", "Cancelled", "Aborted":
		return nil
	}
	if ops.GetAnnotations()[AnnHold] != "" {
		return nil
	}
	ns := ops.GetNamespace()
	cluster, _, _ := unstructured.NestedString(ops.Object, "spec", "clusterName")
	if cluster == "" {
		cluster, _, _ = unstructured.NestedString(ops.Object, "spec", "clusterRef")
	}
	restarts, _, _ := unstructured.NestedSlice(ops.Object, "spec", "restart")
	var comps []string
	for _, r := range restarts {
		if m, ok := r.(map[string]any); ok {
			if c, ok := m["componentName"].(string); ok && c != "" {
				comps = append(comps, c)
			}
		}
	}
	now := metav1.Now().UTC().Format(time.RFC3339)
	u := ops.DeepCopy()
	if phase == "" || phase == "Pending" || phase == "Creating" {
		// Start: stamp the restart annotation on each component's pod template.
		for _, c := range comps {
			itsName := cluster + "-" + c
			patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnRestart: now}}}}}
			b, _ := json.Marshal(patch)
			if _, err := s.dyn.Resource(g.its).Namespace(ns).Patch(ctx, itsName, types.MergePatchType, b, metav1.PatchOptions{}); err != nil {
				return s.failOps(ctx, g, u, fmt.Sprintf("cannot restart component %s: %v", c, err))
			}
		}
		compStatus := map[string]any{}
		for _, c := range comps {
			compStatus[c] = map[string]any{"phase": "Updating"}
		}
		_ = unstructured.SetNestedField(u.Object, "Running", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, now, "status", "startTimestamp")
		_ = unstructured.SetNestedField(u.Object, fmt.Sprintf("0/%d", len(comps)), "status", "progress")
		_ = unstructured.SetNestedField(u.Object, compStatus, "status", "components")
		_, err := s.dyn.Resource(g.ops).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		return err
	}
	// Running: done when every component's pods are all on the new revision
	// and Ready.
	done := 0
	for _, c := range comps {
		itsName := cluster + "-" + c
		its, err := s.dyn.Resource(g.its).Namespace(ns).Get(ctx, itsName, metav1.GetOptions{})
		if err != nil {
			return s.failOps(ctx, g, u, fmt.Sprintf("component %s: %v", c, err))
		}
		tmplMap, _, _ := unstructured.NestedMap(its.Object, "spec", "template")
		rev := Revision(itsName, tmplMap)
		replicas, found, _ := unstructured.NestedInt64(its.Object, "spec", "replicas")
		if !found {
			replicas = 1
		}
		pl, err := s.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelInstance + "=" + itsName})
		if err != nil {
			return err
		}
		n := int64(0)
		for i := range pl.Items {
			p := &pl.Items[i]
			if p.Labels[LabelRevision] == rev && podReady(p) {
				n++
			}
		}
		if n == replicas {
			done++
			_ = unstructured.SetNestedField(u.Object, "Running", "status", "components", c, "phase")
		}
	}
	_ = unstructured.SetNestedField(u.Object, fmt.Sprintf("%d/%d", done, len(comps)), "status", "progress")
	if done == len(comps) {
		_ = unstructured.SetNestedField(u.Object, "Succeed", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, now, "status", "completionTimestamp")
	}
	if apiequality.Semantic.DeepEqual(u.Object["status"], ops.Object["status"]) {
		return nil
	}
	_, err := s.dyn.Resource(g.ops).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}

func (s *StandIn) failOps(ctx context.Context, g gvrs, u *unstructured.Unstructured, msg string) error {
	_ = unstructured.SetNestedField(u.Object, "Failed", "status", "phase")
	_ = unstructured.SetNestedField(u.Object, metav1.Now().UTC().Format(time.RFC3339), "status", "completionTimestamp")
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"type": "Failed", "status": "True", "reason": "OpsRequestFailed", "message": msg,
		"lastTransitionTime": metav1.Now().UTC().Format(time.RFC3339),
	}}, "status", "conditions")
	_, err := s.dyn.Resource(g.ops).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}
