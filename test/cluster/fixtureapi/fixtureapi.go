// Package fixtureapi lets Go programs outside this module (bench/fleet, the
// fleet builder of vmsync's benchmark) build VictoriaMetrics clusters with the
// same code as `kcp fixture`, which lives in internal packages they cannot
// import. It only forwards; the builders stay in internal/fixture.
package fixtureapi

import (
	"vmsync/test/cluster/internal/fixture"
	"vmsync/test/cluster/internal/kubeblocks"
)

// Layouts, as `kcp fixture --layout`.
const (
	LayoutKB09     = fixture.LayoutKB09
	LayoutKB10     = fixture.LayoutKB10
	LayoutHelm     = fixture.LayoutHelm
	LayoutOperator = fixture.LayoutOperator
	LayoutGeneric  = fixture.LayoutGeneric
)

// Spec and Env are those of `kcp fixture`.
type (
	Spec = fixture.Spec
	Env  = fixture.Env
)

var (
	// NewEnv builds clients from a kubeconfig path.
	NewEnv = fixture.NewEnv
	// Deploy creates a fixture as `kcp fixture deploy` (without --wait unless Spec.Wait).
	Deploy = fixture.Deploy
	// Drift makes a fixture drift as `kcp fixture drift`, then waits until its pods are Ready.
	Drift = fixture.Drift
	// VMClusterGVR is the VictoriaMetrics operator's VMCluster resource.
	VMClusterGVR = fixture.VMClusterGVR
)

// KubeBlocksRevision is the controller-revision-hash the KubeBlocks stand-in
// gives the pods of an InstanceSet with this spec.template.
func KubeBlocksRevision(instanceSet string, template map[string]any) string {
	return kubeblocks.Revision(instanceSet, template)
}
