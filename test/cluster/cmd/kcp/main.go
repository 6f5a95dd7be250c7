// Command kcp is a local Kubernetes control plane for vmsync's tests: one
// process running embedded etcd, kube-apiserver, kube-controller-manager, a
// kubelet stand-in and a KubeBlocks stand-in; plus an embedded kubectl, the
// VictoriaMetrics fixtures, and a reader for a pod's real -storageNode.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"

	"vmsync/test/cluster/internal/cp"
	"vmsync/test/cluster/internal/fixture"
)

const usage = `kcp: a local Kubernetes control plane for vmsync tests

  kcp serve --dir DIR [--port N] [--crds all|none|kubeblocks-0.9,kubeblocks-1.0,vm-operator] [--crds-dir D]
  kcp kubectl ARGS...                       (kubectl of the same Kubernetes release)
  kcp fixture deploy --kubeconfig K -n NS --layout L --name NAME [--storage 3 --insert 2 --select 2] [--wait]
  kcp fixture drift  --kubeconfig K -n NS --layout L --name NAME --storage N [--update-configmap]
  kcp flags --kubeconfig K -n NS POD [-c CONTAINER] [--raw]
  kcp version

layouts: kubeblocks-0.9, kubeblocks-1.0, helm, operator, generic
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "kubectl":
		os.Args = append([]string{"kubectl"}, os.Args[2:]...)
		os.Exit(cli.Run(kubectlcmd.NewDefaultKubectlCommand()))
	case "fixture":
		err = fixture.Main(os.Args[2:])
	case "flags":
		err = fixture.FlagsMain(os.Args[2:])
	case "version":
		fmt.Println(cp.Version())
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kcp %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for kubeconfigs, certificates, data and logs")
	port := fs.Int("port", 0, "kube-apiserver port on 127.0.0.1 (default 6443, or a free port if 6443 is taken)")
	crds := fs.String("crds", "none", "CRD sets to install: all (= kubeblocks-1.0,vm-operator), none, or a comma list of kubeblocks-0.9, kubeblocks-1.0, vm-operator")
	crdsDir := fs.String("crds-dir", os.Getenv("KCP_CRDS_DIR"), "directory holding kubeblocks-0.9/, kubeblocks-1.0/, victoriametrics-operator/")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("--dir is required")
	}
	sets, err := cp.ParseCRDSets(*crds)
	if err != nil {
		return err
	}
	if len(sets) > 0 && *crdsDir == "" {
		exe, _ := os.Executable()
		*crdsDir = filepath.Join(filepath.Dir(exe), "..", "crds") // test/cluster/crds beside bin/
	}
	portSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "port" {
			portSet = true
		}
	})
	return cp.Serve(cp.Options{Dir: *dir, Port: *port, PortSet: portSet && *port != 0, CRDSets: sets, CRDsDir: strings.TrimSpace(*crdsDir)})
}
