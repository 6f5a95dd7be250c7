package kubelet

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ipAlloc hands out pod IPs in 127.B.0.0/16 (B unique per running control
// plane on this machine, guarded by an flock'd file), so every pod has its own
// loopback address and its container ports can be served on podIP:port.
type ipAlloc struct {
	mu    sync.Mutex
	block int
	next  int
	used  map[string]bool
	lock  *os.File
}

func newIPAlloc() (*ipAlloc, error) {
	dir := filepath.Join(os.TempDir(), "kcp-ipblocks")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	for b := 100; b < 250; b++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", b)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		fmt.Fprintf(f, "%d\n", os.Getpid())
		return &ipAlloc{block: b, used: map[string]bool{}, lock: f}, nil
	}
	return nil, fmt.Errorf("no free 127.B.0.0/16 pod IP block (all of 127.100-249 are held by other kcp processes)")
}

// Allocate returns an unused IP, skipping ones that cannot be bound.
func (a *ipAlloc) Allocate() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tries := 0; tries < 65000; tries++ {
		a.next++
		n := a.next % 65024
		ip := fmt.Sprintf("127.%d.%d.%d", a.block, 1+n/254, 1+n%254)
		if a.used[ip] {
			continue
		}
		// Make sure nothing else listens there already.
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			continue
		}
		l.Close()
		a.used[ip] = true
		return ip, nil
	}
	return "", fmt.Errorf("pod IP block 127.%d.0.0/16 exhausted", a.block)
}

func (a *ipAlloc) Release(ip string) {
	a.mu.Lock()
	delete(a.used, ip)
	a.mu.Unlock()
}
