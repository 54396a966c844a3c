package control_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

// pausedReplace starts ReplaceRoutes(ps via gw) in a goroutine with a hook
// that stops it the first time it lets go of the router's lock, and
// returns once it is stopped there: release lets it go on, done is closed
// (with *err set) when it returns. It fails t if the replace returns
// without ever letting go of the lock (it held the lock throughout).
func pausedReplace(t *testing.T, l *dptest.Lab, ps []netip.Prefix, gw netip.Addr) (release func(), done chan struct{}, err *error) {
	t.Helper()
	paused, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	l.Router.SetReplaceHookForTest(func() {
		once.Do(func() {
			close(paused)
			<-resume
		})
	})
	done, err = make(chan struct{}), new(error)
	go func() {
		defer close(done)
		_, _, _, *err = l.Router.ReplaceRoutes(ps, func(int) netip.Addr { return gw })
	}()
	select {
	case <-paused:
	case <-done:
		t.Fatalf("ReplaceRoutes of %d routes returned (%v) without letting go of the router's lock midway", len(ps), *err)
	case <-time.After(2 * time.Minute):
		t.Fatal("ReplaceRoutes neither paused nor returned in 2 minutes")
	}
	return func() { close(resume) }, done, err
}

func table(n int) []netip.Prefix {
	ps := make([]netip.Prefix, n)
	for i := range ps {
		ps[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(i >> 8), byte(i), 0}), 24)
	}
	return ps
}

// TestReplaceRoutesLetsGoOfTheLock (issue 16 e): a full-table replace
// builds without holding the router's lock throughout. While it is
// stopped midway: the router answers (Lookup, Neighbors, Routes), the
// service loop runs, learns a new neighbour from its ARP request (which
// the worker answers), and route add and delete go through; nothing of
// the half-built table is published. After it: the new table is in, and
// the concurrent changes are not lost (they come after the replace).
func TestReplaceRoutesLetsGoOfTheLock(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	ctl := l.Router
	ps := table(60000)
	before := ctl.Config().Load()
	release, done, err := pausedReplace(t, l, ps, dptest.HostB)

	if m, ok := ctl.Lookup(dptest.HostB); !ok || m.Via != dptest.HostB {
		t.Errorf("Lookup(host B) during the replace: %+v %v", m, ok)
	}
	hostC := netip.MustParseAddr("10.0.1.50")
	macC := [6]byte{0x02, 0xcc, 0, 0, 0, 0x50}
	l.Out(0)
	l.Send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, macC, hostC, [6]byte{}, dptest.R0))
	if out := l.Out(0); len(out) != 1 {
		t.Errorf("ARP request to the router during the replace: %d frames back, want its reply", len(out))
	}
	learned := false
	for _, e := range ctl.Neighbors() {
		learned = learned || e.Addr == hostC
	}
	if !learned {
		t.Errorf("the service loop did not learn %v from its ARP request during the replace", hostC)
	}
	added := netip.MustParsePrefix("203.0.113.0/24") // not in the new table
	moved := ps[7]                                   // in it, via host B: via host A now
	if err := ctl.AddRoute(added, dptest.HostA); err != nil {
		t.Errorf("AddRoute during the replace: %v", err)
	}
	if err := ctl.AddRoute(moved, dptest.HostA); err != nil {
		t.Errorf("AddRoute during the replace: %v", err)
	}
	ctl.Publish()
	if cur := ctl.Config().Load(); cur.FIB.Routes() != before.FIB.Routes() {
		t.Errorf("a half-built table was published: %d routes in the snapshot, %d before the replace", cur.FIB.Routes(), before.FIB.Routes())
	}
	release()
	<-done
	if *err != nil {
		t.Fatal(*err)
	}
	for _, c := range []struct {
		p   netip.Prefix
		via netip.Addr
	}{{ps[0], dptest.HostB}, {ps[len(ps)-1], dptest.HostB}, {added, dptest.HostA}, {moved, dptest.HostA}} {
		if m, ok := ctl.Lookup(c.p.Addr().Next()); !ok || m.Prefix != c.p || m.Via != c.via || !ctl.Static(c.p) {
			t.Errorf("after the replace, Lookup(%v) = %+v %v, want %v via %v", c.p.Addr().Next(), m, ok, c.p, c.via)
		}
	}
	if ctl.Static(dptest.Remote) {
		t.Errorf("%v (configured before, not in the new table) is still there", dptest.Remote)
	}
	// Published: a packet to the concurrently added route goes to host A.
	l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, netip.MustParseAddr("203.0.113.9"), hdr.ProtoUDP, 64, false, dptest.UDP(1000, 9, 18)))
	if out := l.Out(0); len(out) != 1 || [6]byte(out[0][:6]) != dptest.HostAMAC {
		t.Errorf("after the replace, a packet to 203.0.113.9: %d frames out of if0, want 1 to host A", len(out))
	}
}

// TestReplaceRoutesInterfaceChangedMidway: an interface added while a
// replace is stopped midway (the interfaces its checks were made against
// changed) makes the replace build again, under the lock, against the new
// interfaces; the neighbour that is the new table's gateway, deleted
// meanwhile, keeps its adjacency for the routes. The result is the new
// table, through the gateway, with the new interface's routes.
func TestReplaceRoutesInterfaceChangedMidway(t *testing.T) {
	l := dptest.New(t, dptest.Options{VLANs: true})
	ctl := l.Router
	ps := table(40000)
	release, done, err := pausedReplace(t, l, ps, dptest.SubHost[2])
	if err := ctl.DeleteNeighbor(ctl.InterfaceIndex("if1.200"), dptest.SubHost[2]); err != nil {
		t.Fatal(err)
	}
	sub := netip.MustParsePrefix("10.0.30.1/24")
	if _, err := ctl.AddInterface(control.IfaceConfig{Name: "if1.300", Parent: "if1", VLAN: 300, Addrs: []netip.Prefix{sub}}); err != nil {
		t.Fatal(err)
	}
	release()
	<-done
	if *err != nil {
		t.Fatal(*err)
	}
	if m, ok := ctl.Lookup(ps[5].Addr().Next()); !ok || m.Prefix != ps[5] || m.Via != dptest.SubHost[2] {
		t.Errorf("after the replace, Lookup(%v) = %+v %v", ps[5].Addr().Next(), m, ok)
	}
	if m, ok := ctl.Lookup(netip.MustParseAddr("10.0.30.9")); !ok || m.Prefix != sub.Masked() {
		t.Errorf("after the replace, the interface added meanwhile: Lookup(10.0.30.9) = %+v %v", m, ok)
	}
	if n := ctl.StaticRoutes(); n != len(ps) {
		t.Errorf("%d configured routes after the replace, want %d", n, len(ps))
	}
}
