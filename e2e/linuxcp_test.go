package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softnet/softnet/api"
	"github.com/softnet/softnet/internal/netns"
)

// lcpTopo is the linux_cp lab: host A (10.0.1.2) on wan0, host B
// (10.0.2.2) on wan1, host C (10.0.3.2) on wan2 of router namespace R,
// whose kernel interfaces carry softnet's names and addresses (softnet
// runs in R on them, and mirrors R's main table).
type lcpTopo struct {
	R, A, B, C string
}

func newLCPTopo(t *testing.T) lcpTopo {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("sn-lcp-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)
	tp := lcpTopo{R: id + "-r", A: id + "-a", B: id + "-b", C: id + "-c"}
	for _, ns := range []string{tp.R, tp.A, tp.B, tp.C} {
		if err := netns.Add(ctx, ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { netns.Delete(context.Background(), ns) })
	}
	for _, l := range []struct{ host, dev, rdev, haddr, raddr string }{
		{tp.A, "a0", "wan0", "10.0.1.2/24", "10.0.1.1/24"},
		{tp.B, "b0", "wan1", "10.0.2.2/24", "10.0.2.1/24"},
		{tp.C, "c0", "wan2", "10.0.3.2/24", "10.0.3.1/24"},
	} {
		if err := netns.AddVeth(ctx, netns.End{NS: l.host, Name: l.dev}, netns.End{NS: tp.R, Name: l.rdev}, 0); err != nil {
			t.Fatal(err)
		}
		lcpIP(t, l.host, "addr", "add", l.haddr, "dev", l.dev)
		lcpIP(t, tp.R, "addr", "add", l.raddr, "dev", l.rdev)
		if l.host != tp.A {
			lcpIP(t, l.host, "route", "add", "10.0.1.0/24", "via", strings.TrimSuffix(l.raddr, "/24"))
		}
	}
	lcpIP(t, tp.A, "route", "add", "default", "via", "10.0.1.1")
	lcpIP(t, tp.B, "addr", "add", "198.18.1.1/32", "dev", "lo")
	if err := netns.Sysctl(ctx, tp.R, "net.ipv4.ip_forward", "0"); err != nil { // softnet forwards, not R's kernel
		t.Fatal(err)
	}
	return tp
}

func lcpIP(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := netns.IP(context.Background(), append([]string{"-n", ns}, args...)...); err != nil {
		t.Fatalf("ip -n %s %s: %v %s", ns, strings.Join(args, " "), err, out)
	}
}

// waitRoute polls show routes until ok says its answer is right.
func waitRoute(t *testing.T, c *api.Client, q, what string, ok func(api.RouteMatch) bool) api.RouteMatch {
	t.Helper()
	var m api.RouteMatch
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m, err = c.Route(context.Background(), q); err == nil && ok(m) {
			return m
		}
	}
	t.Fatalf("show routes %s: %+v (%v), want %s", q, m, err, what)
	return m
}

// waitResolved polls show neighbors (20 s at most) until softnet has a MAC
// for each of addrs: a flow to a next hop still waiting for ARP is held
// (4 packets at most, the rest dropped), so flows counted out of its
// interface must start after that, not after a fixed pause.
func waitResolved(t *testing.T, c *api.Client, addrs ...string) {
	t.Helper()
	var ns []api.Neighbor
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ns, err = c.Neighbors(context.Background()); err != nil {
			continue
		}
		left := 0
		for _, a := range addrs {
			ok := false
			for _, n := range ns {
				ok = ok || n.Address == a && n.MAC != "" && n.State != "failed"
			}
			if !ok {
				left++
			}
		}
		if left == 0 {
			return
		}
	}
	t.Fatalf("softnet has no MAC for all of %v after 20 s: neighbours %+v (%v)", addrs, ns, err)
}

// udpFlows sends one UDP datagram per source port from host A to
// 198.18.2.(1+i%200): n flows.
func udpFlows(t *testing.T, a string, n int) {
	t.Helper()
	dsts := make([]netip.Prefix, 200) // 198.18.2.1 to .200, a flow each
	for k := range dsts {
		dsts[k] = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 2, byte(k)}), 32)
	}
	udpFlowsTo(t, a, dsts, n)
}

// TestLinuxCP (issue 15): softnet, running in namespace R with linux_cp,
// follows R's main table: a route there before it started is installed
// from the dump; routes added with ip route (single and multipath) are
// forwarded along, an ECMP route spreads flows over both next hops and
// drops the one whose link goes down; a delete removes the route; a burst
// of ip -batch changes into a tiny netlink buffer, made while softnet is
// stopped (SIGSTOP), overflows (ENOBUFS) and ends, after the resync, in
// softnet's FIB equal to the kernel's.
func TestLinuxCP(t *testing.T) {
	need(t)
	tp := newLCPTopo(t)
	lcpIP(t, tp.R, "route", "add", "198.18.9.0/24", "via", "10.0.2.2", "proto", "bgp")
	dir := t.TempDir()
	cfg := `interfaces:
  - {name: wan0, backend: afpacket, device: wan0, addresses: [10.0.1.1/24]}
  - {name: wan1, backend: afpacket, device: wan1, addresses: [10.0.2.1/24]}
  - {name: wan2, backend: afpacket, device: wan2, addresses: [10.0.3.1/24]}
linux_cp:
  interfaces: [wan0, wan1, wan2]
  rcvbuf: 4096
`
	if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startCLIRouter(t, dir, "r.yaml", tp.R)
	c := api.NewClient(r.Sock)
	ctx := context.Background()

	// From the dump at start.
	waitRoute(t, c, "198.18.9.1", "the bgp route of the dump", func(m api.RouteMatch) bool {
		return m.Found && m.Origin == "bgp" && m.Via == "10.0.2.2" && m.Interface == "wan1" && !m.Static
	})
	if out := r.ok(t, "show", "routes", "198.18.9.1"); !strings.Contains(out, "bgp") {
		t.Errorf("show routes 198.18.9.1 does not say bgp:\n%s", out)
	}

	// A single route, forwarded along.
	lcpIP(t, tp.R, "route", "add", "198.18.1.0/24", "via", "10.0.2.2")
	waitRoute(t, c, "198.18.1.1", "a boot route via 10.0.2.2", func(m api.RouteMatch) bool {
		return m.Found && m.Prefix == "198.18.1.0/24" && m.Origin == "boot" && m.Via == "10.0.2.2"
	})
	if p := ping(t, tp.A, "198.18.1.1", 3); p.Received == 0 {
		t.Fatalf("A cannot ping 198.18.1.1 (on B) along the mirrored route:\n%s", p.Output)
	}

	// Multipath: both next hops carry flows.
	lcpIP(t, tp.R, "route", "add", "198.18.2.0/24", "proto", "ospf", "nexthop", "via", "10.0.2.2", "nexthop", "via", "10.0.3.2")
	m := waitRoute(t, c, "198.18.2.1", "an ecmp route with 2 next hops", func(m api.RouteMatch) bool {
		return m.Found && m.Kind == "ecmp" && len(m.NextHops) == 2 && m.Origin == "ospf"
	})
	if out := r.ok(t, "show", "routes", "198.18.2.1"); !strings.Contains(out, "next hop") || !strings.Contains(out, "10.0.3.2") {
		t.Errorf("show routes of an ECMP route does not list its next hops:\n%s", out)
	}
	// Resolve both next hops first (the first packets wait for ARP).
	udpFlows(t, tp.A, 50)
	waitResolved(t, c, "10.0.2.2", "10.0.3.2")
	b0, c0 := iface(t, c, "wan1").TxPackets, iface(t, c, "wan2").TxPackets
	const flows = 400
	udpFlows(t, tp.A, flows)
	var db, dc uint64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		db, dc = iface(t, c, "wan1").TxPackets-b0, iface(t, c, "wan2").TxPackets-c0
		if db+dc >= flows {
			break
		}
	}
	if db+dc < flows || db < flows/5 || dc < flows/5 {
		t.Fatalf("%d flows over an ECMP route: %d out of wan1, %d out of wan2: want them spread over both (%+v)", flows, db, dc, m)
	}

	// C's link goes down: its next hop leaves the group at once.
	lcpIP(t, tp.C, "link", "set", "c0", "down")
	waitRoute(t, c, "198.18.2.1", "the next hop via wan2 not live, or gone", func(m api.RouteMatch) bool {
		if m.Kind != "ecmp" {
			return m.Via == "10.0.2.2"
		}
		for _, h := range m.NextHops {
			if h.Interface == "wan2" && h.Live {
				return false
			}
		}
		return true
	})
	b0, c0 = iface(t, c, "wan1").TxPackets, iface(t, c, "wan2").TxPackets
	udpFlows(t, tp.A, 100)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if db = iface(t, c, "wan1").TxPackets - b0; db >= 100 {
			break
		}
	}
	if dc = iface(t, c, "wan2").TxPackets - c0; db < 100 || dc != 0 {
		t.Errorf("wan2 down: 100 flows gave %d out of wan1, %d out of wan2; want all on wan1", db, dc)
	}
	lcpIP(t, tp.C, "link", "set", "c0", "up")

	// A delete removes the route.
	lcpIP(t, tp.R, "route", "del", "198.18.1.0/24")
	waitRoute(t, c, "198.18.1.1", "no route", func(m api.RouteMatch) bool { return !m.Found })

	// The burst: 4000 adds, 1000 of them deleted, 500 moved to C, into a
	// 4 KiB receive buffer.
	var sb strings.Builder
	pfx := func(i int) string { return fmt.Sprintf("198.19.%d.%d/32", i/256, i%256) }
	for i := range 4000 {
		fmt.Fprintf(&sb, "route add %s via 10.0.2.2 proto bgp\n", pfx(i))
	}
	for i := range 1000 {
		fmt.Fprintf(&sb, "route del %s\n", pfx(i))
	}
	for i := 1000; i < 1500; i++ {
		fmt.Fprintf(&sb, "route replace %s via 10.0.3.2 proto bgp\n", pfx(i))
	}
	batch := filepath.Join(dir, "burst")
	if err := os.WriteFile(batch, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// softnet stopped (SIGSTOP) during the burst, as a descheduled
	// router: its 4 KiB buffer overflows for certain.
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	lcpIP(t, tp.R, "-batch", batch)
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	equal := func() (bool, string) {
		for i := range 4000 {
			m, err := c.Route(ctx, pfx(i))
			if err != nil {
				return false, err.Error()
			}
			in, via := i >= 1000, "10.0.2.2"
			if i < 1500 {
				via = "10.0.3.2"
			}
			if got := m.Found && m.Prefix == pfx(i); got != in || (in && m.Via != via) {
				return false, fmt.Sprintf("%s: softnet has %+v, the kernel %v via %s", pfx(i), m, in, via)
			}
		}
		return true, ""
	}
	var why string
	ok := false
	for deadline := time.Now().Add(60 * time.Second); !ok && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ok, why = equal()
	}
	if !ok {
		t.Fatalf("after the burst softnet's FIB is not the kernel's: %s", why)
	}
	var st api.LinuxCP
	if !r.json(t, &st, "show", "linuxcp") {
		t.Fatal("show linuxcp --json failed")
	}
	if st.Overflows == 0 || st.Resyncs < 2 || !st.Synced {
		t.Errorf("show linuxcp: %+v: the burst into a 4 KiB buffer must have overflowed (ENOBUFS) and resynced", st)
	}
	if out := r.ok(t, "show", "linuxcp"); !strings.Contains(out, "overflows (ENOBUFS)") {
		t.Errorf("show linuxcp:\n%s", out)
	}
	// The route of the dump was never disturbed.
	if m, _ := c.Route(ctx, "198.18.9.1"); m.Origin != "bgp" || m.Via != "10.0.2.2" {
		t.Errorf("198.18.9.1 after the resync: %+v", m)
	}
	checkAllRan(t, "TestLinuxCP")
}
