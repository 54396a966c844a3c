package control

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func reconfigRouter(t *testing.T) *Router {
	t.Helper()
	r := New(Options{})
	for i, a := range []string{"10.0.1.1/24", "10.0.2.1/24"} {
		if _, err := r.AddInterface(IfaceConfig{Name: fmt.Sprintf("if%d", i), MAC: [6]byte{2, 0, 0, 0, 0, byte(i + 1)}, Addrs: []netip.Prefix{netip.MustParsePrefix(a)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddNeighbor(1, netip.MustParseAddr("10.0.2.2"), [6]byte{2, 0xbb, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("198.18.0.0/15"), netip.MustParseAddr("10.0.2.2")); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	return r
}

// state is everything Reconfigure may change, as text.
func state(r *Router) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v\n", r.RouteCounts())
	for _, ifc := range r.Interfaces() {
		ifc.Downs = 0 // a count of what happened, not state to restore
		fmt.Fprintf(&b, "%+v\n", ifc)
	}
	for _, n := range r.Neighbors() {
		fmt.Fprintf(&b, "%v %v %x %v\n", n.Iface, n.Addr, n.MAC, n.State)
	}
	for _, a := range []string{"198.18.0.1", "10.0.2.2", "10.0.3.1", "10.0.3.255", "192.0.2.1"} {
		m, ok := r.Lookup(netip.MustParseAddr(a))
		fmt.Fprintf(&b, "%s %+v %v\n", a, m, ok)
	}
	rate, burst := r.ICMPLimit()
	fmt.Fprintf(&b, "icmp %d %d\n", rate, burst)
	return b.String()
}

// TestReconfigure moves a router to a new state and back: addresses,
// MTU, admin state, neighbours, routes and the ICMP rate, one publish
// each way; the way back gives the first state exactly.
func TestReconfigure(t *testing.T) {
	r := reconfigRouter(t)
	before := state(r)
	pub := r.Stats().Publishes
	gw := netip.MustParseAddr("10.0.3.2")
	d := Desired{
		Ifaces: []IfaceState{
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}, Down: true},
			{MTU: 1400, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}},
		},
		Routes:    []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("192.0.2.0/24")},
		Via:       func(int) netip.Addr { return gw },
		Neighbors: []StaticNeighbor{{Iface: 1, Addr: gw, MAC: [6]byte{2, 0xcc, 0, 0, 0, 2}}},
		ICMPRate:  10, ICMPBurst: 5,
	}
	ch, err := r.Reconfigure(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Changes{Interfaces: 2, RoutesAdded: 1, RoutesChanged: 1, NeighborsAdded: 1, NeighborsGone: 1, ICMP: true}); ch != want {
		t.Errorf("changes %+v, want %+v", ch, want)
	}
	if n := r.Stats().Publishes - pub; n != 1 {
		t.Errorf("%d publishes, want 1", n)
	}
	cfg := r.Config().Load()
	if cfg.Ifaces[0].Up || cfg.Ifaces[1].MTU != 1400 || cfg.ICMPRate != 10 {
		t.Errorf("snapshot: %+v rate %d", cfg.Ifaces, cfg.ICMPRate)
	}
	if m, _ := r.Lookup(netip.MustParseAddr("192.0.2.1")); m.Via != gw || m.Iface != 1 {
		t.Errorf("192.0.2.1: %+v", m)
	}
	if m, _ := r.Lookup(netip.MustParseAddr("10.0.3.9")); m.Prefix.String() != "10.0.3.0/24" {
		t.Errorf("new subnet: %+v", m)
	}
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.2.9")); ok {
		t.Errorf("old subnet still routed: %+v", m)
	}
	if a := cfg.Adj[cfg.FIB.Lookup(0xc6120001)]; a.MTU != 1400 {
		t.Errorf("adjacency of 198.18.0.1: %+v", a)
	}

	back := Desired{
		Ifaces: []IfaceState{
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
		},
		Routes:    []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")},
		Via:       func(int) netip.Addr { return netip.MustParseAddr("10.0.2.2") },
		Neighbors: []StaticNeighbor{{Iface: 1, Addr: netip.MustParseAddr("10.0.2.2"), MAC: [6]byte{2, 0xbb, 0, 0, 0, 2}}},
		ICMPRate:  1000, ICMPBurst: 100,
	}
	if _, err := r.Reconfigure(back); err != nil {
		t.Fatal(err)
	}
	if after := state(r); after != before {
		t.Errorf("back to the first state:\n%s\nwant:\n%s", after, before)
	}
}

// TestReconfigureRollback: a step that fails after others were applied
// (a route through a gateway the new addresses do not reach) leaves the
// router exactly as it was, with nothing published.
func TestReconfigureRollback(t *testing.T) {
	r := reconfigRouter(t)
	before := state(r)
	pub := r.Stats().Publishes
	d := Desired{
		Ifaces: []IfaceState{
			{MTU: 1300, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}, Down: true},
			{MTU: 1400, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}},
		},
		Routes:    []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")},
		Via:       func(int) netip.Addr { return netip.MustParseAddr("10.0.2.2") }, // no longer connected
		Neighbors: []StaticNeighbor{{Iface: 1, Addr: netip.MustParseAddr("10.0.3.2"), MAC: [6]byte{2, 0xcc, 0, 0, 0, 2}}},
		ICMPRate:  10, ICMPBurst: 5,
	}
	if _, err := r.Reconfigure(d); err == nil || !strings.Contains(err.Error(), "10.0.2.2 is on no interface's subnet") {
		t.Fatalf("error %v", err)
	}
	if after := state(r); after != before {
		t.Errorf("after a failed Reconfigure:\n%s\nwant:\n%s", after, before)
	}
	if n := r.Stats().Publishes - pub; n != 0 {
		t.Errorf("%d publishes", n)
	}
	if _, err := r.Reconfigure(Desired{Ifaces: d.Ifaces[:1], ICMPRate: 1, ICMPBurst: 1}); err == nil || !strings.Contains(err.Error(), "needs a restart") {
		t.Errorf("interface count: %v", err)
	}
}

func TestDeleteNeighbor(t *testing.T) {
	r := reconfigRouter(t)
	gw := netip.MustParseAddr("10.0.2.2")
	if err := r.DeleteNeighbor(1, gw); err != nil {
		t.Fatal(err)
	}
	if len(r.Neighbors()) != 0 {
		t.Errorf("neighbours left: %v", r.Neighbors())
	}
	// The route through it stays, its next hop to be resolved again.
	if m, ok := r.Lookup(netip.MustParseAddr("198.18.0.1")); !ok || m.Via != gw {
		t.Errorf("route through the deleted neighbour: %+v %v", m, ok)
	}
	if err := r.DeleteNeighbor(1, gw); err == nil || !strings.Contains(err.Error(), "no such neighbour") {
		t.Errorf("second delete: %v", err)
	}
}

// TestReconfigureKeepsShadowedRoute: a rejected Reconfigure that would
// have added an address whose connected subnet is a configured route
// leaves that route in place (it used to be lost in the rollback). The
// route is refused up front now: a configured route may not be one of the
// router's own prefixes.
func TestReconfigureKeepsShadowedRoute(t *testing.T) {
	r := reconfigRouter(t)
	gw := netip.MustParseAddr("10.0.2.2")
	if err := r.AddRoute(netip.MustParsePrefix("10.0.9.0/24"), gw); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	before := state(r)
	d := Desired{
		Ifaces: []IfaceState{
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("10.0.9.1/24")}},
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
		},
		Routes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("10.0.9.0/24"), netip.MustParsePrefix("192.0.2.0/24")},
		Via: func(i int) netip.Addr {
			if i == 2 {
				return netip.MustParseAddr("172.16.0.1") // not connected: rejected
			}
			return gw
		},
		Neighbors: []StaticNeighbor{{Iface: 1, Addr: gw, MAC: [6]byte{2, 0xbb, 0, 0, 0, 2}}},
		ICMPRate:  1000, ICMPBurst: 100,
	}
	if _, err := r.Reconfigure(d); err == nil || !strings.Contains(err.Error(), "routes[1] 10.0.9.0/24: 10.0.9.0/24 is if0's connected subnet") {
		t.Fatalf("error %v", err)
	}
	m, ok := r.Lookup(netip.MustParseAddr("10.0.9.5"))
	if !ok || m.Prefix.String() != "10.0.9.0/24" || m.Via != gw {
		t.Fatalf("10.0.9.5 after the rejected reconfigure: %+v %v", m, ok)
	}
	if after := state(r); after != before {
		t.Errorf("state changed:\n%s\nwant:\n%s", after, before)
	}
}
