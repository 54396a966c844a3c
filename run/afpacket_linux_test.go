package run

import (
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAFPacketVeth runs a router on two afpacket interfaces in a network
// namespace of its own, between two host namespaces, and pings through
// it: the config's devices, default MACs (the devices') and routes work
// end to end. It needs root and ip(8), and skips without them.
func TestAFPacketVeth(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "ip")
	if testing.Short() {
		t.Skip("network namespaces")
	}
	ns := fmt.Sprintf("snrun%d", os.Getpid())
	r, h1, h2 := ns+"r", ns+"a", ns+"b"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, n := range []string{r, h1, h2} {
		ip("netns", "add", n)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
	ip("-n", r, "link", "add", "veth-r0", "type", "veth", "peer", "name", "veth-h1", "netns", h1)
	ip("-n", r, "link", "add", "veth-r1", "type", "veth", "peer", "name", "veth-h2", "netns", h2)
	for _, c := range [][]string{
		{"-n", r, "link", "set", "veth-r0", "up"},
		{"-n", r, "link", "set", "veth-r1", "up"},
		{"-n", h1, "link", "set", "veth-h1", "up"},
		{"-n", h1, "addr", "add", "10.0.1.2/24", "dev", "veth-h1"},
		{"-n", h1, "route", "add", "default", "via", "10.0.1.1"},
		{"-n", h2, "link", "set", "veth-h2", "up"},
		{"-n", h2, "addr", "add", "10.0.2.2/24", "dev", "veth-h2"},
		{"-n", h2, "route", "add", "default", "via", "10.0.2.1"},
		{"-n", h2, "addr", "add", "198.18.0.1/32", "dev", "lo"},
	} {
		ip(c...)
	}
	dir := t.TempDir()
	src, err := os.ReadFile("../examples/veth-router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.Replace(string(src), "workers: 1", "workers: 2", 1))
	cfg := writeConfig(t, dir, string(src))

	// Start in the router's namespace: the sockets stay bound to it. The
	// goroutine keeps its thread locked and exits, so the runtime retires
	// the thread instead of reusing it in the wrong namespace.
	type result struct {
		r   *Router
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", r))
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			ch <- result{nil, err}
			return
		}
		rt, err := Start(cfg, Options{})
		ch <- result{rt, err}
	}()
	res := <-ch
	if res.err != nil {
		t.Fatal(res.err)
	}
	rt := res.r
	defer rt.Stop()
	st := rt.Status()
	// Two data queues (one per worker) and the ARP queue.
	if len(st) != 2 || !st[0].Up || !st[1].Up || st[0].Queues != 3 || st[0].MAC == ([6]byte{}) {
		t.Fatalf("status %+v", st)
	}
	out, err := exec.Command("ip", "netns", "exec", h1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("ping through the router: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ttl=63") {
		t.Errorf("ping replies did not cross the router (TTL 63):\n%s", out)
	}
	if err := rt.Stop(); err != nil {
		t.Fatal(err)
	}
	c := rt.Counters()
	if c.TxPackets[0] < 3 || c.TxPackets[1] < 3 {
		t.Errorf("tx %v", c.TxPackets)
	}
}
