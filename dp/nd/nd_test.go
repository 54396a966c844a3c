package nd_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/dp/nd"
	"github.com/softnet/softnet/hdr"
)

var (
	hostMAC = net.HardwareAddr{2, 0xaa, 0, 0, 0, 2}
	host    = netip.MustParseAddr("2001:db8:1::2")
	hostLL  = netip.MustParseAddr("fe80::2")
	router  = netip.MustParseAddr("2001:db8:1::1")
)

// msg builds an IPv6 packet (no Ethernet header) carrying an ND message
// with gopacket: the independent encoder the rules are checked against.
func msg(t testing.TB, src, dst netip.Addr, hop uint8, typ uint8, body gopacket.SerializableLayer) []byte {
	t.Helper()
	ip := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolICMPv6, HopLimit: hop, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	if err := ic.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, ic, body); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func sll(m net.HardwareAddr) layers.ICMPv6Options {
	return layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: m}}
}

func ns(target netip.Addr, opts layers.ICMPv6Options) *layers.ICMPv6NeighborSolicitation {
	return &layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice(), Options: opts}
}

func na(flags uint8, target netip.Addr) *layers.ICMPv6NeighborAdvertisement {
	return &layers.ICMPv6NeighborAdvertisement{Flags: flags, TargetAddress: target.AsSlice(),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: hostMAC}}}
}

// fix recomputes the ICMPv6 checksum of p after a test edits it.
func fix(p []byte) []byte {
	m := p[hdr.IPv6Len:]
	binary.BigEndian.PutUint16(m[2:], 0)
	binary.BigEndian.PutUint16(m[2:], hdr.Checksum(m, hdr.PseudoSumIPv6(p[8:24], p[24:40], hdr.ProtoICMPv6, uint32(len(m)))))
	return p
}

// TestCheck: one case per validity rule of RFC 4861 §6.1.1, §6.1.2,
// §7.1.1, §7.1.2 and §8.1, each on a message gopacket builds, and the
// valid messages each rule leaves alone.
func TestCheck(t *testing.T) {
	solR := netip.AddrFrom16(nd.SolicitedNode(router.As16()))
	allNodes := netip.MustParseAddr("ff02::1")
	allRouters := netip.MustParseAddr("ff02::2")
	good := msg(t, host, solR, 255, 135, ns(router, sll(hostMAC)))
	edit := func(f func(p []byte)) []byte {
		p := append([]byte(nil), good...)
		f(p)
		return fix(p)
	}
	for _, tc := range []struct {
		name string
		p    []byte
		want nd.Verdict
	}{
		{"ns", good, nd.OK},
		{"ns-unicast", msg(t, host, router, 255, 135, ns(router, sll(hostMAC))), nd.OK},
		{"ns-no-option", msg(t, hostLL, solR, 255, 135, ns(router, nil)), nd.OK},
		{"ns-dad", msg(t, netip.IPv6Unspecified(), solR, 255, 135, ns(router, nil)), nd.OK},
		{"na-solicited", msg(t, host, router, 255, 136, na(0x60, host)), nd.OK},
		{"na-unsolicited-multicast", msg(t, host, allNodes, 255, 136, na(0x20, host)), nd.OK},
		{"rs", msg(t, hostLL, allRouters, 255, 133, &layers.ICMPv6RouterSolicitation{Options: sll(hostMAC)}), nd.OK},
		{"rs-unspecified", msg(t, netip.IPv6Unspecified(), allRouters, 255, 133, &layers.ICMPv6RouterSolicitation{}), nd.OK},
		{"ra", msg(t, hostLL, allNodes, 255, 134, &layers.ICMPv6RouterAdvertisement{HopLimit: 64, RouterLifetime: 1800}), nd.OK},

		{"hop-limit-254", msg(t, host, solR, 254, 135, ns(router, sll(hostMAC))), nd.VHopLimit},
		{"hop-limit-64-na", msg(t, host, router, 64, 136, na(0x60, host)), nd.VHopLimit},
		{"bad-checksum", func() []byte { p := append([]byte(nil), good...); p[len(p)-1] ^= 1; return p }(), nd.VChecksum},
		{"code-1", edit(func(p []byte) { p[hdr.IPv6Len+1] = 1 }), nd.VCode},
		{"ns-short", fix(shorten(msg(t, host, solR, 255, 135, ns(router, nil)), 4)), nd.VTooShort},
		{"ra-short", fix(shorten(msg(t, hostLL, allNodes, 255, 134, &layers.ICMPv6RouterAdvertisement{}), 4)), nd.VTooShort},
		{"option-length-0", edit(func(p []byte) { p[hdr.IPv6Len+25] = 0 }), nd.VOption},
		{"option-past-end", edit(func(p []byte) { p[hdr.IPv6Len+25] = 2 }), nd.VOption},
		{"ns-multicast-target", msg(t, host, solR, 255, 135, ns(allNodes, sll(hostMAC))), nd.VMulticastTarget},
		{"na-multicast-target", msg(t, host, router, 255, 136, na(0x60, allNodes)), nd.VMulticastTarget},
		{"dad-not-solicited-node", msg(t, netip.IPv6Unspecified(), router, 255, 135, ns(router, nil)), nd.VDAD},
		{"dad-with-option", msg(t, netip.IPv6Unspecified(), solR, 255, 135, ns(router, sll(hostMAC))), nd.VDAD},
		{"na-multicast-solicited", msg(t, host, allNodes, 255, 136, na(0x60, host)), nd.VSolicited},
		{"ra-global-source", msg(t, host, allNodes, 255, 134, &layers.ICMPv6RouterAdvertisement{}), nd.VSource},
		{"rs-unspecified-with-option", msg(t, netip.IPv6Unspecified(), allRouters, 255, 133, &layers.ICMPv6RouterSolicitation{Options: sll(hostMAC)}), nd.VOption},
		{"multicast-source", edit(func(p []byte) { p[8] = 0xff }), nd.VSource},
	} {
		if got := nd.Check(tc.p); got != tc.want {
			t.Errorf("%s: Check = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// shorten cuts n bytes off the end of IPv6 packet p and its payload
// length.
func shorten(p []byte, n int) []byte {
	p = p[:len(p)-n]
	binary.BigEndian.PutUint16(p[4:], uint16(len(p)-hdr.IPv6Len))
	return p
}

// TestSolicitedNode: ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).
func TestSolicitedNode(t *testing.T) {
	got := netip.AddrFrom16(nd.SolicitedNode(netip.MustParseAddr("2001:db8::12:3456").As16()))
	if want := netip.MustParseAddr("ff02::1:ff12:3456"); got != want || !nd.IsSolicitedNode(want.AsSlice()) || nd.IsSolicitedNode(netip.MustParseAddr("ff02::1").AsSlice()) {
		t.Errorf("SolicitedNode = %v, want %v", got, want)
	}
}

// FuzzOptions: Check never panics on any option bytes behind a valid
// NS, and when it accepts the message every option has a non-zero length
// that ends within it, as gopacket decodes them; Option finds the
// Source Link-Layer Address gopacket finds.
func FuzzOptions(f *testing.F) {
	f.Add([]byte{1, 1, 2, 0xaa, 0, 0, 0, 2})
	f.Add([]byte{1, 0, 2, 0xaa, 0, 0, 0, 2})
	f.Add([]byte{1, 2, 2, 0xaa, 0, 0, 0, 2})
	f.Add([]byte{14, 1, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0xaa, 0, 0, 0, 3})
	f.Add([]byte{1})
	base := msg(f, host, netip.AddrFrom16(nd.SolicitedNode(router.As16())), 255, 135, ns(router, nil))
	f.Fuzz(func(t *testing.T, opts []byte) {
		if len(opts) > 1200 {
			return
		}
		p := append(append([]byte(nil), base...), opts...)
		binary.BigEndian.PutUint16(p[4:], uint16(len(p)-hdr.IPv6Len))
		fix(p)
		v := nd.Check(p)
		wellFormed := true
		for o := opts; len(o) > 0; {
			if len(o) < 2 || o[1] == 0 || int(o[1])*8 > len(o) {
				wellFormed = false
				break
			}
			o = o[int(o[1])*8:]
		}
		if v == nd.OK && !wellFormed {
			t.Fatalf("accepted malformed options %x", opts)
		}
		if v == nd.VOption && wellFormed {
			t.Fatalf("refused well-formed options %x", opts)
		}
		if v != nd.OK {
			return
		}
		pk := gopacket.NewPacket(p, layers.LayerTypeIPv6, gopacket.Default)
		nsl, _ := pk.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
		if nsl == nil {
			t.Fatalf("gopacket does not decode the accepted NS %x: %v", p, pk.ErrorLayer())
		}
		var want net.HardwareAddr
		for _, o := range nsl.Options {
			if o.Type == layers.ICMPv6OptSourceAddress && len(o.Data) == 6 && want == nil {
				want = o.Data
			}
		}
		got, ok := nd.Option(p[hdr.IPv6Len+24:], nd.OptSourceLL)
		if ok != (want != nil) || (ok && net.HardwareAddr(got[:]).String() != want.String()) {
			t.Fatalf("Option = %x %v, gopacket %v", got, ok, want)
		}
	})
}
