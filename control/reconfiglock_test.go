package control

import (
	"net/netip"
	"testing"
	"time"
)

// TestReconfigureLetsGoOfTheLock (issue 16 e): a reload of a large table
// (Reconfigure) lets go of the router's lock while it checks and builds:
// stopped midway, the router answers and a route added meanwhile is in
// after it; nothing is published before it ends, then once.
func TestReconfigureLetsGoOfTheLock(t *testing.T) {
	r := reconfigRouter(t)
	ps := make([]netip.Prefix, 50000)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24)
	}
	d := r.desiredNow()
	d.Routes, d.Via = ps, func(int) netip.Addr { return netip.MustParseAddr("10.0.2.2") }
	paused, resume := make(chan struct{}), make(chan struct{})
	calls := 0
	r.SetReplaceHookForTest(func() {
		if calls++; calls == 4 { // past the checks, in the build
			close(paused)
			<-resume
		}
	})
	done := make(chan error, 1)
	go func() { _, err := r.Reconfigure(d); done <- err }()
	select {
	case <-paused:
	case err := <-done:
		t.Fatalf("Reconfigure of %d routes returned (%v) without letting go of the router's lock midway", len(ps), err)
	case <-time.After(2 * time.Minute):
		t.Fatal("Reconfigure neither paused nor returned in 2 minutes")
	}
	pub := r.Stats().Publishes
	if m, ok := r.Lookup(netip.MustParseAddr("10.0.2.2")); !ok || m.Iface != 1 {
		t.Errorf("Lookup during the reconfigure: %+v %v", m, ok)
	}
	added := netip.MustParsePrefix("203.0.113.0/24")
	if err := r.AddRoute(added, netip.MustParseAddr("10.0.2.2")); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	if r.Stats().Publishes != pub {
		t.Error("published during the reconfigure")
	}
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.Stats().Publishes != pub+1 {
		t.Errorf("%d publishes for the reconfigure, want 1", r.Stats().Publishes-pub)
	}
	if !r.Static(added) || !r.Static(ps[len(ps)-1]) || r.Static(netip.MustParsePrefix("198.18.0.0/15")) {
		t.Errorf("after the reconfigure: %v %v, 198.18.0.0/15 %v; want the new table and the route added meanwhile",
			r.Static(added), r.Static(ps[len(ps)-1]), r.Static(netip.MustParsePrefix("198.18.0.0/15")))
	}
}
