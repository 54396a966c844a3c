package control_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/rules"
	"github.com/softnet/softnet/neigh"
)

// ipv6On turns on IPv6 interface addresses and neighbours (rules.IPv6,
// off until softnet forwards IPv6) for the rest of test t.
func ipv6On(t *testing.T) {
	t.Helper()
	rules.IPv6 = true
	t.Cleanup(func() { rules.IPv6 = false })
}

// TestIPv6Represented: with the one refusal off (rules.IPv6), an IPv6
// interface address and an IPv6 neighbour pass through the control
// plane's types into the published dp.Config unchanged: the address in
// dp.Iface.Addrs and Addr6 next to the IPv4 one, the neighbour's
// adjacency with its 16-byte address and the IPv6 EtherType in its
// rewrite. Nothing of it reaches the IPv4 FIB: the IPv4 routes are those
// of the same router without the IPv6 address.
func TestIPv6Represented(t *testing.T) {
	ipv6On(t)
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
	if r.Routes() != only4.Routes() {
		t.Errorf("%d IPv4 routes, want %d as without the IPv6 address and neighbour", r.Routes(), only4.Routes())
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
	if len(r.Neighbors()) != 0 || r.Routes() != only4.Routes() {
		t.Errorf("after Reconfigure: neighbours %+v (want none), %d routes (want %d)", r.Neighbors(), r.Routes(), only4.Routes())
	}
	if err := r.AddNeighbor(0, nb, nmac); err == nil || !strings.Contains(err.Error(), "not on a subnet of if0") {
		t.Errorf("AddNeighbor %v off if0's subnets: %v, want refused", nb, err)
	}
}

// TestIPv6Refused: while rules.IPv6 is off, every way in refuses an IPv6
// interface address or neighbour, saying so.
func TestIPv6Refused(t *testing.T) {
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	v4 := netip.MustParsePrefix("10.0.1.1/24")
	v6 := netip.MustParsePrefix("2001:db8:1::1/64")
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{v4, v6}}); err == nil || !strings.Contains(err.Error(), "2001:db8:1::1 is IPv6, not IPv4: softnet forwards only IPv4") {
		t.Errorf("AddInterface with an IPv6 address: %v, want refused", err)
	}
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac, Addrs: []netip.Prefix{v4}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(0, netip.MustParseAddr("2001:db8:1::2"), [6]byte{2, 0, 0, 0, 0, 2}); err == nil || !strings.Contains(err.Error(), "is IPv6, not IPv4") {
		t.Errorf("AddNeighbor IPv6: %v, want refused", err)
	}
	d := control.Desired{Ifaces: []control.IfaceState{{MTU: 1500, Addrs: []netip.Prefix{v4, v6}}}, ICMPRate: 1000, ICMPBurst: 100}
	if _, err := r.Reconfigure(d); err == nil || !strings.Contains(err.Error(), "interface if0: address 2001:db8:1::1 is IPv6, not IPv4") {
		t.Errorf("Reconfigure with an IPv6 address: %v, want refused", err)
	}
	if err := r.AddNeighbor(0, netip.MustParseAddr("::ffff:10.0.1.2"), [6]byte{2, 0, 0, 0, 0, 2}); err == nil || !strings.Contains(err.Error(), "IPv4-mapped") {
		t.Errorf("AddNeighbor IPv4-mapped: %v, want refused", err)
	}
}
