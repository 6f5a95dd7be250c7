// Command fleet populates a kcp control plane (test/cluster) with the fleet of vmsync's benchmark
// (bench/README.md): VictoriaMetrics clusters in every layout, half of them drifted, and unrelated
// workloads with large pod specs.
//
// How the fleet is built fast and still looks like upstream:
//   - Every VictoriaMetrics object other than pods comes from kcp's own fixture builders (imported through
//     test/cluster/fixtureapi), so names, labels, templates, ConfigMaps and CRs are exactly those of
//     `kcp fixture deploy` and `kcp fixture drift`; the real controllers then run on them (ReplicaSets,
//     ControllerRevisions, workload status).
//   - Pods are created here, directly through the API, as their controller would create them (name,
//     labels, owner reference, hostname/subdomain, claim volumes, revision label) and bound to fleet nodes
//     that no kubelet serves; their status (Running, Ready, container start times) is then written through
//     the status subresource, as the kubelet stand-in would write it. Starting tens of thousands of pods
//     through the stand-in and an OrderedReady StatefulSet controller would take an hour on two cores.
//   - So that the controllers do not race us for those pods, a ValidatingAdmissionPolicy lets only this
//     program's service account create or delete pods in the fleet's namespaces; controllers keep trying,
//     find the pods they want already there, and settle.
//   - Drift is made by the fixtures' own drift code at least a second after the pods started, so that
//     ConfigMap-based layouts can prove staleness from start times (as in production).
//
// Usage:
//
//	fleet build --kubeconfig K [--vm-clusters 200] [--namespaces 50] [--unrelated-pods 6000]
//
// build is incremental: clusters and unrelated workloads that exist are left alone, so the benchmark
// grows the fleet (1x, 2x, 4x) on one control plane.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"vmsync/test/cluster/fixtureapi"
)

type options struct {
	kubeconfig    string
	vmClusters    int
	namespaces    int
	unrelatedPods int
	storage       int
	insert        int
	selects       int
	parallel      int
	quiet         bool
}

func main() {
	if len(os.Args) < 2 || os.Args[1] != "build" {
		fmt.Fprintln(os.Stderr, "usage: fleet build --kubeconfig K [--vm-clusters 200] [--namespaces 50] [--unrelated-pods 6000]")
		os.Exit(2)
	}
	var o options
	fs := flag.NewFlagSet("fleet build", flag.ExitOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "admin kubeconfig of the control plane")
	fs.IntVar(&o.vmClusters, "vm-clusters", 200, "VictoriaMetrics clusters in total (layouts in turn: helm, operator, generic, kubeblocks-1.0)")
	fs.IntVar(&o.namespaces, "namespaces", 50, "namespaces the clusters are spread over (fleet-NN); as many apps-NN hold half the unrelated workloads")
	fs.IntVar(&o.unrelatedPods, "unrelated-pods", 6000, "unrelated pods in total (10 per workload)")
	fs.IntVar(&o.storage, "storage", 10, "vmstorage replicas per cluster")
	fs.IntVar(&o.insert, "insert", 5, "vminsert replicas per cluster")
	fs.IntVar(&o.selects, "select", 5, "vmselect replicas per cluster")
	fs.IntVar(&o.parallel, "parallel", 12, "clusters or workloads built at once")
	fs.BoolVar(&o.quiet, "quiet", false, "print only the summary")
	_ = fs.Parse(os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	start := time.Now()
	summary, err := build(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet: %v\n", err)
		os.Exit(1)
	}
	summary.Seconds = time.Since(start).Seconds()
	out, _ := json.Marshal(summary)
	fmt.Println(string(out))
}

// Summary is printed as one JSON line when the fleet is built.
type Summary struct {
	VMClusters     int     `json:"vm_clusters"`
	Drifted        int     `json:"drifted"`
	VMPods         int     `json:"vm_pods"`
	UnrelatedWork  int     `json:"unrelated_workloads"`
	UnrelatedPods  int     `json:"unrelated_pods"`
	PodsCreated    int64   `json:"pods_created"`
	PodsDeleted    int64   `json:"pods_deleted"`
	Seconds        float64 `json:"seconds"`
	FirstNamespace string  `json:"first_namespace"`
	FirstCluster   string  `json:"first_cluster"`
}

var layouts = []string{fixtureapi.LayoutHelm, fixtureapi.LayoutOperator, fixtureapi.LayoutGeneric, fixtureapi.LayoutKB10}

// ClusterSpec of the i-th VictoriaMetrics cluster: the layout turns with i, clusters go round the
// namespaces, and every second cluster drifts, by +2 or -2 vmstorage nodes in turn.
func clusterSpec(o options, i int) (spec fixtureapi.Spec, driftTo int) {
	spec = fixtureapi.Spec{
		Namespace: fmt.Sprintf("fleet-%02d", i%o.namespaces),
		Layout:    layouts[i%len(layouts)],
		Name:      fmt.Sprintf("vm%03d", i),
		Storage:   o.storage,
		Insert:    o.insert,
		Select:    o.selects,
		Timeout:   30 * time.Minute, // drift waits for readiness; a loaded machine is slow
	}
	if (i/len(layouts))%2 == 1 {
		driftTo = o.storage + 2
		if (i/(2*len(layouts)))%2 == 1 {
			driftTo = o.storage - 2
		}
	}
	return spec, driftTo
}

func build(ctx context.Context, o options) (*Summary, error) {
	admin, err := fixtureapi.NewEnv(o.kubeconfig)
	if err != nil {
		return nil, err
	}
	// Step 1: an identity of our own and the admission policy that reserves fleet pods to it.
	b, err := newBuilder(ctx, admin, o)
	if err != nil {
		return nil, err
	}
	// Step 2: namespaces, labelled so the policy applies to them.
	for i := 0; i < o.namespaces; i++ {
		for _, prefix := range []string{"fleet", "apps"} {
			if err := b.ensureNamespace(ctx, fmt.Sprintf("%s-%02d", prefix, i)); err != nil {
				return nil, err
			}
		}
	}
	s := &Summary{VMClusters: o.vmClusters}
	first, _ := clusterSpec(o, 0)
	s.FirstNamespace, s.FirstCluster = first.Namespace, first.Name

	// Step 3: the VictoriaMetrics clusters and their pods. Deploying leaves existing objects as they are, so
	// a larger fleet is built on a smaller one, and an interrupted build is completed.
	for i := 0; i < o.vmClusters; i++ {
		spec, drift := clusterSpec(o, i)
		s.VMPods += spec.Storage + spec.Insert + spec.Select
		if drift != 0 {
			s.Drifted++
			s.VMPods += drift - spec.Storage
		}
	}
	b.logf("fleet: deploying %d VictoriaMetrics clusters", o.vmClusters)
	if err := forEach(ctx, o.parallel, o.vmClusters, func(ctx context.Context, i int) error {
		spec, _ := clusterSpec(o, i)
		if err := fixtureapi.Deploy(ctx, b.env, spec); err != nil {
			return fmt.Errorf("deploy %s/%s: %w", spec.Namespace, spec.Name, err)
		}
		return b.untilPodsComplete(ctx, clusterWorkloads(spec))
	}); err != nil {
		return nil, err
	}

	// Step 4: drift, at least a second after the pods started (start times have one-second resolution).
	time.Sleep(1500 * time.Millisecond)
	b.logf("fleet: drifting %d clusters", s.Drifted)
	if err := forEach(ctx, o.parallel, o.vmClusters, func(ctx context.Context, i int) error {
		spec, driftTo := clusterSpec(o, i)
		if driftTo == 0 {
			return nil
		}
		if n, err := b.storageReplicas(ctx, spec); err != nil || n == driftTo {
			return err // drifted by an earlier build
		}
		spec.Storage = driftTo
		spec.UpdateConfigMap = true
		return b.whileReconciling(ctx, clusterWorkloads(spec), func(ctx context.Context) error {
			return fixtureapi.Drift(ctx, b.env, spec)
		})
	}); err != nil {
		return nil, err
	}

	// Step 5: unrelated workloads with large pods, half in the clusters' namespaces.
	s.UnrelatedWork = o.unrelatedPods / unrelatedReplicas
	s.UnrelatedPods = s.UnrelatedWork * unrelatedReplicas
	b.logf("fleet: creating %d unrelated workloads", s.UnrelatedWork)
	if err := forEach(ctx, o.parallel, s.UnrelatedWork, func(ctx context.Context, k int) error {
		w, err := b.createUnrelated(ctx, o, k)
		if err != nil {
			return err
		}
		return b.untilPodsComplete(ctx, []workload{w})
	}); err != nil {
		return nil, err
	}

	// Step 6: let the controllers catch up, so that measurements start on a quiet control plane.
	if err := b.settle(ctx); err != nil {
		return nil, err
	}
	s.PodsCreated, s.PodsDeleted = b.created.Load(), b.deleted.Load()
	return s, nil
}

// forEach runs fn(0..n-1), at most `parallel` at once, and returns the first error.
func forEach(ctx context.Context, parallel, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  atomic.Int64
	)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
