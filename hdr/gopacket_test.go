package hdr

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Differential tests: packets built and decoded by gopacket, parsed by hdr.

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// offsetOf returns the offset of layer lt in p, from the lengths of the
// layers before it.
func offsetOf(t *testing.T, p gopacket.Packet, lt gopacket.LayerType) int {
	t.Helper()
	off := 0
	for _, l := range p.Layers() {
		if l.LayerType() == lt {
			return off
		}
		off += len(l.LayerContents())
	}
	t.Fatalf("no %v layer in %v", lt, p)
	return 0
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randIP4(r *rand.Rand) net.IP { return net.IP(randBytes(r, 4)) }

func TestGopacketIPv4(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 500 {
		eth := &layers.Ethernet{SrcMAC: randBytes(r, 6), DstMAC: randBytes(r, 6), EthernetType: layers.EthernetTypeIPv4}
		ls := []gopacket.SerializableLayer{eth}
		ntags := r.IntN(3)
		prev := &eth.EthernetType
		for k := range ntags {
			tpid := layers.EthernetTypeDot1Q
			if k == 0 && ntags == 2 {
				tpid = layers.EthernetTypeQinQ
			}
			*prev = tpid
			q := &layers.Dot1Q{Priority: uint8(r.IntN(8)), DropEligible: r.IntN(2) == 1, VLANIdentifier: uint16(r.IntN(4096)), Type: layers.EthernetTypeIPv4}
			prev = &q.Type
			ls = append(ls, q)
		}
		ip := &layers.IPv4{
			Version: 4, TOS: uint8(r.Uint32()), Id: uint16(r.Uint32()), TTL: uint8(1 + r.IntN(255)),
			Flags: layers.IPv4Flag(r.IntN(2)) << 1, SrcIP: randIP4(r), DstIP: randIP4(r),
		}
		if r.IntN(4) == 0 { // a fragment: gopacket then stops at the IPv4 layer
			ip.Flags |= layers.IPv4MoreFragments
			ip.FragOffset = uint16(r.IntN(8192))
		}
		if r.IntN(2) == 0 {
			ip.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}}
			if n := r.IntN(20); n > 0 {
				ip.Options = append(ip.Options, layers.IPv4Option{OptionType: 0x44, OptionLength: uint8(2 + n), OptionData: randBytes(r, n)})
			}
		}
		payload := gopacket.Payload(randBytes(r, r.IntN(200)))
		var l4 gopacket.SerializableLayer
		switch i % 3 {
		case 0:
			ip.Protocol = layers.IPProtocolUDP
			u := &layers.UDP{SrcPort: layers.UDPPort(r.Uint32()), DstPort: layers.UDPPort(r.Uint32())}
			u.SetNetworkLayerForChecksum(ip)
			l4 = u
		case 1:
			ip.Protocol = layers.IPProtocolTCP
			tc := &layers.TCP{SrcPort: layers.TCPPort(r.Uint32()), DstPort: layers.TCPPort(r.Uint32()), Seq: r.Uint32(), Ack: r.Uint32(),
				SYN: r.IntN(2) == 1, ACK: r.IntN(2) == 1, FIN: r.IntN(2) == 1, RST: r.IntN(2) == 1, PSH: r.IntN(2) == 1, URG: r.IntN(2) == 1,
				ECE: r.IntN(2) == 1, CWR: r.IntN(2) == 1, Window: uint16(r.Uint32()), Urgent: uint16(r.Uint32())}
			if r.IntN(2) == 0 {
				tc.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}, {OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}}
			}
			tc.SetNetworkLayerForChecksum(ip)
			l4 = tc
		case 2:
			ip.Protocol = layers.IPProtocolICMPv4
			l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(r.IntN(20)), uint8(r.IntN(16))), Id: uint16(r.Uint32()), Seq: uint16(r.Uint32())}
		}
		b := serialize(t, append(ls, ip, l4, payload)...)
		pad := 0
		if r.IntN(4) == 0 {
			pad = r.IntN(30)
			b = append(b, make([]byte, pad)...)
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("gopacket decode: %v", el.Error())
		}

		etype, l3off, n, st := ParseEthernet(b, 2)
		if st != OK || etype != EtherTypeIPv4 || n != ntags || l3off != offsetOf(t, p, layers.LayerTypeIPv4) {
			t.Fatalf("ParseEthernet = %#x %d %d %v, want %d tags", etype, l3off, n, st, ntags)
		}
		e := Ethernet(b)
		if !bytes.Equal(e.Dst(), eth.DstMAC) || !bytes.Equal(e.Src(), eth.SrcMAC) {
			t.Fatalf("Ethernet MACs")
		}
		for k, gl := range p.Layers() {
			if q, ok := gl.(*layers.Dot1Q); ok {
				v := VLAN(b[EthernetLen+(k-1)*VLANTagLen:])
				if v.PCP() != q.Priority || v.DEI() != q.DropEligible || v.VID() != q.VLANIdentifier || v.Type() != uint16(q.Type) {
					t.Fatalf("VLAN %d: pcp %d dei %v vid %d type %#x, gopacket %+v", k, v.PCP(), v.DEI(), v.VID(), v.Type(), q)
				}
			}
		}

		h := IPv4(b[l3off:])
		if st := h.Validate(); st != OK {
			t.Fatalf("IPv4 Validate = %v", st)
		}
		g := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if h.Version() != g.Version || h.HeaderLen() != int(g.IHL)*4 || h.TOS() != g.TOS || h.TotalLen() != int(g.Length) ||
			h.ID() != g.Id || h.DF() != (g.Flags&layers.IPv4DontFragment != 0) || h.MF() != (g.Flags&layers.IPv4MoreFragments != 0) ||
			h.FragOffset() != g.FragOffset || h.TTL() != g.TTL || h.Protocol() != uint8(g.Protocol) || h.Checksum() != g.Checksum ||
			h.Src() != binary.BigEndian.Uint32(g.SrcIP.To4()) || h.Dst() != binary.BigEndian.Uint32(g.DstIP.To4()) {
			t.Fatalf("IPv4 fields differ from gopacket %+v", g)
		}
		if !bytes.Equal(h.Options(), g.Contents[20:]) || !bytes.Equal(h.Payload(), g.Payload) || h.ComputeChecksum() != g.Checksum {
			t.Fatalf("IPv4 options/payload/checksum differ")
		}
		if len(h)-h.TotalLen() < pad { // gopacket also pads frames to 60 bytes
			t.Fatalf("padding %d, want at least %d", len(h)-h.TotalLen(), pad)
		}
		l4b := h.Payload()
		fragment := h.MF() || h.FragOffset() != 0
		switch g := p.TransportLayer().(type) {
		case nil:
			if !fragment && p.Layer(layers.LayerTypeICMPv4) == nil {
				t.Fatalf("gopacket found no transport in a non-fragment")
			}
		case *layers.UDP:
			u := UDP(l4b)
			if u.Validate() != OK || u.SrcPort() != uint16(g.SrcPort) || u.DstPort() != uint16(g.DstPort) || u.Length() != int(g.Length) ||
				u.Checksum() != g.Checksum || !bytes.Equal(u.Payload(), g.Payload) {
				t.Fatalf("UDP differs from gopacket %+v", g)
			}
			if Checksum(l4b, PseudoSumIPv4(h.Src(), h.Dst(), ProtoUDP, uint16(len(l4b)))) != 0 {
				t.Fatalf("UDP checksum from gopacket does not verify")
			}
		case *layers.TCP:
			tc := TCP(l4b)
			flags := uint8(g.Contents[13])
			if tc.Validate() != OK || tc.SrcPort() != uint16(g.SrcPort) || tc.DstPort() != uint16(g.DstPort) || tc.Seq() != g.Seq ||
				tc.Ack() != g.Ack || tc.DataOffset() != int(g.DataOffset)*4 || tc.Flags() != flags || tc.Window() != g.Window ||
				tc.Checksum() != g.Checksum || tc.Urgent() != g.Urgent || !bytes.Equal(tc.Payload(), g.Payload) {
				t.Fatalf("TCP differs from gopacket %+v", g)
			}
			if (tc.Flags()&TCPFlagSYN != 0) != g.SYN || (tc.Flags()&TCPFlagFIN != 0) != g.FIN || (tc.Flags()&TCPFlagRST != 0) != g.RST ||
				(tc.Flags()&TCPFlagACK != 0) != g.ACK || (tc.Flags()&TCPFlagCWR != 0) != g.CWR || (tc.Flags()&TCPFlagECE != 0) != g.ECE {
				t.Fatalf("TCP flag bits differ from gopacket")
			}
			if Checksum(l4b, PseudoSumIPv4(h.Src(), h.Dst(), ProtoTCP, uint16(len(l4b)))) != 0 {
				t.Fatalf("TCP checksum from gopacket does not verify")
			}
		}
		if gi, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			c := ICMPv4(l4b)
			if c.Validate() != OK || c.Type() != gi.TypeCode.Type() || c.Code() != gi.TypeCode.Code() || c.Checksum() != gi.Checksum ||
				c.ID() != gi.Id || c.Seq() != gi.Seq || Checksum(c, 0) != 0 {
				t.Fatalf("ICMPv4 differs from gopacket %+v", gi)
			}
		}

		// DecTTL must agree with gopacket recomputing the checksum.
		if h.TTL() > 1 {
			h.DecTTL()
			g.TTL--
			rb := serialize(t, g, gopacket.Payload(g.Payload))
			if IPv4(rb).Checksum() != h.Checksum() {
				t.Fatalf("DecTTL checksum %#x, gopacket %#x", h.Checksum(), IPv4(rb).Checksum())
			}
		}
	}
}

func TestGopacketARP(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 100 {
		g := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: uint16(1 + r.IntN(2)), SourceHwAddress: randBytes(r, 6), SourceProtAddress: randBytes(r, 4),
			DstHwAddress: randBytes(r, 6), DstProtAddress: randBytes(r, 4)}
		b := serialize(t, &layers.Ethernet{SrcMAC: randBytes(r, 6), DstMAC: randBytes(r, 6), EthernetType: layers.EthernetTypeARP}, g)
		etype, off, _, st := ParseEthernet(b, 2)
		a := ARP(b[off:])
		if st != OK || etype != EtherTypeARP || a.Validate() != OK || a.Op() != g.Operation ||
			!bytes.Equal(a.SenderMAC(), g.SourceHwAddress) || !bytes.Equal(a.TargetMAC(), g.DstHwAddress) ||
			a.SenderIP() != binary.BigEndian.Uint32(g.SourceProtAddress) || a.TargetIP() != binary.BigEndian.Uint32(g.DstProtAddress) {
			t.Fatalf("ARP differs from gopacket %+v", g)
		}
	}
}

func TestGopacketIPv6(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	opt := func() []byte { return randBytes(r, 4) }
	for i := range 300 {
		ip := &layers.IPv6{Version: 6, TrafficClass: uint8(r.Uint32()), FlowLabel: r.Uint32() & 0xfffff, HopLimit: uint8(r.Uint32()),
			SrcIP: randBytes(r, 16), DstIP: randBytes(r, 16)}
		ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: randBytes(r, 6), DstMAC: randBytes(r, 6), EthernetType: layers.EthernetTypeIPv6}, ip}
		next := &ip.NextHeader
		var wantFrag bool
		var wantOff uint16
		var firstFrag *layers.IPv6Fragment
		if r.IntN(2) == 0 {
			h := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 0x1e, OptionLength: 4, OptionData: opt()}}}
			*next, next = layers.IPProtocolIPv6HopByHop, &h.NextHeader
			ls = append(ls, h)
		}
		for range r.IntN(4) {
			switch r.IntN(3) {
			case 0:
				d := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 0x1e, OptionLength: 4, OptionData: opt()}}}
				*next, next = layers.IPProtocolIPv6Destination, &d.NextHeader
				ls = append(ls, d)
			case 1:
				rt := &layers.IPv6Routing{RoutingType: 4, SegmentsLeft: uint8(r.IntN(3)), Reserved: make([]byte, 4), Data: randBytes(r, 16*r.IntN(3))}
				*next, next = layers.IPProtocolIPv6Routing, &rt.NextHeader
				ls = append(ls, rt)
			case 2:
				f := &layers.IPv6Fragment{FragmentOffset: 0, MoreFragments: true, Identification: r.Uint32()}
				if !wantFrag && r.IntN(2) == 0 {
					f.FragmentOffset = uint16(r.IntN(8192))
				}
				if !wantFrag {
					wantOff, firstFrag = f.FragmentOffset, f
				}
				wantFrag = true
				*next, next = layers.IPProtocolIPv6Fragment, &f.NextHeader
				ls = append(ls, f)
			}
		}
		payload := gopacket.Payload(randBytes(r, r.IntN(100)))
		var wantProto uint8
		if i%2 == 0 {
			u := &layers.UDP{SrcPort: layers.UDPPort(r.Uint32()), DstPort: layers.UDPPort(r.Uint32())}
			u.SetNetworkLayerForChecksum(ip)
			*next, wantProto = layers.IPProtocolUDP, ProtoUDP
			ls = append(ls, u, payload)
		} else {
			c := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(ICMPv6Echo, 0)}
			c.SetNetworkLayerForChecksum(ip)
			*next, wantProto = layers.IPProtocolICMPv6, ProtoICMPv6
			ls = append(ls, c, &layers.ICMPv6Echo{Identifier: uint16(r.Uint32()), SeqNumber: uint16(r.Uint32())}, payload)
		}
		b := serialize(t, ls...)
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		if wantOff != 0 {
			// Transport stops after a non-first fragment header.
			wantProto = uint8(firstFrag.NextHeader)
		}

		etype, l3off, _, st := ParseEthernet(b, 2)
		if st != OK || etype != EtherTypeIPv6 || l3off != EthernetLen {
			t.Fatalf("ParseEthernet = %#x %d %v", etype, l3off, st)
		}
		h := IPv6(b[l3off:])
		g := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if h.Validate() != OK || h.Version() != 6 || h.TrafficClass() != g.TrafficClass || h.FlowLabel() != g.FlowLabel ||
			h.PayloadLen() != int(g.Length) || h.NextHeader() != uint8(g.NextHeader) || h.HopLimit() != g.HopLimit ||
			!bytes.Equal(h.Src(), g.SrcIP) || !bytes.Equal(h.Dst(), g.DstIP) {
			t.Fatalf("IPv6 differs from gopacket %+v", g)
		}
		proto, off, frag, fragOff, st := h.Transport()
		if st != OK || proto != wantProto || frag != wantFrag || fragOff != wantOff {
			t.Fatalf("Transport = %d %d %v %d %v, want %d frag %v %d", proto, off, frag, fragOff, st, wantProto, wantFrag, wantOff)
		}
		if wantFrag {
			continue // gopacket does not decode past a fragment header
		}
		var lt gopacket.LayerType = layers.LayerTypeUDP
		if proto == ProtoICMPv6 {
			lt = layers.LayerTypeICMPv6
		}
		if l3off+off != offsetOf(t, p, lt) {
			t.Fatalf("Transport off %d, gopacket %d", l3off+off, offsetOf(t, p, lt)-l3off)
		}
		l4 := h[off:]
		if Checksum(l4, PseudoSumIPv6(h.Src(), h.Dst(), proto, uint32(len(l4)))) != 0 {
			t.Fatalf("upper-layer checksum from gopacket does not verify")
		}
		if proto == ProtoICMPv6 {
			gc := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			c := ICMPv6(l4)
			if c.Validate() != OK || c.Type() != gc.TypeCode.Type() || c.Code() != gc.TypeCode.Code() || c.Checksum() != gc.Checksum || c.IsError() {
				t.Fatalf("ICMPv6 differs from gopacket %+v", gc)
			}
		} else {
			gu := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			u := UDP(l4)
			if u.Validate() != OK || u.SrcPort() != uint16(gu.SrcPort) || u.DstPort() != uint16(gu.DstPort) || u.Checksum() != gu.Checksum {
				t.Fatalf("UDP differs from gopacket %+v", gu)
			}
		}
	}
}
