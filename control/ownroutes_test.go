package control_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// kindOf is the adjacency kind the published snapshot's FIB gives dst.
func kindOf(l *dptest.Lab, dst string) dp.AdjKind {
	cfg := l.Router.Config().Load()
	return cfg.Adj[cfg.FIB.Lookup(u32(netip.MustParseAddr(dst)))].Kind
}

// pingR0 sends host A's echo request to the router's own address on if0
// and checks that the echo reply comes back (ip4-local delivered it).
func pingR0(t *testing.T, l *dptest.Lab, what string) {
	t.Helper()
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 64, false, dptest.Echo(7, 1, 8)))
	f := one(t, l, 0, what+": echo reply")
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if ip.Src() != u32(dptest.R0) || ip.Dst() != u32(dptest.HostA) || ip.Payload()[0] != hdr.ICMPv4EchoReply {
		t.Fatalf("%s: want an echo reply from %v to host A, got % x", what, dptest.R0, f)
	}
}

// TestRouteAddDelKeepsOwnRoutes (issue 17, defect 3): `route add P
// blackhole; route del P` with P the router's own address, its connected
// subnet or a subnet's broadcast address is refused both ways, and the
// router keeps answering; a more specific route inside the connected
// subnet works and its deletion gives the addresses back to the subnet.
func TestRouteAddDelKeepsOwnRoutes(t *testing.T) {
	l := newLab(t, true, true)
	r := l.Router
	routes := r.Routes()
	for _, c := range []struct{ p, kindAt, wantAdd string }{
		{"10.0.1.1/32", "10.0.1.1", "route 10.0.1.1/32: 10.0.1.1/32 is if0's own address (local route): that route belongs to the interface"},
		{"10.0.1.0/24", "10.0.1.77", "route 10.0.1.0/24: 10.0.1.0/24 is if0's connected subnet: that route belongs to the interface"},
		{"10.0.1.255/32", "10.0.1.255", "route 10.0.1.255/32: 10.0.1.255/32 is the broadcast address of if0's subnet 10.0.1.0/24"},
		{"10.0.1.0/32", "10.0.1.0", "route 10.0.1.0/32: 10.0.1.0/32 is the network address of if0's subnet 10.0.1.0/24"},
	} {
		p := netip.MustParsePrefix(c.p)
		want := kindOf(l, c.kindAt)
		for _, gw := range []netip.Addr{{}, dptest.HostB} { // blackhole, and via host B
			if err := r.AddRoute(p, gw); err == nil || !strings.Contains(err.Error(), c.wantAdd) {
				t.Errorf("route add %v via %v: error %v, want %q", p, gw, err, c.wantAdd)
			}
		}
		if err := r.DeleteRoute(p); err == nil || !strings.Contains(err.Error(), "belongs to the interface and cannot be deleted") || errors.Is(err, control.ErrNoRoute) {
			t.Errorf("route del %v: error %v, want a refusal", p, err)
		}
		r.Publish()
		if got := kindOf(l, c.kindAt); got != want || r.Routes() != routes || r.StaticRoutes() != 1 {
			t.Errorf("after add/del of %v: %s is kind %d (want %d), %d routes (want %d), %d configured", p, c.kindAt, got, want, r.Routes(), routes, r.StaticRoutes())
		}
		if m, _ := r.Lookup(netip.MustParseAddr(c.kindAt)); m.Static {
			t.Errorf("%s: a configured route after the refusals", c.kindAt)
		}
		pingR0(t, l, "after add/del of "+c.p)
	}
	if kindOf(l, "10.0.1.1") != dp.AdjLocal {
		t.Fatal("10.0.1.1 is not local")
	}

	// More specific than the connected subnet: a legitimate route.
	sub := netip.MustParsePrefix("10.0.1.16/28")
	if err := r.AddRoute(sub, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	l.Send(0, udpFrom(netip.MustParseAddr("10.0.1.17"), 5))
	wantForwarded(t, one(t, l, 1, "to 10.0.1.17 through the /28"), dptest.HostBMAC, dptest.R1MAC, netip.MustParseAddr("10.0.1.17"), 5)
	if err := r.DeleteRoute(sub); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if got := kindOf(l, "10.0.1.17"); got != dp.AdjGlean {
		t.Errorf("10.0.1.17 after the /28 went: kind %d, want glean", got)
	}
	pingR0(t, l, "at the end")
}

// TestRouteOverNeighbourHostRoute (issue 17, defect 3): a configured /32 to
// a neighbour's address takes precedence over the neighbour's host route
// (how an operator blackholes a host), also when the neighbour is learned
// again meanwhile; deleting it gives the prefix back to the neighbour.
func TestRouteOverNeighbourHostRoute(t *testing.T) {
	l := newLab(t, true, false)
	r := l.Router
	// Host B is learned: it asks for the router's address.
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostBMAC, dptest.HostB, zeroMAC, dptest.R1))
	l.Out(1) // the ARP reply
	if e := neighbor(l, 1, dptest.HostB); e == nil {
		t.Fatal("host B not learned")
	}
	routes := r.Routes()
	hostB := netip.PrefixFrom(dptest.HostB, 32)
	if err := r.AddRoute(hostB, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	l.Send(0, udpFrom(dptest.HostB, 1))
	none(t, l, "to host B while blackholed")
	// Host B moves to a new MAC: the neighbour entry changes, the
	// configured route stays.
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, macNew, dptest.HostB, zeroMAC, dptest.R1))
	l.Out(1)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew {
		t.Fatalf("host B's new MAC not learned: %+v", e)
	}
	l.Send(0, udpFrom(dptest.HostB, 2))
	none(t, l, "to host B while blackholed, after it moved")
	if got := kindOf(l, "10.0.2.2"); got != dp.AdjDrop {
		t.Fatalf("10.0.2.2: kind %d, want the blackhole", got)
	}
	if err := r.DeleteRoute(hostB); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if got := kindOf(l, "10.0.2.2"); got != dp.AdjForward || r.Routes() != routes {
		t.Fatalf("10.0.2.2 after the delete: kind %d (want forward), %d routes (want %d)", got, r.Routes(), routes)
	}
	l.Send(0, udpFrom(dptest.HostB, 3))
	wantForwarded(t, one(t, l, 1, "to host B after the delete"), macNew, dptest.R1MAC, dptest.HostB, 3)
	// The host route is the neighbour's again: the neighbour's delete
	// takes it away, and a second route delete finds nothing configured.
	if err := r.DeleteRoute(hostB); err == nil || !strings.Contains(err.Error(), "host route of neighbour 10.0.2.2 on if1") {
		t.Errorf("second delete: %v", err)
	}
	if err := r.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if r.Routes() != routes-1 {
		t.Errorf("%d routes after the neighbour went, want %d", r.Routes(), routes-1)
	}
	// A configured route through the neighbour itself to its own /32 is
	// not taken for the neighbour's host route when the neighbour goes.
	if err := r.AddNeighbor(1, dptest.HostB, dptest.HostBMAC); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(hostB, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if m, ok := r.Lookup(dptest.HostB); !ok || !m.Static || m.Prefix != hostB || m.Via != dptest.HostB {
		t.Errorf("the configured /32 through host B after the neighbour went: %+v %v", m, ok)
	}
}

// TestAddInterfaceOverConfiguredRoute: an interface added at run time
// whose own routes are configured routes is refused (its routes would
// replace them, and they would be lost with it).
func TestAddInterfaceOverConfiguredRoute(t *testing.T) {
	l := newLab(t, true, true)
	r := l.Router
	if err := r.AddRoute(netip.MustParsePrefix("10.0.100.0/24"), dptest.HostB); err != nil {
		t.Fatal(err)
	}
	_, err := r.AddInterface(control.IfaceConfig{Name: "if0.100", Parent: "if0", VLAN: 100, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.100.1/24")}})
	if err == nil || !strings.Contains(err.Error(), "interface if0.100: its address 10.0.100.1/24 needs the route 10.0.100.0/24, which is a configured route: delete that route first") {
		t.Fatalf("error %v", err)
	}
	if m, _ := r.Lookup(netip.MustParseAddr("10.0.100.7")); !m.Static || m.Via != dptest.HostB {
		t.Errorf("the configured route: %+v", m)
	}
}
