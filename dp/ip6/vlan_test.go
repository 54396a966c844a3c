package ip6_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestIP6OverVLAN: 802.1Q and QinQ sub-interfaces carry IPv6 as they
// carry IPv4: with IPv6 addresses on if0.100 (802.1Q 100 on if0) and
// if1.10.20 (QinQ 0x88a8 10 / 20 on if1), the router answers a tagged
// Neighbor Solicitation for its address on if0.100 with a tagged
// Neighbor Advertisement (and learns the solicitor on if0.100), answers
// a tagged echo request, and forwards a tagged packet from if0.100 to a
// route through a neighbour on if1.10.20 with both QinQ tags and the Hop
// Limit one less.
func TestIP6OverVLAN(t *testing.T) {
	now := time.Unix(1000, 0)
	r := control.New(control.Options{Now: func() time.Time { return now }})
	sub0, sub1 := netip.MustParseAddr("2001:db8:64::1"), netip.MustParseAddr("2001:db8:1020::1")
	hostV, hostQ := netip.MustParseAddr("2001:db8:64::2"), netip.MustParseAddr("2001:db8:1020::2")
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64")}},
		{Name: "if1", MAC: mac1, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:2::1/64")}},
		{Name: "if0.100", Parent: "if0", VLAN: 100, Addrs: []netip.Prefix{netip.PrefixFrom(sub0, 64)}},
		{Name: "if1.10.20", Parent: "if1", VLAN: 20, OuterVLAN: 10, Addrs: []netip.Prefix{netip.PrefixFrom(sub1, 64)}},
	} {
		if _, err := r.AddInterface(c); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
	}
	if err := r.AddNeighbor(3, hostQ, macB); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:500::/48"), hostQ); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	l := &ndLab{lab: &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}, r: r, now: now}
	l.w = dp.NewWorker(0, r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{l.w})
	v100 := func(f []byte) []byte { return dptest.Tag(f, 0x8100, 100) }

	// ND on the sub-interface.
	got := l.in(0, v100(nsFrame(t, mcastMAC(solNode(sub0)), macA, hostV, solNode(sub0), sub0)))
	oneFrame(t, got, 0, v100(naFrame(t, macA, mac0, sub0, hostV, sub0, 0xe0)), "tagged NS for if0.100's address")
	learned := false
	for _, e := range r.Neighbors() {
		learned = learned || e.Iface == 2 && e.Addr == hostV && e.MAC == macA
	}
	if !learned {
		t.Errorf("neighbours %+v: want %v on if0.100 (2) at %x", r.Neighbors(), hostV, macA)
	}

	// Echo to the sub-interface's address.
	echo := func(typ uint8, src, dst netip.Addr, dmac, smac [6]byte) []byte {
		return ser(t, eth(dmac, smac), ip(src, dst, layers.IPProtocolICMPv6, 64),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))
	}
	got = l.in(0, v100(echo(128, hostV, sub0, mac0, macA)))
	oneFrame(t, got, 0, v100(echo(129, sub0, hostV, macA, mac0)), "tagged echo request to if0.100's address")

	// Forwarding from 802.1Q to QinQ.
	dst := netip.MustParseAddr("2001:db8:500::5")
	f := ser(t, eth(mac0, macA), ip(hostV, dst, layers.IPProtocolUDP, 64), gopacket.Payload(udp(18)))
	want := append([]byte(nil), f...)
	copy(want[0:6], macB[:])
	copy(want[6:12], mac1[:])
	want[hdr.EthernetLen+7]--
	got = l.in(0, v100(f))
	oneFrame(t, got, 1, dptest.Tag(want, 0x88a8, 10, 0x8100, 20), "forwarded from if0.100 to if1.10.20")
}
