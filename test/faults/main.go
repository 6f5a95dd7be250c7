// faults: a fault-injecting HTTPS proxy for vmsync's tests. It sits on loopback between vmsync and the local
// API server (test/cluster), terminates TLS with a certificate of its own CA (DIR/ca.crt, what vmsync is told to
// trust) and forwards every request to the real server, unless a rule says otherwise. Rules are set per test
// through a small control API on a second loopback port, and every request is logged there so a test can see
// what vmsync sent (retries, paging) and which fault it got.
//
//	faults -upstream https://127.0.0.1:6443 -upstream-ca ca.crt -dir DIR [-http2=false]
//
// writes DIR/ca.crt, DIR/addr (the proxy, host:port) and DIR/control (the control API, host:port), then
// prints "faults ready https://ADDR control http://CONTROL". Control API:
//
//	PUT  /rules   a JSON list of rules (replaces the old ones)
//	GET  /log     the requests seen, as a JSON list
//	POST /reset   no rules, empty log
//
// A rule: {"fault": F, "method": "GET", "path": "regexp", "query": "regexp", "after": N, "times": N, ...}.
// It applies to matching requests (path and query as regular expressions; empty matches all) after skipping
// the first `after` ones, `times` times (0: every time). Request faults:
//
//	latency   wait `delay`, then forward
//	status    answer `status` (429, 500, 503, 410, ...) with a Kubernetes Status body, Retry-After: `retryAfter`
//	          when given; nothing reaches the server
//	reset     close the connection with a TCP RST instead of answering (every stream on it dies)
//	truncate  forward, then send the headers (full Content-Length) and only `bytes` bytes of the body, then reset
//	stall     forward, send the headers and `bytes` bytes of the body, then send nothing more for `delay`
//	corrupt   write bytes that are not a TLS record on the connection, then close it
//
// Connection faults ("tls-close", "tls-garbage", "tls-wrong-ca", "tls-expired", "tls-wrong-name") apply to new
// connections (method, path and query are ignored): close during the handshake, answer in plain text, or
// present a certificate of another CA, an expired one, or one for another name.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

type Rule struct {
	Fault      string `json:"fault"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Query      string `json:"query,omitempty"`
	After      int    `json:"after,omitempty"`
	Times      int    `json:"times,omitempty"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	Delay      string `json:"delay,omitempty"`
	Bytes      int    `json:"bytes,omitempty"`
	Message    string `json:"message,omitempty"`

	path, query *regexp.Regexp
	delay       time.Duration
	seen, fired int
}

type Entry struct {
	Time   string `json:"time"`
	Method string `json:"method"`
	URL    string `json:"url"`
	Fault  string `json:"fault"`
	Status int    `json:"status"`
	Proto  string `json:"proto"`
	Conn   int64  `json:"conn"`
}

type connKey struct{}

// trackedConn is a server-side connection with its raw TCP socket, so faults can reset or corrupt it.
type trackedConn struct {
	raw *net.TCPConn
	id  int64
}

type Proxy struct {
	upstream *url.URL
	client   *http.Client

	mu     sync.Mutex
	rules  []*Rule
	log    []Entry
	nextID int64

	good, wrongCA, expired, wrongName tls.Certificate
	http2                             bool
}

func (p *Proxy) setRules(rules []*Rule) error {
	for _, r := range rules {
		var err error
		if r.path, err = regexp.Compile(r.Path); err != nil {
			return fmt.Errorf("path: %w", err)
		}
		if r.query, err = regexp.Compile(r.Query); err != nil {
			return fmt.Errorf("query: %w", err)
		}
		if r.Delay != "" {
			if r.delay, err = time.ParseDuration(r.Delay); err != nil {
				return fmt.Errorf("delay: %w", err)
			}
		}
	}
	p.mu.Lock()
	p.rules = rules
	p.mu.Unlock()
	return nil
}

func isConnFault(f string) bool { return strings.HasPrefix(f, "tls-") }

// pick returns the first rule that fires for a request (r != nil) or a new connection (r == nil).
func (p *Proxy) pick(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if isConnFault(rule.Fault) != (r == nil) {
			continue
		}
		if r != nil {
			if rule.Method != "" && !strings.EqualFold(rule.Method, r.Method) {
				continue
			}
			if !rule.path.MatchString(r.URL.Path) || !rule.query.MatchString(r.URL.RawQuery) {
				continue
			}
		}
		rule.seen++
		if rule.seen <= rule.After || (rule.Times > 0 && rule.fired >= rule.Times) {
			continue
		}
		rule.fired++
		return rule
	}
	return nil
}

func (p *Proxy) record(r *http.Request, fault string, status int) {
	var id int64
	if c, ok := r.Context().Value(connKey{}).(*trackedConn); ok {
		id = c.id
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Entry{time.Now().UTC().Format(time.RFC3339Nano), r.Method, r.URL.RequestURI(), fault,
		status, r.Proto, id})
}

func (p *Proxy) recordConn(fault string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, Entry{Time: time.Now().UTC().Format(time.RFC3339Nano), Fault: fault})
}

var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te",
	"Trailer", "Proxy-Authenticate", "Proxy-Authorization"}

// forward sends r to the real server; the caller closes the response body.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	u := *p.upstream
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.ContentLength = r.ContentLength
	return p.client.Do(out)
}

func copyHeaders(w http.ResponseWriter, resp *http.Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, h := range hopHeaders {
		w.Header().Del(h)
	}
}

// reset closes the request's connection with an RST (SO_LINGER 0), killing every stream on it.
func reset(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(*trackedConn); ok {
		_ = c.raw.SetLinger(0)
		_ = c.raw.Close()
	}
	panic(http.ErrAbortHandler) // the server must not write anything more
}

func statusBody(code int, reason, message string) []byte {
	b, _ := json.Marshal(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code})
	return b
}

func reasonFor(code int) string {
	switch code {
	case 410:
		return "Expired"
	case 429:
		return "TooManyRequests"
	case 500:
		return "InternalError"
	case 503:
		return "ServiceUnavailable"
	case 504:
		return "Timeout"
	}
	return strings.ReplaceAll(http.StatusText(code), " ", "")
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rule := p.pick(r)
	fault := ""
	if rule != nil {
		fault = rule.Fault
	}
	switch fault {
	case "status":
		msg := rule.Message
		if msg == "" {
			msg = fmt.Sprintf("injected fault: %d %s", rule.Status, http.StatusText(rule.Status))
		}
		if rule.RetryAfter != "" {
			w.Header().Set("Retry-After", rule.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		p.record(r, fault, rule.Status)
		w.WriteHeader(rule.Status)
		_, _ = w.Write(statusBody(rule.Status, reasonFor(rule.Status), msg))
		return
	case "reset":
		p.record(r, fault, 0)
		reset(r)
	case "corrupt":
		p.record(r, fault, 0)
		if c, ok := r.Context().Value(connKey{}).(*trackedConn); ok {
			_, _ = c.raw.Write([]byte("\x17\x03\x03\x00\x10this is not a TLS record at all"))
		}
		reset(r)
	case "latency":
		select {
		case <-time.After(rule.delay):
		case <-r.Context().Done():
			p.record(r, fault+" (client gave up)", 0)
			return
		}
	}

	resp, err := p.forward(r)
	if err != nil {
		p.record(r, fault+" upstream error: "+err.Error(), 502)
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.record(r, fault, resp.StatusCode)
	copyHeaders(w, resp)

	switch fault {
	case "truncate", "stall":
		body, _ := io.ReadAll(resp.Body)
		n := rule.Bytes
		if n <= 0 || n >= len(body) {
			n = len(body) / 2
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body[:n])
		w.(http.Flusher).Flush()
		if fault == "truncate" {
			reset(r)
		}
		delay := rule.delay
		if delay == 0 {
			delay = time.Hour
		}
		select {
		case <-time.After(delay):
			_, _ = w.Write(body[n:])
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(resp.StatusCode)
	// Streamed (watches included), flushed as it comes.
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
		if err != nil {
			return
		}
	}
}

// --- connections and TLS ------------------------------------------------------------------------------------

type listener struct {
	net.Listener
	p    *Proxy
	conf *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		raw := c.(*net.TCPConn)
		if rule := l.p.pick(nil); rule != nil {
			l.p.recordConn(rule.Fault)
			go l.p.connFault(rule.Fault, raw)
			continue
		}
		return tls.Server(raw, l.conf), nil
	}
}

func (p *Proxy) connFault(fault string, raw *net.TCPConn) {
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	var cert tls.Certificate
	switch fault {
	case "tls-close":
		buf := make([]byte, 512)
		_, _ = raw.Read(buf) // the ClientHello, then a reset
		_ = raw.SetLinger(0)
		return
	case "tls-garbage":
		buf := make([]byte, 512)
		_, _ = raw.Read(buf)
		_, _ = raw.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		return
	case "tls-wrong-ca":
		cert = p.wrongCA
	case "tls-expired":
		cert = p.expired
	case "tls-wrong-name":
		cert = p.wrongName
	default:
		return
	}
	c := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	_ = c.Handshake() // the client is expected to refuse it
	_ = c.Close()
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &authority{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

func (a *authority) issue(names []string, ips []net.IP, notBefore, notAfter time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "faults"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     names,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// --- control API --------------------------------------------------------------------------------------------

func (p *Proxy) control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /rules", func(w http.ResponseWriter, r *http.Request) {
		var rules []*Rule
		if err := json.NewDecoder(r.Body).Decode(&rules); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := p.setRules(rules); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		b, _ := json.Marshal(p.log)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.rules, p.log = nil, nil
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func main() {
	upstream := flag.String("upstream", "", "URL of the real API server")
	upstreamCA := flag.String("upstream-ca", "", "CA file of the real API server")
	dir := flag.String("dir", "", "folder for ca.crt, addr and control")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	h2 := flag.Bool("http2", true, "offer HTTP/2 (as the API server does); false: HTTP/1.1 only")
	flag.Parse()
	if *upstream == "" || *dir == "" {
		log.Fatal("usage: faults -upstream URL -upstream-ca FILE -dir DIR")
	}
	up, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if *upstreamCA != "" {
		b, err := os.ReadFile(*upstreamCA)
		if err != nil {
			log.Fatal(err)
		}
		pool.AppendCertsFromPEM(b)
	}
	p := &Proxy{upstream: up, http2: *h2, client: &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: 32, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}

	ca, err := newCA("vmsync faults proxy CA")
	if err != nil {
		log.Fatal(err)
	}
	other, err := newCA("some other CA")
	if err != nil {
		log.Fatal(err)
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	now := time.Now()
	must := func(c tls.Certificate, err error) tls.Certificate {
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	p.good = must(ca.issue([]string{"localhost"}, loopback, now.Add(-time.Hour), now.Add(24*time.Hour)))
	p.wrongCA = must(other.issue([]string{"localhost"}, loopback, now.Add(-time.Hour), now.Add(24*time.Hour)))
	p.expired = must(ca.issue([]string{"localhost"}, loopback, now.Add(-48*time.Hour), now.Add(-24*time.Hour)))
	p.wrongName = must(ca.issue([]string{"wrong.example"}, nil, now.Add(-time.Hour), now.Add(24*time.Hour)))

	protos := []string{"http/1.1"}
	if *h2 {
		protos = []string{"h2", "http/1.1"}
	}
	conf := &tls.Config{Certificates: []tls.Certificate{p.good}, NextProtos: protos}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	cln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler:  p,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			p.mu.Lock()
			p.nextID++
			id := p.nextID
			p.mu.Unlock()
			raw, _ := c.(*tls.Conn).NetConn().(*net.TCPConn)
			return context.WithValue(ctx, connKey{}, &trackedConn{raw: raw, id: id})
		},
	}
	if !*h2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(*dir, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("ca.crt", ca.pem)
	write("other-ca.crt", other.pem)
	write("control", []byte(cln.Addr().String()))
	write("addr", []byte(ln.Addr().String()))
	go func() { log.Fatal(http.Serve(cln, p.control())) }()
	fmt.Printf("faults ready https://%s control http://%s\n", ln.Addr(), cln.Addr())
	os.Stdout.Sync()
	// The listener hands out *tls.Conn (after the connection faults), so the server negotiates h2 by ALPN as
	// ServeTLS would.
	log.Fatal(srv.Serve(&listener{Listener: ln, p: p, conf: conf}))
}
