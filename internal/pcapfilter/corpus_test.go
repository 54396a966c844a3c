package pcapfilter

import (
	"encoding/binary"
	"net"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// frame is one corpus packet: its bytes and a name for failure messages.
type frame struct {
	name      string
	b         []byte
	truncated bool
}

var (
	corpusMACs = []net.HardwareAddr{
		{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0, 0, 0x01},
	}
	corpusV4 = []net.IP{
		net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2), net.IPv4(192, 168, 1, 10),
		net.IPv4(172, 16, 5, 4), net.IPv4(224, 0, 0, 5),
	}
	corpusV6 = []net.IP{
		net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2"), net.ParseIP("2001:db8:1::10"),
		net.ParseIP("fe80::1"), net.ParseIP("ff02::1"),
	}
	corpusPorts = []uint16{22, 53, 80, 443, 1024, 8080}
)

func ser(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(src, dst int, t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: corpusMACs[src], DstMAC: corpusMACs[dst], EthernetType: t}
}

// l2 prepends an Ethernet header with zero, one or two VLAN tags.
func l2(tags []uint16, src, dst int, inner layers.EthernetType) []gopacket.SerializableLayer {
	if len(tags) == 0 {
		return []gopacket.SerializableLayer{eth(src, dst, inner)}
	}
	outer := layers.EthernetTypeDot1Q
	if len(tags) == 2 {
		outer = layers.EthernetTypeQinQ
	}
	ls := []gopacket.SerializableLayer{eth(src, dst, outer)}
	for i, id := range tags {
		next := inner
		if i+1 < len(tags) {
			next = layers.EthernetTypeDot1Q
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: id, Priority: 3, Type: next})
	}
	return ls
}

func tcpBytes(sp, dp uint16, flags uint8) []byte {
	t := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, Window: 1000}
	t.SYN, t.ACK, t.FIN, t.RST, t.PSH = flags&2 != 0, flags&16 != 0, flags&1 != 0, flags&4 != 0, flags&8 != 0
	return ser(t, gopacket.Payload([]byte("hello, world")))
}

func udpBytes(sp, dp uint16) []byte {
	return ser(&layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}, gopacket.Payload([]byte("payload!")))
}

// corpus builds the frames every oracle expression runs on.
func corpus() []frame {
	var fs []frame
	add := func(name string, b []byte) { fs = append(fs, frame{name, b, false}) }
	tagSets := [][]uint16{nil, {100}, {200}, {100, 200}, {7, 100}}
	for ti, tags := range tagSets {
		for i := 0; i < 6; i++ {
			s4, d4 := corpusV4[i%len(corpusV4)], corpusV4[(i+1+ti)%len(corpusV4)]
			sp, dp := corpusPorts[i%len(corpusPorts)], corpusPorts[(i+2+ti)%len(corpusPorts)]
			flags := []uint8{2, 18, 16, 17, 4, 24}[i]
			ihl := []uint8{5, 5, 6, 5, 7, 5}[i]
			ip := func(proto layers.IPProtocol, fragOff uint16, mf bool) *layers.IPv4 {
				h := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: s4, DstIP: d4, Id: uint16(i), FragOffset: fragOff}
				if mf {
					h.Flags = layers.IPv4MoreFragments
				}
				if ihl > 5 {
					h.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}}
					if ihl > 6 {
						h.Options = append(h.Options, layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1}, layers.IPv4Option{OptionType: 1})
					}
				}
				return h
			}
			ls := func(l3 ...gopacket.SerializableLayer) []gopacket.SerializableLayer {
				return append(l2(tags, i%4, (i+1)%4, layers.EthernetTypeIPv4), l3...)
			}
			add("ipv4-tcp", ser(ls(ip(layers.IPProtocolTCP, 0, false), gopacket.Payload(tcpBytes(sp, dp, flags)))...))
			add("ipv4-udp", ser(ls(ip(layers.IPProtocolUDP, 0, false), gopacket.Payload(udpBytes(sp, dp)))...))
			add("ipv4-icmp", ser(ls(ip(layers.IPProtocolICMPv4, 0, false),
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8([]int{8, 0, 3, 11, 5, 8}[i]), 0)}, gopacket.Payload([]byte("ping")))...))
			add("ipv4-tcp-firstfrag", ser(ls(ip(layers.IPProtocolTCP, 0, true), gopacket.Payload(tcpBytes(sp, dp, flags)))...))
			add("ipv4-tcp-laterfrag", ser(ls(ip(layers.IPProtocolTCP, 3, false), gopacket.Payload(tcpBytes(dp, sp, flags)))...))
			add("ipv4-udp-laterfrag", ser(ls(ip(layers.IPProtocolUDP, 100, true), gopacket.Payload(udpBytes(sp, dp)))...))
			add("ipv4-igmp", ser(ls(ip(layers.IPProtocolIGMP, 0, false), gopacket.Payload([]byte{0x16, 0, 0, 0, 224, 0, 0, 5}))...))
			add("ipv4-sctp", ser(ls(ip(layers.IPProtocolSCTP, 0, false), gopacket.Payload(udpBytes(sp, dp)))...))

			s6, d6 := corpusV6[i%len(corpusV6)], corpusV6[(i+1+ti)%len(corpusV6)]
			ip6 := func(nh layers.IPProtocol) *layers.IPv6 {
				return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: nh, SrcIP: s6, DstIP: d6}
			}
			ls6 := func(l3 ...gopacket.SerializableLayer) []gopacket.SerializableLayer {
				return append(l2(tags, i%4, (i+1)%4, layers.EthernetTypeIPv6), l3...)
			}
			add("ipv6-tcp", ser(ls6(ip6(layers.IPProtocolTCP), gopacket.Payload(tcpBytes(sp, dp, flags)))...))
			add("ipv6-udp", ser(ls6(ip6(layers.IPProtocolUDP), gopacket.Payload(udpBytes(sp, dp)))...))
			add("ipv6-icmp6", ser(ls6(ip6(layers.IPProtocolICMPv6), gopacket.Payload([]byte{byte([]int{128, 129, 135, 136, 1, 2}[i]), 0, 0, 0, 1, 2, 3, 4}))...))
			// Extension headers: hop-by-hop (8 bytes, PadN) then TCP;
			// fragment header then UDP, first and later fragment.
			hbh := []byte{byte(layers.IPProtocolTCP), 0, 1, 4, 0, 0, 0, 0}
			add("ipv6-hbh-tcp", ser(ls6(ip6(layers.IPProtocolIPv6HopByHop), gopacket.Payload(append(hbh, tcpBytes(sp, dp, flags)...)))...))
			frag := func(nh layers.IPProtocol, off uint16, m bool) []byte {
				b := []byte{byte(nh), 0, 0, 0, 0, 0, 0, 9}
				v := off << 3
				if m {
					v |= 1
				}
				binary.BigEndian.PutUint16(b[2:], v)
				return b
			}
			add("ipv6-frag-udp-first", ser(ls6(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload(append(frag(layers.IPProtocolUDP, 0, true), udpBytes(sp, dp)...)))...))
			add("ipv6-frag-udp-later", ser(ls6(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload(append(frag(layers.IPProtocolUDP, 50, false), udpBytes(dp, sp)...)))...))
			add("ipv6-frag-icmp6", ser(ls6(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload(append(frag(layers.IPProtocolICMPv6, 0, true), 128, 0, 0, 0, 1, 2, 3, 4)))...))
			add("ipv6-frag-tcp", ser(ls6(ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload(append(frag(layers.IPProtocolTCP, 0, true), tcpBytes(sp, dp, flags)...)))...))

			for _, op := range []uint16{layers.ARPRequest, layers.ARPReply} {
				for _, et := range []layers.EthernetType{layers.EthernetTypeARP, 0x8035} {
					a := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
						Operation: op, SourceHwAddress: corpusMACs[i%2], SourceProtAddress: s4.To4(), DstHwAddress: corpusMACs[(i+1)%2], DstProtAddress: d4.To4()}
					add("arp", ser(append(l2(tags, i%4, 2, et), a)...))
				}
			}
		}
	}
	// 802.3 frames with an LLC header (the type field is a length).
	for _, sap := range []byte{0x42, 0x64, 0x06, 0xaa} {
		b := ser(eth(0, 1, 0), gopacket.Payload([]byte{sap, sap, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
		binary.BigEndian.PutUint16(b[12:], 46)
		add("llc", b)
	}
	// Truncated frames: every frame cut at a few lengths.
	n := len(fs)
	for i := 0; i < n; i += 3 {
		for _, cut := range []int{0, 6, 13, 14, 16, 20, 23, 30, 34, 38, 40, 45, 54, 56, 60} {
			if cut < len(fs[i].b) {
				fs = append(fs, frame{fs[i].name + "-truncated", fs[i].b[:cut], true})
			}
		}
	}
	return fs
}
