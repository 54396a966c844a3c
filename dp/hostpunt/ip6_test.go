package hostpunt_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// ip6Frame builds an Ethernet/IPv6 frame; an ICMPv6 payload gets its
// checksum.
func ip6Frame(dstMAC, srcMAC [6]byte, src, dst netip.Addr, proto, hops uint8, payload []byte) []byte {
	f := make([]byte, hdr.EthernetLen+hdr.IPv6Len+len(payload))
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x86dd)
	ip := f[hdr.EthernetLen:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(payload)))
	ip[6], ip[7] = proto, hops
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	p := ip[hdr.IPv6Len:]
	copy(p, payload)
	if proto == hdr.ProtoICMPv6 {
		binary.BigEndian.PutUint16(p[2:], hdr.Checksum(p, hdr.PseudoSumIPv6(ip[8:24], ip[24:40], proto, uint32(len(p)))))
	}
	return f
}

// TestHostPunt6: the IPv6 side. TCP to the router's global address and
// to its link-local one (the TAP's, the same MAC making the same
// address), OSPFv3 to ff02::5 and a Neighbor Advertisement to the router
// reach the host interface; an echo request is still softnet's.
func TestHostPunt6(t *testing.T) {
	mac0, macA := [6]byte{0x02, 0x52, 0, 0, 0, 1}, [6]byte{0x02, 0xaa, 0, 0, 0, 2}
	r0, hostA := netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:1::2")
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.PrefixFrom(r0, 64)}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(0, hostA, macA); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	r.SetHostSink(func(i int, f []byte) { got = append(got, bytes.Clone(f)) })
	if err := r.SetHostInterface(0, true); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	q := mem.NewQueue("if0")
	w := dp.NewWorker(0, r.Config(), []port.Port{q}, []dp.RxQueue{{Iface: 0}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{w})
	run := func(frames ...[]byte) {
		q.Push(frames...)
		for range 10 {
			w.Poll()
			r.Service()
		}
	}
	ll := netip.AddrFrom16(r.Config().Load().Ifaces[0].LinkLocal)
	syn := make([]byte, 20)
	syn[3], syn[12], syn[13] = 179, 5<<4, 0x02
	tcp := ip6Frame(mac0, macA, hostA, r0, hdr.ProtoTCP, 64, syn)
	tcpLL := ip6Frame(mac0, macA, netip.MustParseAddr("fe80::aa"), ll, hdr.ProtoTCP, 64, syn)
	ospf := ip6Frame([6]byte{0x33, 0x33, 0, 0, 0, 5}, macA, netip.MustParseAddr("fe80::aa"), netip.MustParseAddr("ff02::5"), 89, 1, make([]byte, 40))
	na := make([]byte, 32) // solicited, override; target hostA; target link-layer address
	na[0], na[4] = hdr.ICMPv6NeighborAdvert, 0x60
	ta := hostA.As16()
	copy(na[8:24], ta[:])
	na[24], na[25] = 2, 1
	copy(na[26:32], macA[:])
	naf := ip6Frame(mac0, macA, hostA, r0, hdr.ProtoICMPv6, 255, na)
	run(tcp, tcpLL, ospf, naf)
	if len(got) != 4 {
		t.Fatalf("host frames: %d, want 4 (TCP, TCP to the link-local address, OSPFv3, NA)", len(got))
	}
	c := w.Counters()
	if c.HostPuntTCP != 2 || c.HostPuntMulticast != 1 {
		t.Errorf("host punts tcp %d multicast %d, want 2 and 1", c.HostPuntTCP, c.HostPuntMulticast)
	}
	var sawNA bool
	for _, f := range got {
		sawNA = sawNA || len(f) == len(naf) && f[hdr.EthernetLen+hdr.IPv6Len] == hdr.ICMPv6NeighborAdvert && bytes.Equal(f[6:12], macA[:])
	}
	if !sawNA {
		t.Errorf("no Neighbor Advertisement among the host frames % x", got)
	}
	got = nil
	echo := make([]byte, 12)
	echo[0] = hdr.ICMPv6EchoRequest
	run(ip6Frame(mac0, macA, hostA, r0, hdr.ProtoICMPv6, 64, echo))
	if out := q.Take(); len(got) != 0 || len(out) != 1 {
		t.Errorf("echo request: %d host frames, %d replies; want 0 and 1", len(got), len(out))
	}
}
