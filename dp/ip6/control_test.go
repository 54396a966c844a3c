package ip6_test

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// TestIP6ThroughControl: the lab's topology built by the control plane
// (IPv6 interface addresses, static neighbours, a route) forwards host
// A's packet to host B with the neighbour's rewrite (EtherType 0x86DD)
// and answers an echo request to the router's address: the control
// plane's FIB6 and adjacencies are what ip6-lookup and ip6-rewrite read.
func TestIP6ThroughControl(t *testing.T) {
	r := control.New(control.Options{})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::1/64"), netip.MustParsePrefix("10.0.1.1/24")}},
		{Name: "if1", MAC: mac1, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:2::1/64")}},
	} {
		if _, err := r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddNeighbor(0, hostA, macA); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(1, hostB, macB); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("2001:db8:100::/40"), hostB); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	l := &lab{t: t, ports: [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}}
	l.w = dp.NewWorker(0, r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{l.w})

	f := frame(t, hostA, remote, layers.IPProtocolUDP, 64, udp(18))
	want := append([]byte(nil), f...)
	copy(want[0:6], macB[:])
	copy(want[6:12], mac1[:])
	want[hdr.EthernetLen+7]--
	check(t, l, f, []out{{1, want}}, 0)

	f = frame(t, hostA, hostB, layers.IPProtocolUDP, 64, udp(18)) // the neighbour's /128
	want = append([]byte(nil), f...)
	copy(want[0:6], macB[:])
	copy(want[6:12], mac1[:])
	want[hdr.EthernetLen+7]--
	check(t, l, f, []out{{1, want}}, 0)

	// if1's address, from if0: the error comes from the address the
	// packet was sent to (RFC 4443 §2.2 a), not from if0's.
	f = frame(t, hostA, r1, layers.IPProtocolUDP, 64, udp(10))
	check(t, l, f, []out{{0, icmpErr(t, macA, mac0, r1, hostA, 1, 4, 0, l3of(f))}}, 0)

	// On the connected subnet but no neighbour: held for Neighbor
	// Discovery (TestNDResolve), nothing sent nor dropped yet.
	f = frame(t, hostA, netip.MustParseAddr("2001:db8:2::77"), layers.IPProtocolUDP, 64, udp(10))
	check(t, l, f, nil, 0)
}

func l3of(f []byte) []byte { return f[hdr.EthernetLen:] }
