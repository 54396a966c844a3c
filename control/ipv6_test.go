package control_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/neigh"
)

// TestIPv6Represented: an IPv6
// interface address and an IPv6 neighbour pass through the control
// plane's types into the published dp.Config unchanged: the address in
// dp.Iface.Addrs and Addr6 next to the IPv4 one, the neighbour's
// adjacency with its 16-byte address and the IPv6 EtherType in its
// rewrite. Nothing of it reaches the IPv4 FIB (its routes are the IPv6
// FIB's, TestIPv6Routes).
func TestIPv6Represented(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	nmac := [6]byte{2, 0, 0, 0, 0, 2}
	v4 := netip.MustParsePrefix("10.0.1.1/24")
	v6 := netip.MustParsePrefix("2001:db8:1::1/64")
	nb := netip.MustParseAddr("2001:db8:1::2")

	only4 := control.New(control.Options{})
	if _, err := only4.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{v4}}); err != nil {
		t.Fatal(err)
	}
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{v6, v4}}); err != nil {
		t.Fatalf("AddInterface with an IPv6 address: %v", err)
	}
	if err := r.AddNeighbor(0, nb, nmac); err != nil {
		t.Fatalf("AddNeighbor %v: %v", nb, err)
	}
	r.Publish()
	if r.Routes() != only4.Routes()+3 {
		t.Errorf("%d routes, want %d: those without the IPv6 address and neighbour, and its /128, its /64 and the neighbour's /128", r.Routes(), only4.Routes()+3)
	}
	cfg := r.Config().Load()
	ifc := cfg.Ifaces[0]
	if !slices.Equal(ifc.Addrs, []dp.IfaceAddr{dp.IfaceAddrOf(v6), dp.IfaceAddrOf(v4)}) || ifc.Addr4 != 0x0a000101 || ifc.Addr6 != v6.Addr().As16() {
		t.Errorf("published interface: Addrs %v Addr4 %#x Addr6 %v", ifc.Addrs, ifc.Addr4, ifc.Addr6)
	}
	var found []dp.Adj
	for _, a := range cfg.Adj {
		if a.Addr == nb.As16() {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d adjacencies for %v in the snapshot, want 1: %+v", len(found), nb, cfg.Adj)
	}
	a := found[0]
	want := [dp.MaxL2]byte{8: 2, 9: 0, 10: 0, 11: 0, 12: 0, 13: 2, 14: 2, 15: 0, 16: 0, 17: 0, 18: 0, 19: 1, 20: 0x86, 21: 0xdd}
	if a.Kind != dp.AdjForward || a.Iface != 0 || a.MTU != 1500 || a.L2 != want || a.TagLen != 0 || a.EtherType() != 0x86dd || a.IP() != nb {
		t.Errorf("IPv6 neighbour's adjacency %+v, want forward on if0 with header %x", a, want)
	}
	if got := r.Interfaces()[0].Addrs; len(got) != 2 || got[0].Prefix() != v6 || got[1].Prefix() != v4 {
		t.Errorf("Interfaces()[0].Addrs %v", got)
	}
	ns := r.Neighbors()
	if len(ns) != 1 || ns[0].Key != (neigh.Key{Iface: 0, Addr: nb}) || ns[0].State != neigh.Static || ns[0].MAC != nmac {
		t.Errorf("Neighbors() %+v", ns)
	}

	// Reconfigure (softnet reload) keeps and changes IPv6 addresses as
	// it does IPv4 ones.
	v6b := netip.MustParsePrefix("2001:db8:2::1/64")
	d := control.Desired{Ifaces: []control.IfaceState{{MTU: 1500, Addrs: []netip.Prefix{v4, v6b}}}, ICMPRate: 1000, ICMPBurst: 100}
	if _, err := r.Reconfigure(d); err != nil {
		t.Fatalf("Reconfigure to %v: %v", d.Ifaces[0].Addrs, err)
	}
	ifc = r.Config().Load().Ifaces[0]
	if !slices.Equal(ifc.Addrs, []dp.IfaceAddr{dp.IfaceAddrOf(v4), dp.IfaceAddrOf(v6b)}) || ifc.Addr4 != 0x0a000101 || ifc.Addr6 != v6b.Addr().As16() {
		t.Errorf("after Reconfigure: Addrs %v Addr4 %#x Addr6 %v", ifc.Addrs, ifc.Addr4, ifc.Addr6)
	}
	if len(r.Neighbors()) != 0 || r.Routes() != only4.Routes()+2 {
		t.Errorf("after Reconfigure: neighbours %+v (want none), %d routes (want %d: the new address's /128 and /64)", r.Neighbors(), r.Routes(), only4.Routes()+2)
	}
	if err := r.AddNeighbor(0, nb, nmac); err == nil || !strings.Contains(err.Error(), "not on a subnet of if0") {
		t.Errorf("AddNeighbor %v off if0's subnets: %v, want refused", nb, err)
	}
}

// TestIPv6MappedRefused: an IPv4-mapped IPv6 address is never an
// interface address or a neighbour (IPv4 is written as IPv4).
func TestIPv6MappedRefused(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(0, netip.MustParseAddr("::ffff:10.0.1.2"), [6]byte{2, 0, 0, 0, 0, 2}); err == nil || !strings.Contains(err.Error(), "IPv4-mapped") {
		t.Errorf("AddNeighbor IPv4-mapped: %v, want refused", err)
	}
}

// TestIPv6Routes: IPv6 interface addresses, static neighbours and routes
// go into the IPv6 FIB (Config.FIB6): the address's /128 local, its
// subnet connected, a neighbour's /128 and a route via it to the
// neighbour's adjacency; a route of the other family's next hop and one
// to an own prefix are refused; deleting the route takes it out.
func TestIPv6Routes(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	nmac := [6]byte{2, 0, 0, 0, 0, 2}
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("10.0.1.1/24")}}); err != nil {
		t.Fatal(err)
	}
	nb := netip.MustParseAddr("2001:db8:1::2")
	if err := r.AddNeighbor(0, nb, nmac); err != nil {
		t.Fatal(err)
	}
	remote := netip.MustParsePrefix("2001:db8:100::/40")
	if err := r.AddRoute(remote, nb); err != nil {
		t.Fatalf("AddRoute %v via %v: %v", remote, nb, err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:200::/40"), netip.MustParseAddr("10.0.1.2")); err == nil || !strings.Contains(err.Error(), "other address family") {
		t.Errorf("IPv6 route via an IPv4 next hop: %v, want refused", err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:1::/64"), nb); err == nil || !strings.Contains(err.Error(), "connected subnet") {
		t.Errorf("route to if0's IPv6 subnet: %v, want refused", err)
	}
	if !r.Static(remote) || r.StaticRoutes() != 1 {
		t.Errorf("Static(%v) %v, StaticRoutes %d", remote, r.Static(remote), r.StaticRoutes())
	}
	r.Publish()
	cfg := r.Config().Load()
	if cfg.FIB6 == nil {
		t.Fatal("no FIB6 published")
	}
	kind := func(a string) dp.AdjKind { return cfg.Adj[cfg.FIB6.Lookup(netip.MustParseAddr(a).As16())].Kind }
	if k := kind("2001:db8:1::1"); k != dp.AdjLocal {
		t.Errorf("own address: %v, want local", k)
	}
	if k := kind("2001:db8:1::99"); k != dp.AdjGlean {
		t.Errorf("on the subnet: %v, want glean", k)
	}
	for _, a := range []string{"2001:db8:1::2", "2001:db8:100::5"} {
		ad := cfg.Adj[cfg.FIB6.Lookup(netip.MustParseAddr(a).As16())]
		if ad.Kind != dp.AdjForward || ad.IP() != nb || string(ad.Header()) != string([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd}) {
			t.Errorf("%s: adjacency %+v, want the neighbour's", a, ad)
		}
	}
	if k := kind("2001:db9::1"); k != dp.AdjNone {
		t.Errorf("elsewhere: %v, want none", k)
	}
	if cfg.FIB.Lookup(0x0a000101) == 0 {
		t.Error("the IPv4 FIB lost its routes")
	}
	if err := r.DeleteRoute(remote); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	cfg = r.Config().Load()
	if k := kind("2001:db8:100::5"); k != dp.AdjNone {
		t.Errorf("after DeleteRoute: %v, want none", k)
	}
}

// TestIPv6Lookup: Lookup and RouteCounts6 (softnet show routes) see the
// IPv6 routes.
func TestIPv6Lookup(t *testing.T) {
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}}); err != nil {
		t.Fatal(err)
	}
	nb := netip.MustParseAddr("2001:db8:1::2")
	if err := r.AddNeighbor(0, nb, [6]byte{2, 0, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8::/32"), nb); err != nil {
		t.Fatal(err)
	}
	m, ok := r.Lookup(netip.MustParseAddr("2001:db8:7::1"))
	if !ok || m.Prefix != netip.MustParsePrefix("2001:db8::/32") || m.Kind != dp.AdjForward || m.Via != nb || m.Iface != 0 || !m.Static {
		t.Errorf("Lookup 2001:db8:7::1: %+v %v", m, ok)
	}
	m, ok = r.Lookup(netip.MustParseAddr("2001:db8:1::9"))
	if !ok || m.Prefix != netip.MustParsePrefix("2001:db8:1::/64") || m.Kind != dp.AdjGlean || m.Via != netip.MustParseAddr("2001:db8:1::9") || m.Static {
		t.Errorf("Lookup 2001:db8:1::9: %+v %v", m, ok)
	}
	c := r.RouteCounts6()
	if c[32] != 1 || c[64] != 1 || c[128] != 2 {
		t.Errorf("RouteCounts6 /32 %d /64 %d /128 %d, want 1, 1, 2", c[32], c[64], c[128])
	}
}
