package control_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

// TestIPv6RoutesThroughDownInterface: while if1 is down (link or admin),
// the IPv6 routes through it (2001:db8:100::/40 via a neighbour on if1,
// that neighbour's /128, if1's connected /64) leave the IPv6 FIB so the
// default ::/0 via if0's neighbour carries their traffic, as IPv4 routes
// do; the router keeps them (RouteCounts6), a route added through if1
// while it is down waits too, and all come back when if1 is up.
func TestIPv6RoutesThroughDownInterface(t *testing.T) {
	r := control.New(control.Options{})
	for i, a := range []string{"2001:db8:1::1/64", "2001:db8:2::1/64"} {
		if _, err := r.AddInterface(control.IfaceConfig{Name: []string{"if0", "if1"}[i], MAC: [6]byte{2, 0, 0, 0, 0, byte(i + 1)}, Addrs: []netip.Prefix{netip.MustParsePrefix(a)}}); err != nil {
			t.Fatal(err)
		}
	}
	nb0, nb1 := netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:2::2")
	if err := r.AddNeighbor(0, nb0, [6]byte{2, 0, 0, 0, 0, 0x10}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(1, nb1, [6]byte{2, 0, 0, 0, 0, 0x11}); err != nil {
		t.Fatal(err)
	}
	remote, late := netip.MustParsePrefix("2001:db8:100::/40"), netip.MustParsePrefix("2001:db8:300::/48")
	for _, rt := range []struct {
		p  string
		gw netip.Addr
	}{{"::/0", nb0}, {remote.String(), nb1}} {
		if err := r.AddRoute(netip.MustParsePrefix(rt.p), rt.gw); err != nil {
			t.Fatal(err)
		}
	}
	dsts := []string{"2001:db8:100::5", "2001:db8:2::2", "2001:db8:2::77", "2001:db8:300::1"}
	via := func() []netip.Addr {
		r.Publish()
		cfg := r.Config().Load()
		var v []netip.Addr
		for _, d := range dsts {
			ad := cfg.Adj[cfg.FIB6.Lookup(netip.MustParseAddr(d).As16())]
			switch ad.Kind {
			case dp.AdjForward:
				v = append(v, ad.IP())
			case dp.AdjGlean:
				v = append(v, netip.IPv6Unspecified()) // connected on if1
			default:
				t.Fatalf("%s: adjacency kind %v", d, ad.Kind)
			}
		}
		return v
	}
	total := func() int {
		c := r.RouteCounts6()
		n := 0
		for _, x := range c {
			n += x
		}
		return n
	}
	before := total()
	for _, link := range []bool{true, false} {
		set := r.SetInterfaceUp
		if link {
			set = r.SetLinkUp
		}
		if err := set(1, false); err != nil {
			t.Fatal(err)
		}
		if err := r.AddRoute(late, nb1); err != nil {
			t.Fatalf("link %v: route through the down if1: %v", link, err)
		}
		for i, v := range via() {
			if v != nb0 {
				t.Errorf("link %v: if1 down: %s goes via %v, want the default via %v", link, dsts[i], v, nb0)
			}
		}
		if m, ok := r.Lookup(netip.MustParseAddr(dsts[0])); !ok || m.Prefix != netip.MustParsePrefix("::/0") {
			t.Errorf("link %v: Lookup %s while if1 is down: %+v %v, want ::/0", link, dsts[0], m, ok)
		}
		if n := total(); n != before+1 {
			t.Errorf("link %v: RouteCounts6 while if1 is down: %d routes, want %d (parked ones kept)", link, n, before+1)
		}
		if err := set(1, true); err != nil {
			t.Fatal(err)
		}
		want := []netip.Addr{nb1, nb1, netip.IPv6Unspecified(), nb1}
		for i, v := range via() {
			if v != want[i] {
				t.Errorf("link %v: if1 up again: %s goes via %v, want %v", link, dsts[i], v, want[i])
			}
		}
		if err := r.DeleteRoute(late); err != nil {
			t.Fatal(err)
		}
		if n := total(); n != before {
			t.Errorf("link %v: RouteCounts6 after: %d, want %d", link, n, before)
		}
	}
}
