package control

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/neigh"
)

// pausedReconfigure starts r.Reconfigure(d) in a goroutine with a hook
// that stops it the stopAt-th time it lets go of the router's lock, runs
// during (with the lock free) and lets it go on; it returns Reconfigure's
// error. It fails t if Reconfigure never stops there.
func pausedReconfigure(t *testing.T, r *Router, d Desired, stopAt int, during func()) error {
	t.Helper()
	paused, resume := make(chan struct{}), make(chan struct{})
	calls := 0
	r.SetReplaceHookForTest(func() {
		if calls++; calls == stopAt {
			close(paused)
			<-resume
		}
	})
	defer r.SetReplaceHookForTest(nil)
	done := make(chan error, 1)
	go func() { _, err := r.Reconfigure(d); done <- err }()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("Reconfigure of %d routes returned (%v) without stopping at its %d-th yield", len(d.Routes), err, stopAt)
	case <-time.After(2 * time.Minute):
		t.Fatal("Reconfigure neither paused nor returned in 2 minutes")
	}
	during()
	close(resume)
	return <-done
}

// bigTable is n /24s in 100.0.0.0/8.
func bigTable(n int) []netip.Prefix {
	ps := make([]netip.Prefix, n)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24)
	}
	return ps
}

// vlanReconfigRouter is reconfigRouter with a VLAN sub-interface v100 of
// if1 (10.0.100.1/24), whose index it returns.
func vlanReconfigRouter(t *testing.T) (*Router, int) {
	t.Helper()
	r := reconfigRouter(t)
	v, err := r.AddInterface(IfaceConfig{Name: "v100", Parent: "if1", VLAN: 100, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.100.1/24")}})
	if err != nil {
		t.Fatal(err)
	}
	r.Publish()
	return r, v
}

// published reports whether the published snapshot routes a.
func published(r *Router, a netip.Addr) bool {
	return r.Config().Load().FIB.Lookup(u32(a)) != 0
}

// TestReconfigureFailedKeepsChangesMeanwhile: a Reconfigure whose route
// replace fails (its gateway's VLAN deleted while it let go of the lock)
// takes its own changes back, but a route added through the API
// meanwhile (AddRoute answered OK) stays and is published: the undo must
// not wipe the dirty flag it set.
func TestReconfigureFailedKeepsChangesMeanwhile(t *testing.T) {
	r, _ := vlanReconfigRouter(t)
	d := r.desiredNow()
	d.Routes, d.Via = bigTable(50000), func(int) netip.Addr { return netip.MustParseAddr("10.0.100.2") }
	added := netip.MustParsePrefix("203.0.113.0/24")
	err := pausedReconfigure(t, r, d, 4, func() { // the replace's first yield
		if err := r.AddRoute(added, netip.MustParseAddr("10.0.2.2")); err != nil {
			t.Error(err)
		}
		if err := r.DeleteVLAN("v100"); err != nil {
			t.Error(err)
		}
	})
	if err == nil {
		t.Fatal("Reconfigure through a gateway on a VLAN deleted meanwhile succeeded")
	}
	if !r.Static(added) {
		t.Fatalf("the route added during the failed Reconfigure is gone")
	}
	r.Publish() // what the service loop does when something is to publish
	if !published(r, added.Addr().Next()) {
		t.Errorf("the route added during the failed Reconfigure (AddRoute answered OK) is not published")
	}
}

// pausedReplaceAt starts r.ReplaceRoutes(ps via gw) and calls during[k]
// at its k-th yield (the lock let go of); it returns the replace's error.
func pausedReplaceAt(t *testing.T, r *Router, ps []netip.Prefix, gw netip.Addr, during map[int]func()) error {
	t.Helper()
	calls := 0
	r.SetReplaceHookForTest(func() {
		calls++
		if f := during[calls]; f != nil {
			f()
		}
	})
	defer r.SetReplaceHookForTest(nil)
	_, _, _, err := r.ReplaceRoutes(ps, func(int) netip.Addr { return gw })
	if calls < len(during) {
		t.Fatalf("the replace let go of the lock %d times, the test needs %d", calls, len(during))
	}
	return err
}

// TestReplaceRoutesDeleteOfRouteAddedMeanwhile: a route added while a
// replace let go of the lock and deleted at a later yield, after the
// replace's removal pass took it out (it is not in the new table), stays
// deleted: the delete is answered from the state the router ends in (the
// add done again after the replace, then the delete) and is done again
// after the replace too, rather than refused and the add replayed.
func TestReplaceRoutesDeleteOfRouteAddedMeanwhile(t *testing.T) {
	r := reconfigRouter(t)
	p := netip.MustParsePrefix("203.0.113.0/24") // not in the new table
	var delErr error
	err := pausedReplaceAt(t, r, bigTable(20000), netip.MustParseAddr("10.0.2.2"), map[int]func(){
		1: func() { // checking the entries
			if err := r.AddRoute(p, netip.MustParseAddr("10.0.2.2")); err != nil {
				t.Error(err)
			}
		},
		2: func() {},
		3: func() { delErr = r.DeleteRoute(p) }, // adding the new routes: the removals are done
	})
	if err != nil {
		t.Fatal(err)
	}
	if delErr != nil {
		t.Errorf("DeleteRoute of the route added during the replace: %v", delErr)
	}
	if r.Static(p) {
		t.Errorf("%v, added then deleted during the replace, is a configured route after it", p)
	}
	if m, ok := r.Lookup(p.Addr().Next()); ok && m.Prefix == p {
		t.Errorf("%v, added then deleted during the replace, is routed after it: %+v", p, m)
	}
}

// TestReconfigureChangesDuringChecks: changes made while Reconfigure lets
// go of the lock during its checks (before it changes anything) come after
// it, as docs/api.md says: a route added meanwhile stays although the new
// table lacks it, a static neighbour added meanwhile stays although the
// desired neighbours lack it, and an interface set down meanwhile stays
// down although the desired state has it up.
func TestReconfigureChangesDuringChecks(t *testing.T) {
	r := reconfigRouter(t)
	d := r.desiredNow()
	d.Routes, d.Via = bigTable(50000), func(int) netip.Addr { return netip.MustParseAddr("10.0.2.2") }
	added := netip.MustParsePrefix("203.0.113.0/24")
	nb := netip.MustParseAddr("10.0.2.3")
	err := pausedReconfigure(t, r, d, 1, func() { // the checks' first
		if err := r.AddRoute(added, netip.MustParseAddr("10.0.2.2")); err != nil {
			t.Error(err)
		}
		if err := r.AddNeighbor(1, nb, [6]byte{2, 0xcc, 0, 0, 0, 3}); err != nil {
			t.Error(err)
		}
		if err := r.SetInterfaceUp(0, false); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Static(added) || !published(r, added.Addr().Next()) {
		t.Errorf("the route added during the checks: configured %v, published %v; want both", r.Static(added), published(r, added.Addr().Next()))
	}
	if !hasStatic(r, 1, nb) {
		t.Errorf("the static neighbour %v added during the checks is gone", nb)
	}
	if r.AdminUp(0) {
		t.Error("interface 0, set down during the checks, is up after the Reconfigure")
	}
	if !r.Static(d.Routes[len(d.Routes)-1]) || r.Static(netip.MustParsePrefix("198.18.0.0/15")) {
		t.Error("the new table is not in")
	}
}

// TestReconfigureInterfaceAddedDuringChecks: an interface added while
// Reconfigure let go of the lock in its checks makes the desired state's
// interface count wrong: refused, with nothing changed.
func TestReconfigureInterfaceAddedDuringChecks(t *testing.T) {
	r := reconfigRouter(t)
	d := r.desiredNow()
	d.Routes, d.Via = bigTable(50000), func(int) netip.Addr { return netip.MustParseAddr("10.0.2.2") }
	err := pausedReconfigure(t, r, d, 1, func() {
		if _, err := r.AddInterface(IfaceConfig{Name: "if2", MAC: [6]byte{2, 0, 0, 0, 0, 3}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}}); err != nil {
			t.Error(err)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "interfaces given") {
		t.Fatalf("Reconfigure with 2 interfaces after a third was added meanwhile: %v, want the interface count refused", err)
	}
	if r.Static(d.Routes[0]) || !r.Static(netip.MustParsePrefix("198.18.0.0/15")) {
		t.Error("the refused Reconfigure changed the routes")
	}
}

// hasStatic reports whether a static neighbour a is on interface iface.
func hasStatic(r *Router, iface int, a netip.Addr) bool {
	for _, e := range r.Neighbors() {
		if e.Iface == iface && e.Addr == a && e.State == neigh.Static {
			return true
		}
	}
	return false
}

// TestReconfigureFailedKeepsStateChangesMeanwhile: a Reconfigure whose
// replace fails takes back its own changes to the interfaces and the
// neighbours, not the API's made while it let go of the lock: an
// interface set down, a static neighbour added and one deleted meanwhile
// stay so.
func TestReconfigureFailedKeepsStateChangesMeanwhile(t *testing.T) {
	r, _ := vlanReconfigRouter(t)
	d := r.desiredNow()
	d.Routes, d.Via = bigTable(50000), func(int) netip.Addr { return netip.MustParseAddr("10.0.100.2") }
	nb, gone := netip.MustParseAddr("10.0.2.3"), netip.MustParseAddr("10.0.2.2")
	err := pausedReconfigure(t, r, d, 4, func() { // the replace's first yield
		if err := r.SetInterfaceUp(0, false); err != nil {
			t.Error(err)
		}
		if err := r.AddNeighbor(1, nb, [6]byte{2, 0xcc, 0, 0, 0, 3}); err != nil {
			t.Error(err)
		}
		if err := r.DeleteNeighbor(1, gone); err != nil {
			t.Error(err)
		}
		if err := r.DeleteVLAN("v100"); err != nil { // the replace fails
			t.Error(err)
		}
	})
	if err == nil {
		t.Fatal("Reconfigure through a gateway on a VLAN deleted meanwhile succeeded")
	}
	if r.AdminUp(0) {
		t.Error("interface 0, set down during the failed Reconfigure, is up again")
	}
	if !hasStatic(r, 1, nb) {
		t.Errorf("the static neighbour %v added during the failed Reconfigure is gone", nb)
	}
	if hasStatic(r, 1, gone) {
		t.Errorf("the static neighbour %v deleted during the failed Reconfigure is back", gone)
	}
	if v := r.InterfaceIndex("v100"); v >= 0 {
		t.Errorf("the VLAN deleted during the failed Reconfigure is back (index %d)", v)
	}
}

// TestVLANRoutesParkedWithTheirPort: a VLAN sub-interface's own Up does
// not follow its port's link (only ports get SetLinkUp), so the routes
// through it (a route via its neighbour, the neighbour's host route, its
// connected subnet) are parked when its port goes down, a covering
// route then carries their traffic, and they come back when the port is
// up again.
func TestVLANRoutesParkedWithTheirPort(t *testing.T) {
	r, v := vlanReconfigRouter(t)
	gw := netip.MustParseAddr("10.0.100.2")
	if err := r.AddNeighbor(v, gw, [6]byte{2, 0xdd, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	viaVLAN := netip.MustParsePrefix("203.0.113.0/24")
	if err := r.AddRoute(viaVLAN, gw); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr("10.0.1.2")); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	dflt := r.Config().Load().FIB.Lookup(u32(netip.MustParseAddr("198.51.100.1")))
	probes := []netip.Addr{viaVLAN.Addr().Next(), gw, netip.MustParseAddr("10.0.100.9")}
	nh := func(a netip.Addr) uint16 { return r.Config().Load().FIB.Lookup(u32(a)) }
	for _, a := range probes {
		if got := nh(a); got == 0 || got == dflt {
			t.Fatalf("before: %v goes to next hop %d (default's %d)", a, got, dflt)
		}
	}
	if err := r.SetLinkUp(1, false); err != nil { // v100's port
		t.Fatal(err)
	}
	r.Publish()
	for _, a := range probes {
		if got := nh(a); got != dflt {
			t.Errorf("port if1 down: %v goes to next hop %d, want the default route's (%d): the route through its VLAN is not parked", a, got, dflt)
		}
	}
	before := r.Routes()
	if err := r.SetLinkUp(1, true); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	for _, a := range probes {
		if got := nh(a); got == 0 || got == dflt {
			t.Errorf("port if1 up again: %v goes to next hop %d (default's %d): not back in the FIB", a, got, dflt)
		}
	}
	if r.Routes() != before {
		t.Errorf("%d routes after the port came back, %d while it was down", r.Routes(), before)
	}
}

// TestReconfigureFailedKeepsKernelAddrs: a Reconfigure that drops a
// kernel address (linux_cp) because the new config puts its subnet on
// another interface, and then fails (its replace: a gateway's VLAN
// deleted meanwhile), puts the address back as the kernel's, not as a
// configured one: config save still leaves it out, and the kernel's
// delete still removes it.
func TestReconfigureFailedKeepsKernelAddrs(t *testing.T) {
	r, _ := vlanReconfigRouter(t)
	cfg0, k4 := netip.MustParsePrefix("10.0.1.1/24"), netip.MustParsePrefix("10.0.7.1/24")
	if res := r.ApplyKernelAddrs(map[int][]netip.Prefix{0: {cfg0, k4}}); res.Added != 1 || len(res.Errors) != 0 {
		t.Fatalf("ApplyKernelAddrs: %+v", res)
	}
	d := r.desiredNow()
	d.Ifaces[0].Addrs = []netip.Prefix{cfg0} // the config's
	d.Ifaces[1].Addrs = append(slices.Clone(d.Ifaces[1].Addrs), netip.MustParsePrefix("10.0.7.2/24"))
	d.Routes, d.Via = bigTable(50000), func(int) netip.Addr { return netip.MustParseAddr("10.0.100.2") }
	err := pausedReconfigure(t, r, d, 4, func() {
		if err := r.DeleteVLAN("v100"); err != nil { // the replace fails
			t.Error(err)
		}
	})
	if err == nil {
		t.Fatal("Reconfigure through a gateway on a VLAN deleted meanwhile succeeded")
	}
	if ka := r.KernelAddrs(); !slices.Contains(ka[0], k4) {
		t.Errorf("kernel addresses after the failed Reconfigure %v, want %v on interface 0 still the kernel's", ka, k4)
	}
	if st := r.RunningState(); slices.Contains(st.Desired.Ifaces[0].Addrs, k4) {
		t.Errorf("config save after the failed Reconfigure writes the kernel's %v: %v", k4, st.Desired.Ifaces[0].Addrs)
	}
}
