package control_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/neigh"
)

// TestKernelNeighborForwardsWithoutARP (issue 15, linux_cp neighbours): a
// kernel neighbour becomes the next hop's entry at once, in one snapshot:
// softnet forwards to its MAC without an ARP request, ARP does not change
// it, and when the kernel deletes it softnet resolves the next hop itself
// again.
func TestKernelNeighborForwardsWithoutARP(t *testing.T) {
	l := newLab(t, true, false)
	pubs := l.Router.Stats().Publishes
	res := l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{{Iface: 1, Addr: dptest.HostB, MAC: macNew, State: "permanent"}}, nil)
	if res.Added != 1 || len(res.Errors) != 0 {
		t.Fatalf("ApplyKernelNeighbors: %+v, want 1 added", res)
	}
	if got := l.Router.Stats().Publishes - pubs; got != 1 {
		t.Fatalf("%d snapshots published for one batch, want 1", got)
	}
	e := neighbor(l, 1, dptest.HostB)
	if e == nil || e.State != neigh.Kernel || e.Source() != "kernel" || e.KernelState != "permanent" || e.MAC != macNew {
		t.Fatalf("kernel neighbour entry: %+v", e)
	}
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "through the kernel's neighbour"), macNew, dptest.R1MAC, remoteDst, 1)

	// ARP from the host with another MAC: the kernel's entry stands.
	l.Send(1, replyFromHostB(dptest.HostBMAC))
	l.Router.Publish()
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew || e.State != neigh.Kernel {
		t.Fatalf("kernel neighbour after an ARP reply with another MAC: %+v, want the kernel's", e)
	}
	l.Send(0, udpFrom(remoteDst, 2))
	wantForwarded(t, one(t, l, 1, "after the ARP reply"), macNew, dptest.R1MAC, remoteDst, 2)

	// The kernel's state changes, not its MAC: nothing to publish.
	pubs = l.Router.Stats().Publishes
	res = l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{{Iface: 1, Addr: dptest.HostB, MAC: macNew, State: "stale"}}, nil)
	if res.Changed != 1 || l.Router.Stats().Publishes != pubs {
		t.Fatalf("state change: %+v, %d publishes, want 1 changed and none", res, l.Router.Stats().Publishes-pubs)
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.KernelState != "stale" {
		t.Fatalf("after the state change: %+v", e)
	}

	// The kernel deletes it: softnet resolves the next hop itself.
	res = l.Router.ApplyKernelNeighbors(nil, []neigh.Key{{Iface: 1, Addr: dptest.HostB}})
	if res.Deleted != 1 {
		t.Fatalf("delete: %+v", res)
	}
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("entry after the kernel's delete: %+v", e)
	}
	l.Send(0, udpFrom(remoteDst, 3))
	wantARPRequest(t, one(t, l, 1, "after the kernel's delete"), dptest.Broadcast, dptest.HostB)
	l.Send(1, replyFromHostB(dptest.HostBMAC))
	wantForwarded(t, one(t, l, 1, "held packet"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 3)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Source() != "learned" {
		t.Fatalf("entry resolved by softnet: %+v", e)
	}
}

// TestKernelNeighborPrecedence: the kernel's entry replaces a learned one;
// a static one wins over the kernel's (which is remembered, shadowed) and,
// deleted, gives the address back to the kernel's; deleting the kernel's
// with softnet neighbor del removes it.
func TestKernelNeighborPrecedence(t *testing.T) {
	l := newLab(t, true, false)
	learnHostB(t, l)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Source() != "learned" {
		t.Fatalf("learned entry: %+v", e)
	}
	kn := control.KernelNeighbor{Iface: 1, Addr: dptest.HostB, MAC: macNew, State: "stale"}
	if res := l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{kn}, nil); res.Added != 1 {
		t.Fatalf("kernel over learned: %+v", res)
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Source() != "kernel" || e.MAC != macNew {
		t.Fatalf("kernel over learned: %+v", e)
	}
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "kernel over learned"), macNew, dptest.R1MAC, remoteDst, 1)

	// A static entry wins.
	if err := l.Router.AddNeighbor(1, dptest.HostB, dptest.HostBMAC); err != nil {
		t.Fatal(err)
	}
	if res := l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{kn}, nil); res.Shadowed != 1 || res.Added+res.Changed != 0 {
		t.Fatalf("kernel over static: %+v, want shadowed", res)
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Source() != "static" || e.MAC != dptest.HostBMAC {
		t.Fatalf("static after the kernel's: %+v", e)
	}
	l.Router.Publish()
	l.Send(0, udpFrom(remoteDst, 2))
	wantForwarded(t, one(t, l, 1, "static over kernel"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 2)

	// The static one deleted: the kernel's takes its place.
	if err := l.Router.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	l.Router.Publish()
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Source() != "kernel" || e.MAC != macNew {
		t.Fatalf("after the static one's delete: %+v, want the kernel's back", e)
	}
	l.Send(0, udpFrom(remoteDst, 3))
	wantForwarded(t, one(t, l, 1, "kernel's back"), macNew, dptest.R1MAC, remoteDst, 3)

	// softnet neighbor del of the kernel's: gone (until the kernel's
	// next notification of it).
	if err := l.Router.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("the kernel's entry after softnet neighbor del: %+v", e)
	}

	// A kernel neighbour off the interface's subnets is refused.
	res := l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{{Iface: 1, Addr: netip.MustParseAddr("10.9.9.9"), MAC: macNew, State: "reachable"}}, nil)
	if len(res.Errors) != 1 {
		t.Fatalf("a neighbour on no subnet: %+v, want an error", res)
	}
}

// TestKernelAddrs (issue 15, linux_cp addresses): an address the kernel
// adds is the interface's (local, connected route) beside the config's,
// in one snapshot; one that overlaps another interface's subnet is
// refused; a reload keeps it, config save leaves it out; the kernel's
// delete removes it but never a configured address.
func TestKernelAddrs(t *testing.T) {
	r := kernelRouter(t)
	cfg0 := netip.MustParsePrefix("10.0.1.1/24")
	k4, k6 := netip.MustParsePrefix("10.0.5.1/24"), netip.MustParsePrefix("2001:db8:5::1/64")
	pubs := r.Stats().Publishes
	res := r.ApplyKernelAddrs(map[int][]netip.Prefix{0: {cfg0, k4, k6}, 1: {netip.MustParsePrefix("10.0.1.7/24")}})
	if res.Added != 2 || len(res.Errors) != 1 {
		t.Fatalf("ApplyKernelAddrs: %+v, want 2 added and 1 refused (10.0.1.7/24 on wan1 overlaps wan0)", res)
	}
	if got := r.Stats().Publishes - pubs; got != 1 {
		t.Fatalf("%d snapshots published for one batch, want 1", got)
	}
	addrs := func(i int) []netip.Prefix {
		var out []netip.Prefix
		for _, a := range r.Interfaces()[i].Addrs {
			out = append(out, a.Prefix())
		}
		return out
	}
	if got := addrs(0); !slices.Equal(got, []netip.Prefix{cfg0, k4, k6}) {
		t.Fatalf("wan0's addresses %v", got)
	}
	for _, c := range []struct{ q, origin string }{{"10.0.5.1", "local"}, {"10.0.5.9", "connected"}, {"2001:db8:5::1", "local"}, {"2001:db8:5::9", "connected"}} {
		if m, ok := r.Lookup(netip.MustParseAddr(c.q)); !ok || m.Origin != c.origin {
			t.Errorf("Lookup %s: %+v, want %s", c.q, m, c.origin)
		}
	}
	// config save: the config's only; a reload keeps the kernel's.
	st := r.RunningState()
	if !slices.Equal(st.Ifaces[0].Addrs, []netip.Prefix{cfg0}) {
		t.Fatalf("running state's wan0 addresses %v, want the config's only", st.Ifaces[0].Addrs)
	}
	if _, err := r.Reconfigure(st.Desired); err != nil {
		t.Fatal(err)
	}
	if got := addrs(0); !slices.Equal(got, []netip.Prefix{cfg0, k4, k6}) {
		t.Fatalf("wan0's addresses after a reload %v, want the kernel's kept", got)
	}
	// The kernel deletes all of wan0's, its configured one too.
	res = r.ApplyKernelAddrs(map[int][]netip.Prefix{0: nil})
	if res.Deleted != 2 || len(res.Errors) != 0 {
		t.Fatalf("delete: %+v", res)
	}
	if got := addrs(0); !slices.Equal(got, []netip.Prefix{cfg0}) {
		t.Fatalf("wan0's addresses after the kernel's delete %v, want the configured one only", got)
	}
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.5.1")); ok {
		t.Errorf("10.0.5.1 after its delete: %+v", m)
	}
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.1.1")); !ok || m.Origin != "local" {
		t.Errorf("the configured 10.0.1.1 after the kernel's delete: %+v", m)
	}
}

// TestKernelNeighborGoneLinuxARP: with arp_nd linux (Linux answers ARP
// for the router's addresses behind a host interface), a next hop whose
// kernel neighbour goes is resolved by softnet itself, the packet held
// meanwhile, as for one it never knew.
func TestKernelNeighborGoneLinuxARP(t *testing.T) {
	l := newLab(t, true, false)
	if err := l.Router.SetHostInterface(1, true); err != nil {
		t.Fatal(err)
	}
	l.Router.SetHostNeighbors(true)
	l.Router.SetHostSink(func(int, []byte) {})
	l.Router.ApplyKernelNeighbors([]control.KernelNeighbor{{Iface: 1, Addr: dptest.HostB, MAC: macNew, State: "reachable"}}, nil)
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "through the kernel's neighbour"), macNew, dptest.R1MAC, remoteDst, 1)
	l.Router.ApplyKernelNeighbors(nil, []neigh.Key{{Iface: 1, Addr: dptest.HostB}})
	l.Send(0, udpFrom(remoteDst, 2))
	wantARPRequest(t, one(t, l, 1, "after the kernel's delete"), dptest.Broadcast, dptest.HostB)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Incomplete {
		t.Fatalf("entry after the kernel's delete: %+v, want softnet's own, incomplete", e)
	}
	l.Send(1, replyFromHostB(dptest.HostBMAC))
	wantForwarded(t, one(t, l, 1, "held packet"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 2)
}
