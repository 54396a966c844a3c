package ip6_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestNDStaticNotMoved: a Neighbor Solicitation whose Source Link-Layer
// Address differs from a static neighbour's MAC is answered but changes
// nothing: the entry stays static at its MAC, and no neighbour move is
// counted (nothing moved).
func TestNDStaticNotMoved(t *testing.T) {
	l := newNDLab(t)
	if err := l.r.AddNeighbor(0, hostA, macA); err != nil {
		t.Fatal(err)
	}
	l.step()
	before := l.r.Stats().NeighborMoves
	for range 3 {
		got := l.in(0, nsFrame(t, mcastMAC(solNode(r0)), macB, hostA, solNode(r0), r0))
		if len(got[0]) != 1 {
			t.Fatalf("NS from %v not answered: %x", hostA, got)
		}
	}
	for _, e := range l.r.Neighbors() {
		if e.Addr == hostA && (e.State != neigh.Static || e.MAC != macA) {
			t.Fatalf("static neighbour %v became %v at %x", hostA, e.State, e.MAC)
		}
	}
	if n := l.r.Stats().NeighborMoves - before; n != 0 {
		t.Fatalf("%d neighbour moves counted for a static neighbour a solicitation could not move", n)
	}
}

// TestRSLearnsSender: RFC 4861 §6.2.6: a Router Solicitation from a
// unicast address with a Source Link-Layer Address option creates the
// sender's neighbour entry (Stale) or, if its MAC differs, updates it and
// makes it Stale; one from :: changes nothing.
func TestRSLearnsSender(t *testing.T) {
	l := &ndLab{now: time.Unix(1000, 0)}
	l.r = control.New(control.Options{Now: func() time.Time { return l.now }})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}, RA: true},
		{Name: "if1", MAC: mac1, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:2::1/64")}},
	} {
		if _, err := l.r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	l.r.Publish()
	l.lab = &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}
	l.w = dp.NewWorker(0, l.r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	l.r.AttachWorkers([]*dp.Worker{l.w})
	l.step() // the first unsolicited RA
	allRouters := netip.MustParseAddr("ff02::2")
	rs := func(src netip.Addr, m [6]byte, opt bool) []byte {
		s := &layers.ICMPv6RouterSolicitation{}
		if opt {
			s.Options = ndOpt(layers.ICMPv6OptSourceAddress, m)
		}
		return ser(t, eth(mcastMAC(allRouters), m), ip(src, allRouters, layers.IPProtocolICMPv6, 255),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(133, 0)}, s)
	}
	nb := func() (neigh.Entry, bool) {
		for _, e := range l.r.Neighbors() {
			if e.Iface == 0 && e.Addr == hostLL {
				return e, true
			}
		}
		return neigh.Entry{}, false
	}
	l.in(0, rs(netip.IPv6Unspecified(), macA, false))
	if e, ok := nb(); ok || len(l.r.Neighbors()) != 0 {
		t.Fatalf("an RS from :: made neighbours %+v (%+v)", l.r.Neighbors(), e)
	}
	l.now = l.now.Add(4 * time.Second)
	l.in(0, rs(hostLL, macA, true))
	if e, ok := nb(); !ok || e.State != neigh.Stale || e.MAC != macA {
		t.Fatalf("after an RS from %v with SLLA %x: neighbours %+v, want it stale at that MAC", hostLL, macA, l.r.Neighbors())
	}
	// Confirmed, then the host's MAC changes: the next RS updates it, Stale.
	l.in(0, naFrame(t, mac0, macA, hostLL, eui64LL(mac0), hostLL, 0x60))
	l.now = l.now.Add(4 * time.Second)
	l.in(0, rs(hostLL, macB, true))
	if e, ok := nb(); !ok || e.State != neigh.Stale || e.MAC != macB {
		t.Fatalf("after an RS with a new SLLA %x: neighbours %+v, want %v stale at it", macB, l.r.Neighbors(), hostLL)
	}
}

// TestRALinkUp: an interface that sends Router Advertisements and was
// down through the first rounds advertises soon after it comes up (RFC
// 4861 §6.2.4: initial advertisements at most 16 s apart when an
// interface becomes an advertising one), not only at the next 200 s
// round; and never within 3 s of the previous round (MinDelayBetweenRAs).
func TestRALinkUp(t *testing.T) {
	l := &ndLab{now: time.Unix(1000, 0)}
	l.r = control.New(control.Options{Now: func() time.Time { return l.now }})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}, RA: true},
		{Name: "if1", MAC: mac1, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:2::1/64")}, RA: true},
	} {
		if _, err := l.r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.r.SetLinkUp(1, false); err != nil {
		t.Fatal(err)
	}
	l.r.Publish()
	l.lab = &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}
	l.w = dp.NewWorker(0, l.r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	l.r.AttachWorkers([]*dp.Worker{l.w})
	// The initial rounds: if0 only.
	for i := range 3 {
		got := l.step()
		if len(got[0]) != 1 || len(got[1]) != 0 {
			t.Fatalf("round %d: if0 sent %d, if1 %d; want one RA on if0", i, len(got[0]), len(got[1]))
		}
		l.now = l.now.Add(16 * time.Second)
	}
	l.now = l.now.Add(time.Second)
	if got := l.step(); len(got[0])+len(got[1]) != 0 {
		t.Fatalf("between rounds: sent %x", got)
	}
	if err := l.r.SetLinkUp(1, true); err != nil {
		t.Fatal(err)
	}
	sent := false
	for range 16 {
		l.now = l.now.Add(time.Second)
		if got := l.step(); len(got[1]) > 0 {
			sent = true
			break
		}
	}
	if !sent {
		t.Fatal("if1 sent no Router Advertisement within 16 s of its link coming up")
	}
}
