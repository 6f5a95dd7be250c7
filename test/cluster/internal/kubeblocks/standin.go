// Package kubeblocks is kcp's KubeBlocks STAND-IN. No KubeBlocks controller
// runs in kcp; this small loop plays only the parts of it that the fixtures
// and tests need:
//
//   - the InstanceSet controller: keeps pods <its>-<ordinal> for ordinals
//     0..replicas-1 from spec.template (recreating deleted pods, deleting
//     ordinals beyond replicas), rolls pods whose template revision is
//     outdated one at a time (waiting for each replacement to be Ready), and
//     sets status (replicas, readyReplicas, updateRevision, ...);
//   - the OpsRequest controller for type Restart with the component
//     controller's part of it (see reconcileOps): phases, kubeblocks.io/restart
//     on the Cluster's component spec and on the InstanceSet pod template (so
//     the pods roll one at a time), the component's vars (VMSTORAGE_ADDR)
//     resolved again into its <cluster>-<component>-env ConfigMap from the
//     vmstorage pod Services that exist, Succeed once every pod was created
//     since the start and is Ready.
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
//
// A Restart OpsRequest as KubeBlocks runs it (0.9 and 1.0 alike):
//   - pkg/operations/ops_manager.go and ops_runtime.go: the phases Pending -> Creating (validated) ->
//     Running (the handler's Action done, status.startTimestamp set) -> Succeed, or Failed / Cancelling ->
//     Cancelled;
//   - pkg/operations/restart.go: Action stamps kubeblocks.io/restart=<startTimestamp> on the Cluster's
//     spec.componentSpecs[<component>].annotations (restartComponents, isRestarted); a pod counts as restarted
//     when it was created at or after status.startTimestamp (podApplyCompOps); progress is "restarted/expected";
//     before that, Action aborts an earlier unfinished Restart of one of the same components (Aborted:
//     abortEarlierOpsRequestWithSameKind in pkg/operations/ops_util.go);
//   - the component controller then reconciles the component: it resolves the component's vars again
//     (controllers/apps/transformer_component_vars.go on 0.9, controllers/apps/component/
//     transformer_component_vars.go on 1.0) into ConfigMap <cluster>-<component>-env, and the annotation
//     reaches the InstanceSet's pod template, whose controller replaces the pods one at a time (played by
//     reconcileITS above). For vminsert and vmselect the var that matters is VMSTORAGE_ADDR: a serviceVarRef to
//     the vmstorage pod Services (podService: true in addons/victoria-metrics/templates/cmpd-vmstorage.yaml),
//     whose names pkg/controller/component/vars.go (composeHostValueFromServices) lists sorted, here with the
//     port of the role (vminsert 8400, vmselect 8401) as the addon composes them.
//
// This is why a Restart is KubeBlocks 0.9's repair after a vmstorage scale: 0.9 resolves a component's vars
// only when that component reconciles, and a vmstorage scale reconciles vmstorage alone.

// Test hooks, not KubeBlocks': annotations on the Cluster that make the Restart of the named component (comma
// list) end Failed (with a Failed condition and progress detail, as a pod that does not come back makes
// KubeBlocks fail it) or be cancelled (Cancelling, then Cancelled), so a test sees what vmsync reports.
// AnnHoldRestarts (any value) leaves every Restart OpsRequest of the Cluster as it is, as AnnHold does for one.
const (
	AnnFailRestart   = "kcp.vmsync.io/fail-restart"
	AnnCancelRestart = "kcp.vmsync.io/cancel-restart"
	AnnHoldRestarts  = "kcp.vmsync.io/hold-restarts"
)

func clusterGVR(g gvrs) schema.GroupVersionResource {
	v := "v1"
	if g.its.Version == "v1alpha1" {
		v = "v1alpha1" // KubeBlocks 0.9
	}
	return schema.GroupVersionResource{Group: "apps.kubeblocks.io", Version: v, Resource: "clusters"}
}

func hookNames(cluster *unstructured.Unstructured, key string, comps []string) []string {
	v := cluster.GetAnnotations()[key]
	if v == "" {
		return nil
	}
	var out []string
	for _, n := range strings.Split(v, ",") {
		for _, c := range comps {
			if strings.TrimSpace(n) == c {
				out = append(out, c)
			}
		}
	}
	return out
}

func setCondition(u *unstructured.Unstructured, typ, reason, msg string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	now := metav1.Now().UTC().Format(time.RFC3339)
	c := map[string]any{"type": typ, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": now}
	for i := range conds {
		if m, ok := conds[i].(map[string]any); ok && m["type"] == typ {
			conds[i] = c
			_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
			return
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, append(conds, c), "status", "conditions")
}

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
	clusterName, _, _ := unstructured.NestedString(ops.Object, "spec", "clusterName")
	if clusterName == "" {
		clusterName, _, _ = unstructured.NestedString(ops.Object, "spec", "clusterRef") // deprecated since 0.9
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
	u := ops.DeepCopy()
	now := metav1.Now().UTC().Format(time.RFC3339)
	update := func() error {
		if apiequality.Semantic.DeepEqual(u.Object["status"], ops.Object["status"]) {
			return nil
		}
		_, err := s.dyn.Resource(g.ops).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
		return err
	}
	cluster, err := s.dyn.Resource(clusterGVR(g)).Namespace(ns).Get(ctx, clusterName, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return s.failOps(ctx, g, u, fmt.Sprintf("Cluster %s not found", clusterName))
		}
		return err
	}
	if cluster.GetAnnotations()[AnnHoldRestarts] != "" {
		return nil
	}

	switch phase {
	case "", "Pending":
		// Validated (the components exist in the Cluster); the ops manager moves it to Creating.
		for _, c := range comps {
			if !hasComponent(cluster, c) {
				return s.failOps(ctx, g, u, fmt.Sprintf("component %s not found in Cluster %s", c, clusterName))
			}
		}
		_ = unstructured.SetNestedField(u.Object, "Creating", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, cluster.GetGeneration(), "status", "clusterGeneration")
		setCondition(u, "Validated", "ValidateOpsRequestPassed", "OpsRequest: "+ops.GetName()+" is validated")
		return update()
	case "Creating":
		// restartOpsHandler.Action: earlier Restarts of the same components are aborted, then the restart
		// annotation goes on each component's spec in the Cluster.
		if err := s.abortEarlierRestarts(ctx, g, ops, clusterName, comps); err != nil {
			return err
		}
		_ = unstructured.SetNestedField(u.Object, now, "status", "startTimestamp")
		if err := s.stampClusterRestart(ctx, g, cluster, comps, now); err != nil {
			return err
		}
		compStatus := map[string]any{}
		for _, c := range comps {
			compStatus[c] = map[string]any{"phase": "Updating"}
		}
		_ = unstructured.SetNestedField(u.Object, compStatus, "status", "components")
		_ = unstructured.SetNestedField(u.Object, "Running", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, fmt.Sprintf("0/%d", len(comps)), "status", "progress")
		setCondition(u, "Restarting", "RestartStarted", "Start to restart database in Cluster: "+clusterName)
		return update()
	case "Cancelling":
		_ = unstructured.SetNestedField(u.Object, "Cancelled", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, now, "status", "cancelTimestamp")
		_ = unstructured.SetNestedField(u.Object, now, "status", "completionTimestamp")
		setCondition(u, "Cancelled", "CancelSucceed", "Cancel OpsRequest: "+ops.GetName()+" successfully")
		return update()
	}

	// Running. The test hooks first.
	if failed := hookNames(cluster, AnnFailRestart, comps); len(failed) > 0 {
		c := failed[0]
		pod := fmt.Sprintf("%s-%s-0", clusterName, c)
		_ = unstructured.SetNestedField(u.Object, "Failed", "status", "components", c, "phase")
		_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
			"objectKey": "Pod/" + pod, "status": "Failed", "startTime": now, "endTime": now,
			"message": fmt.Sprintf("Failed to restart pod %s: it did not become Ready (test hook %s)", pod, AnnFailRestart),
		}}, "status", "components", c, "progressDetails")
		return s.failOps(ctx, g, u, fmt.Sprintf("Failed to process OpsRequest: %s in cluster: %s, more detailed informations in status.components", ops.GetName(), clusterName))
	}
	if len(hookNames(cluster, AnnCancelRestart, comps)) > 0 {
		_ = unstructured.SetNestedField(u.Object, "Cancelling", "status", "phase")
		setCondition(u, "Cancelling", "Cancelling", "Start to cancel OpsRequest: "+ops.GetName())
		return update()
	}
	start, _, _ := unstructured.NestedString(ops.Object, "status", "startTimestamp")
	startT, _ := time.Parse(time.RFC3339, start)
	// The component controller's part, for each restarted component: vars, then the pod template.
	var expected, restarted int64
	done := 0
	for _, c := range comps {
		itsName := clusterName + "-" + c
		if err := s.resolveVars(ctx, ns, clusterName, c); err != nil {
			return err
		}
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{AnnRestart: start}}}}})
		its, err := s.dyn.Resource(g.its).Namespace(ns).Patch(ctx, itsName, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			return s.failOps(ctx, g, u, fmt.Sprintf("cannot restart component %s: %v", c, err))
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
		var details []any
		for i := range pl.Items {
			p := &pl.Items[i]
			// podApplyCompOps: created at or after the start (and, since startTimestamp has whole seconds, on the
			// restarted template), and Ready.
			ok := !p.CreationTimestamp.Time.Before(startT) && p.Labels[LabelRevision] == rev && podReady(p)
			st := "Processing"
			if ok {
				n++
				st = "Succeed"
			}
			details = append(details, map[string]any{"objectKey": "Pod/" + p.Name, "status": st})
		}
		expected += replicas
		restarted += min(n, replicas)
		_ = unstructured.SetNestedSlice(u.Object, details, "status", "components", c, "progressDetails")
		if n >= replicas {
			done++
			_ = unstructured.SetNestedField(u.Object, "Running", "status", "components", c, "phase")
		}
	}
	_ = unstructured.SetNestedField(u.Object, fmt.Sprintf("%d/%d", restarted, expected), "status", "progress")
	if done == len(comps) {
		_ = unstructured.SetNestedField(u.Object, "Succeed", "status", "phase")
		_ = unstructured.SetNestedField(u.Object, now, "status", "completionTimestamp")
		setCondition(u, "Succeed", "OpsRequestProcessedSuccessfully", "Successfully processed the OpsRequest: "+ops.GetName()+" in Cluster: "+clusterName)
	}
	return update()
}

func hasComponent(cluster *unstructured.Unstructured, comp string) bool {
	specs, _, _ := unstructured.NestedSlice(cluster.Object, "spec", "componentSpecs")
	for _, cs := range specs {
		if m, ok := cs.(map[string]any); ok && m["name"] == comp {
			return true
		}
	}
	return false
}

// stampClusterRestart is restart.go's restartComponents: kubeblocks.io/restart on the components' specs.
func (s *StandIn) stampClusterRestart(ctx context.Context, g gvrs, cluster *unstructured.Unstructured, comps []string, at string) error {
	c := cluster.DeepCopy()
	specs, _, _ := unstructured.NestedSlice(c.Object, "spec", "componentSpecs")
	for i := range specs {
		m, ok := specs[i].(map[string]any)
		if !ok {
			continue
		}
		for _, name := range comps {
			if m["name"] != name {
				continue
			}
			ann, _ := m["annotations"].(map[string]any)
			if ann == nil {
				ann = map[string]any{}
			}
			ann[AnnRestart] = at
			m["annotations"] = ann
		}
	}
	_ = unstructured.SetNestedSlice(c.Object, specs, "spec", "componentSpecs")
	_, err := s.dyn.Resource(clusterGVR(g)).Namespace(c.GetNamespace()).Update(ctx, c, metav1.UpdateOptions{})
	return err
}

// resolveVars plays the component controller's var resolution for vminsert and vmselect: VMSTORAGE_ADDR (and
// VMSTORAGE_ENDPOINT, the names alone) from the vmstorage pod Services that exist now, into <cluster>-<comp>-env.
func (s *StandIn) resolveVars(ctx context.Context, ns, cluster, comp string) error {
	if comp != "vminsert" && comp != "vmselect" {
		return nil
	}
	svcs, err := s.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelAppInstance + "=" + cluster + "," + LabelComponentName + "=vmstorage"})
	if err != nil {
		return err
	}
	var addrs, names []string
	for _, svc := range svcs.Items {
		if svc.Spec.Selector[LabelPodName] == "" { // not a pod Service (the headless one)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == comp { // the vmstorage port named after the role: vminsert 8400, vmselect 8401
				addrs = append(addrs, fmt.Sprintf("%s:%d", svc.Name, p.Port))
				names = append(names, svc.Name)
			}
		}
	}
	sort.Strings(addrs)
	sort.Strings(names)
	cmName := cluster + "-" + comp + "-env"
	cm, err := s.cs.CoreV1().ConfigMaps(ns).Get(ctx, cmName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := map[string]string{"VMSTORAGE_ADDR": strings.Join(addrs, ","), "VMSTORAGE_ENDPOINT": strings.Join(names, ",")}
	changed := false
	for k, v := range want {
		if cm.Data[k] != v {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[k] = v
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if _, err := s.cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return err
	}
	klog.InfoS("kcp KubeBlocks stand-in: resolved vars", "configmap", ns+"/"+cmName, "VMSTORAGE_ADDR", want["VMSTORAGE_ADDR"])
	return nil
}

func (s *StandIn) failOps(ctx context.Context, g gvrs, u *unstructured.Unstructured, msg string) error {
	_ = unstructured.SetNestedField(u.Object, "Failed", "status", "phase")
	_ = unstructured.SetNestedField(u.Object, metav1.Now().UTC().Format(time.RFC3339), "status", "completionTimestamp")
	setCondition(u, "Failed", "OpsRequestFailed", msg)
	_, err := s.dyn.Resource(g.ops).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}

// abortEarlierRestarts is abortEarlierOpsRequestWithSameKind (pkg/operations/ops_util.go) for Restart: a Restart
// of the same Cluster made before `ops` and not yet finished, that restarts one of the same components, ends
// Aborted, with upstream's condition and its message (which names the earlier OpsRequest, as upstream's does).
func (s *StandIn) abortEarlierRestarts(ctx context.Context, g gvrs, ops *unstructured.Unstructured, cluster string, comps []string) error {
	list, err := s.dyn.Resource(g.ops).Namespace(ops.GetNamespace()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.GetName() == ops.GetName() {
			continue
		}
		ct, ot := o.GetCreationTimestamp(), ops.GetCreationTimestamp()
		if ot.Before(&ct) || (ct.Equal(&ot) && o.GetName() > ops.GetName()) {
			continue // not earlier
		}
		typ, _, _ := unstructured.NestedString(o.Object, "spec", "type")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "clusterName")
		if name == "" {
			name, _, _ = unstructured.NestedString(o.Object, "spec", "clusterRef")
		}
		phase, _, _ := unstructured.NestedString(o.Object, "status", "phase")
		if typ != "Restart" || name != cluster || phase == "Succeed" || phase == "Failed" || phase == "Cancelled" || phase == "Aborted" {
			continue
		}
		restarts, _, _ := unstructured.NestedSlice(o.Object, "spec", "restart")
		shared := false
		for _, r := range restarts {
			if m, ok := r.(map[string]any); ok {
				for _, c := range comps {
					if m["componentName"] == c {
						shared = true
					}
				}
			}
		}
		if !shared {
			continue
		}
		a := o.DeepCopy()
		_ = unstructured.SetNestedField(a.Object, "Aborted", "status", "phase")
		_ = unstructured.SetNestedField(a.Object, metav1.Now().UTC().Format(time.RFC3339), "status", "completionTimestamp")
		setCondition(a, "Aborted", "Aborted", fmt.Sprintf(`Aborted as a result of the latest opsRequest "%s" being overridden`, o.GetName()))
		if _, err := s.dyn.Resource(g.ops).Namespace(a.GetNamespace()).UpdateStatus(ctx, a, metav1.UpdateOptions{}); err != nil {
			return err
		}
		klog.InfoS("kcp KubeBlocks stand-in: aborted an earlier Restart", "opsrequest", a.GetNamespace()+"/"+a.GetName(), "by", ops.GetName())
	}
	return nil
}
