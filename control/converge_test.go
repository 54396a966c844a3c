package control

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/hdr"
)

// fibDump describes r's FIB: the routes per prefix length, and for every
// prefix in extra and every prefix r knows of (its own, its configured
// routes, its neighbours' /32s) the next hop it has, by kind, interface
// and address (adjacency indices may differ between equal routers).
func fibDump(r *Router, extra []netip.Prefix) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := slices.Clone(extra)
	for i := range r.ifaces {
		for _, a := range r.ifaces[i].Addrs {
			for _, q := range ownPrefixes(a.Prefix()) {
				ps = append(ps, q.p)
			}
		}
	}
	for k := range r.static.m {
		ps = append(ps, k.prefix())
	}
	for k := range r.nbrAdj {
		ps = append(ps, netip.PrefixFrom(k.Addr, 32))
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	ps = slices.Compact(ps)
	var b strings.Builder
	fmt.Fprintf(&b, "%d routes %v\n", r.fib.Len(), r.fib.Counts())
	for _, p := range ps {
		nh, ok := r.fib.Get(p)
		if !ok {
			fmt.Fprintf(&b, "%v none\n", p)
			continue
		}
		a := r.adj.Get(nh)
		_, st := r.static.m[keyOf(p)]
		fmt.Fprintf(&b, "%v kind %d iface %d addr %v static %v\n", p, a.Kind, a.Iface, hdr.IPv4Addr(a.Addr4()), st)
	}
	return b.String()
}

// TestReloadConvergesAfterRouteAddDel (issue 17, defect 3): after route
// adds and deletes through the API's calls, including the issue's
// sequences (the router's own address, its connected subnet, a
// neighbour's /32), a reload of the same desired state reports what it
// changed and leaves exactly the FIB a fresh start from it builds.
func TestReloadConvergesAfterRouteAddDel(t *testing.T) {
	d := Desired{
		Ifaces: []IfaceState{
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
			{MTU: 1500, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
		},
		Routes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("203.0.113.0/24")},
		Via: func(i int) netip.Addr {
			if i == 1 {
				return netip.Addr{}
			}
			return netip.MustParseAddr("10.0.2.2")
		},
		Neighbors: []StaticNeighbor{
			{Iface: 0, Addr: netip.MustParseAddr("10.0.1.2"), MAC: [6]byte{2, 0xaa, 0, 0, 0, 2}},
			{Iface: 1, Addr: netip.MustParseAddr("10.0.2.2"), MAC: [6]byte{2, 0xbb, 0, 0, 0, 2}},
		},
		ICMPRate: 1000, ICMPBurst: 100,
	}
	// A fresh start, as softnet run does it: interfaces, routes, neighbours.
	fresh := func() *Router {
		r := New(Options{})
		for i, s := range d.Ifaces {
			if _, err := r.AddInterface(IfaceConfig{Name: fmt.Sprintf("if%d", i), MAC: [6]byte{2, 0, 0, 0, 0, byte(i + 1)}, MTU: s.MTU, Addrs: s.Addrs}); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range d.Routes {
			if err := r.AddRoute(p, d.Via(i)); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range d.Neighbors {
			if err := r.AddNeighbor(n.Iface, n.Addr, n.MAC); err != nil {
				t.Fatal(err)
			}
		}
		r.Publish()
		return r
	}
	pfx := netip.MustParsePrefix
	extra := []netip.Prefix{pfx("10.0.1.1/32"), pfx("10.0.1.0/24"), pfx("10.0.2.2/32"), pfx("192.0.2.0/24"), pfx("10.0.1.16/28")}
	want := fibDump(fresh(), extra)

	r := fresh()
	gw := netip.MustParseAddr("10.0.2.2")
	for _, op := range []struct {
		del bool
		p   string
		gw  netip.Addr
	}{
		{false, "10.0.1.1/32", netip.Addr{}}, // refused
		{true, "10.0.1.1/32", netip.Addr{}},  // refused
		{false, "10.0.1.0/24", netip.Addr{}}, // refused
		{true, "10.0.1.0/24", netip.Addr{}},  // refused
		{false, "10.0.2.2/32", netip.Addr{}}, // blackholes host B
		{true, "10.0.2.2/32", netip.Addr{}},  // gives it back
		{false, "10.0.2.2/32", netip.Addr{}}, // and again, left for the reload
		{false, "10.0.1.16/28", gw},
		{false, "192.0.2.0/24", gw},
		{true, "198.18.0.0/15", netip.Addr{}},
		{false, "203.0.113.0/24", gw}, // was a blackhole
	} {
		var err error
		if op.del {
			err = r.DeleteRoute(pfx(op.p))
		} else {
			err = r.AddRoute(pfx(op.p), op.gw)
		}
		own := strings.HasPrefix(op.p, "10.0.1.")
		if own != (err != nil) && op.p != "10.0.1.16/28" {
			t.Errorf("del %v %s: %v", op.del, op.p, err)
		}
	}
	r.Publish()
	ch, err := r.Reconfigure(d)
	if err != nil {
		t.Fatal(err)
	}
	if w := (Changes{RoutesAdded: 1, RoutesChanged: 1, RoutesRemoved: 3}); ch != w {
		t.Errorf("changes %+v, want %+v", ch, w)
	}
	if got := fibDump(r, extra); got != want {
		t.Errorf("after the reload:\n%s\nwant (a fresh start):\n%s", got, want)
	}
	// A second reload has nothing left to do.
	if ch, err := r.Reconfigure(d); err != nil || ch != (Changes{}) {
		t.Errorf("second reload: %+v %v", ch, err)
	}
}
