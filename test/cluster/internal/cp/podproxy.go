package cp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes"
)

// podProxy serves GET/POST .../pods/NAME[:PORT]/proxy/... for pods whose IP is
// a kcp loopback pod IP. The real pod proxy refuses loopback addresses
// ("address not allowed"), so kcp wraps the kube-apiserver's inner handler:
// requests reach this handler only after the real authentication, audit and
// authorization (RBAC "pods/proxy") filters, exactly as for the real one.
// Everything else goes on to kube-apiserver unchanged.
type podProxy struct {
	client atomic.Pointer[kubernetes.Clientset]
}

func (pp *podProxy) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, ok := request.RequestInfoFrom(r.Context())
		cs := pp.client.Load()
		if !ok || cs == nil || !info.IsResourceRequest || info.APIGroup != "" || info.Resource != "pods" || info.Subresource != "proxy" || info.Namespace == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, name, port := "http", info.Name, ""
		parts := strings.Split(info.Name, ":")
		switch len(parts) {
		case 2:
			name, port = parts[0], parts[1]
		case 3:
			scheme, name, port = parts[0], parts[1], parts[2]
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		pod, err := cs.CoreV1().Pods(info.Namespace).Get(ctx, name, metav1.GetOptions{})
		cancel()
		if err != nil || scheme != "http" {
			next.ServeHTTP(w, r)
			return
		}
		ip := net.ParseIP(pod.Status.PodIP)
		if ip == nil || !ip.IsLoopback() {
			next.ServeHTTP(w, r)
			return
		}
		if port == "" {
			port = "80"
		}
		// Path after .../proxy
		rest := ""
		if len(info.Parts) > 3 {
			rest = strings.Join(info.Parts[3:], "/")
		}
		if strings.HasSuffix(r.URL.Path, "/") && rest != "" {
			rest += "/"
		}
		target := &url.URL{Scheme: "http", Host: net.JoinHostPort(pod.Status.PodIP, port)}
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Scheme = target.Scheme
				pr.Out.URL.Host = target.Host
				pr.Out.URL.Path = "/" + rest
				pr.Out.URL.RawPath = ""
				pr.Out.URL.RawQuery = r.URL.RawQuery
				pr.Out.Host = target.Host
				pr.Out.Header.Del("Authorization")
			},
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				status := apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach service: %v", err))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":%q,"reason":"ServiceUnavailable","code":503}`, status.ErrStatus.Message)
			},
		}
		rp.ServeHTTP(w, r)
	})
}
