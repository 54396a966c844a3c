package control_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
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
