// Package vmflags interprets a VictoriaMetrics container's resolved command
// line and environment the way VictoriaMetrics' own flag handling does
// (Go flag syntax, array flags, -envflag.enable, %{ENV} templates), and
// renders the flag metrics VictoriaMetrics exposes on /metrics.
package vmflags

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Default HTTP ports of the cluster components.
const (
	PortVMInsert  = 8480
	PortVMSelect  = 8481
	PortVMStorage = 8482
)

// Go-flag booleans among VictoriaMetrics flags: "-flag value" does not consume
// the next argument for these.
var boolFlags = map[string]bool{
	"envflag.enable": true, "disableRerouting": true, "disableReroutingOnUnavailable": true,
	"dropSamplesOnOverload": true, "search.denyPartialResponse": true, "tls": true, "version": true,
	"loggerDisableTimestamps": true, "memory.allowedBytes": false, "http.disableResponseCompression": true,
	"insert.disableRerouting": true, "clusternativeListen.disable": true, "dedup.minScrapeInterval": false,
	"denyQueriesOutsideRetention": true, "search.skipSlowReplicas": true, "pushmetrics.disableCompression": true,
	"enableTCP6": true, "selectNode.disableCompression": true, "vminsertConnsShutdownDuration": false,
	"storage.vminsertConnsShutdownDuration": false, "replicationFactor": false, "globalReplicationFactor": true,
	"search.disableCache": true, "search.resetCacheAuthKey": false, "fs.disableMmap": true,
	"internStringDisableCache": true, "internStringCacheExpireDuration": false,
}

// arrayFlags are flagutil.ArrayString-style flags: every occurrence appends and
// each value may carry a comma-separated list.
var arrayFlags = map[string]bool{
	"storageNode": true, "selectNode": true, "search.maxQueueDuration": false,
}

// Result is what a VictoriaMetrics process parsed from its command line/env.
type Result struct {
	// Values holds each flag's final value (arrays comma-joined).
	Values map[string]string
	// Set lists flags set explicitly (command line or envflag).
	Set map[string]bool
	// StorageNode is the parsed -storageNode list (nil when unset).
	StorageNode []string
	// Extra holds positional leftovers (VictoriaMetrics refuses to start on those).
	Extra []string
}

// splitArray splits an ArrayString value on commas that are not inside quotes
// or brackets, the way flagutil.ArrayString.Set does for plain values.
func splitArray(v string) []string {
	var out []string
	depth := 0
	var quote byte
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(v) {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '{':
			depth++
		case (c == ']' || c == '}') && depth > 0:
			depth--
		case c == ',' && depth == 0:
			out = append(out, unquote(v[start:i]))
			start = i + 1
		}
	}
	out = append(out, unquote(v[start:]))
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		if s[0] == '"' {
			if u, err := strconv.Unquote(s); err == nil {
				return u
			}
		}
		return s[1 : len(s)-1]
	}
	return s
}

// expandTemplates replaces %{NAME} with env[NAME] when defined
// (lib/envtemplate); an undefined name is left as written.
func expandTemplates(s string, env map[string]string) string {
	if !strings.Contains(s, "%{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		name := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	return b.String()
}

// Parse interprets args (the container's arguments after its entrypoint) and
// env like VictoriaMetrics does at start.
func Parse(args []string, env map[string]string) Result {
	r := Result{Values: map[string]string{}, Set: map[string]bool{}}
	arrays := map[string][]string{}
	set := func(name, val string) {
		r.Set[name] = true
		if arrayFlags[name] {
			arrays[name] = append(arrays[name], splitArray(val)...)
			r.Values[name] = strings.Join(arrays[name], ",")
			return
		}
		r.Values[name] = val
	}
	for i := 0; i < len(args); i++ {
		a := expandTemplates(args[i], env)
		if a == "--" {
			r.Extra = append(r.Extra, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			r.Extra = append(r.Extra, args[i:]...)
			break
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			r.Extra = append(r.Extra, args[i:]...)
			break
		}
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			set(name[:eq], name[eq+1:])
			continue
		}
		if boolFlags[name] {
			set(name, "true")
			continue
		}
		if i+1 < len(args) {
			i++
			set(name, expandTemplates(args[i], env))
		} else {
			set(name, "")
		}
	}
	if v := r.Values["envflag.enable"]; r.Set["envflag.enable"] && (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True") {
		prefix := r.Values["envflag.prefix"]
		for _, name := range knownEnvFlags {
			if r.Set[name] {
				continue
			}
			if v, ok := env[prefix+strings.ReplaceAll(name, ".", "_")]; ok {
				set(name, v)
			}
		}
	}
	if r.Set["storageNode"] {
		r.StorageNode = arrays["storageNode"]
	}
	return r
}

// knownEnvFlags are the flags looked up in the environment with -envflag.enable.
var knownEnvFlags = []string{"storageNode", "selectNode", "httpListenAddr", "replicationFactor", "dedup.minScrapeInterval", "retentionPeriod", "storageDataPath", "vminsertAddr", "vmselectAddr"}

// Role guesses the VictoriaMetrics cluster component of a container from its
// image, name or args.
func Role(c *corev1.Container) string {
	hay := strings.ToLower(c.Image + " " + c.Name + " " + strings.Join(c.Command, " "))
	for _, r := range []string{"vminsert", "vmselect", "vmstorage"} {
		if strings.Contains(hay, r) {
			return r
		}
	}
	return ""
}

// HTTPPort is the port a container's /metrics is served on by the kubelet
// stand-in: -httpListenAddr's port when given in args, else the containerPort
// named "http", else the component's default port if the container declares
// it, else the default for the image's component, else the first containerPort.
// Zero means none.
func HTTPPort(c *corev1.Container, args []string) int {
	for i, a := range args {
		n := strings.TrimLeft(a, "-")
		if len(n) == len(a) {
			continue
		}
		var v string
		if strings.HasPrefix(n, "httpListenAddr=") {
			v = strings.TrimPrefix(n, "httpListenAddr=")
		} else if n == "httpListenAddr" && i+1 < len(args) {
			v = args[i+1]
		} else {
			continue
		}
		if j := strings.LastIndexByte(v, ':'); j >= 0 {
			if p, err := strconv.Atoi(v[j+1:]); err == nil && p > 0 {
				return p
			}
		}
	}
	for _, p := range c.Ports {
		if p.Name == "http" {
			return int(p.ContainerPort)
		}
	}
	def := map[string]int{"vminsert": PortVMInsert, "vmselect": PortVMSelect, "vmstorage": PortVMStorage}[Role(c)]
	for _, p := range c.Ports {
		if int(p.ContainerPort) == def {
			return def
		}
	}
	if def != 0 {
		return def
	}
	if len(c.Ports) > 0 {
		return int(c.Ports[0].ContainerPort)
	}
	return 0
}

// Runtime is what a running process knows beyond its flags.
type Runtime struct {
	// Start is when the process started (vm_app_start_timestamp).
	Start time.Time
	// Reachable tells whether a storage node address can be dialled now; nil:
	// every node is.
	Reachable func(addr string) bool
	// Discover returns the nodes an automatic discovery entry (srv+NAME) finds
	// now; nil: none are resolved and the entry is reported as written.
	Discover func(entry string) []string
}

// WriteMetrics writes VictoriaMetrics-style flag metrics and a few standard
// series for one container, as VictoriaMetrics' own code does:
// lib/appmetrics (vm_app_version, vm_app_start_timestamp), lib/flagutil
// (flag{name, value, is_set}), app/vminsert/netstorage/insert_ctx.go and
// app/vmselect/netstorage (vm_rpc_vmstorage_is_reachable on vminsert, reading 0
// once a dial fails; vm_tcpdialer_addr_available from lib/netutil/tcpdialer.go
// on vmselect), in github.com/VictoriaMetrics/VictoriaMetrics.
func WriteMetrics(w io.Writer, role, version string, r Result, rt Runtime) {
	names := map[string]bool{"storageNode": true, "httpListenAddr": true, "envflag.enable": true, "envflag.prefix": true}
	for n := range r.Values {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	defaults := map[string]string{"httpListenAddr": fmt.Sprintf(":%d", map[string]int{"vminsert": PortVMInsert, "vmselect": PortVMSelect, "vmstorage": PortVMStorage}[role]), "envflag.enable": "false"}
	fmt.Fprintf(w, "vm_app_version{version=%q, short_version=%q} 1\n", role+"-"+version, version)
	if !rt.Start.IsZero() {
		fmt.Fprintf(w, "vm_app_start_timestamp %d\n", rt.Start.Unix())
	}
	if role == "vminsert" || role == "vmselect" {
		// With discovery (VictoriaMetrics Enterprise, lib/netutil), the nodes in
		// use are those the SRV records name, and the metrics are per node.
		var nodes []string
		for _, n := range r.StorageNode {
			if strings.HasPrefix(n, "srv+") && rt.Discover != nil {
				nodes = append(nodes, rt.Discover(n)...)
			} else {
				nodes = append(nodes, n)
			}
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			up := 1
			if rt.Reachable != nil && !rt.Reachable(n) {
				up = 0
			}
			if role == "vminsert" {
				fmt.Fprintf(w, "vm_rpc_vmstorage_is_reachable{name=%q, addr=%q} %d\n", role, n, up)
			} else {
				fmt.Fprintf(w, "vm_tcpdialer_addr_available{name=%q, addr=%q} %d\n", role, n, up)
			}
		}
	}
	for _, n := range sorted {
		v, ok := r.Values[n]
		if !ok {
			v = defaults[n]
		}
		lower := strings.ToLower(n)
		if strings.Contains(lower, "pass") || strings.Contains(lower, "authkey") || strings.Contains(lower, "key") && strings.Contains(lower, "auth") {
			v = "secret"
		}
		fmt.Fprintf(w, "flag{name=%q, value=%q, is_set=%q} 1\n", n, v, strconv.FormatBool(r.Set[n]))
	}
}

// WriteFlags writes the /flags page: one -name="value" line per set flag.
func WriteFlags(w io.Writer, r Result) {
	var sorted []string
	for n := range r.Values {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		v := r.Values[n]
		if lower := strings.ToLower(n); strings.Contains(lower, "pass") || strings.Contains(lower, "key") && strings.Contains(lower, "auth") {
			v = "secret" // lib/flagutil: secret flags are never shown
		}
		fmt.Fprintf(w, "-%s=%q\n", n, v)
	}
}
