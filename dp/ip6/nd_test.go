package ip6_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/ethernet"
	"github.com/softnet/softnet/dp/nd"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// ndLab is the control plane's lab of TestIP6ThroughControl without
// static neighbours: hosts are found by Neighbor Discovery. The clock is
// the test's.
type ndLab struct {
	*lab
	r   *control.Router
	now time.Time
}

func newNDLab(t *testing.T) *ndLab {
	t.Helper()
	l := &ndLab{now: time.Unix(1000, 0)}
	l.r = control.New(control.Options{Now: func() time.Time { return l.now }})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}},
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
	return l
}

// step lets the control plane serve and the worker poll until both are
// idle, and returns what each interface sent.
func (l *ndLab) step() [2][][]byte {
	var got [2][][]byte
	for n := 0; n < 20; n++ {
		did := l.r.Service()
		polled := l.w.Poll()
		for i := range got {
			got[i] = append(got[i], l.ports[i].Take()...)
		}
		if !did && polled == 0 {
			break
		}
	}
	return got
}

// in receives f on interface i and runs the lab until idle.
func (l *ndLab) in(i int, f []byte) [2][][]byte {
	l.ports[i].Push(f)
	return l.step()
}

func eui64LL(m [6]byte) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: m[0] ^ 2, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5]})
}

func solNode(a netip.Addr) netip.Addr { return netip.AddrFrom16(nd.SolicitedNode(a.As16())) }

func ndOpt(typ layers.ICMPv6Opt, m [6]byte) layers.ICMPv6Options {
	return layers.ICMPv6Options{{Type: typ, Data: net.HardwareAddr(m[:])}}
}

// nsFrame is a Neighbor Solicitation from src (MAC smac) to dst for
// target, with a Source Link-Layer Address option unless src is ::.
func nsFrame(t *testing.T, dmac, smac [6]byte, src, dst, target netip.Addr) []byte {
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice()}
	if !src.IsUnspecified() {
		ns.Options = ndOpt(layers.ICMPv6OptSourceAddress, smac)
	}
	return ser(t, eth(dmac, smac), ip(src, dst, layers.IPProtocolICMPv6, 255),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)}, ns)
}

// naFrame is a Neighbor Advertisement with flags and a Target
// Link-Layer Address option.
func naFrame(t *testing.T, dmac, smac [6]byte, src, dst, target netip.Addr, flags uint8) []byte {
	return ser(t, eth(dmac, smac), ip(src, dst, layers.IPProtocolICMPv6, 255),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(136, 0)},
		&layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: target.AsSlice(), Options: ndOpt(layers.ICMPv6OptTargetAddress, smac)})
}

func mcastMAC(a netip.Addr) [6]byte {
	b := a.As16()
	return [6]byte{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

func oneFrame(t *testing.T, got [2][][]byte, port int, want []byte, what string) {
	t.Helper()
	if len(got[port]) != 1 || len(got[1-port]) != 0 {
		t.Fatalf("%s: if0 sent %d, if1 %d frames; want one on if%d", what, len(got[0]), len(got[1]), port)
	}
	if string(got[port][0]) != string(want) {
		t.Fatalf("%s:\n got %x\nwant %x\n%v", what, got[port][0], want, gopacket.NewPacket(got[port][0], layers.LayerTypeEthernet, gopacket.Default))
	}
	if el := gopacket.NewPacket(got[port][0], layers.LayerTypeEthernet, gopacket.Default).ErrorLayer(); el != nil {
		t.Fatalf("%s: gopacket: %v", what, el.Error())
	}
}

// TestNDAnswer: the router answers a Neighbor Solicitation for its global
// address, for its derived link-local address (fe80::/64 EUI-64 of its
// MAC: no link-local address is configured), a unicast probe to its
// global address and a DAD probe (from ::),
// with the Neighbor Advertisement gopacket builds for RFC 4861 §7.2.4 (R
// flag set; S and O, unicast to the solicitor; DAD: to ff02::1 without
// S), and learns the solicitor as a Stale neighbour; it answers an echo
// request to its link-local address.
func TestNDAnswer(t *testing.T) {
	l := newNDLab(t)
	ll0 := eui64LL(mac0)
	for _, tc := range []struct {
		name        string
		src, target netip.Addr
	}{
		{"global", hostA, r0},
		{"link-local", hostLL, ll0},
	} {
		got := l.in(0, nsFrame(t, mcastMAC(solNode(tc.target)), macA, tc.src, solNode(tc.target), tc.target))
		want := naFrame(t, macA, mac0, tc.target, tc.src, tc.target, 0xe0)
		copy(want[0:6], macA[:])
		oneFrame(t, got, 0, want, tc.name)
	}
	found := 0
	for _, e := range l.r.Neighbors() {
		if e.Iface == 0 && (e.Addr == hostA || e.Addr == hostLL) && e.MAC == macA && e.State == neigh.Stale {
			found++
		}
	}
	if found != 2 {
		t.Errorf("neighbours %+v: want %v and %v stale at %x", l.r.Neighbors(), hostA, hostLL, macA)
	}
	// DAD: from ::, to the solicited-node group, no option.
	got := l.in(0, nsFrame(t, mcastMAC(solNode(r0)), macA, netip.IPv6Unspecified(), solNode(r0), r0))
	allNodes := netip.MustParseAddr("ff02::1")
	oneFrame(t, got, 0, ser(t, eth(mcastMAC(allNodes), mac0), ip(r0, allNodes, layers.IPProtocolICMPv6, 255),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(136, 0)},
		&layers.ICMPv6NeighborAdvertisement{Flags: 0xa0, TargetAddress: r0.AsSlice(), Options: ndOpt(layers.ICMPv6OptTargetAddress, mac0)}), "dad")
	// Unicast to the global address (a host's probe, RFC 4861 §7.3.3):
	// through ip6-lookup and ip6-local to nd-input, answered alike.
	want := naFrame(t, macA, mac0, r0, hostA, r0, 0xe0)
	oneFrame(t, l.in(0, nsFrame(t, mac0, macA, hostA, r0, r0)), 0, want, "unicast probe")
	// Not ours: nothing.
	if got := l.in(0, nsFrame(t, mcastMAC(solNode(hostB)), macA, hostA, solNode(hostB), hostB)); len(got[0])+len(got[1]) != 0 {
		t.Errorf("NS for another host answered: %x", got)
	}
	// Echo to the derived link-local address.
	echo := ser(t, eth(mac0, macA), ip(hostLL, ll0, layers.IPProtocolICMPv6, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1})
	oneFrame(t, l.in(0, echo), 0, ser(t, eth(macA, mac0), ip(ll0, hostLL, layers.IPProtocolICMPv6, 64),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(129, 0)}, &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}), "echo to link-local")
}

// TestNDResolve: a packet to a host on a connected subnet with no
// neighbour entry is held while the router sends a Neighbor Solicitation
// to the host's solicited-node group (the frame gopacket builds), and
// forwarded once the host's solicited advertisement arrives (Reachable).
// A host that never answers gets 3 solicitations 1 s apart, then the held
// packets (at most MaxPending: the oldest are dropped) come back to their
// sender as Destination Unreachable code 3 (address unreachable, RFC 4861
// §7.2.2). Reachable ages to Stale, Delay (5 s) and Probe (unicast
// solicitations), and a solicited NA makes it Reachable again.
func TestNDResolve(t *testing.T) {
	l := newNDLab(t)
	if err := l.r.AddNeighbor(0, hostA, macA); err != nil { // the errors' way back
		t.Fatal(err)
	}
	macX := [6]byte{0x02, 0xcc, 0, 0, 0, 7}
	hostX := netip.MustParseAddr("2001:db8:2::77")
	f := frame(t, hostA, hostX, layers.IPProtocolUDP, 64, udp(18))
	wantNS := func(target netip.Addr) []byte {
		return ser(t, eth(mcastMAC(solNode(target)), mac1), ip(r1, solNode(target), layers.IPProtocolICMPv6, 255),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)},
			&layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice(), Options: ndOpt(layers.ICMPv6OptSourceAddress, mac1)})
	}
	oneFrame(t, l.in(0, f), 1, wantNS(hostX), "solicitation")
	nb := func(a netip.Addr) neigh.Entry {
		for _, e := range l.r.Neighbors() {
			if e.Addr == a {
				return e
			}
		}
		return neigh.Entry{}
	}
	if e := nb(hostX); e.State != neigh.Incomplete || !e.Addr.IsValid() {
		t.Fatalf("neighbours %+v, want %v incomplete", l.r.Neighbors(), hostX)
	}
	fwd := append([]byte(nil), f...)
	copy(fwd[0:6], macX[:])
	copy(fwd[6:12], mac1[:])
	fwd[hdr.EthernetLen+7]--
	oneFrame(t, l.in(1, naFrame(t, mac1, macX, hostX, r1, hostX, 0x60)), 1, fwd, "held packet after the advertisement")
	if e := nb(hostX); e.State != neigh.Reachable || e.MAC != macX {
		t.Fatalf("neighbours %+v, want %v reachable at %x", l.r.Neighbors(), hostX, macX)
	}
	oneFrame(t, l.in(0, f), 1, fwd, "forwarded")

	// Reachable -> Stale -> Delay -> Probe (unicast NS) -> Reachable.
	state := func() neigh.State { return nb(hostX).State }
	l.now = l.now.Add(31 * time.Second)
	l.step()
	if s := state(); s != neigh.Stale {
		t.Fatalf("after 31 s: %v, want stale", s)
	}
	l.now = l.now.Add(200 * time.Millisecond)
	l.step()
	if s := state(); s != neigh.Delay {
		t.Fatalf("then: %v, want delay", s)
	}
	l.now = l.now.Add(5 * time.Second)
	got := l.step()
	probe := ser(t, eth(macX, mac1), ip(r1, hostX, layers.IPProtocolICMPv6, 255),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(135, 0)},
		&layers.ICMPv6NeighborSolicitation{TargetAddress: hostX.AsSlice(), Options: ndOpt(layers.ICMPv6OptSourceAddress, mac1)})
	oneFrame(t, got, 1, probe, "unicast probe")
	if s := state(); s != neigh.Probing {
		t.Fatalf("after 5 s of delay: %v, want probe", s)
	}
	oneFrame(t, l.in(0, f), 1, fwd, "forwarded while probing")
	l.in(1, naFrame(t, mac1, macX, hostX, r1, hostX, 0x40))
	if s := state(); s != neigh.Reachable {
		t.Fatalf("after the solicited NA: %v, want reachable", s)
	}

	// A host that never answers.
	hostY := netip.MustParseAddr("2001:db8:2::78")
	var held [][]byte
	for i := range 6 {
		g := frame(t, hostA, hostY, layers.IPProtocolUDP, 64, udp(18+i))
		held = append(held, g)
		got := l.in(0, g)
		if i == 0 {
			oneFrame(t, got, 1, wantNS(hostY), "first solicitation")
		} else if len(got[0])+len(got[1]) != 0 {
			t.Fatalf("packet %d: sent %x", i, got)
		}
	}
	for i := 2; i <= 3; i++ {
		l.now = l.now.Add(time.Second)
		oneFrame(t, l.step(), 1, wantNS(hostY), "solicitation "+string(rune('0'+i)))
	}
	l.now = l.now.Add(time.Second)
	got = l.step()
	if len(got[1]) != 0 || len(got[0]) != 4 {
		t.Fatalf("after 3 solicitations: if0 %d frames (want 4: the queue's), if1 %d", len(got[0]), len(got[1]))
	}
	for i, g := range got[0] {
		want := icmpErr(t, macA, mac0, r0, hostA, 1, 3, 0, l3of(held[2+i]))
		if string(g) != string(want) {
			t.Errorf("error %d:\n got %x\nwant %x", i, g, want)
		}
	}
}

// TestRouterAdvertisement: an interface with RA on (if1; if0 has it off)
// sends an unsolicited Router Advertisement at once, the next ones at most
// 16 s apart, and answers a Router Solicitation (at most one every 3 s);
// each is the frame gopacket builds for RFC 4861 §4.2: from the
// interface's link-local address to ff02::1, hop limit 255, router
// lifetime 1800 s, source link-layer address, MTU and an on-link,
// autonomous prefix for its /64. A solicitation on if0 is ignored.
func TestRouterAdvertisement(t *testing.T) {
	l := &ndLab{now: time.Unix(1000, 0)}
	l.r = control.New(control.Options{Now: func() time.Time { return l.now }})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}},
		{Name: "if1", MAC: mac1, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("2001:db8:2::1/64")}, RA: true},
	} {
		if _, err := l.r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	l.r.Publish()
	l.lab = &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}
	l.w = dp.NewWorker(0, l.r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	l.r.AttachWorkers([]*dp.Worker{l.w})

	allNodes := netip.MustParseAddr("ff02::1")
	pi := make([]byte, 30)
	pi[0], pi[1] = 64, 0xc0
	binary.BigEndian.PutUint32(pi[2:], 2592000)
	binary.BigEndian.PutUint32(pi[6:], 604800)
	copy(pi[14:], netip.MustParseAddr("2001:db8:2::").AsSlice())
	mtu := make([]byte, 6)
	binary.BigEndian.PutUint32(mtu[2:], 1500)
	ra := ser(t, eth(mcastMAC(allNodes), mac1), ip(eui64LL(mac1), allNodes, layers.IPProtocolICMPv6, 255),
		&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(134, 0)},
		// gopacket writes options last first: SLLA, MTU, prefix on the wire.
		&layers.ICMPv6RouterAdvertisement{HopLimit: 64, RouterLifetime: 1800, Options: layers.ICMPv6Options{
			{Type: layers.ICMPv6OptPrefixInfo, Data: pi},
			{Type: layers.ICMPv6OptMTU, Data: mtu},
			{Type: layers.ICMPv6OptSourceAddress, Data: net.HardwareAddr(mac1[:])},
		}})
	oneFrame(t, l.step(), 1, ra, "first unsolicited RA")
	if got := l.step(); len(got[0])+len(got[1]) != 0 {
		t.Fatalf("a second RA at once: %x", got)
	}
	l.now = l.now.Add(16 * time.Second)
	oneFrame(t, l.step(), 1, ra, "second unsolicited RA, 16 s later")

	rs := func(i int, m [6]byte) []byte {
		return ser(t, eth(mcastMAC(netip.MustParseAddr("ff02::2")), m), ip(hostLL, netip.MustParseAddr("ff02::2"), layers.IPProtocolICMPv6, 255),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(133, 0)},
			&layers.ICMPv6RouterSolicitation{Options: ndOpt(layers.ICMPv6OptSourceAddress, m)})
	}
	l.now = l.now.Add(time.Second)
	oneFrame(t, l.in(1, rs(1, macB)), 1, ra, "RA answering a solicitation")
	if got := l.in(1, rs(1, macB)); len(got[0])+len(got[1]) != 0 {
		t.Errorf("a second solicitation within 3 s answered: %x", got)
	}
	before := l.w.Counters().Drops[nd.Ignored]
	if got := l.in(0, rs(0, macA)); len(got[0])+len(got[1]) != 0 {
		t.Errorf("a solicitation on if0 (RA off) answered: %x", got)
	}
	if d := l.w.Counters().Drops[nd.Ignored] - before; d != 1 {
		t.Errorf("nd-input/ignored counted %d, want 1", d)
	}
}

// TestNDDrops: nd-input drops each invalid ND message with its own reason
// (one per rule of dp/nd.Check, and the frame and address checks of the
// node), sending nothing and learning nothing.
func TestNDDrops(t *testing.T) {
	l := newNDLab(t)
	sol := solNode(r0)
	good := nsFrame(t, mcastMAC(sol), macA, hostA, sol, r0)
	fixSum := func(f []byte) []byte {
		m := f[hdr.EthernetLen+hdr.IPv6Len:]
		binary.BigEndian.PutUint16(m[2:], 0)
		binary.BigEndian.PutUint16(m[2:], hdr.Checksum(m, hdr.PseudoSumIPv6(f[hdr.EthernetLen+8:hdr.EthernetLen+24], f[hdr.EthernetLen+24:hdr.EthernetLen+40], hdr.ProtoICMPv6, uint32(len(m)))))
		return f
	}
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return fixSum(b)
	}
	const ip6, icmp = hdr.EthernetLen, hdr.EthernetLen + hdr.IPv6Len
	for _, tc := range []struct {
		name string
		f    []byte
		want dp.Reason
	}{
		{"hop-limit", mod(func(b []byte) { b[ip6+7] = 254 }), nd.BadHopLimit},
		{"checksum", func() []byte { b := append([]byte(nil), good...); b[icmp+2]++; return b }(), nd.BadChecksum},
		{"code", mod(func(b []byte) { b[icmp+1] = 1 }), nd.BadCode},
		{"option-length-0", mod(func(b []byte) { b[icmp+25] = 0 }), nd.BadOption},
		{"multicast-target", nsFrame(t, mcastMAC(sol), macA, hostA, sol, netip.MustParseAddr("ff02::1")), nd.MulticastTarget},
		{"dad-to-unicast", nsFrame(t, mac0, macA, netip.IPv6Unspecified(), r0, r0), nd.BadDAD},
		{"solicited-multicast-na", naFrame(t, mcastMAC(netip.MustParseAddr("ff02::1")), macA, hostA, netip.MustParseAddr("ff02::1"), hostA, 0x60), nd.BadSolicited},
		// A group source MAC never reaches nd-input: ethernet-input drops
		// every routed frame from one (IEEE 802).
		{"group-source-mac", mod(func(b []byte) { b[6] |= 1 }), ethernet.MulticastSource},
		{"not-ours", nsFrame(t, mcastMAC(solNode(hostB)), macA, hostA, solNode(hostB), hostB), nd.NotForUs},
		{"too-short", mod(func(b []byte) {
			binary.BigEndian.PutUint16(b[ip6+4:], 20)
		})[:icmp+20], nd.TooShort},
	} {
		before := l.w.Counters().Drops[tc.want]
		if got := l.in(0, tc.f); len(got[0])+len(got[1]) != 0 {
			t.Errorf("%s: sent %x", tc.name, got)
		}
		if d := l.w.Counters().Drops[tc.want] - before; d != 1 {
			t.Errorf("%s: %v counted %d, want 1", tc.name, tc.want, d)
		}
	}
	if n := l.r.Neighbors(); len(n) != 0 {
		t.Errorf("neighbours learnt from invalid messages: %+v", n)
	}
}
