package control_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
)

func kernelRouter(t *testing.T) *control.Router {
	t.Helper()
	r := control.New(control.Options{})
	for _, c := range []control.IfaceConfig{
		{Name: "wan0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}},
		{Name: "wan1", MAC: [6]byte{2, 0, 0, 0, 0, 2}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24")}},
	} {
		if _, err := r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

var (
	kgwA = netip.MustParseAddr("10.0.1.2")
	kgwB = netip.MustParseAddr("10.0.2.2")
)

// TestKernelRoutesShadowAndOrigin: a kernel route to one of the router's
// own prefixes or to a configured route's is remembered, not installed;
// the others are installed with their protocol as origin; a kernel /32 to
// a neighbour takes its host route over and gives it back on delete.
func TestKernelRoutesShadowAndOrigin(t *testing.T) {
	r := kernelRouter(t)
	if err := r.AddRoute(netip.MustParsePrefix("198.51.100.0/24"), kgwA); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(1, kgwB, [6]byte{2, 0xbb, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	pubs := r.Stats().Publishes
	res := r.ApplyKernel([]control.KernelRoute{
		{Prefix: netip.MustParsePrefix("10.0.1.0/24"), Proto: "kernel", NextHops: []control.NextHop{{Iface: 0}}},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: kgwB}}},
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Proto: "ospf", NextHops: []control.NextHop{{Iface: 1, Via: kgwB}}},
		{Prefix: netip.MustParsePrefix("10.0.2.2/32"), Proto: "bgp", NextHops: []control.NextHop{{Iface: 0, Via: kgwA}}},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Proto: "bgp", NextHops: []control.NextHop{{Iface: 1, Via: netip.MustParseAddr("10.9.9.9")}}},
	}, nil)
	if res.Added != 2 || res.Shadowed != 2 || len(res.Errors) != 1 {
		t.Fatalf("ApplyKernel: %+v, want 2 added, 2 shadowed, 1 error (a next hop on no subnet)", res)
	}
	if got := r.Stats().Publishes - pubs; got != 1 {
		t.Fatalf("%d snapshots published for one batch, want 1", got)
	}
	for _, c := range []struct{ q, origin, via string }{
		{"10.0.1.9", "connected", ""},
		{"198.51.100.1", "static", "10.0.1.2"},
		{"203.0.113.1", "ospf", "10.0.2.2"},
		{"10.0.2.2", "bgp", "10.0.1.2"},
	} {
		m, ok := r.Lookup(netip.MustParseAddr(c.q))
		if !ok || m.Origin != c.origin || (c.via != "" && m.Via.String() != c.via) {
			t.Errorf("Lookup %s: %+v, want origin %s via %s", c.q, m, c.origin, c.via)
		}
	}
	if in, sh := r.KernelRoutes(); in != 2 || sh != 2 {
		t.Errorf("KernelRoutes: %d installed, %d shadowed, want 2 and 2", in, sh)
	}
	res = r.ApplyKernel(nil, []netip.Prefix{netip.MustParsePrefix("10.0.2.2/32"), netip.MustParsePrefix("198.51.100.0/24")})
	if res.Deleted != 2 {
		t.Fatalf("delete: %+v", res)
	}
	if m, _ := r.Lookup(kgwB); m.Origin != "neighbor" || m.Via != kgwB || m.Kind != dp.AdjForward {
		t.Errorf("10.0.2.2 after the kernel /32's delete: %+v, want the neighbour's host route back", m)
	}
	if m, _ := r.Lookup(netip.MustParseAddr("198.51.100.1")); m.Origin != "static" || m.Via != kgwA {
		t.Errorf("the configured route after the shadowing kernel route's delete: %+v", m)
	}
}

// TestKernelECMPGroupsShared: routes with the same next hops share one
// group; the group and the neighbour adjacencies it made are freed with
// its last route.
func TestKernelECMPGroupsShared(t *testing.T) {
	r := kernelRouter(t)
	inUse0, _ := r.Adjacencies()
	hops := []control.NextHop{{Iface: 0, Via: kgwA}, {Iface: 1, Via: kgwB, Weight: 2}}
	var set []control.KernelRoute
	for i := range 100 {
		set = append(set, control.KernelRoute{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24), Proto: "bgp", NextHops: hops})
	}
	if res := r.ApplyKernel(set, nil); res.Added != 100 {
		t.Fatalf("ApplyKernel: %+v", res)
	}
	// Two neighbour adjacencies and one group for the 100 routes.
	if inUse, _ := r.Adjacencies(); inUse != inUse0+3 {
		t.Fatalf("%d adjacencies in use, want %d (two neighbours, one group)", inUse, inUse0+3)
	}
	cfg := r.Config().Load()
	m, _ := r.Lookup(netip.MustParseAddr("198.18.7.1"))
	if m.Kind != dp.AdjGroup || len(m.NextHops) != 2 {
		t.Fatalf("Lookup: %+v", m)
	}
	if len(cfg.ECMP) != 3 {
		t.Fatalf("buckets %v, want 3 (weights 1 and 2)", cfg.ECMP)
	}
	var del []netip.Prefix
	for _, k := range set {
		del = append(del, k.Prefix)
	}
	if res := r.ApplyKernel(nil, del); res.Deleted != 100 {
		t.Fatalf("delete: %+v", res)
	}
	if inUse, _ := r.Adjacencies(); inUse != inUse0 {
		t.Fatalf("%d adjacencies in use after every route went, want %d: the group or its members leaked", inUse, inUse0)
	}
	if cfg := r.Config().Load(); len(cfg.ECMP) != 0 {
		t.Fatalf("buckets %v left after the group's last route went", cfg.ECMP)
	}
}
