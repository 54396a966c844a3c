package e2e

import (
	"context"
	"fmt"
	"github.com/softnet/softnet/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// binary is the softnet binary TestMain builds, "" when not root.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "softnet-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "softnet")
		cmd := exec.Command("go", "build", "-o", binary, "github.com/softnet/softnet/cmd/softnet")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building softnet: %v\n%s", err, out)
			return 1
		}
		lab.CleanStale(context.Background())
	}
	return m.Run()
}

// need skips the test when not root (fails it under CI=true) and fails it
// when a tool is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	if err := lab.CheckRoot(); err != nil {
		testenv.Need(t, false, "end-to-end tests need root (network namespaces, veth, AF_PACKET): run `sudo go test ./e2e`")
	}
	if err := lab.CheckTools(append([]string{"ip", "ping"}, tools...)...); err != nil {
		t.Fatal(err)
	}
}

// router builds the lab's namespaces and starts softnet as their router;
// both are removed when the test ends (softnet's output is logged if the
// test failed).
func router(t *testing.T) (*lab.Topology, *lab.Softnet) {
	t.Helper()
	return routerWith(t, lab.New, 0)
}

// routerWith is router with the topology newTopo builds (lab.New or
// lab.NewOffloadsOff) on links of mtu bytes.
func routerWith(t *testing.T, newTopo func(context.Context, int) (*lab.Topology, error), mtu int) (*lab.Topology, *lab.Softnet) {
	t.Helper()
	return routerOn(t, newTopo, mtu, "afpacket")
}

// backends are the backends the forwarding tests run softnet on, each in
// a subtest named by it.
var backends = []string{"afpacket", "afxdp"}

// routerOn is routerWith with softnet on backend ("afpacket" or "afxdp";
// on afxdp the veths' offloads are turned off, as softnet lab does: an
// AF_XDP frame carries no partial-checksum or GSO metadata).
func routerOn(t *testing.T, newTopo func(context.Context, int) (*lab.Topology, error), mtu int, backend string) (*lab.Topology, *lab.Softnet) {
	t.Helper()
	ctx := context.Background()
	topo, err := newTopo(ctx, mtu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Close(); err != nil {
			t.Error(err)
		}
	})
	topo.Backend = backend
	if backend == "afxdp" && !topo.OffloadsOff {
		if err := topo.DisableAllOffloads(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sn, err := topo.StartSoftnet(ctx, binary, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, err := sn.Stop()
		if err != nil {
			t.Errorf("softnet: %v", err)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("softnet output:\n%s", out)
		}
	})
	return topo, sn
}

func ping(t *testing.T, ns string, dst string, count int, extra ...string) lab.Ping {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := lab.RunPing(ctx, ns, dst, count, 50*time.Millisecond, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestForwarding: one softnet between hosts A and B, real tools through
// it, on each backend.
func TestForwarding(t *testing.T) {
	need(t, "iperf3")
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testForwarding(t, backend) })
	}
}

func testForwarding(t *testing.T, backend string) {
	topo, _ := routerOn(t, lab.New, 0, backend)
	a, b := lab.AddrA.Addr().String(), lab.AddrB.Addr().String()
	ra := lab.AddrRA.Addr().String()

	// The config has no static neighbours: softnet resolved host B, and
	// answered host B's request for its own address, with ARP.
	t.Run("arp", func(t *testing.T) {
		if p := ping(t, topo.A, b, 3); p.Received == 0 {
			t.Fatalf("no reply from B:\n%s", p.Output)
		}
		out, err := netns.IP(context.Background(), "-n", topo.B, "neigh", "show", lab.AddrRB.Addr().String(), "dev", lab.DevB)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "lladdr "+lab.MACSoftnetB) {
			t.Fatalf("host B's neighbour entry for the router: want lladdr %s, got %q", lab.MACSoftnetB, out)
		}
		out, _ = netns.IP(context.Background(), "-n", topo.A, "neigh", "show", ra, "dev", lab.DevA)
		if !strings.Contains(out, "lladdr "+lab.MACSoftnetA) {
			t.Fatalf("host A's neighbour entry for the router: want lladdr %s, got %q", lab.MACSoftnetA, out)
		}
	})

	t.Run("ping", func(t *testing.T) {
		for _, c := range []struct{ name, ns, dst string }{
			{"A→B", topo.A, b}, {"B→A", topo.B, a}, {"A→router", topo.A, ra}, {"B→router", topo.B, lab.AddrRB.Addr().String()},
		} {
			p := ping(t, c.ns, c.dst, 10)
			t.Logf("%s: %d/%d, rtt avg %.3f ms", c.name, p.Received, p.Sent, p.Avg)
			// A reply or two may be late on a loaded machine; most must come.
			if p.Received < 8 {
				t.Errorf("ping %s: %d of %d replies:\n%s", c.name, p.Received, p.Sent, p.Output)
			}
		}
	})

	// RFC 1812 5.3.1: a packet whose TTL would reach 0 is dropped and
	// answered with ICMP Time Exceeded from the router.
	t.Run("ttl-expiry", func(t *testing.T) {
		line, err := lab.TTLProbe(context.Background(), topo)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(line)
	})

	// RFC 1812 5.2.7.1: no route → ICMP Destination Unreachable, code 0
	// (net unreachable), from the router.
	t.Run("no-route", func(t *testing.T) {
		p := ping(t, topo.A, lab.NoRoute.String(), 1)
		if !strings.Contains(p.Output, "From "+ra) || !strings.Contains(p.Output, "Destination Net Unreachable") {
			t.Fatalf("ping %s (no route on the router): want \"From %s ... Destination Net Unreachable\", got:\n%s", lab.NoRoute, ra, p.Output)
		}
	})

	// The router follows its device's MTU: lower rb's, and a DF packet
	// that no longer fits gets "fragmentation needed" with the new MTU
	// (RFC 1191) from softnet, instead of vanishing in the kernel.
	t.Run("mtu-change", func(t *testing.T) {
		ctx := context.Background()
		if _, err := netns.IP(ctx, "-n", topo.R, "link", "set", lab.DevRB, "mtu", "1200"); err != nil {
			t.Fatal(err)
		}
		defer netns.IP(ctx, "-n", topo.R, "link", "set", lab.DevRB, "mtu", "1500")
		var p lab.Ping
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			if p = ping(t, topo.A, b, 1, "-M", "do", "-s", "1300"); strings.Contains(p.Output, "mtu = 1200") {
				return
			}
		}
		t.Fatalf("DF ping of 1328 bytes over a 1200-byte link: want \"Frag needed and DF set (mtu = 1200)\", got:\n%s", p.Output)
	})

	t.Run("iperf3-tcp", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := lab.RunIperf(ctx, topo.A, topo.B, b, 3*time.Second, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("TCP A→B: %.2f Gbit/s, %d retransmits", r.Gbps, r.Retransmits)
		if r.Gbps <= 0 {
			t.Fatalf("TCP A→B: %.3f Gbit/s", r.Gbps)
		}
	})
}

// TestInterfaceDeleted deletes host B's veth (and so the router's rb)
// under a flood and pings, then re-creates it: softnet keeps running,
// keeps answering on its other interface, counts what it could not send,
// and forwards again once the device is back; on each backend.
func TestInterfaceDeleted(t *testing.T) {
	need(t, "trafgen", "taskset")
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) { testInterfaceDeleted(t, backend) })
	}
}

func testInterfaceDeleted(t *testing.T, backend string) {
	topo, sn := routerOn(t, lab.New, 0, backend)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, ra := lab.AddrB.Addr().String(), lab.AddrRA.Addr().String()
	if p := ping(t, topo.A, b, 3); p.Received == 0 {
		t.Fatalf("no reply from B before the test:\n%s", p.Output)
	}

	// Load: a 64-byte flood from A to B for the whole test.
	flood := make(chan error, 1)
	fctx, stopFlood := context.WithCancel(ctx)
	defer stopFlood()
	go func() {
		_, err := topo.RunFlood(fctx, 8*time.Second, 64, 0)
		flood <- err
	}()
	time.Sleep(time.Second)

	if err := topo.DeleteB(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // longer than run's status interval: the loss is seen and logged
	if !sn.Alive() {
		t.Fatalf("softnet exited when rb was deleted:\n%s", sn.Output())
	}
	if p := ping(t, topo.A, ra, 10); p.Received == 0 {
		t.Fatalf("softnet does not answer on ra while rb is gone:\n%s", p.Output)
	}
	if p := ping(t, topo.A, b, 5); p.Received != 0 {
		t.Fatalf("B answered while its veth was deleted:\n%s", p.Output)
	}

	if err := topo.RestoreB(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := ping(t, topo.A, b, 3)
		if p.Received > 0 {
			break
		}
		if time.Now().After(deadline) || !sn.Alive() {
			t.Fatalf("traffic does not resume 20 s after rb was re-created (softnet alive: %v):\n%s\nsoftnet:\n%s", sn.Alive(), p.Output, sn.Output())
		}
	}
	stopFlood()
	if err := <-flood; err != nil && ctx.Err() == nil && fctx.Err() == nil {
		t.Errorf("flood: %v", err)
	}
	if !sn.Alive() {
		t.Fatal("softnet exited")
	}
	out, err := sn.Stop()
	if err != nil {
		t.Fatalf("softnet: %v\n%s", err, out)
	}
	if !strings.Contains(out, "interface down") {
		t.Errorf("softnet did not log rb going down:\n%s", out)
	}
	c := sn.Counters()
	t.Logf("softnet drops: %v; interfaces: %+v", c.Drops, c.Interfaces)
	var drops uint64
	for _, n := range c.Drops {
		drops += n
	}
	if drops == 0 {
		t.Errorf("softnet counted no drop while rb was gone under a flood: %+v", c)
	}
}
