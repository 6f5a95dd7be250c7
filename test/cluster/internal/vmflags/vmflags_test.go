package vmflags

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestParseStorageNode(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
		set  bool
	}{
		{"comma", []string{"-storageNode=a:8400,b:8400"}, nil, "a:8400,b:8400", true},
		{"repeated double dash", []string{"--storageNode=a:8400", "--storageNode=b:8400"}, nil, "a:8400,b:8400", true},
		{"separate value", []string{"-storageNode", "a:8400,b:8400", "-httpListenAddr", ":8480"}, nil, "a:8400,b:8400", true},
		{"mixed", []string{"-storageNode=a", "--storageNode", "b,c"}, nil, "a,b,c", true},
		{"unset", []string{"-httpListenAddr=:8480"}, nil, "", false},
		{"envflag", []string{"-envflag.enable", "-envflag.prefix=VM_"}, map[string]string{"VM_storageNode": "x:8400,y:8400"}, "x:8400,y:8400", true},
		{"envflag=true separate bool", []string{"--envflag.enable=true", "--envflag.prefix=VM_"}, map[string]string{"VM_storageNode": "x"}, "x", true},
		{"envflag no prefix", []string{"-envflag.enable"}, map[string]string{"storageNode": "z"}, "z", true},
		{"command line wins", []string{"-envflag.enable", "-envflag.prefix=VM_", "-storageNode=cli"}, map[string]string{"VM_storageNode": "env"}, "cli", true},
		{"envflag disabled", []string{"-envflag.prefix=VM_"}, map[string]string{"VM_storageNode": "env"}, "", false},
		{"template", []string{"-storageNode=%{HOST}:8400"}, map[string]string{"HOST": "h"}, "h:8400", true},
		{"template undefined", []string{"-storageNode=%{NOPE}:8400"}, nil, "%{NOPE}:8400", true},
		{"quoted", []string{`-storageNode="a,b",c`}, nil, "a,b,c", true},
		{"stops at positional", []string{"-storageNode=a", "pos", "-storageNode=b"}, nil, "a", true},
		{"empty entry kept", []string{"-storageNode=a,,b"}, nil, "a,,b", true},
	}
	for _, c := range cases {
		r := Parse(c.args, c.env)
		if got := r.Values["storageNode"]; got != c.want || r.Set["storageNode"] != c.set {
			t.Errorf("%s: storageNode = %q set=%v, want %q set=%v", c.name, got, r.Set["storageNode"], c.want, c.set)
		}
	}
}

func TestHTTPPort(t *testing.T) {
	c := &corev1.Container{Image: "victoriametrics/vminsert:v1", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9000}}}
	if p := HTTPPort(c, nil); p != 8480 {
		t.Errorf("vminsert default = %d", p)
	}
	if p := HTTPPort(c, []string{"--httpListenAddr=:9999"}); p != 9999 {
		t.Errorf("httpListenAddr = %d", p)
	}
	if p := HTTPPort(c, []string{"-httpListenAddr", "127.0.0.1:7777"}); p != 7777 {
		t.Errorf("httpListenAddr separate = %d", p)
	}
	c2 := &corev1.Container{Image: "busybox", Ports: []corev1.ContainerPort{{Name: "x", ContainerPort: 1234}, {Name: "http", ContainerPort: 8080}}}
	if p := HTTPPort(c2, nil); p != 8080 {
		t.Errorf("named http = %d", p)
	}
	c3 := &corev1.Container{Image: "busybox", Ports: []corev1.ContainerPort{{ContainerPort: 1234}}}
	if p := HTTPPort(c3, nil); p != 1234 {
		t.Errorf("first port = %d", p)
	}
	if p := HTTPPort(&corev1.Container{Image: "busybox"}, nil); p != 0 {
		t.Errorf("no port = %d", p)
	}
}

func TestWriteMetricsFormat(t *testing.T) {
	var b bytes.Buffer
	WriteMetrics(&b, "vminsert", "v1.110.0-cluster", Parse([]string{"-storageNode=b:8400,a:8400", "-httpAuth.password=pw"}, nil),
		Runtime{Start: time.Unix(1764000000, 0), Reachable: func(addr string) bool { return addr != "a:8400" }})
	out := b.String()
	for _, want := range []string{
		`flag{name="storageNode", value="b:8400,a:8400", is_set="true"} 1`,
		`flag{name="httpListenAddr", value=":8480", is_set="false"} 1`,
		`flag{name="httpAuth.password", value="secret", is_set="true"} 1`,
		`vm_rpc_vmstorage_is_reachable{name="vminsert", addr="b:8400"} 1`,
		`vm_rpc_vmstorage_is_reachable{name="vminsert", addr="a:8400"} 0`,
		`vm_app_start_timestamp 1764000000`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
