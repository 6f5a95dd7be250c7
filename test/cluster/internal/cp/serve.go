// Package cp runs a local Kubernetes control plane in one process: embedded
// etcd, kube-apiserver, kube-controller-manager, plus the kubelet and KubeBlocks
// stand-ins.
package cp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/version"
	"sigs.k8s.io/yaml"

	"vmsync/test/cluster/internal/kubeblocks"
	"vmsync/test/cluster/internal/kubelet"
)

// Options for Serve.
type Options struct {
	Dir      string
	Port     int  // 0: 6443, or a free port if 6443 is taken
	PortSet  bool // Port was given explicitly: a busy port is an error
	CRDSets  []string
	CRDsDir  string
	NodeName string
}

// CRD sets that can be installed, by name, and the directory under CRDsDir.
var crdSetDirs = map[string]string{
	"kubeblocks-0.9": "kubeblocks-0.9",
	"kubeblocks-1.0": "kubeblocks-1.0",
	"vm-operator":    "victoriametrics-operator",
}

// ParseCRDSets expands a --crds value ("all", "none", or a comma list).
func ParseCRDSets(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "none" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		var add []string
		switch s {
		case "":
			continue
		case "all":
			add = []string{"kubeblocks-1.0", "vm-operator"}
		case "kubeblocks-0.9", "kubeblocks-1.0", "vm-operator":
			add = []string{s}
		default:
			return nil, fmt.Errorf("unknown CRD set %q (want all, kubeblocks-0.9, kubeblocks-1.0, vm-operator)", s)
		}
		for _, a := range add {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	if seen["kubeblocks-0.9"] && seen["kubeblocks-1.0"] {
		return nil, errors.New("kubeblocks-0.9 and kubeblocks-1.0 CRDs both define clusters/components.apps.kubeblocks.io and cannot share one control plane; start a second control plane for the other version")
	}
	return out, nil
}

// Serve runs the control plane until SIGTERM/SIGINT.
func Serve(o Options) error {
	if o.NodeName == "" {
		o.NodeName = "kcp-node"
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, "ready"))
	if err := os.WriteFile(filepath.Join(dir, ".kcp"), []byte("kcp control plane directory; removed by test/cluster/down\n"), 0o644); err != nil {
		return err
	}
	// Port: bind it now and keep the listener for kube-apiserver.
	port := o.Port
	if port == 0 {
		port = 6443
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if o.PortSet {
			return fmt.Errorf("port %d on 127.0.0.1 is already in use (%v); pick another with --port or omit --port to use a free one", port, err)
		}
		listener, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		logf("port %d on 127.0.0.1 is in use; using free port %d instead", port, listener.Addr().(*net.TCPAddr).Port)
		port = listener.Addr().(*net.TCPAddr).Port
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, syscall.SIGTERM, syscall.SIGINT)

	start := time.Now()
	pki, err := GeneratePKI(dir)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	// Every start is a fresh cluster.
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(dataDir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Close()
	logf("etcd ready at %s (%s)", etcdURL, time.Since(start).Round(time.Millisecond))

	errCh := make(chan error, 4)
	pp := &podProxy{}
	if err := runAPIServer(ctx, apiserverFlags(pki, etcdURL, port, dataDir), listener, pp, errCh); err != nil {
		return err
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	adminCfg := &rest.Config{
		Host:            server,
		BearerToken:     pki.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: pki.CAPEM},
		QPS:             200,
		Burst:           400,
	}
	cs, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return err
	}
	pp.client.Store(cs)
	if err := waitReadyz(ctx, cs, errCh); err != nil {
		return err
	}
	logf("kube-apiserver ready at %s (%s)", server, time.Since(start).Round(time.Millisecond))

	if err := writeKubeconfigs(dir, server, pki); err != nil {
		return err
	}
	kcmKubeconfig := filepath.Join(pki.Dir, "kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, server, pki.CAPEM, &clientcmdapi.AuthInfo{Token: pki.KCMToken}); err != nil {
		return err
	}
	if err := runKCM(ctx, kcmFlags(kcmKubeconfig, pki), errCh); err != nil {
		return err
	}
	logf("kube-controller-manager started")

	kl, err := kubelet.New(adminCfg, kubelet.Config{NodeName: o.NodeName, StateDir: dataDir})
	if err != nil {
		return err
	}
	go func() {
		if err := kl.Run(ctx); err != nil && ctx.Err() == nil {
			errCh <- fmt.Errorf("kubelet stand-in: %w", err)
		}
	}()
	kb, err := kubeblocks.New(adminCfg)
	if err != nil {
		return err
	}
	go kb.Run(ctx)

	if len(o.CRDSets) > 0 {
		if err := installCRDs(ctx, adminCfg, o.CRDsDir, o.CRDSets); err != nil {
			return err
		}
		logf("CRD sets %v established", o.CRDSets)
	}
	// Wait for the controllers to work (the serviceaccount controller creates
	// default/default) and for the node to be Ready.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-errCh:
			return false, err
		default:
		}
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, nil
		}
		n, err := cs.CoreV1().Nodes().Get(ctx, o.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return fmt.Errorf("waiting for controllers and node: %w", err)
	}
	ready := map[string]any{
		"server":     server,
		"port":       port,
		"pid":        os.Getpid(),
		"version":    version.Get().GitVersion,
		"node":       o.NodeName,
		"crds":       o.CRDSets,
		"readyAfter": time.Since(start).Seconds(),
	}
	b, _ := json.MarshalIndent(ready, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "ready"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	logf("control plane ready at %s after %s (Kubernetes %s)", server, time.Since(start).Round(time.Millisecond), version.Get().GitVersion)

	select {
	case sig := <-sigCh:
		logf("received %s, shutting down", sig)
	case err := <-errCh:
		if err != nil {
			logf("component failed: %v", err)
			cancel()
			time.Sleep(time.Second)
			return err
		}
	}
	cancel()
	// Give servers a moment to stop watching before etcd goes away.
	time.Sleep(1500 * time.Millisecond)
	return nil
}

func waitReadyz(ctx context.Context, cs kubernetes.Interface, errCh chan error) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-errCh:
			if err == nil {
				err = errors.New("kube-apiserver stopped")
			}
			return false, err
		default:
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			last = err.Error() + ": " + string(body)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w (last: %s)", err, last)
	}
	return nil
}

func writeKubeconfig(path, server string, ca []byte, auth *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kcp"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = auth
	cfg.Contexts["kcp"] = &clientcmdapi.Context{Cluster: "kcp", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "kcp"
	return clientcmd.WriteToFile(*cfg, path)
}

func writeKubeconfigs(dir, server string, p *PKI) error {
	if err := writeKubeconfig(filepath.Join(dir, "kubeconfig"), server, p.CAPEM, &clientcmdapi.AuthInfo{Token: p.AdminToken}); err != nil {
		return err
	}
	if err := writeKubeconfig(filepath.Join(dir, "kubeconfig-cert"), server, p.CAPEM, &clientcmdapi.AuthInfo{
		ClientCertificate: p.AdminCert, ClientKey: p.AdminKey}); err != nil {
		return err
	}
	return writeKubeconfig(filepath.Join(dir, "kubeconfig-cert-data"), server, p.CAPEM, &clientcmdapi.AuthInfo{
		ClientCertificateData: p.AdminCertPEM, ClientKeyData: p.AdminKeyPEM})
}

// installCRDs creates every CRD of the requested sets and waits until each is
// Established.
func installCRDs(ctx context.Context, cfg *rest.Config, crdsDir string, sets []string) error {
	c, err := apiextclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var names []string
	for _, set := range sets {
		sub, ok := crdSetDirs[set]
		if !ok {
			return fmt.Errorf("unknown CRD set %q", set)
		}
		d := filepath.Join(crdsDir, sub)
		files, err := filepath.Glob(filepath.Join(d, "*.yaml"))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("no CRD files in %s (set --crds-dir or KCP_CRDS_DIR)", d)
		}
		sort.Strings(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			var crd apiextv1.CustomResourceDefinition
			if err := yaml.Unmarshal(data, &crd); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				return fmt.Errorf("%s: not a CustomResourceDefinition", f)
			}
			_, err = c.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{FieldManager: "kcp"})
			if apierrors.IsAlreadyExists(err) {
				old, gerr := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
				if gerr != nil {
					return gerr
				}
				crd.ResourceVersion = old.ResourceVersion
				_, err = c.ApiextensionsV1().CustomResourceDefinitions().Update(ctx, &crd, metav1.UpdateOptions{FieldManager: "kcp"})
			}
			if err != nil {
				return fmt.Errorf("install CRD %s from %s: %w", crd.Name, f, err)
			}
			names = append(names, crd.Name)
		}
	}
	for _, n := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not Established: %w", n, err)
		}
	}
	// Discovery must list the new resources before clients (and the
	// KubeBlocks stand-in) use them.
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, v := range crd.Spec.Versions {
				if !v.Served {
					continue
				}
				rl, err := c.Discovery().ServerResourcesForGroupVersion(crd.Spec.Group + "/" + v.Name)
				if err != nil {
					return false, nil
				}
				found := false
				for _, r := range rl.APIResources {
					if r.Name == crd.Spec.Names.Plural {
						found = true
					}
				}
				if !found {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// Version is the Kubernetes version kcp was built from.
func Version() string {
	v := version.Get()
	return fmt.Sprintf("kcp (Kubernetes %s, %s)", v.GitVersion, v.GoVersion)
}
