package cp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/sets"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
)

// freePort returns a currently free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startEtcd starts an embedded single-member etcd with its data in dataDir and
// returns its client URL.
func startEtcd(dataDir string) (*embed.Etcd, string, error) {
	cport, err := freePort()
	if err != nil {
		return nil, "", err
	}
	pport, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "kcp"
	cfg.Dir = dataDir
	curl, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", cport))
	purl, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", pport))
	cfg.ListenClientUrls = []url.URL{*curl}
	cfg.AdvertiseClientUrls = []url.URL{*curl}
	cfg.ListenPeerUrls = []url.URL{*purl}
	cfg.AdvertisePeerUrls = []url.URL{*purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	cfg.UnsafeNoFsync = true // throw-away test data
	cfg.QuotaBackendBytes = 2 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		return nil, "", fmt.Errorf("etcd did not become ready within 60s")
	}
	return e, curl.String(), nil
}

// apiserverFlags are the kube-apiserver command-line flags kcp runs with.
func apiserverFlags(p *PKI, etcdURL string, port int, dataDir string) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(dataDir, "apiserver-certs"),
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.ClientCACert,
		"--token-auth-file=" + p.TokenFile,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.SAKey,
		"--service-account-signing-key-file=" + p.SAKey,
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		// No node-lifecycle controller runs to clear the not-ready taint; the
		// kubelet stand-in keeps its node Ready itself.
		"--disable-admission-plugins=TaintNodesByCondition",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--storage-backend=etcd3",
		"--event-ttl=1h",
	}
}

// runAPIServer configures kube-apiserver from flags exactly as its command
// would, and runs it until ctx ends. It returns once the server is built; errors
// from running are sent to errCh.
func runAPIServer(ctx context.Context, flags []string, listener net.Listener, pp *podProxy, errCh chan<- error) error {
	s := apiserveroptions.NewServerRunOptions()
	fs := pflag.NewFlagSet("kube-apiserver", pflag.ContinueOnError)
	for _, f := range s.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(flags); err != nil {
		return fmt.Errorf("kube-apiserver flags: %w", err)
	}
	if listener != nil {
		// Bound early by Serve, so two control planes cannot race for a port.
		s.SecureServing.Listener = listener
		s.SecureServing.BindPort = listener.Addr().(*net.TCPAddr).Port
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver complete: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	config, err := apiserverapp.NewConfig(completed)
	if err != nil {
		return fmt.Errorf("kube-apiserver config: %w", err)
	}
	if pp != nil {
		// The aggregator is the outermost server: its handler chain runs
		// authentication and authorization for every request.
		orig := config.Aggregator.GenericConfig.BuildHandlerChainFunc
		config.Aggregator.GenericConfig.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
			return orig(pp.wrap(h), c)
		}
	}
	cc, err := config.Complete()
	if err != nil {
		return fmt.Errorf("kube-apiserver config complete: %w", err)
	}
	server, err := apiserverapp.CreateServerChain(cc)
	if err != nil {
		return fmt.Errorf("kube-apiserver server chain: %w", err)
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return fmt.Errorf("kube-apiserver prepare: %w", err)
	}
	go func() {
		err := prepared.Run(ctx)
		if err != nil {
			errCh <- fmt.Errorf("kube-apiserver: %w", err)
		} else {
			errCh <- nil
		}
	}()
	return nil
}

// disabledControllers are the kube-controller-manager controllers that need
// real nodes, a cloud, or volume plugins; everything else runs.
var disabledControllers = []string{
	"node-ipam-controller",
	"node-lifecycle-controller",
	"cloud-node-lifecycle-controller",
	"service-lb-controller",
	"node-route-controller",
	"persistentvolume-attach-detach-controller",
	"persistentvolume-expander-controller",
}

func kcmFlags(kubeconfig string, p *PKI) []string {
	known := sets.New(kcmapp.KnownControllers()...)
	ctrls := []string{"*"}
	for _, c := range disabledControllers {
		if known.Has(c) {
			ctrls = append(ctrls, "-"+c)
		}
	}
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--controllers=" + strings.Join(ctrls, ","),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.SAKey,
		"--root-ca-file=" + p.CACert,
		"--cluster-signing-cert-file=" + p.ClientCACert,
		"--cluster-signing-key-file=" + p.ClientCAKey,
		"--secure-port=0",
		"--cluster-name=kcp",
		"--profiling=false",
		"--concurrent-statefulset-syncs=5",
		"--concurrent-deployment-syncs=5",
		"--concurrent-replicaset-syncs=5",
	}
}

// runKCM configures kube-controller-manager from flags as its command would and
// runs it until ctx ends.
func runKCM(ctx context.Context, flags []string, errCh chan<- error) error {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	all, disabled, aliases := kcmapp.KnownControllers(), kcmapp.ControllersDisabledByDefault(), kcmapp.ControllerAliases()
	named := s.Flags(all, disabled, aliases)
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(flags); err != nil {
		return fmt.Errorf("kube-controller-manager flags: %w", err)
	}
	s.ParsedFlags = &named
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return fmt.Errorf("kube-controller-manager config: %w", err)
	}
	go func() {
		err := kcmapp.Run(ctx, c.Complete())
		if err != nil && ctx.Err() == nil {
			errCh <- fmt.Errorf("kube-controller-manager: %w", err)
		}
	}()
	return nil
}

func logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	klog.InfoS("kcp: " + msg)
	fmt.Fprintf(os.Stderr, "kcp: %s\n", msg)
}
