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

// TestHostOwnsND: with Linux owning ND (SetHostNeighbors), a Neighbor
// Solicitation for the router's address goes to the host interface, to
// the solicited-node group's MAC, and softnet sends no advertisement.
func TestHostOwnsND(t *testing.T) {
	mac0, macA := [6]byte{0x02, 0x52, 0, 0, 0, 1}, [6]byte{0x02, 0xaa, 0, 0, 0, 2}
	r0, hostA := netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:1::2")
	r := control.New(control.Options{})
	if _, err := r.AddInterface(control.IfaceConfig{Name: "if0", MAC: mac0, Addrs: []netip.Prefix{netip.PrefixFrom(r0, 64)}}); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	r.SetHostSink(func(i int, f []byte) { got = append(got, bytes.Clone(f)) })
	if err := r.SetHostInterface(0, true); err != nil {
		t.Fatal(err)
	}
	r.SetHostNeighbors(true)
	r.Publish()
	q := mem.NewQueue("if0")
	w := dp.NewWorker(0, r.Config(), []port.Port{q}, []dp.RxQueue{{Iface: 0}}, dp.Options{PoolSize: 256})
	r.AttachWorkers([]*dp.Worker{w})
	ns := make([]byte, 32)
	ns[0] = hdr.ICMPv6NeighborSolicit
	ta := r0.As16()
	copy(ns[8:24], ta[:])
	ns[24], ns[25] = 1, 1 // source link-layer address
	copy(ns[26:32], macA[:])
	snm := netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 11: 1, 12: 0xff, 13: ta[13], 14: ta[14], 15: ta[15]})
	q.Push(ip6Frame([6]byte{0x33, 0x33, 0xff, ta[13], ta[14], ta[15]}, macA, hostA, snm, hdr.ProtoICMPv6, 255, ns))
	for range 10 {
		w.Poll()
		r.Service()
	}
	if out := q.Take(); len(out) != 0 {
		t.Errorf("softnet answered a solicitation Linux owns: % x", out)
	}
	want := [6]byte{0x33, 0x33, 0xff, ta[13], ta[14], ta[15]}
	if len(got) != 1 || !bytes.Equal(got[0][0:6], want[:]) || !bytes.Equal(got[0][6:12], macA[:]) || got[0][hdr.EthernetLen+hdr.IPv6Len] != hdr.ICMPv6NeighborSolicit {
		t.Fatalf("host frames % x, want the solicitation to %x", got, want)
	}
}
