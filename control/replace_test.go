package control_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/fib"
)

// rt is a route for the tests: gw "" is a blackhole.
type rt struct{ p, gw string }

func split(rs []rt) ([]netip.Prefix, func(int) netip.Addr) {
	ps := make([]netip.Prefix, len(rs))
	gws := make([]netip.Addr, len(rs))
	for i, r := range rs {
		ps[i] = netip.MustParsePrefix(r.p)
		if r.gw != "" {
			gws[i] = netip.MustParseAddr(r.gw)
		}
	}
	return ps, func(i int) netip.Addr { return gws[i] }
}

func replace(t *testing.T, r *control.Router, rs []rt) (added, changed, removed int) {
	t.Helper()
	ps, gw := split(rs)
	added, changed, removed, err := r.ReplaceRoutes(ps, gw)
	if err != nil {
		t.Fatal(err)
	}
	return added, changed, removed
}

// adjOf looks dst up in the published snapshot and returns its adjacency.
func adjOf(t *testing.T, r *control.Router, dst string) dp.Adj {
	t.Helper()
	cfg := r.Config().Load()
	nh := cfg.FIB.Lookup(u32(netip.MustParseAddr(dst)))
	if int(nh) >= len(cfg.Adj) {
		t.Fatalf("%s: next hop %d beyond the %d adjacencies", dst, nh, len(cfg.Adj))
	}
	return cfg.Adj[nh]
}

// wantVia checks that dst is routed to gateway gw ("" for a blackhole,
// "none" for no route) out of interface iface.
func wantVia(t *testing.T, r *control.Router, dst, gw string, iface int) {
	t.Helper()
	a := adjOf(t, r, dst)
	switch gw {
	case "":
		if a.Kind != dp.AdjDrop {
			t.Errorf("%s: adjacency %+v, want a blackhole", dst, a)
		}
	case "none":
		if a.Kind != dp.AdjNone {
			t.Errorf("%s: adjacency %+v, want no route", dst, a)
		}
	default:
		g := netip.MustParseAddr(gw)
		if (a.Kind != dp.AdjForward && a.Kind != dp.AdjIncomplete) || a.IP() != g || int(a.Iface) != iface {
			t.Errorf("%s: adjacency %+v, want gateway %s on if%d", dst, a, gw, iface)
		}
	}
}

// wantOwn checks the lab's own routes: local addresses, connected subnets,
// broadcast addresses and the neighbours' host routes.
func wantOwn(t *testing.T, r *control.Router) {
	t.Helper()
	for _, c := range []struct {
		dst  string
		kind dp.AdjKind
	}{
		{"10.0.1.1", dp.AdjLocal}, {"10.0.2.1", dp.AdjLocal},
		{"10.0.1.77", dp.AdjGlean}, {"10.0.2.77", dp.AdjGlean},
		{"10.0.1.255", dp.AdjBroadcast}, {"10.0.2.0", dp.AdjBroadcast},
		{"10.0.1.2", dp.AdjForward}, {"10.0.2.2", dp.AdjForward}, // host A, host B
	} {
		if a := adjOf(t, r, c.dst); a.Kind != c.kind {
			t.Errorf("own route to %s: adjacency %+v, want kind %d", c.dst, a, c.kind)
		}
	}
	wantVia(t, r, "10.0.1.2", dptest.HostA.String(), 0)
	wantVia(t, r, "10.0.2.2", dptest.HostB.String(), 1)
}

func TestReplaceRoutes(t *testing.T) {
	l := dptest.New(t, dptest.Options{}) // has 198.18.0.0/15 via host B
	r := l.Router
	own := r.Routes() - 1
	ps, gw := split([]rt{
		{"203.0.113.0/24", "10.0.2.2"},
		{"192.0.2.0/24", "10.0.2.3"},
		{"100.64.0.0/10", "10.0.2.2"},
		{"10.9.0.0/16", ""},
	})
	if err := r.AddRoutes(ps, gw); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	pub0 := r.Stats().Publishes

	added, changed, removed := replace(t, r, []rt{
		{"198.18.0.0/15", "10.0.2.2"},   // unchanged
		{"203.0.113.0/24", "10.0.2.3"},  // changed
		{"192.0.2.0/24", "10.0.2.3"},    // unchanged
		{"10.9.0.0/16", "10.0.2.4"},     // blackhole → gateway
		{"172.16.0.0/12", "10.0.1.2"},   // new, out of the other interface
		{"8.8.8.8/32", "10.0.2.5"},      // new, a new gateway
		{"203.0.113.128/25", ""},        // new blackhole inside a changed route
		{"198.18.255.0/24", "10.0.2.6"}, // new, more specific than an unchanged one
		// 100.64.0.0/10 removed
	})
	if added != 4 || changed != 2 || removed != 1 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 4, 2, 1", added, changed, removed)
	}
	if got := r.Stats().Publishes - pub0; got != 1 {
		t.Errorf("%d publishes, want 1", got)
	}
	if got := r.Routes(); got != own+8 {
		t.Errorf("%d routes, want %d own + 8", got, own)
	}
	if got := r.StaticRoutes(); got != 8 {
		t.Errorf("%d configured routes, want 8", got)
	}
	for _, c := range []struct {
		dst, gw string
		iface   int
	}{
		{"198.18.0.1", "10.0.2.2", 1},
		{"198.19.200.9", "10.0.2.2", 1},
		{"198.18.255.9", "10.0.2.6", 1},
		{"203.0.113.1", "10.0.2.3", 1},
		{"203.0.113.127", "10.0.2.3", 1},
		{"203.0.113.128", "", 0},
		{"203.0.113.255", "", 0},
		{"192.0.2.99", "10.0.2.3", 1},
		{"10.9.8.7", "10.0.2.4", 1},
		{"172.31.255.255", "10.0.1.2", 0},
		{"8.8.8.8", "10.0.2.5", 1},
		{"8.8.8.9", "none", 0},
		{"100.64.0.1", "none", 0},
		{"100.127.255.255", "none", 0},
	} {
		wantVia(t, r, c.dst, c.gw, c.iface)
	}
	wantOwn(t, r)
	// Host B has a neighbour entry, so its routes forward at once; the new
	// gateways wait for ARP.
	if a := adjOf(t, r, "198.18.0.1"); a.Kind != dp.AdjForward || a.DstMAC() != dptest.HostBMAC {
		t.Errorf("route via host B: adjacency %+v, want a rewrite to %x", a, dptest.HostBMAC)
	}
	if a := adjOf(t, r, "8.8.8.8"); a.Kind != dp.AdjIncomplete {
		t.Errorf("route via a new gateway: adjacency %+v, want incomplete", a)
	}

	// The same table again changes nothing and publishes nothing.
	cfg := r.Config().Load()
	if a, c, d := replace(t, r, []rt{
		{"198.18.0.0/15", "10.0.2.2"}, {"203.0.113.0/24", "10.0.2.3"}, {"192.0.2.0/24", "10.0.2.3"},
		{"10.9.0.0/16", "10.0.2.4"}, {"172.16.0.0/12", "10.0.1.2"}, {"8.8.8.8/32", "10.0.2.5"},
		{"203.0.113.128/25", ""}, {"198.18.255.0/24", "10.0.2.6"},
	}); a+c+d != 0 || r.Config().Load() != cfg {
		t.Errorf("same table: added, changed, removed = %d, %d, %d, config republished %v", a, c, d, r.Config().Load() != cfg)
	}

	// Removing every route through a gateway with no neighbour entry frees
	// its adjacency.
	replace(t, r, []rt{{"198.18.0.0/15", "10.0.2.2"}})
	for i, a := range r.Config().Load().Adj {
		if a.Kind == dp.AdjIncomplete {
			t.Errorf("adjacency %d (%+v) outlived its routes", i, a)
		}
	}
	wantOwn(t, r)
	if got := r.Routes(); got != own+1 {
		t.Errorf("%d routes, want %d own + 1", got, own)
	}
}

// snapshotOf records what a published config answers for a set of
// addresses, to compare before and after.
func snapshotOf(r *control.Router, dsts []string) []dp.Adj {
	cfg := r.Config().Load()
	out := make([]dp.Adj, len(dsts))
	for i, d := range dsts {
		out[i] = cfg.Adj[cfg.FIB.Lookup(u32(netip.MustParseAddr(d)))]
	}
	return out
}

func TestReplaceRoutesBadEntryChangesNothing(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	r := l.Router
	if err := r.AddRoute(netip.MustParsePrefix("203.0.113.0/24"), dptest.HostB); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	probe := []string{"198.18.0.1", "203.0.113.9", "10.0.1.1", "10.0.2.2", "192.0.2.1", "8.8.8.8"}
	good := []rt{
		{"198.18.0.0/15", "10.0.2.3"}, // a change through a gateway with no adjacency yet
		{"192.0.2.0/24", "10.0.2.2"},  // an addition
		{"8.0.0.0/8", ""},             // a blackhole
		// 203.0.113.0/24 would be removed
	}
	for _, c := range []struct {
		name string
		bad  func(ps []netip.Prefix, gws []netip.Addr) ([]netip.Prefix, []netip.Addr)
		want string
	}{
		{"gateway off-link", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.MustParsePrefix("192.0.2.128/25")), append(g, netip.MustParseAddr("192.168.1.1"))
		}, "routes[3] 192.0.2.128/25: via 192.168.1.1 is on no interface's subnet"},
		{"IPv6 prefix via IPv4", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.MustParsePrefix("2001:db8::/32")), append(g, dptest.HostB)
		}, "routes[3] 2001:db8::/32: next hop 10.0.2.2 is of the other address family"},
		{"IPv6 gateway", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.MustParsePrefix("192.0.2.128/25")), append(g, netip.MustParseAddr("fe80::1"))
		}, "routes[3] 192.0.2.128/25: next hop fe80::1 is of the other address family"},
		{"IPv6 gateway off-link", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.MustParsePrefix("2001:db8::/32")), append(g, netip.MustParseAddr("2001:db8:9::1"))
		}, "routes[3] 2001:db8::/32: via 2001:db8:9::1"},
		{"IPv4-mapped prefix", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.MustParsePrefix("::ffff:192.0.2.0/120")), append(g, netip.Addr{})
		}, "routes[3] ::ffff:192.0.2.0/120: not a route prefix"},
		{"invalid prefix", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			return append(ps, netip.Prefix{}), append(g, dptest.HostB)
		}, "routes[3] invalid Prefix: not a route prefix"},
		{"first of two bad", func(ps []netip.Prefix, g []netip.Addr) ([]netip.Prefix, []netip.Addr) {
			ps = append(ps, netip.MustParsePrefix("192.0.2.128/25"), netip.MustParsePrefix("2001:db8::/32"))
			return ps, append(g, netip.MustParseAddr("10.3.0.1"), netip.Addr{})
		}, "routes[3] 192.0.2.128/25: via 10.3.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps, gw := split(good)
			gws := make([]netip.Addr, len(ps))
			for i := range gws {
				gws[i] = gw(i)
			}
			ps, gws = c.bad(ps, gws)
			cfg, st, before := r.Config().Load(), r.Stats(), snapshotOf(r, probe)
			routes, static := r.Routes(), r.StaticRoutes()
			a, ch, d, err := r.ReplaceRoutes(ps, func(i int) netip.Addr { return gws[i] })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if a+ch+d != 0 {
				t.Errorf("added, changed, removed = %d, %d, %d on error", a, ch, d)
			}
			r.Publish() // nothing may be pending either
			if r.Config().Load() != cfg || r.Stats().Publishes != st.Publishes {
				t.Fatal("a failed replace published a config")
			}
			if after := snapshotOf(r, probe); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("answers changed:\n before %+v\n after  %+v", before, after)
			}
			if r.Routes() != routes || r.StaticRoutes() != static {
				t.Errorf("routes %d → %d, configured %d → %d", routes, r.Routes(), static, r.StaticRoutes())
			}
		})
	}
	// The good part alone applies.
	if a, c, d := replace(t, r, good); a != 2 || c != 1 || d != 1 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 2, 1, 1", a, c, d)
	}
	wantVia(t, r, "198.18.0.1", "10.0.2.3", 1)
	wantVia(t, r, "203.0.113.9", "none", 0)
}

// The router's own routes survive a replace: a configured route to exactly
// a local, connected or broadcast prefix is refused (they belong to the
// interfaces), and a removed configured route that shadowed a neighbour's
// host route exactly gives the prefix back to it.
func TestReplaceRoutesOwnRoutesSurvive(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	r := l.Router
	own := r.Routes() - 1 // the lab's route to 198.18.0.0/15 is configured
	wantOwn(t, r)
	for _, c := range []struct{ p, gw, want string }{
		{"10.0.2.0/24", "10.0.1.2", "routes[0] 10.0.2.0/24: 10.0.2.0/24 is if1's connected subnet"},
		{"10.0.1.1/32", "", "routes[0] 10.0.1.1/32: 10.0.1.1/32 is if0's own address (local route)"},
		{"10.0.1.255/32", "10.0.2.2", "routes[0] 10.0.1.255/32: 10.0.1.255/32 is the broadcast address of if0's subnet 10.0.1.0/24"},
		{"10.0.2.0/32", "10.0.2.2", "routes[0] 10.0.2.0/32: 10.0.2.0/32 is the network address of if1's subnet 10.0.2.0/24"},
	} {
		ps, gw := split([]rt{{c.p, c.gw}})
		if _, _, _, err := r.ReplaceRoutes(ps, gw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("replace with %s: error %v, want %q", c.p, err, c.want)
		}
	}
	wantOwn(t, r)
	replace(t, r, []rt{
		{"10.0.2.2/32", "10.0.1.2"}, // host B's host route
		{"10.0.2.8/28", "10.0.1.2"}, // more specific than a connected subnet: fine
		{"0.0.0.0/0", "10.0.2.2"},   // a default route
	})
	wantVia(t, r, "10.0.2.2", "10.0.1.2", 0)
	wantVia(t, r, "10.0.2.9", "10.0.1.2", 0)
	if a := adjOf(t, r, "10.0.2.77"); a.Kind != dp.AdjGlean { // still the connected subnet
		t.Errorf("10.0.2.77: adjacency %+v, want glean", a)
	}
	wantVia(t, r, "198.18.0.1", "10.0.2.2", 1) // now through the default route
	if got := r.Routes(); got != own+2 {       // one shadows host B's
		t.Errorf("%d routes, want %d own + 2", got, own)
	}

	if a, c, d := replace(t, r, nil); a != 0 || c != 0 || d != 3 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 0, 0, 3", a, c, d)
	}
	wantOwn(t, r)
	wantVia(t, r, "198.18.0.1", "none", 0)
	if got, n := r.Routes(), r.StaticRoutes(); got != own || n != 0 {
		t.Errorf("%d routes, %d configured; want the %d own routes only", got, n, own)
	}
	// The restored host route is the neighbour's again: deleting the
	// neighbour takes it away (covered by the neighbour's own tests); here,
	// forwarding to host B works.
	l.Send(0, udpFrom(dptest.HostB, 7))
	wantForwarded(t, one(t, l, 1, "to host B"), dptest.HostBMAC, dptest.R1MAC, dptest.HostB, 7)
}

// AddRoute, AddRoutes and DeleteRoute keep the set of configured routes
// that ReplaceRoutes diffs against.
func TestReplaceRoutesTracksSingleChanges(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	r := l.Router
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	if err := r.AddRoute(p("192.0.2.0/24"), dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(p("203.0.113.0/24"), dptest.HostB); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteRoute(p("198.18.0.0/15")); err != nil {
		t.Fatal(err)
	}
	if !r.Static(p("192.0.2.0/24")) || r.Static(p("198.18.0.0/15")) || r.Static(p("10.0.2.0/24")) {
		t.Fatal("configured set out of step with AddRoute/DeleteRoute")
	}
	// Replace keeps 192.0.2.0/24, drops 203.0.113.0/24, and 198.18.0.0/15
	// (deleted) counts as new.
	if a, c, d := replace(t, r, []rt{{"192.0.2.0/24", "10.0.2.2"}, {"198.18.0.0/15", "10.0.2.2"}}); a != 1 || c != 0 || d != 1 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 1, 0, 1", a, c, d)
	}
	// Single changes after a replace are tracked too.
	if err := r.AddRoute(p("100.64.0.0/10"), dptest.HostA); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteRoute(p("192.0.2.0/24")); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if a, c, d := replace(t, r, []rt{{"198.18.0.0/15", "10.0.2.2"}}); a != 0 || c != 0 || d != 1 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 0, 0, 1", a, c, d)
	}
	wantVia(t, r, "100.64.0.1", "none", 0)
	wantVia(t, r, "198.18.0.1", "10.0.2.2", 1)
	// A prefix listed twice takes its last gateway.
	if a, c, d := replace(t, r, []rt{{"198.18.0.0/15", "10.0.2.3"}, {"198.18.0.0/15", "10.0.2.2"}, {"8.0.0.0/8", "10.0.2.3"}, {"8.0.0.0/8", ""}}); a != 1 || c != 0 || d != 0 {
		t.Errorf("duplicates: added, changed, removed = %d, %d, %d; want 1, 0, 0", a, c, d)
	}
	wantVia(t, r, "198.18.0.1", "10.0.2.2", 1)
	wantVia(t, r, "8.1.2.3", "", 0)
	if n := r.StaticRoutes(); n != 2 {
		t.Errorf("%d configured routes, want 2", n)
	}
}

// Running out of tbl8 groups midway takes back what was applied: the table
// and the configured set are as before, nothing is published, and the
// next replace that fits works.
func TestReplaceRoutesRollsBackOnNoGroup(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	r := l.Router
	// Five configured /32s, each in its own /24: five tbl8 groups, plus the
	// two of the interfaces' /24s (local, broadcast and host routes).
	var old []rt
	for i := range 5 {
		old = append(old, rt{fmt.Sprintf("203.0.%d.7/32", i), "10.0.2.2"})
	}
	old = append(old, rt{"198.18.0.0/15", "10.0.2.2"})
	replace(t, r, old)
	probe := []string{"203.0.0.7", "203.0.4.7", "203.0.4.8", "198.18.0.1", "100.0.0.1", "10.0.2.2"}
	cfg, st, before := r.Config().Load(), r.Stats(), snapshotOf(r, probe)
	routes := r.Routes()

	// /32s in distinct /24s of 100.0.0.0/9 through a new gateway: the
	// removals free 5 groups, then the additions need one more group than
	// the table has left.
	hosts := func(n int) ([]netip.Prefix, func(int) netip.Addr) {
		ps := make([]netip.Prefix, 0, n+1)
		ps = append(ps, netip.MustParsePrefix("198.18.0.0/15"))
		for i := range n {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 1}), 32))
		}
		g := netip.MustParseAddr("10.0.2.3")
		return ps, func(i int) netip.Addr {
			if i == 0 {
				return dptest.HostB // unchanged
			}
			return g
		}
	}
	free := fib.MaxGroups - 2
	ps, gw := hosts(free + 1)
	_, _, _, err := r.ReplaceRoutes(ps, gw)
	if !errors.Is(err, fib.ErrNoGroup) || !strings.Contains(err.Error(), fmt.Sprintf("routes[%d]", free+1)) {
		t.Fatalf("error %v, want fib.ErrNoGroup at routes[%d]", err, free+1)
	}
	r.Publish()
	if r.Config().Load() != cfg || r.Stats().Publishes != st.Publishes {
		t.Fatal("a failed replace published a config")
	}
	if after := snapshotOf(r, probe); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("answers changed:\n before %+v\n after  %+v", before, after)
	}
	if r.Routes() != routes || r.StaticRoutes() != len(old) {
		t.Errorf("routes %d → %d, configured %d → %d", routes, r.Routes(), len(old), r.StaticRoutes())
	}
	// One fewer fits.
	ps, gw = hosts(free)
	a, c, d, err := r.ReplaceRoutes(ps, gw)
	if err != nil || a != free || c != 0 || d != 5 {
		t.Fatalf("added, changed, removed = %d, %d, %d, %v; want %d, 0, 5", a, c, d, err, free)
	}
	wantVia(t, r, "100.0.0.1", "10.0.2.3", 1)
	wantVia(t, r, "203.0.4.7", "none", 0)
	if g := r.Config().Load().FIB.Groups(); g != fib.MaxGroups {
		t.Errorf("%d tbl8 groups in use, want all %d", g, fib.MaxGroups)
	}
	wantOwn(t, r)
}

// Running out of adjacencies before anything changes frees the ones
// allocated for the replace.
func TestReplaceRoutesAdjacencyFull(t *testing.T) {
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "big", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.128.0.1/16")}}); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	cfg := r.Config().Load()
	routes := func(n int) ([]netip.Prefix, func(int) netip.Addr) {
		ps := make([]netip.Prefix, n)
		for i := range ps {
			ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24)
		}
		return ps, func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 128, byte((i + 2) >> 8), byte(i + 2)}) }
	}
	ps, gw := routes(fib.MaxNextHop) // one gateway each: more than the free adjacencies
	if _, _, _, err := r.ReplaceRoutes(ps, gw); err == nil || !strings.Contains(err.Error(), "adjacency table full") {
		t.Fatalf("error %v, want adjacency table full", err)
	}
	r.Publish()
	if r.Config().Load() != cfg || r.StaticRoutes() != 0 {
		t.Fatal("a failed replace changed the router")
	}
	// Every adjacency came back: as many gateways as fit now work.
	ps, gw = routes(fib.MaxNextHop - 5) // none, local, drop, glean, broadcast
	if a, _, _, err := r.ReplaceRoutes(ps, gw); err != nil || a != len(ps) {
		t.Fatalf("added %d, %v; want %d", a, err, len(ps))
	}
	cfg = r.Config().Load()
	if a := cfg.Adj[cfg.FIB.Lookup(u32(netip.MustParseAddr("100.1.2.3")))]; a.Kind != dp.AdjIncomplete || a.IP() != netip.MustParseAddr("10.128.1.4") {
		t.Errorf("100.1.2.3: adjacency %+v, want gateway 10.128.1.4", a)
	}
}

// TestReplaceRoutesIPv6 (issue 12 c): a replace takes IPv6 routes as it
// takes IPv4 ones, in the same call and the same snapshot: IPv6
// prefixes added, changed (another gateway, with no adjacency yet) and
// removed (the configured ones it does not list), blackholes, and the
// router's own IPv6 routes left alone; an IPv6 entry that fails its
// checks changes nothing of either family.
func TestReplaceRoutesIPv6(t *testing.T) {
	l := dptest.New(t, dptest.Options{IPv6: true})
	r := l.Router
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:300::/48"), dptest.HostB6); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	lookup6 := func(a string) dp.Adj {
		cfg := r.Config().Load()
		return cfg.Adj[cfg.FIB6.Lookup(netip.MustParseAddr(a).As16())]
	}
	before := r.Stats().Publishes
	gw2 := netip.MustParseAddr("2001:db8:2::3")
	ps := []netip.Prefix{
		netip.MustParsePrefix("198.18.0.0/15"),     // IPv4, unchanged
		netip.MustParsePrefix("2001:db8:100::/40"), // changed: via gw2
		netip.MustParsePrefix("2001:db8:200::/40"), // added
		netip.MustParsePrefix("2001:db8:400::/48"), // added, a blackhole
		// 2001:db8:300::/48 removed
	}
	gws := []netip.Addr{dptest.HostB, gw2, dptest.HostB6, {}}
	a, c, d, err := r.ReplaceRoutes(ps, func(i int) netip.Addr { return gws[i] })
	if err != nil {
		t.Fatalf("ReplaceRoutes with IPv6 routes: %v", err)
	}
	if a != 2 || c != 1 || d != 1 {
		t.Errorf("added, changed, removed = %d, %d, %d; want 2, 1, 1", a, c, d)
	}
	if n := r.Stats().Publishes - before; n != 1 {
		t.Errorf("%d snapshots published, want 1", n)
	}
	if ad := lookup6("2001:db8:100::5"); ad.IP() != gw2 || ad.Kind != dp.AdjIncomplete {
		t.Errorf("2001:db8:100::5: %v via %v, want incomplete via %v", ad.Kind, ad.IP(), gw2)
	}
	if ad := lookup6("2001:db8:200::5"); ad.IP() != dptest.HostB6 || ad.Kind != dp.AdjForward {
		t.Errorf("2001:db8:200::5: %v via %v, want forward via %v", ad.Kind, ad.IP(), dptest.HostB6)
	}
	if ad := lookup6("2001:db8:400::5"); ad.Kind != dp.AdjDrop {
		t.Errorf("2001:db8:400::5: %v, want a blackhole", ad.Kind)
	}
	if ad := lookup6("2001:db8:300::5"); ad.Kind != dp.AdjNone {
		t.Errorf("2001:db8:300::5: %v, want no route (removed)", ad.Kind)
	}
	if ad := lookup6(dptest.R0v6.String()); ad.Kind != dp.AdjLocal {
		t.Errorf("the router's own %v: %v, want local", dptest.R0v6, ad.Kind)
	}
	if r.StaticRoutes() != 4 || !r.Static(netip.MustParsePrefix("2001:db8:200::/40")) || r.Static(netip.MustParsePrefix("2001:db8:300::/48")) {
		t.Errorf("configured routes: %d, want the 4 listed", r.StaticRoutes())
	}
	if rt := r.RuntimeRoutes(); len(rt) != 0 {
		t.Errorf("RuntimeRoutes after a replace: %v, want none", rt)
	}
	// A bad IPv6 entry: nothing changes, of either family.
	cfg := r.Config().Load()
	bad := append(slices.Clone(ps[:1]), netip.MustParsePrefix("2001:db8:500::/48"), netip.MustParsePrefix(dptest.R0v6.String()+"/128"))
	badGW := []netip.Addr{dptest.HostA, dptest.HostB6, dptest.HostB6}
	if _, _, _, err := r.ReplaceRoutes(bad, func(i int) netip.Addr { return badGW[i] }); err == nil || !strings.Contains(err.Error(), "routes[2] 2001:db8:1::1/128") {
		t.Errorf("a replace with the router's own /128: %v, want refused at routes[2]", err)
	}
	r.Publish()
	if r.Config().Load() != cfg || r.StaticRoutes() != 4 {
		t.Error("a failed replace changed the router")
	}
	// Running gives both families back, as Reconfigure takes them.
	run := r.Running()
	var got []string
	for i, p := range run.Routes {
		got = append(got, p.String()+" via "+run.Via(i).String())
	}
	want := []string{"198.18.0.0/15 via 10.0.2.2", "2001:db8:100::/40 via 2001:db8:2::3", "2001:db8:200::/40 via 2001:db8:2::2", "2001:db8:400::/48 via invalid IP"}
	if !slices.Equal(got, want) {
		t.Errorf("Running().Routes %q, want %q", got, want)
	}
}
