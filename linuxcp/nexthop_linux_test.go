package linuxcp

import (
	"context"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/netns"
)

// TestMirrorNexthopObjects: routes that use nexthop objects (ip nexthop,
// RTA_NH_ID, FRR 8's default), in a namespace where the kernel does not
// expand them in route messages (net.ipv4.nexthop_compat_mode=0, as a
// daemon that knows the nexthop API sets it): a route on a single object
// from the dump at start, a route on a weighted group and an IPv6 route
// added after, all forwarded along their objects; a replaced object moves
// every route that uses it; a deleted member leaves its group; a link
// that goes down takes its objects and their routes with it (the kernel
// deletes them without telling), and they stay gone when it comes back.
func TestMirrorNexthopObjects(t *testing.T) {
	ns := kernelNS(t)
	if err := netns.Sysctl(context.Background(), ns, "net.ipv4.nexthop_compat_mode", "0"); err != nil {
		t.Fatalf("nexthop_compat_mode: %v", err)
	}
	ipns(t, ns, "link", "set", "lo", "up")
	// Before the mirror starts: its first dump must read them.
	ipns(t, ns, "nexthop", "add", "id", "1", "via", "10.0.1.2", "dev", "wan0")
	ipns(t, ns, "route", "add", "198.18.1.0/24", "nhid", "1", "proto", "bgp")

	r := kernelRouter(t, netip.MustParsePrefix("2001:db8:1::1/64"))
	src, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := New(src, r, Options{})
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	lookup := func(a string) (control.Match, bool) { return r.Lookup(netip.MustParseAddr(a)) }
	via := func(a, gw string) func() bool {
		return func() bool {
			mt, ok := lookup(a)
			return ok && mt.Kind != dp.AdjGroup && mt.Via == netip.MustParseAddr(gw)
		}
	}
	gone := func(a string) func() bool {
		return func() bool { mt, ok := lookup(a); return !ok || mt.Prefix.Bits() < 24 }
	}
	waitFor(t, "198.18.1.0/24 on nexthop object 1 (via 10.0.1.2), from the dump", via("198.18.1.1", "10.0.1.2"))
	if mt, _ := lookup("198.18.1.1"); mt.Origin != "bgp" || mt.Iface != 0 {
		t.Fatalf("198.18.1.1: %+v, want bgp out of wan0", mt)
	}

	// A weighted group, and an IPv6 object.
	ipns(t, ns, "nexthop", "add", "id", "2", "via", "10.0.2.2", "dev", "wan1")
	ipns(t, ns, "nexthop", "add", "id", "10", "group", "1/2,3")
	ipns(t, ns, "route", "add", "198.18.2.0/24", "nhid", "10", "proto", "ospf")
	ipns(t, ns, "nexthop", "add", "id", "6", "via", "2001:db8:1::2", "dev", "wan0")
	ipns(t, ns, "route", "add", "2001:db8:9::/48", "nhid", "6", "proto", "bgp")
	waitFor(t, "198.18.2.0/24 on group 10 (two next hops)", func() bool {
		mt, ok := lookup("198.18.2.1")
		return ok && mt.Kind == dp.AdjGroup && len(mt.NextHops) == 2
	})
	mt, _ := lookup("198.18.2.1")
	w := map[netip.Addr]int{}
	for _, h := range mt.NextHops {
		w[h.Via] = h.Weight
	}
	if w[netip.MustParseAddr("10.0.1.2")] != 1 || w[netip.MustParseAddr("10.0.2.2")] != 3 || mt.Origin != "ospf" {
		t.Fatalf("198.18.2.1: %+v, want next hops 10.0.1.2 weight 1 and 10.0.2.2 weight 3, ospf", mt)
	}
	waitFor(t, "2001:db8:9::/48 on object 6", via("2001:db8:9::1", "2001:db8:1::2"))

	// Object 1 replaced: the route on it and the group follow (the
	// kernel sends no route notification for them).
	ipns(t, ns, "nexthop", "replace", "id", "1", "via", "10.0.1.3", "dev", "wan0")
	waitFor(t, "198.18.1.0/24 via 10.0.1.3 after the replace", via("198.18.1.1", "10.0.1.3"))
	waitFor(t, "group 10 with 10.0.1.3", func() bool {
		mt, ok := lookup("198.18.2.1")
		return ok && mt.Kind == dp.AdjGroup && len(mt.NextHops) == 2 && (mt.NextHops[0].Via == netip.MustParseAddr("10.0.1.3") || mt.NextHops[1].Via == netip.MustParseAddr("10.0.1.3"))
	})

	// Object 2 deleted: it leaves group 10, whose route keeps object 1.
	ipns(t, ns, "nexthop", "del", "id", "2")
	waitFor(t, "198.18.2.0/24 on object 1 alone", via("198.18.2.1", "10.0.1.3"))

	// wan0's carrier goes: the kernel deletes objects 1 and 6, group 10
	// left empty, and the three routes.
	ipns(t, ns, "link", "set", "wan0p", "down")
	waitFor(t, "the routes on wan0's objects gone", func() bool {
		return gone("198.18.1.1")() && gone("198.18.2.1")() && gone("2001:db8:9::1")()
	})
	// Back up: the kernel does not bring them back, nor must softnet. A
	// route added after shows the mirror has read that far.
	ipns(t, ns, "link", "set", "wan0p", "up")
	ipns(t, ns, "route", "add", "198.18.3.0/24", "via", "10.0.2.2", "proto", "bgp")
	waitFor(t, "the route added after the link came back", via("198.18.3.1", "10.0.2.2"))
	for _, a := range []string{"198.18.1.1", "198.18.2.1", "2001:db8:9::1"} {
		if mt, ok := lookup(a); ok && mt.Prefix.Bits() >= 24 {
			t.Errorf("%s: %+v after wan0 came back; the kernel has no such route", a, mt)
		}
	}
	// A second mirror's first dump (as a resync after ENOBUFS or a
	// restart) reads objects and groups too.
	ipns(t, ns, "nexthop", "add", "id", "7", "via", "10.0.2.2", "dev", "wan1")
	ipns(t, ns, "nexthop", "add", "id", "8", "via", "10.0.1.2", "dev", "wan0")
	ipns(t, ns, "nexthop", "add", "id", "11", "group", "7/8")
	ipns(t, ns, "route", "add", "198.18.5.0/24", "nhid", "11", "proto", "bgp")
	r2 := kernelRouter(t)
	src2, err := Open(ns, 0)
	if err != nil {
		t.Fatal(err)
	}
	m2 := New(src2, r2, Options{})
	if err := m2.Start(); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	mt, ok := r2.Lookup(netip.MustParseAddr("198.18.5.1"))
	if !ok || mt.Kind != dp.AdjGroup || len(mt.NextHops) != 2 {
		t.Errorf("198.18.5.1 after the second mirror's dump: %+v (%v), want group 11's two next hops", mt, ok)
	}
	if mt, ok := r2.Lookup(netip.MustParseAddr("198.18.1.1")); ok && mt.Prefix.Bits() >= 24 {
		t.Errorf("198.18.1.1 after the second mirror's dump: %+v; the kernel has no such route", mt)
	}
}
