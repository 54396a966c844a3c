package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
)

// afxdpConfig is examples/veth-router.yaml with both interfaces on the
// afxdp backend.
const afxdpConfig = `workers: 1
interfaces:
  - name: wan0
    backend: afxdp
    device: veth-r1
    addresses: [10.0.2.1/24]
  - name: lan0
    backend: afxdp
    device: veth-r0
    addresses: [10.0.1.1/24]
routes:
  - {prefix: 198.18.0.0/15, via: 10.0.2.2}
`

// TestAFXDPVeth: softnet run with two afxdp interfaces, between two hosts
// in namespaces (the veth topology of TestCLIVeth), forwards ping both
// ways and answers its own addresses; it logs the XDP and socket modes
// it chose, and show interfaces says afxdp; a link down and up (either
// end) is seen and forwarding resumes; the XDP program goes away when
// softnet is killed.
func TestAFXDPVeth(t *testing.T) {
	need(t)
	h1, rns, h2 := vethRouterTopo(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "afxdp.yaml"), []byte(afxdpConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startCLIRouter(t, dir, "afxdp.yaml", rns)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if p := ping(t, h1, "10.0.1.1", 1); p.Received == 1 {
			break
		}
		r.mustAlive(t, "start")
		if time.Now().After(deadline) {
			t.Fatalf("softnet on afxdp does not answer ping on 10.0.1.1 15 s after start:\n%s", r.Stderr())
		}
	}
	for _, c := range []struct{ name, ns, dst string }{
		{"h1→h2", h1, "10.0.2.2"}, {"h2→h1", h2, "10.0.1.2"}, {"h2→router", h2, "10.0.2.1"},
		{"h1→198.18.0.1 (routed)", h1, "198.18.0.1"},
	} {
		if p := ping(t, c.ns, c.dst, 5); p.Received < 4 || strings.Contains(p.Output, "DUP!") {
			t.Errorf("ping %s through softnet on afxdp: %d/%d\n%s", c.name, p.Received, p.Sent, p.Output)
		}
	}
	ifs := r.ifaces(t)
	for name, dev := range map[string]string{"lan0": "veth-r0", "wan0": "veth-r1"} {
		if i := ifs[name]; i.Backend != "afxdp" || i.Device != dev || i.Link != "up" || i.RxPackets == 0 || i.TxPackets == 0 {
			t.Errorf("%s: %+v", name, i)
		}
	}
	// Link down and up, of the router's device and of the host's end:
	// the link watcher marks the interface down and up again, and the
	// sockets, still bound, forward once it is back.
	ctx := context.Background()
	for _, c := range []struct{ ns, dev string }{{rns, "veth-r0"}, {h1, "veth-h1"}} {
		for _, st := range []string{"down", "up"} {
			if _, err := netns.IP(ctx, "-n", c.ns, "link", "set", c.dev, st); err != nil {
				t.Fatal(err)
			}
			want := st
			for deadline := time.Now().Add(10 * time.Second); r.ifaces(t)["lan0"].Link != want; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s %s: lan0's link is %q 10 s later, want %q", c.dev, st, r.ifaces(t)["lan0"].Link, want)
				}
			}
		}
		if c.ns == h1 { // the host lost its default route with its link
			_, _ = netns.IP(ctx, "-n", h1, "route", "replace", "default", "via", "10.0.1.1")
		}
		ok := false
		for deadline := time.Now().Add(10 * time.Second); !ok && time.Now().Before(deadline); {
			ok = ping(t, h1, "10.0.2.2", 1).Received == 1
		}
		if !ok {
			t.Errorf("after %s went down and up: no ping h1→h2 through softnet on afxdp in 10 s", c.dev)
		}
	}

	// The program is attached through a BPF link: it is on the devices
	// while softnet runs and goes away with the process, even killed.
	for _, dev := range []string{"veth-r0", "veth-r1"} {
		if out, _ := netns.IP(ctx, "-n", rns, "link", "show", dev); !strings.Contains(out, "xdp") {
			t.Errorf("%s while softnet runs: no XDP program:\n%s", dev, out)
		}
	}
	log := r.Stderr()
	for _, dev := range []string{"veth-r0", "veth-r1"} {
		if !strings.Contains(log, "afxdp port open") || !strings.Contains(log, "device="+dev) {
			t.Errorf("no start-up line saying %s's XDP and socket modes:\n%s", dev, clip(log, 3000))
		}
	}
	r.cmd.Process.Kill()
	<-r.done
	for _, dev := range []string{"veth-r0", "veth-r1"} {
		// The kernel drops the link when the dead process's files are
		// released: poll.
		var out string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if out, _ = netns.IP(context.Background(), "-n", rns, "link", "show", dev); !strings.Contains(out, "xdp") {
				break
			}
		}
		if strings.Contains(out, "xdp") {
			t.Errorf("%s after softnet was killed: the XDP program is still attached:\n%s", dev, out)
		}
	}
}
