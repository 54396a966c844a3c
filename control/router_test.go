package control_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/pkt"
)

var (
	remoteDst = netip.MustParseAddr("198.18.1.1") // inside dptest.Remote, via HostB
	macNew    = [6]byte{0x02, 0xbb, 0, 0, 0, 0x99}
	zeroMAC   [6]byte
)

// udpFrom builds a UDP frame from host A (received on if0) to dst, with
// source port sport so that frames can be told apart.
func udpFrom(dst netip.Addr, sport uint16) []byte {
	return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dst, hdr.ProtoUDP, 64, false, dptest.UDP(sport, 9, 18))
}

// newLab builds dptest's lab without its static neighbours and adds the
// ones asked for, so that each test states what it relies on. A static
// host A lets ICMP errors sent back to it leave at once instead of waiting
// for ARP.
func newLab(t *testing.T, staticA, staticB bool) *dptest.Lab {
	t.Helper()
	l := dptest.New(t, dptest.Options{NoStatic: true})
	if staticA {
		if err := l.Router.AddNeighbor(0, dptest.HostA, dptest.HostAMAC); err != nil {
			t.Fatal(err)
		}
	}
	if staticB {
		if err := l.Router.AddNeighbor(1, dptest.HostB, dptest.HostBMAC); err != nil {
			t.Fatal(err)
		}
	}
	l.Router.Publish()
	return l
}

// one asserts that exactly one frame left interface i and returns it.
func one(t *testing.T, l *dptest.Lab, i int, what string) []byte {
	t.Helper()
	out := l.Out(i)
	if len(out) != 1 {
		t.Fatalf("%s: %d frames left if%d, want 1", what, len(out), i)
	}
	return out[0]
}

func none(t *testing.T, l *dptest.Lab, what string) {
	t.Helper()
	for i := range 2 {
		if out := l.Out(i); len(out) != 0 {
			t.Fatalf("%s: %d frames left if%d, want none", what, len(out), i)
		}
	}
}

func u32(a netip.Addr) uint32 { return dptest.U32(a) }

// wantForwarded checks a forwarded copy of udpFrom(dst, sport): Ethernet
// addresses from the adjacency, TTL decremented with a valid checksum,
// everything else intact.
func wantForwarded(t *testing.T, f []byte, dstMAC, srcMAC [6]byte, dst netip.Addr, sport uint16) {
	t.Helper()
	orig := udpFrom(dst, sport)
	if len(f) != len(orig) {
		t.Fatalf("forwarded frame is %d bytes, want %d", len(f), len(orig))
	}
	e := hdr.Ethernet(f)
	if !bytes.Equal(e.Dst(), dstMAC[:]) || !bytes.Equal(e.Src(), srcMAC[:]) || e.Type() != hdr.EtherTypeIPv4 {
		t.Fatalf("forwarded Ethernet header dst %x src %x type %#x, want %x %x IPv4", e.Dst(), e.Src(), e.Type(), dstMAC, srcMAC)
	}
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if ip.TTL() != 63 {
		t.Fatalf("TTL %d, want 63 (decremented once)", ip.TTL())
	}
	if hdr.Checksum(ip[:ip.HeaderLen()], 0) != 0 {
		t.Fatal("forwarded IPv4 header checksum is wrong")
	}
	if ip.Dst() != u32(dst) || ip.Src() != u32(dptest.HostA) {
		t.Fatalf("addresses changed: %08x -> %08x", ip.Src(), ip.Dst())
	}
	if got := binary.BigEndian.Uint16(ip.Payload()); got != sport {
		t.Fatalf("forwarded packet has source port %d, want %d", got, sport)
	}
	if !bytes.Equal(ip.Payload(), hdr.IPv4(orig[hdr.EthernetLen:]).Payload()) {
		t.Fatal("payload changed")
	}
}

// wantICMP checks an ICMP error from the router (if0's address) to host A
// about a packet to dst.
func wantICMP(t *testing.T, f []byte, typ, code uint8, dst netip.Addr) {
	t.Helper()
	e := hdr.Ethernet(f)
	if !bytes.Equal(e.Dst(), dptest.HostAMAC[:]) || !bytes.Equal(e.Src(), dptest.R0MAC[:]) || e.Type() != hdr.EtherTypeIPv4 {
		t.Fatalf("ICMP Ethernet header dst %x src %x type %#x", e.Dst(), e.Src(), e.Type())
	}
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if ip.Validate() != hdr.OK || ip.Protocol() != hdr.ProtoICMP {
		t.Fatalf("not a valid IPv4/ICMP packet: %v proto %d", ip.Validate(), ip.Protocol())
	}
	if ip.Src() != u32(dptest.R0) || ip.Dst() != u32(dptest.HostA) {
		t.Fatalf("ICMP %08x -> %08x, want 10.0.1.1 -> 10.0.1.2", ip.Src(), ip.Dst())
	}
	c := hdr.ICMPv4(ip.Payload())
	if c.Type() != typ || c.Code() != code {
		t.Fatalf("ICMP type %d code %d, want %d %d", c.Type(), c.Code(), typ, code)
	}
	if hdr.Checksum(c, 0) != 0 {
		t.Fatal("ICMP checksum is wrong")
	}
	q := hdr.IPv4(c.Payload())
	if len(q) < hdr.IPv4MinLen || q.Dst() != u32(dst) || q.Src() != u32(dptest.HostA) {
		t.Fatal("ICMP error does not quote the offending header")
	}
}

// wantARPRequest checks an ARP request from if1 for target, sent to dstMAC
// (broadcast, or the neighbour's MAC for a probe).
func wantARPRequest(t *testing.T, f []byte, dstMAC [6]byte, target netip.Addr) {
	t.Helper()
	e := hdr.Ethernet(f)
	if !bytes.Equal(e.Dst(), dstMAC[:]) || !bytes.Equal(e.Src(), dptest.R1MAC[:]) || e.Type() != hdr.EtherTypeARP {
		t.Fatalf("ARP request Ethernet dst %x src %x type %#x, want %x %x ARP", e.Dst(), e.Src(), e.Type(), dstMAC, dptest.R1MAC)
	}
	a := hdr.ARP(f[hdr.EthernetLen:])
	if a.Validate() != hdr.OK || a.Op() != hdr.ARPRequest {
		t.Fatalf("not an ARP request: %v op %d", a.Validate(), a.Op())
	}
	if !bytes.Equal(a.SenderMAC(), dptest.R1MAC[:]) || a.SenderIP() != u32(dptest.R1) {
		t.Fatalf("ARP sender %x %08x, want if1's %x 10.0.2.1", a.SenderMAC(), a.SenderIP(), dptest.R1MAC)
	}
	if !bytes.Equal(a.TargetMAC(), zeroMAC[:]) || a.TargetIP() != u32(target) {
		t.Fatalf("ARP target %x %08x, want zero MAC and %v", a.TargetMAC(), a.TargetIP(), target)
	}
}

func neighbor(l *dptest.Lab, iface int, a netip.Addr) *neigh.Entry {
	for _, e := range l.Router.Neighbors() {
		if e.Iface == iface && e.Addr == a {
			return &e
		}
	}
	return nil
}

// replyFromHostB is host B's ARP reply to the router's request.
func replyFromHostB(mac [6]byte) []byte {
	return dptest.ARPFrame(hdr.ARPReply, dptest.R1MAC, mac, dptest.HostB, dptest.R1MAC, dptest.R1)
}

func TestRouterAddInterfaceValidation(t *testing.T) {
	good := [6]byte{0x02, 0, 0, 0, 0, 1}
	v4 := []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}
	maxMTU := pkt.MaxFrame - hdr.EthernetLen - 8 // a VLAN tag pair still fits a buffer
	tests := []struct {
		name    string
		c       control.IfaceConfig
		wantErr string // "" = accepted
	}{
		{"default MTU", control.IfaceConfig{Name: "a", MAC: good, Addrs: v4}, ""},
		{"MTU 68", control.IfaceConfig{Name: "a", MAC: good, MTU: 68}, ""},
		{"largest MTU", control.IfaceConfig{Name: "a", MAC: good, MTU: maxMTU}, ""},
		{"MTU 67", control.IfaceConfig{Name: "a", MAC: good, MTU: 67}, "MTU 67 out of range"},
		{"MTU too large", control.IfaceConfig{Name: "a", MAC: good, MTU: maxMTU + 1}, "out of range"},
		{"negative MTU", control.IfaceConfig{Name: "a", MAC: good, MTU: -1}, "out of range"},
		{"multicast MAC", control.IfaceConfig{Name: "a", MAC: [6]byte{0x01, 0x00, 0x5e, 0, 0, 1}}, "not a unicast address"},
		{"broadcast MAC", control.IfaceConfig{Name: "a", MAC: dptest.Broadcast}, "not a unicast address"},
		{"zero MAC", control.IfaceConfig{Name: "a", MAC: [6]byte{}}, "not a unicast address"},
		{"IPv6 address", control.IfaceConfig{Name: "a", MAC: good, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")}}, "not IPv4"},
		{"IPv6 second address", control.IfaceConfig{Name: "a", MAC: good, Addrs: append(v4[:1:1], netip.MustParsePrefix("2001:db8::1/64"))}, "not IPv4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := control.New(control.Options{})
			idx, err := r.AddInterface(tc.c)
			if tc.wantErr == "" {
				if err != nil || idx != 0 || len(r.Interfaces()) != 1 {
					t.Fatalf("AddInterface: %d, %v; want index 0, accepted", idx, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("AddInterface accepted %+v", tc.c)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "interface a") {
				t.Fatalf("error %q does not name the interface and say %q", err, tc.wantErr)
			}
			if n := len(r.Interfaces()); n != 0 {
				t.Fatalf("a rejected interface was added (%d interfaces)", n)
			}
			if n := r.Routes(); n != 0 {
				t.Fatalf("a rejected interface left %d routes", n)
			}
		})
	}
}

func TestRouterAddInterfaceRoutes(t *testing.T) {
	r := control.New(control.Options{})
	mac := [6]byte{0x02, 0, 0, 0, 0, 1}
	if i, err := r.AddInterface(control.IfaceConfig{Name: "a", MAC: mac, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}}); err != nil || i != 0 {
		t.Fatal(i, err)
	}
	if i, err := r.AddInterface(control.IfaceConfig{Name: "b", MAC: mac, MTU: 9000 / 10, Addrs: []netip.Prefix{netip.MustParsePrefix("10.9.1.0/31")}}); err != nil || i != 1 {
		t.Fatal(i, err)
	}
	r.Publish()
	cfg := r.Config().Load()
	tests := []struct {
		addr string
		kind dp.AdjKind
	}{
		{"10.9.0.1", dp.AdjLocal},
		{"10.9.0.7", dp.AdjGlean},
		{"10.9.0.0", dp.AdjBroadcast},
		{"10.9.0.255", dp.AdjBroadcast},
		{"10.9.1.0", dp.AdjLocal},
		{"10.9.1.1", dp.AdjGlean}, // RFC 3021: a /31 has no broadcast address
		{"10.9.2.1", dp.AdjNone},
	}
	for _, tc := range tests {
		nh := cfg.FIB.Lookup(u32(netip.MustParseAddr(tc.addr)))
		if got := cfg.Adj[nh].Kind; got != tc.kind {
			t.Errorf("%s: adjacency kind %d, want %d", tc.addr, got, tc.kind)
		}
	}
	if ifs := r.Interfaces(); ifs[0].MTU != 1500 || ifs[1].MTU != 900 || !ifs[0].Up {
		t.Errorf("interfaces %+v", ifs)
	}
}

func TestRouterAddRouteErrors(t *testing.T) {
	l := newLab(t, false, true)
	before := l.Router.Routes()
	tests := []struct {
		name    string
		p       netip.Prefix
		gw      netip.Addr
		wantErr []string
	}{
		{"gateway off-link", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("192.0.2.1"), []string{"192.0.2.1", "is on no interface's subnet", "203.0.113.0/24"}},
		{"gateway next to a subnet", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("10.0.3.1"), []string{"10.0.3.1"}},
		{"IPv6 gateway", netip.MustParsePrefix("203.0.113.0/24"), netip.MustParseAddr("2001:db8::1"), []string{"2001:db8::1", "not an IPv4 address"}},
		{"IPv6 prefix", netip.MustParsePrefix("2001:db8::/32"), dptest.HostB, []string{"2001:db8::/32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Router.AddRoute(tc.p, tc.gw)
			if err == nil {
				t.Fatalf("AddRoute(%v, %v) accepted", tc.p, tc.gw)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if l.Router.Routes() != before {
				t.Errorf("a rejected route changed the table: %d routes, want %d", l.Router.Routes(), before)
			}
		})
	}
	if err := l.Router.DeleteRoute(netip.MustParsePrefix("203.0.113.0/24")); !errors.Is(err, control.ErrNoRoute) {
		t.Fatalf("DeleteRoute of a missing route: %v, want ErrNoRoute", err)
	}
}

// TestRouteChanges adds, replaces and deletes routes and checks where a
// packet to 198.18.1.1 goes after each change.
func TestRouterRouteChanges(t *testing.T) {
	l := newLab(t, true, true)
	r := l.Router
	routes := r.Routes()

	type step struct {
		name   string
		change func() error
		// where the packet must go: if1 to host B, if0 to host A (routed
		// back out), or an ICMP net unreachable back on if0.
		want string
	}
	steps := []step{
		{"initial route via host B", func() error { return nil }, "hostB"},
		{"replace with host A", func() error { return r.AddRoute(dptest.Remote, dptest.HostA) }, "hostA"},
		{"more specific via host B", func() error { return r.AddRoute(netip.MustParsePrefix("198.18.1.0/24"), dptest.HostB) }, "hostB"},
		{"unmasked prefix deletes the /24", func() error { return r.DeleteRoute(netip.MustParsePrefix("198.18.1.77/24")) }, "hostA"},
		{"replace back with host B", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
		{"delete", func() error { return r.DeleteRoute(dptest.Remote) }, "unreachable"},
		{"add again", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
		{"blackhole", func() error { return r.AddRoute(dptest.Remote, netip.Addr{}) }, "dropped"},
		{"un-blackhole", func() error { return r.AddRoute(dptest.Remote, dptest.HostB) }, "hostB"},
	}
	for i, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		r.Publish()
		sport := uint16(1000 + i)
		l.Send(0, udpFrom(remoteDst, sport))
		switch s.want {
		case "hostB":
			wantForwarded(t, one(t, l, 1, s.name), dptest.HostBMAC, dptest.R1MAC, remoteDst, sport)
			none(t, l, s.name)
		case "hostA":
			wantForwarded(t, one(t, l, 0, s.name), dptest.HostAMAC, dptest.R0MAC, remoteDst, sport)
			none(t, l, s.name)
		case "unreachable":
			wantICMP(t, one(t, l, 0, s.name), hdr.ICMPv4DestUnreach, hdr.ICMPv4NetUnreach, remoteDst)
			none(t, l, s.name)
		case "dropped":
			none(t, l, s.name)
		}
	}
	if r.Routes() != routes {
		t.Fatalf("%d routes at the end, want %d as at the start", r.Routes(), routes)
	}
	c := l.Counters()
	if c.ICMPErrors[dp.ICMPErrNetUnreach] != 1 || c.Drops[dp.IP4Blackhole] != 1 {
		t.Fatalf("net unreachable %d, blackhole drops %d; want 1 1", c.ICMPErrors[dp.ICMPErrNetUnreach], c.Drops[dp.IP4Blackhole])
	}
}

// snap is a deep copy of what a worker reads from a Config.
type snap struct {
	nhs    []uint16
	adj    []dp.Adj
	ifaces []dp.Iface
	routes int
}

var probeAddrs = []string{"198.18.1.1", "198.19.255.1", "10.0.2.2", "10.0.2.9", "10.0.1.1", "10.0.1.2", "10.0.2.255", "10.0.3.1", "203.0.113.1", "8.8.8.8"}

func take(c *dp.Config) snap {
	s := snap{adj: slices.Clone(c.Adj), routes: c.FIB.Routes()}
	for _, a := range probeAddrs {
		s.nhs = append(s.nhs, c.FIB.Lookup(u32(netip.MustParseAddr(a))))
	}
	for _, ifc := range c.Ifaces {
		ifc.Addrs = slices.Clone(ifc.Addrs)
		s.ifaces = append(s.ifaces, ifc)
	}
	return s
}

func TestRouterSnapshotImmutable(t *testing.T) {
	l := newLab(t, false, false)
	r := l.Router
	old := r.Config().Load()
	before := take(old)

	changes := []struct {
		name string
		f    func() error
	}{
		{"add route", func() error { return r.AddRoute(netip.MustParsePrefix("203.0.113.0/24"), dptest.HostB) }},
		{"delete route", func() error { return r.DeleteRoute(dptest.Remote) }},
		{"static neighbour", func() error { return r.AddNeighbor(1, dptest.HostB, dptest.HostBMAC) }},
		{"interface", func() error {
			_, err := r.AddInterface(control.IfaceConfig{Name: "if2", MAC: [6]byte{2, 0, 0, 0, 0, 3}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.3.1/24")}})
			return err
		}},
		{"interface down", func() error { return r.SetInterfaceUp(0, false) }},
		{"learned neighbour", func() error {
			r.SetInterfaceUp(0, true)
			r.Publish()
			l.Send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, dptest.HostA, zeroMAC, dptest.R0))
			return nil
		}},
	}
	for _, c := range changes {
		if err := c.f(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r.Publish()
		if !reflect.DeepEqual(take(old), before) {
			t.Fatalf("after %s: the snapshot published before it changed", c.name)
		}
	}
	cur := r.Config().Load()
	if cur == old {
		t.Fatal("no new snapshot was published")
	}
	after := take(cur)
	if reflect.DeepEqual(after, before) {
		t.Fatal("the new snapshot shows none of the changes")
	}
	if got := cur.Adj[cur.FIB.Lookup(u32(remoteDst))].Kind; got != dp.AdjNone {
		t.Fatalf("new snapshot: 198.18.1.1 still routed (adjacency kind %d)", got)
	}
	if len(cur.Ifaces) != 3 || len(old.Ifaces) != 2 {
		t.Fatalf("interfaces: old %d new %d, want 2 3", len(old.Ifaces), len(cur.Ifaces))
	}
}

// TestARPResolution: a packet to an unresolved neighbour is held while the
// router ARPs, and leaves once the reply arrives.
func TestRouterARPResolution(t *testing.T) {
	tests := []struct {
		name string
		dst  netip.Addr
	}{
		{"connected host", dptest.HostB},
		{"via gateway", remoteDst}, // resolves the gateway, 10.0.2.2
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, false)
			l.Send(0, udpFrom(tc.dst, 1))
			wantARPRequest(t, one(t, l, 1, "ARP request"), dptest.Broadcast, dptest.HostB)
			none(t, l, "while resolving")
			if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Incomplete {
				t.Fatalf("neighbour while resolving: %+v, want incomplete", e)
			}
			// A second packet waits too, without a second request.
			l.Send(0, udpFrom(tc.dst, 2))
			none(t, l, "second packet while resolving")

			l.Send(1, replyFromHostB(dptest.HostBMAC))
			out := l.Out(1)
			if len(out) != 2 {
				t.Fatalf("%d frames after the reply, want the 2 held packets", len(out))
			}
			for i, f := range out {
				wantForwarded(t, f, dptest.HostBMAC, dptest.R1MAC, tc.dst, uint16(i+1))
			}
			none(t, l, "after the reply")
			e := neighbor(l, 1, dptest.HostB)
			if e == nil || e.State != neigh.Reachable || e.MAC != dptest.HostBMAC {
				t.Fatalf("neighbour after the reply: %+v", e)
			}
			st := l.Router.Stats()
			if st.ARPRequests != 1 || st.Resolved != 2 || st.QueueDrops != 0 {
				t.Fatalf("stats %+v: want 1 request, 2 resolved, no drops", st)
			}
			if st.NeighborMoves != 0 {
				t.Fatalf("NeighborMoves %d after a first resolution, want 0: nothing moved", st.NeighborMoves)
			}
			// Resolved: the next packet goes straight out.
			l.Send(0, udpFrom(tc.dst, 3))
			wantForwarded(t, one(t, l, 1, "after resolution"), dptest.HostBMAC, dptest.R1MAC, tc.dst, 3)
			if st := l.Router.Stats(); st.ARPRequests != 1 {
				t.Fatalf("%d ARP requests, want 1", st.ARPRequests)
			}
		})
	}
}

func TestRouterARPQueueBound(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := neigh.New(neigh.Options{}).Options().MaxPending
	const sent = 10
	var frames [][]byte
	for i := range sent {
		frames = append(frames, udpFrom(dptest.HostB, uint16(100+i)))
	}
	l.Send(0, frames...)
	wantARPRequest(t, one(t, l, 1, "ARP request for 10 packets"), dptest.Broadcast, dptest.HostB)
	none(t, l, "while resolving")

	l.Send(1, replyFromHostB(dptest.HostBMAC))
	out := l.Out(1)
	if len(out) != maxPending {
		t.Fatalf("%d packets left after the reply, want MaxPending %d", len(out), maxPending)
	}
	// The oldest are dropped (as Linux does): the last four remain, in order.
	for i, f := range out {
		wantForwarded(t, f, dptest.HostBMAC, dptest.R1MAC, dptest.HostB, uint16(100+sent-maxPending+i))
	}
	st := l.Router.Stats()
	if st.QueueDrops != sent-uint64(maxPending) {
		t.Errorf("Stats().QueueDrops %d, want %d (packets dropped from the full resolution queue)", st.QueueDrops, sent-maxPending)
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.Dropped != sent-uint64(maxPending) {
		t.Errorf("neighbour Dropped: %+v, want %d", e, sent-maxPending)
	}
}

func TestRouterARPNoReply(t *testing.T) {
	l := newLab(t, true, false)
	l.Send(0, udpFrom(remoteDst, 1))
	wantARPRequest(t, one(t, l, 1, "request 1"), dptest.Broadcast, dptest.HostB)
	l.Advance(900 * time.Millisecond)
	none(t, l, "0.9 s")
	l.Send(0, udpFrom(remoteDst, 2)) // queued; no request of its own
	none(t, l, "second packet")
	for i := 2; i <= 3; i++ {
		l.Advance(100 * time.Millisecond)
		wantARPRequest(t, one(t, l, 1, "retransmission"), dptest.Broadcast, dptest.HostB)
		l.Advance(900 * time.Millisecond)
		none(t, l, "between requests")
	}
	l.Advance(100 * time.Millisecond) // 3 s: failed
	// The two held packets are answered with ICMP host unreachable
	// (RFC 1812 §5.2.7.1, as Linux does), not dropped silently.
	for i := range 2 {
		out := l.Out(0)
		if len(out) != 2 {
			t.Fatalf("on failure: %d frames left if0, want 2 host unreachable", len(out))
		}
		wantICMP(t, out[i], hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, remoteDst)
		break
	}
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Failed {
		t.Fatalf("neighbour after 3 unanswered requests: %+v, want failed", e)
	}
	st := l.Router.Stats()
	if st.ARPRequests != 3 || st.QueueDrops != 0 || st.Unreachable != 2 || st.Resolved != 0 {
		t.Fatalf("stats %+v: want 3 requests, 2 held packets sent back as unreachable", st)
	}
	// Failed: packets get ICMP host unreachable (RFC 1812 §5.2.7.1), to
	// the host itself and through the gateway alike.
	for i, dst := range []netip.Addr{remoteDst, dptest.HostB} {
		l.Send(0, udpFrom(dst, uint16(10+i)))
		wantICMP(t, one(t, l, 0, "packet to a failed neighbour"), hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, dst)
		none(t, l, "packet to a failed neighbour")
	}
	if c := l.Counters(); c.ICMPErrors[dp.ICMPErrHostUnreach] != 4 {
		t.Fatalf("host unreachable counter %d, want 4", c.ICMPErrors[dp.ICMPErrHostUnreach])
	}
	// After FailedTime the entry goes and the next packet tries again.
	l.Advance(5 * time.Second)
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("failed neighbour not removed after FailedTime: %+v", e)
	}
	l.Send(0, udpFrom(remoteDst, 20))
	wantARPRequest(t, one(t, l, 1, "after removal"), dptest.Broadcast, dptest.HostB)
}

func TestRouterARPRequestAnswered(t *testing.T) {
	other := netip.MustParseAddr("10.0.1.99")
	tests := []struct {
		name      string
		sender    netip.Addr
		target    netip.Addr
		wantReply bool
		learn     bool
		reason    dp.Reason // drop reason, if not answered
	}{
		{"for if0's address", dptest.HostA, dptest.R0, true, true, 0},
		{"for if1's address on if0", dptest.HostA, dptest.R1, false, false, dp.ARPNotForUs},
		{"for another host", dptest.HostA, other, false, false, dp.ARPNotForUs},
		{"from off-link", netip.MustParseAddr("192.0.2.7"), dptest.R0, false, false, dp.ARPBadSender},
		{"from our own address", dptest.R0, dptest.R0, false, false, dp.ARPBadSender},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, true)
			l.Send(0, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostAMAC, tc.sender, zeroMAC, tc.target))
			out := l.Out(0)
			if !tc.wantReply {
				if len(out) != 0 || len(l.Out(1)) != 0 {
					t.Fatalf("%d frames sent, want none", len(out))
				}
				if c := l.Counters(); c.Drops[tc.reason] != 1 {
					t.Fatalf("drop reason %d counted %d, want 1", tc.reason, c.Drops[tc.reason])
				}
			} else {
				if len(out) != 1 {
					t.Fatalf("%d frames on if0, want the ARP reply", len(out))
				}
				f := out[0]
				e := hdr.Ethernet(f)
				if !bytes.Equal(e.Dst(), dptest.HostAMAC[:]) || !bytes.Equal(e.Src(), dptest.R0MAC[:]) || e.Type() != hdr.EtherTypeARP {
					t.Fatalf("reply Ethernet dst %x src %x type %#x", e.Dst(), e.Src(), e.Type())
				}
				a := hdr.ARP(f[hdr.EthernetLen:])
				if a.Validate() != hdr.OK || a.Op() != hdr.ARPReply {
					t.Fatalf("not an ARP reply: %v op %d", a.Validate(), a.Op())
				}
				if !bytes.Equal(a.SenderMAC(), dptest.R0MAC[:]) || a.SenderIP() != u32(dptest.R0) {
					t.Fatalf("reply sender %x %08x, want if0 %x 10.0.1.1", a.SenderMAC(), a.SenderIP(), dptest.R0MAC)
				}
				if !bytes.Equal(a.TargetMAC(), dptest.HostAMAC[:]) || a.TargetIP() != u32(dptest.HostA) {
					t.Fatalf("reply target %x %08x, want host A", a.TargetMAC(), a.TargetIP())
				}
			}
			e := neighbor(l, 0, tc.sender)
			if tc.learn {
				if e == nil || e.State != neigh.Reachable || e.MAC != dptest.HostAMAC {
					t.Fatalf("requester not learned: %+v", e)
				}
				// Learned: a packet to it is forwarded without ARP.
				l.Send(1, dptest.IPv4Frame(dptest.R1MAC, dptest.HostBMAC, dptest.HostB, dptest.HostA, hdr.ProtoUDP, 64, false, dptest.UDP(1, 2, 10)))
				f := one(t, l, 0, "packet to the learned requester")
				if !bytes.Equal(f[0:6], dptest.HostAMAC[:]) || f[12] != 0x08 || f[13] != 0x00 {
					t.Fatalf("packet to host A: Ethernet %x", f[:14])
				}
			} else if len(l.Router.Neighbors()) != 1 { // only the lab's static host B
				t.Fatalf("neighbours %+v: nothing should be learned", l.Router.Neighbors())
			}
		})
	}
}

func TestRouterGratuitousARP(t *testing.T) {
	garp := func(mac [6]byte, a netip.Addr) []byte {
		return dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, mac, a, zeroMAC, a)
	}
	t.Run("moves a learned neighbour", func(t *testing.T) {
		l := newLab(t, false, false)
		learnHostB(t, l)
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != dptest.HostBMAC {
			t.Fatalf("neighbour not learned from a request: %+v", e)
		}
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "before the move"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
		moves := l.Router.Stats().NeighborMoves

		l.Send(1, garp(macNew, dptest.HostB))
		none(t, l, "gratuitous ARP") // not answered
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew || e.State != neigh.Reachable {
			t.Fatalf("neighbour after gratuitous ARP: %+v, want MAC %x", e, macNew)
		}
		if got := l.Router.Stats().NeighborMoves - moves; got != 1 {
			t.Fatalf("NeighborMoves grew by %d, want 1", got)
		}
		l.Send(0, udpFrom(remoteDst, 2))
		wantForwarded(t, one(t, l, 1, "after the move"), macNew, dptest.R1MAC, remoteDst, 2)
		// The same announcement again is not a move.
		l.Send(1, garp(macNew, dptest.HostB))
		if got := l.Router.Stats().NeighborMoves - moves; got != 1 {
			t.Fatalf("repeated gratuitous ARP: NeighborMoves grew by %d, want 1", got)
		}
	})
	t.Run("does not create", func(t *testing.T) {
		l := newLab(t, false, false)
		l.Send(1, garp(macNew, netip.MustParseAddr("10.0.2.9")))
		if n := len(l.Router.Neighbors()); n != 0 {
			t.Fatalf("gratuitous ARP from an unknown host created %d neighbours", n)
		}
	})
	t.Run("does not move a static neighbour", func(t *testing.T) {
		l := newLab(t, false, true)
		l.Send(1, garp(macNew, dptest.HostB))
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != dptest.HostBMAC || e.State != neigh.Static {
			t.Fatalf("static neighbour after gratuitous ARP: %+v", e)
		}
		if m := l.Router.Stats().NeighborMoves; m != 0 {
			t.Fatalf("NeighborMoves %d, want 0: a static entry does not move", m)
		}
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "static neighbour"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
	})
}

func TestRouterNeighborAging(t *testing.T) {
	reachable := neigh.New(neigh.Options{}).Options().ReachableTime
	resolve := func(t *testing.T) *dptest.Lab {
		l := newLab(t, false, false)
		learnHostB(t, l)
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Reachable {
			t.Fatalf("neighbour not learned: %+v", e)
		}
		l.Advance(reachable - 100*time.Millisecond)
		none(t, l, "before ReachableTime")
		l.Advance(100 * time.Millisecond)
		// RFC 4861 §7.3.3: a stale entry is probed with unicast requests.
		wantARPRequest(t, one(t, l, 1, "probe"), dptest.HostBMAC, dptest.HostB)
		none(t, l, "probe")
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Stale {
			t.Fatalf("neighbour after ReachableTime: %+v, want stale", e)
		}
		// Stale entries are still used.
		l.Send(0, udpFrom(remoteDst, 1))
		wantForwarded(t, one(t, l, 1, "through a stale neighbour"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
		return l
	}
	t.Run("answered", func(t *testing.T) {
		l := resolve(t)
		l.Send(1, replyFromHostB(dptest.HostBMAC))
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Reachable {
			t.Fatalf("neighbour after answering the probe: %+v, want reachable", e)
		}
		l.Advance(5 * time.Second)
		none(t, l, "after confirmation")
	})
	t.Run("unanswered", func(t *testing.T) {
		l := resolve(t)
		for range 2 {
			l.Advance(time.Second)
			wantARPRequest(t, one(t, l, 1, "further probe"), dptest.HostBMAC, dptest.HostB)
		}
		l.Advance(time.Second)
		none(t, l, "removal")
		if e := neighbor(l, 1, dptest.HostB); e != nil {
			t.Fatalf("unanswered neighbour still there: %+v", e)
		}
		// The gateway route remains; its next packet resolves afresh.
		l.Send(0, udpFrom(remoteDst, 2))
		wantARPRequest(t, one(t, l, 1, "after removal"), dptest.Broadcast, dptest.HostB)
	})
	t.Run("static never ages", func(t *testing.T) {
		l := newLab(t, false, true)
		l.Advance(10 * reachable)
		none(t, l, "static")
		if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Static {
			t.Fatalf("static neighbour: %+v", e)
		}
	})
}

func TestRouterAddNeighbor(t *testing.T) {
	tests := []struct {
		name    string
		iface   int
		addr    string
		wantErr string
	}{
		{"on the subnet", 1, "10.0.2.7", ""},
		{"off every subnet", 1, "10.0.3.5", "10.0.3.5 is not on a subnet of if1 (10.0.2.0/24)"},
		{"another interface's subnet", 1, "10.0.1.5", "10.0.1.5 is not on a subnet of if1 (10.0.2.0/24)"},
		{"the router's own address", 1, "10.0.2.1", "10.0.2.1 is if1's own address: a neighbour must be another host"},
		{"the subnet's broadcast address", 1, "10.0.2.255", "10.0.2.255 is the broadcast address of if1's subnet 10.0.2.0/24"},
		{"the subnet's network address", 1, "10.0.2.0", "10.0.2.0 is the network address of if1's subnet 10.0.2.0/24"},
		{"no such interface", 5, "10.0.2.7", "no interface 5"},
		{"negative interface", -1, "10.0.2.7", "no interface -1"},
		{"IPv6", 1, "2001:db8::1", "only IPv4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, false, false)
			a := netip.MustParseAddr(tc.addr)
			err := l.Router.AddNeighbor(tc.iface, a, macNew)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if e := neighbor(l, tc.iface, a); e == nil || e.State != neigh.Static || e.MAC != macNew {
					t.Fatalf("static neighbour: %+v", e)
				}
				return
			}
			if err == nil {
				t.Fatalf("AddNeighbor(%d, %v) accepted", tc.iface, a)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q, want it to say %q", err, tc.wantErr)
			}
			if n := len(l.Router.Neighbors()); n != 0 {
				t.Fatalf("rejected neighbour added (%d neighbours)", n)
			}
		})
	}
}

// TestAddNeighborFlushesQueue: configuring a static entry for a neighbour
// being resolved sends its held packets.
func TestRouterAddNeighborFlushesQueue(t *testing.T) {
	l := newLab(t, false, false)
	l.Send(0, udpFrom(remoteDst, 1))
	wantARPRequest(t, one(t, l, 1, "request"), dptest.Broadcast, dptest.HostB)
	if err := l.Router.AddNeighbor(1, dptest.HostB, dptest.HostBMAC); err != nil {
		t.Fatal(err)
	}
	l.Run()
	wantForwarded(t, one(t, l, 1, "held packet"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
}

// learnHostB has HostB ask for the router's address on if1, which makes
// the router learn HostB (RFC 826: the target learns the sender), and
// takes the router's reply off the port.
func learnHostB(t *testing.T, l *dptest.Lab) {
	t.Helper()
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, dptest.HostBMAC, dptest.HostB, zeroMAC, dptest.R1))
	if out := l.Out(1); len(out) != 1 {
		t.Fatalf("ARP request from HostB: %d frames back, want the reply", len(out))
	}
}

// TestRouterUnsolicitedReplyIgnored: an ARP reply nobody asked for does
// not create a neighbour (Linux's arp_accept=0), so a host cannot fill
// the table with replies.
func TestRouterUnsolicitedReplyIgnored(t *testing.T) {
	l := newLab(t, false, false)
	l.Send(1, replyFromHostB(dptest.HostBMAC))
	if n := len(l.Router.Neighbors()); n != 0 {
		t.Fatalf("unsolicited reply created %d neighbours", n)
	}
}

// TestRouterAdjacencyLimit: neighbours beyond the adjacency space are
// refused with an error, and the fixed adjacencies (no route, local) are
// never overwritten (index wrap-around).
func TestRouterAdjacencyLimit(t *testing.T) {
	r := control.New(control.Options{Neigh: neigh.Options{MaxEntries: 1 << 20}})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "big", MAC: dptest.R0MAC, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/8")}}); err != nil {
		t.Fatal(err)
	}
	var err error
	n := 0
	for i := 2; i < 40000 && err == nil; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if err = r.AddNeighbor(0, a, [6]byte{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}); err == nil {
			n++
		}
	}
	if err == nil || !strings.Contains(err.Error(), "adjacency table full") {
		t.Fatalf("after %d neighbours: err %v, want adjacency table full", n, err)
	}
	r.Publish()
	cfg := r.Config().Load()
	if cfg.Adj[0].Kind != dp.AdjNone {
		t.Fatalf("adjacency 0 is %v, want none", cfg.Adj[0].Kind)
	}
	local := 0
	for _, a := range cfg.Adj {
		if a.Kind == dp.AdjLocal {
			local++
		}
	}
	if local != 1 {
		t.Fatalf("%d local adjacencies, want 1", local)
	}
	if got := len(r.Neighbors()); got != n {
		t.Fatalf("%d neighbours kept, want %d (the refused one removed)", got, n)
	}
}

// TestRouterHostRouteRestored: a resolved neighbour whose host route was
// deleted by hand is routed again (the route is put back) instead of
// circling between the worker and the control plane.
func TestRouterHostRouteRestored(t *testing.T) {
	l := newLab(t, false, true)
	// DeleteRoute refuses a neighbour's host route (not a configured
	// route): drop it behind the router's back.
	if err := l.Router.DeleteRoute(netip.PrefixFrom(dptest.HostB, 32)); err == nil || !strings.Contains(err.Error(), "host route of neighbour 10.0.2.2") {
		t.Fatalf("DeleteRoute of a host route: %v", err)
	}
	l.Router.DropFIBEntryForTest(netip.PrefixFrom(dptest.HostB, 32))
	l.Router.Publish()
	l.Send(0, udpFrom(dptest.HostB, 7))
	wantForwarded(t, one(t, l, 1, "after the host route was deleted"), dptest.HostBMAC, dptest.R1MAC, dptest.HostB, 7)
	if st := l.Router.Stats(); st.Publishes > 20 {
		t.Fatalf("%d publishes: the packet looped", st.Publishes)
	}
	if d := l.Counters().Drops[dp.IP4ResolveLoop]; d != 0 {
		t.Fatalf("resolve-loop drops %d, want 0", d)
	}
}

// TestRouterOriginatedKeepsTTL: an echo reply that waited for ARP leaves
// with the TTL the router gave it (64): it is still the router's own
// packet after the control plane released it.
func TestRouterOriginatedKeepsTTL(t *testing.T) {
	l := newLab(t, false, true)
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0, hdr.ProtoICMP, 9, false, dptest.Echo(1, 1, 8)))
	if f := one(t, l, 0, "ARP for host A"); binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeARP || hdr.ARP(f[hdr.EthernetLen:]).TargetIP() != dptest.U32(dptest.HostA) {
		t.Fatalf("want an ARP request for host A, got % x", f)
	}
	l.Send(0, dptest.ARPFrame(hdr.ARPReply, dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.R0MAC, dptest.R0))
	f := one(t, l, 0, "echo reply after resolution")
	ip := hdr.IPv4(f[hdr.EthernetLen:])
	if ip.TTL() != 64 || ip.Dst() != dptest.U32(dptest.HostA) {
		t.Fatalf("echo reply TTL %d to %08x, want 64 to host A", ip.TTL(), ip.Dst())
	}
}

// TestRouterSetInterfaceMTU: after the egress MTU drops, a DF packet that
// fit before gets "fragmentation needed" with the new MTU, and one without
// DF is fragmented.
func TestRouterSetInterfaceMTU(t *testing.T) {
	l := newLab(t, true, true)
	big := func(df bool) []byte {
		return dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteDst, hdr.ProtoUDP, 9, df, dptest.UDP(1, 2, 972))
	}
	l.Send(0, big(true))
	one(t, l, 1, "1000-byte DF packet at MTU 1500")
	if err := l.Router.SetInterfaceMTU(1, 576); err != nil {
		t.Fatal(err)
	}
	if err := l.Router.SetInterfaceMTU(1, 40); err == nil {
		t.Fatal("MTU 40 accepted")
	}
	l.Router.Publish()
	l.Send(0, big(true))
	f := one(t, l, 0, "fragmentation needed")
	p := hdr.IPv4(f[hdr.EthernetLen:]).Payload()
	if p[0] != hdr.ICMPv4DestUnreach || p[1] != hdr.ICMPv4FragNeeded || binary.BigEndian.Uint16(p[6:8]) != 576 {
		t.Fatalf("want frag needed with MTU 576, got type %d code %d mtu %d", p[0], p[1], binary.BigEndian.Uint16(p[6:8]))
	}
	l.Send(0, big(false))
	if out := l.Out(1); len(out) != 2 {
		t.Fatalf("%d fragments, want 2", len(out))
	}
}

// TestRouterARPQueueDropReasons (issue 17, defect 5): packets waiting for
// ARP are held, and dropped under a reason: the queue overflowing, the
// neighbour deleted while they wait; none vanishes uncounted.
func TestRouterARPQueueDropReasons(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := uint64(neigh.New(neigh.Options{}).Options().MaxPending)
	const sent = 10
	for i := range sent {
		l.Send(0, udpFrom(dptest.HostB, uint16(100+i)))
	}
	st := l.Router.Stats()
	if st.Held != maxPending || st.Drops[control.DropQueueFull] != sent-maxPending || st.QueueDrops != sent-maxPending {
		t.Fatalf("stats %+v: want %d held, %d queue-full", st, maxPending, sent-maxPending)
	}
	if err := l.Router.DeleteNeighbor(1, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	st = l.Router.Stats()
	if st.Held != 0 || st.Drops[control.DropNeighborGone] != maxPending || st.QueueDrops != sent {
		t.Fatalf("stats after the delete %+v: want 0 held, %d neighbor-deleted, %d in all", st, maxPending, sent)
	}
	if c := l.Counters(); c.Resolves != sent {
		t.Errorf("data plane handed %d packets to wait for ARP, want %d", c.Resolves, sent)
	}
	for d := control.Drop(0); d < control.NumDrops; d++ {
		if d.Name() == "" || d.Desc() == "" || !strings.HasPrefix(d.String(), "arp-queue/") {
			t.Errorf("drop %d: name %q desc %q", d, d.Name(), d.Desc())
		}
	}
}

// TestRouterARPMergeFromKnownNeighbor: RFC 826's merge rule. An ARP from
// a known neighbour with a new MAC updates its entry at once even when it
// is neither aimed at us nor gratuitous (host B, with a new NIC, asks for
// another host); an ARP between two unknown hosts creates nothing.
func TestRouterARPMergeFromKnownNeighbor(t *testing.T) {
	other := netip.MustParseAddr("10.0.2.9")
	l := newLab(t, false, false)
	learnHostB(t, l)
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "before the move"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)

	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, macNew, dptest.HostB, zeroMAC, other))
	none(t, l, "ARP for another host") // not ours to answer
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.MAC != macNew || e.State != neigh.Reachable {
		t.Fatalf("neighbour after its ARP for %v with a new MAC: %+v, want MAC %x reachable", other, e, macNew)
	}
	if m := l.Router.Stats().NeighborMoves; m != 1 {
		t.Fatalf("NeighborMoves %d, want 1", m)
	}
	l.Send(0, udpFrom(remoteDst, 2))
	wantForwarded(t, one(t, l, 1, "after the move"), macNew, dptest.R1MAC, remoteDst, 2)

	// Two hosts the router does not know talking ARP: nothing learned.
	l.Send(1, dptest.ARPFrame(hdr.ARPRequest, dptest.Broadcast, [6]byte{0x02, 0xcc, 0, 0, 0, 1}, netip.MustParseAddr("10.0.2.8"), zeroMAC, other))
	if n := len(l.Router.Neighbors()); n != 1 {
		t.Fatalf("ARP between unknown hosts: %d neighbours, want only host B: %+v", n, l.Router.Neighbors())
	}
}

// TestRouterFlushNeighbors: when a port's device goes away, its learned
// neighbours are forgotten (their routes re-resolve, with a broadcast
// request, on the next packet), its static ones stay, and other
// interfaces' neighbours are untouched.
func TestRouterFlushNeighbors(t *testing.T) {
	static := netip.MustParseAddr("10.0.2.7")
	l := newLab(t, true, false)
	if err := l.Router.AddNeighbor(1, static, macNew); err != nil {
		t.Fatal(err)
	}
	learnHostB(t, l)
	l.Send(0, udpFrom(remoteDst, 1))
	wantForwarded(t, one(t, l, 1, "before the flush"), dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)

	if n := l.Router.FlushNeighbors(0); n != 0 {
		t.Fatalf("FlushNeighbors(0) removed %d, want 0: if0 has only a static neighbour", n)
	}
	if n := l.Router.FlushNeighbors(1); n != 1 {
		t.Fatalf("FlushNeighbors(1) removed %d, want 1 (host B)", n)
	}
	l.Router.Publish()
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("host B still known after the flush: %+v", e)
	}
	if e := neighbor(l, 1, static); e == nil || e.State != neigh.Static {
		t.Fatalf("static neighbour after the flush: %+v", e)
	}
	if e := neighbor(l, 0, dptest.HostA); e == nil || e.State != neigh.Static {
		t.Fatalf("if0's neighbour after flushing if1: %+v", e)
	}
	// The gateway route stays and resolves afresh: a broadcast request,
	// and the packet waits for the (new) answer.
	l.Send(0, udpFrom(remoteDst, 2))
	wantARPRequest(t, one(t, l, 1, "after the flush"), dptest.Broadcast, dptest.HostB)
	l.Send(1, replyFromHostB(macNew))
	wantForwarded(t, one(t, l, 1, "held packet"), macNew, dptest.R1MAC, remoteDst, 2)
	// And a packet to host B itself (its host route went with the entry).
	l.Send(0, udpFrom(dptest.HostB, 3))
	wantForwarded(t, one(t, l, 1, "to host B"), macNew, dptest.R1MAC, dptest.HostB, 3)
}

// TestRouterFlushCountsHeld: packets waiting for ARP when their
// neighbour is flushed (its link went down) are dropped under
// arp-queue/neighbor-deleted, not lost from the accounting.
func TestRouterFlushCountsHeld(t *testing.T) {
	l := newLab(t, false, false)
	maxPending := uint64(neigh.New(neigh.Options{}).Options().MaxPending)
	const sent = 10
	for i := range sent {
		l.Send(0, udpFrom(dptest.HostB, uint16(100+i)))
	}
	if st := l.Router.Stats(); st.Held != maxPending {
		t.Fatalf("stats %+v: want %d held", st, maxPending)
	}
	if n := l.Router.FlushNeighbors(1); n != 1 {
		t.Fatalf("FlushNeighbors(1) removed %d, want 1 (host B, incomplete)", n)
	}
	if st := l.Router.Stats(); st.Held != 0 || st.Drops[control.DropNeighborGone] != maxPending || st.QueueDrops != sent {
		t.Fatalf("stats after the flush %+v: want 0 held, %d neighbor-deleted, %d in all", st, maxPending, sent)
	}
}
