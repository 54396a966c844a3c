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
	// The name and the tag are free again; the new one has a new index.
	j := add()
	if j == i || r.Config().Load().VLANs[0].Dot1Q[100] != uint16(j) {
		t.Fatalf("re-added at %d (deleted %d), entry %d", j, i, r.Config().Load().VLANs[0].Dot1Q[100])
	}
}
