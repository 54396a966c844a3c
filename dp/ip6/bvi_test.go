package ip6_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestIP6OverBVI: the bridge's routed interface carries IPv6 as it
// carries IPv4. Bridge br0 (members p0, p1) has the routed interface
// bvi0 with 2001:db8:50::1/64; p2 is a routed port. A Neighbor
// Solicitation for bvi0's address from host A on p0 is flooded to p1 and
// answered by bvi0 back to p0 (A learned); an echo request to bvi0 is
// answered; a packet from A to a route via p2's neighbour is routed out
// of p2, and one from p2 to A goes back through the bridge to p0 only.
func TestIP6OverBVI(t *testing.T) {
	bviMAC := [6]byte{0x02, 0x42, 0, 0, 0, 0x99}
	bvi, hA := netip.MustParseAddr("2001:db8:50::1"), netip.MustParseAddr("2001:db8:50::2")
	p2, hC := netip.MustParseAddr("2001:db8:60::1"), netip.MustParseAddr("2001:db8:60::2")
	r := control.New(control.Options{})
	for i, n := range []string{"p0", "p1", "p2"} {
		c := control.IfaceConfig{Name: n, MAC: [6]byte{0x02, 0x42, 0, 0, 0, byte(i)}}
		if n == "p2" {
			c.Addrs = []netip.Prefix{netip.PrefixFrom(p2, 64)}
		}
		if _, err := r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.AddBridge(control.BridgeConfig{Name: "br0", Members: []string{"p0", "p1"},
		BVI: control.IfaceConfig{Name: "bvi0", MAC: bviMAC, Addrs: []netip.Prefix{netip.PrefixFrom(bvi, 64)}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(2, hC, macB); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:700::/48"), hC); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	var ports [3]*mem.Queue
	var ps []port.Port
	for i := range ports {
		ports[i] = mem.NewQueue("p" + string(rune('0'+i)))
		ps = append(ps, ports[i])
	}
	w := dp.NewWorker(0, r.Config(), ps, []dp.RxQueue{{Iface: 0}, {Iface: 1}, {Iface: 2}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{w})
	send := func(i int, f []byte) (got [3][][]byte) {
		t.Helper()
		ports[i].Push(f)
		for range 20 {
			did := r.Service()
			n := w.Poll()
			for j := range got {
				got[j] = append(got[j], ports[j].Take()...)
			}
			if !did && n == 0 && w.Inject().Len() == 0 && w.Punt().Len() == 0 {
				break
			}
		}
		return got
	}
	expect := func(got [3][][]byte, port int, want []byte, others [3]int, what string) {
		t.Helper()
		for j := range got {
			n := others[j]
			if j == port {
				n = 1
			}
			if len(got[j]) != n {
				t.Fatalf("%s: p%d sent %d frames, want %d", what, j, len(got[j]), n)
			}
		}
		if string(got[port][0]) != string(want) {
			t.Fatalf("%s: p%d sent\n %x\nwant %x\n%v", what, port, got[port][0], want, gopacket.NewPacket(got[port][0], layers.LayerTypeEthernet, gopacket.Default))
		}
	}

	ns := nsFrame(t, mcastMAC(solNode(bvi)), macA, hA, solNode(bvi), bvi)
	got := send(0, ns)
	expect(got, 0, naFrame(t, macA, bviMAC, bvi, hA, bvi, 0xe0), [3]int{1: 1}, "NS for bvi0's address")
	if string(got[1][0]) != string(ns) {
		t.Errorf("NS flooded to p1 changed: %x", got[1][0])
	}

	echo := func(typ uint8, src, dst netip.Addr, dmac, smac [6]byte) []byte {
		return ser(t, eth(dmac, smac), ip(src, dst, layers.IPProtocolICMPv6, 64),
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}, gopacket.Payload([]byte{0, 7, 0, 1, 'p', 'i', 'n', 'g'}))
	}
	expect(send(0, echo(128, hA, bvi, bviMAC, macA)), 0, echo(129, bvi, hA, macA, bviMAC), [3]int{}, "echo to bvi0")

	f := ser(t, eth(bviMAC, macA), ip(hA, netip.MustParseAddr("2001:db8:700::9"), layers.IPProtocolUDP, 64), gopacket.Payload(udp(18)))
	want := append([]byte(nil), f...)
	copy(want[0:6], macB[:])
	copy(want[6:12], []byte{0x02, 0x42, 0, 0, 0, 2})
	want[hdr.EthernetLen+7]--
	expect(send(0, f), 2, want, [3]int{}, "routed from bvi0 to p2")

	f = ser(t, eth([6]byte{0x02, 0x42, 0, 0, 0, 2}, macB), ip(hC, hA, layers.IPProtocolUDP, 64), gopacket.Payload(udp(18)))
	want = append([]byte(nil), f...)
	copy(want[0:6], macA[:])
	copy(want[6:12], bviMAC[:])
	want[hdr.EthernetLen+7]--
	expect(send(2, f), 0, want, [3]int{}, "routed from p2 into the bridge to A")
}
