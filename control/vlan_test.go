package control

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/dp"
)

// TestDeleteVLAN adds a VLAN sub-interface at run time, refuses to delete
// it while a configured route goes through its neighbour, deletes it
// (table entry, addresses, routes, neighbours gone, in one publish) and
// adds the same name and tag again.
func TestDeleteVLAN(t *testing.T) {
	r := New(Options{})
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	if _, err := r.AddInterface(IfaceConfig{Name: "eth0", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}}); err != nil {
		t.Fatal(err)
	}
	add := func() int {
		t.Helper()
		i, err := r.AddInterface(IfaceConfig{Name: "v100", Parent: "eth0", VLAN: 100, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.100.1/24")}})
		if err != nil {
			t.Fatal(err)
		}
		r.Publish()
		return i
	}
	i := add()
	gw := netip.MustParseAddr("10.0.100.2")
	if err := r.AddNeighbor(i, gw, [6]byte{2, 0xaa, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("198.51.100.0/24"), gw); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if err := r.DeleteVLAN("v100"); err == nil || !strings.Contains(err.Error(), "delete them first") {
		t.Fatalf("delete with a route through it: %v", err)
	}
	if cfg := r.Config().Load(); cfg.VLANs[0].Dot1Q[100] == 0 {
		t.Fatal("a refused delete changed the VLAN table")
	}
	if err := r.DeleteRoute(netip.MustParsePrefix("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	pub := r.Stats().Publishes
	if err := r.DeleteVLAN("v100"); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Publishes - pub; n != 1 {
		t.Errorf("%d publishes, want 1", n)
	}
	cfg := r.Config().Load()
	if cfg.VLANs[0].Dot1Q[100] != 0 || !cfg.Ifaces[i].Deleted || cfg.Ifaces[i].Up || len(cfg.Ifaces[i].Addrs) != 0 {
		t.Fatalf("after delete: entry %d, iface %+v", cfg.VLANs[0].Dot1Q[100], cfg.Ifaces[i])
	}
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.100.2")); ok {
		t.Errorf("10.0.100.2 still routed: %+v", m)
	}
	if a := cfg.Adj[cfg.FIB.Lookup(0x0a006402)]; a.Kind != dp.AdjNone {
		t.Errorf("data plane still routes 10.0.100.2: %+v", a)
	}
	for _, n := range r.Neighbors() {
		if n.Iface == i {
			t.Errorf("neighbour left on the deleted interface: %+v", n)
		}
	}
	if len(r.VLANs()) != 0 || r.InterfaceIndex("v100") >= 0 {
		t.Errorf("deleted VLAN still listed: %+v", r.VLANs())
	}
	if err := r.DeleteVLAN("v100"); err == nil {
		t.Error("deleting twice succeeded")
	}
	if err := r.DeleteVLAN("eth0"); err == nil || !strings.Contains(err.Error(), "not a VLAN") {
		t.Errorf("deleting a port: %v", err)
	}
	// The name and the tag are free again; with no worker attached the
	// deleted index is reused at once (see TestVLANIndexReuseWaitsForWorkers).
	j := add()
	if j != i || r.Config().Load().VLANs[0].Dot1Q[100] != uint16(j) {
		t.Fatalf("re-added at %d (deleted %d), entry %d", j, i, r.Config().Load().VLANs[0].Dot1Q[100])
	}
}

// TestVLANReaddOtherTPID: deleting the only QinQ sub-interface on an outer
// tag and adding one with another TPID gives the table the new TPID.
func TestVLANReaddOtherTPID(t *testing.T) {
	r := New(Options{})
	if _, err := r.AddInterface(IfaceConfig{Name: "p0", MAC: [6]byte{2, 0, 0, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.AddInterface(IfaceConfig{Name: "q", Parent: "p0", OuterVLAN: 10, VLAN: 20, TPID: 0x9100}); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if err := r.DeleteVLAN("q"); err != nil {
		t.Fatal(err)
	}
	i, err := r.AddInterface(IfaceConfig{Name: "q2", Parent: "p0", OuterVLAN: 10, VLAN: 20})
	if err != nil {
		t.Fatal(err)
	}
	r.Publish()
	cfg := r.Config().Load()
	o := cfg.VLANs[0].QinQ[10]
	t.Logf("table TPID %#x, iface TPID %#x tags % x", o.TPID, cfg.Ifaces[i].TPID, cfg.Ifaces[i].TagBytes())
	if o.TPID != cfg.Ifaces[i].TPID {
		t.Errorf("stale outer TPID in VLAN table")
	}
	// DeleteVLAN("") hits the deleted one
	if err := r.DeleteVLAN(""); err == nil {
		t.Errorf("DeleteVLAN(\"\") succeeded")
	}
}

// TestAddInterfaceAddressChecks: an interface added at run time may not
// take another's subnet, nor a network or broadcast address.
func TestAddInterfaceAddressChecks(t *testing.T) {
	r := New(Options{})
	mp := func(s string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(s)} }
	if _, err := r.AddInterface(IfaceConfig{Name: "p0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: mp("10.0.0.1/24")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ addr, want string }{
		{"10.0.0.9/24", "overlaps"},
		{"10.0.5.1/16", "overlaps"},
		{"10.9.0.0/24", "network address"},
		{"10.9.0.255/24", "broadcast address"},
	} {
		if _, err := r.AddInterface(IfaceConfig{Name: "v", Parent: "p0", VLAN: 5, Addrs: mp(c.addr)}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.addr, err, c.want)
		}
	}
	if _, err := r.AddInterface(IfaceConfig{Name: "v", Parent: "p0", VLAN: 5, Addrs: mp("10.9.0.1/24")}); err != nil {
		t.Fatal(err)
	}
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.0.50")); !ok || m.Iface != 0 {
		t.Errorf("p0's subnet: %+v %v", m, ok)
	}
}

// TestReconfigureKeepsDeletedVLAN: a desired state taken before a VLAN
// was deleted does not bring it back.
func TestReconfigureKeepsDeletedVLAN(t *testing.T) {
	r := New(Options{})
	mp := func(s string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(s)} }
	r.AddInterface(IfaceConfig{Name: "p0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: mp("10.0.0.1/24")})
	r.AddInterface(IfaceConfig{Name: "v", Parent: "p0", VLAN: 5, Addrs: mp("10.5.0.1/24")})
	r.Publish()
	d := Desired{Ifaces: []IfaceState{{MTU: 1500, Addrs: mp("10.0.0.1/24")}, {MTU: 1496, Addrs: mp("10.5.0.1/24")}}, Via: func(int) netip.Addr { return netip.Addr{} }, ICMPRate: 1000, ICMPBurst: 100}
	if err := r.DeleteVLAN("v"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconfigure(d); err != nil {
		t.Fatal(err)
	}
	m, ok := r.Lookup(netip.MustParseAddr("10.5.0.9"))
	ifs := r.Interfaces()
	t.Logf("after stale reconfigure: route %+v ok=%v; iface1 deleted=%v up=%v tags=% x", m, ok, ifs[1].Deleted, ifs[1].Up, ifs[1].TagBytes())
	if ok {
		t.Errorf("deleted VLAN resurrected")
	}
}

// TestVLANIndexReuse: 20,000 add/delete cycles of a VLAN with an address
// (more than dp.MaxIfaces indices and than the adjacency table holds)
// reuse the deleted VLAN's index and adjacencies: the interface and
// adjacency tables stay the size they were after the first cycle.
func TestVLANIndexReuse(t *testing.T) {
	r := New(Options{})
	if _, err := r.AddInterface(IfaceConfig{Name: "eth0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}}); err != nil {
		t.Fatal(err)
	}
	var ifaces, adjs int
	for n := 0; n < 20000; n++ {
		i, err := r.AddInterface(IfaceConfig{Name: "v", Parent: "eth0", VLAN: 1 + n%4000, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}})
		if err != nil {
			t.Fatalf("cycle %d: %v", n, err)
		}
		r.Publish()
		if m, ok := r.Lookup(netip.MustParseAddr("10.9.0.7")); !ok || m.Iface != i {
			t.Fatalf("cycle %d: 10.9.0.7 routed %+v %v, want through interface %d", n, m, ok, i)
		}
		if err := r.DeleteVLAN("v"); err != nil {
			t.Fatalf("cycle %d: %v", n, err)
		}
		if n == 0 {
			ifaces, adjs = len(r.Interfaces()), r.adj.Len()
		}
	}
	if len(r.Interfaces()) != ifaces || r.adj.Len() != adjs {
		t.Fatalf("after 20000 cycles: %d interfaces, %d adjacencies; after the first: %d, %d", len(r.Interfaces()), r.adj.Len(), ifaces, adjs)
	}
}
