package dp_test

// The IPv6 golden cases (issue 12): one case per group of RFC 8200, 4291,
// 4443, 4861 and 7112 rules, generated with gopacket in the dptest lab
// with Options.IPv6, replayed by TestGolden like the IPv4 cases, and
// checked frame by frame by checkRFC6 (below) independently of the golden
// files: every ICMPv6 checksum verified by gopacket, errors quoting the
// start of a received packet, hop limits, pointers, MTUs, the R flag.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
)

func init() {
	goldenCases = append(goldenCases,
		goldenCase{name: "ip6", opts: dptest.Options{IPv6: true, MTU1: 1400}, in: ip6Input},
		goldenCase{name: "ip6-exthdr", opts: dptest.Options{IPv6: true}, in: ip6ExtInput},
		goldenCase{name: "ip6-nd", opts: dptest.Options{IPv6: true, RA: true}, in: ip6NDInput},
		goldenCase{name: "ip6-llonly", opts: dptest.Options{IPv6: true, LinkLocalOnly1: true}, in: ip6LLOnlyInput},
	)
}

// host6 is an IPv6 sender in the dptest lab.
type host6 struct {
	iface int
	mac   [6]byte
	addr  netip.Addr
}

// linkLocal is the modified EUI-64 link-local address of mac (RFC 4291
// Appendix A), as a host or the router derives it.
func linkLocal(mac [6]byte) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 8: mac[0] ^ 2, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5]})
}

var (
	hostA6   = host6{0, dptest.HostAMAC, dptest.HostA6}
	hostB6   = host6{1, dptest.HostBMAC, dptest.HostB6}
	hostALL  = host6{0, dptest.HostAMAC, linkLocal(dptest.HostAMAC)}
	hostBLL  = host6{1, dptest.HostBMAC, linkLocal(dptest.HostBMAC)}
	r0LL     = linkLocal(dptest.R0MAC)
	r1LL     = linkLocal(dptest.R1MAC)
	remote6  = netip.MustParseAddr("2001:db8:100::5")
	noRoute6 = netip.MustParseAddr("2001:db9::1")
	allNodes = netip.MustParseAddr("ff02::1")
	allRtrs  = netip.MustParseAddr("ff02::2")
)

func (h host6) routerMAC() [6]byte {
	if h.iface == 0 {
		return dptest.R0MAC
	}
	return dptest.R1MAC
}

// multicastMAC is the Ethernet group address of IPv6 multicast a (RFC 2464 §7).
func multicastMAC(a netip.Addr) [6]byte {
	b := a.As16()
	return [6]byte{0x33, 0x33, b[12], b[13], b[14], b[15]}
}

// solicitedNode is a's solicited-node multicast group (RFC 4291 §2.7.1).
func solicitedNode(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 11: 1, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}

// frame6 builds an Ethernet/IPv6 frame: body is everything after the
// IPv6 header (extension headers and upper layer), next the Next Header
// of the IPv6 header; every packet gets a fresh flow label so the checks
// can pair outputs with inputs.
func (g *gen) frame6(dstMAC, srcMAC [6]byte, src, dst netip.Addr, hop uint8, next layers.IPProtocol, body []byte) []byte {
	g.id++
	ip := &layers.IPv6{Version: 6, FlowLabel: uint32(g.id), NextHeader: next, HopLimit: hop,
		SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	return serialize(ether(dstMAC, srcMAC, layers.EthernetTypeIPv6), ip, gopacket.Payload(body))
}

// ip6 is frame6 from h to the router's MAC.
func (g *gen) ip6(h host6, dst netip.Addr, hop uint8, next layers.IPProtocol, body []byte) []byte {
	return g.frame6(h.routerMAC(), h.mac, h.addr, dst, hop, next, body)
}

// l4 serializes an upper-layer header and what follows, with its
// checksum over the IPv6 pseudo-header of src and dst.
func l4(src, dst netip.Addr, ls ...gopacket.SerializableLayer) []byte {
	ip := &layers.IPv6{Version: 6, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	switch l := ls[0].(type) {
	case *layers.UDP:
		ip.NextHeader = layers.IPProtocolUDP
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.ICMPv6:
		ip.NextHeader = layers.IPProtocolICMPv6
		_ = l.SetNetworkLayerForChecksum(ip)
	}
	return serialize(ls...)
}

func udp6(src, dst netip.Addr, dport uint16, n int) []byte {
	return l4(src, dst, &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(dport)}, payload(n))
}

func echo6(src, dst netip.Addr, seq uint16, n int) []byte {
	return l4(src, dst, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)},
		&layers.ICMPv6Echo{Identifier: 0x66, SeqNumber: seq}, payload(n))
}

func (g *gen) udp6(h host6, dst netip.Addr, hop uint8, dport uint16, n int) []byte {
	return g.ip6(h, dst, hop, layers.IPProtocolUDP, udp6(h.addr, dst, dport, n))
}

func (g *gen) ping6(h host6, dst netip.Addr, seq uint16, n int) []byte {
	return g.ip6(h, dst, 64, layers.IPProtocolICMPv6, echo6(h.addr, dst, seq, n))
}

// Extension headers as bytes (RFC 8200 §4).
func cat(bs ...[]byte) []byte { return slices.Concat(bs...) }

// hopByHop is a Hop-by-Hop header holding opts (a multiple of 8 bytes
// with the first two).
func hopByHop(next layers.IPProtocol, opts ...byte) []byte {
	if (len(opts)+2)%8 != 0 {
		panic("hopByHop: options must fill the header to a multiple of 8 bytes")
	}
	return append([]byte{byte(next), byte((len(opts)+2)/8 - 1)}, opts...)
}

// destOpts is an 8-byte Destination Options header of padding.
func destOpts(next layers.IPProtocol) []byte {
	return []byte{byte(next), 0, 1, 4, 0, 0, 0, 0} // PadN of 6
}

// routing is a 24-byte Routing header of type typ with one address.
func routing(next layers.IPProtocol, typ, segLeft uint8, addr netip.Addr) []byte {
	return append([]byte{byte(next), 2, typ, segLeft, 0, 0, 0, 0}, addr.AsSlice()...)
}

// fragment is a Fragment header: offset in bytes, more fragments m.
func fragment(next layers.IPProtocol, off int, m bool, id uint32) []byte {
	f := []byte{byte(next), 0, 0, 0, 0, 0, 0, 0}
	v := uint16(off)
	if m {
		v |= 1
	}
	binary.BigEndian.PutUint16(f[2:], v)
	binary.BigEndian.PutUint32(f[4:], id)
	return f
}

// ndOpt is a Source (1) or Target (2) Link-Layer Address option.
func ndOpt(typ layers.ICMPv6Opt, mac [6]byte) layers.ICMPv6Option {
	return layers.ICMPv6Option{Type: typ, Data: slices.Clone(mac[:])}
}

// ns is a Neighbor Solicitation for target from h's address src (:: for
// DAD) to dst, with h's Source Link-Layer Address unless src is ::.
func (g *gen) ns(h host6, src, dst netip.Addr, dstMAC [6]byte, target netip.Addr) []byte {
	m := &layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice()}
	if !src.IsUnspecified() {
		m.Options = layers.ICMPv6Options{ndOpt(layers.ICMPv6OptSourceAddress, h.mac)}
	}
	body := l4(src, dst, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}, m)
	return g.frame6(dstMAC, h.mac, src, dst, 255, layers.IPProtocolICMPv6, body)
}

// na is a solicited Neighbor Advertisement of h's address to dst.
func (g *gen) na(h host6, dst netip.Addr, dstMAC [6]byte) []byte {
	m := &layers.ICMPv6NeighborAdvertisement{Flags: 0x60, TargetAddress: h.addr.AsSlice(),
		Options: layers.ICMPv6Options{ndOpt(layers.ICMPv6OptTargetAddress, h.mac)}}
	body := l4(h.addr, dst, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}, m)
	return g.frame6(dstMAC, h.mac, h.addr, dst, 255, layers.IPProtocolICMPv6, body)
}

// ip6Input: forwarding, the router's own addresses and the ICMPv6 errors
// of ip6-lookup and ip6-rewrite; if1's MTU is 1400.
func ip6Input() [2][]frame {
	g := &gen{}
	a := hostA6
	g.add(0, "UDP to HostB6: forwarded, hop limit 64 -> 63, nothing else changed", g.udp6(a, dptest.HostB6, 64, 9, 32))
	g.add(0, "UDP to 2001:db8:100::5 via HostB6: forwarded", g.udp6(a, remote6, 2, 9, 32))
	g.add(0, "UDP to HostB6 with hop limit 1: Time Exceeded code 0 from 2001:db8:1::1", g.udp6(a, dptest.HostB6, 1, 33434, 12))
	g.add(0, "UDP to HostB6 with hop limit 0: Time Exceeded code 0", g.udp6(a, dptest.HostB6, 0, 33435, 12))
	g.add(0, "UDP to 2001:db8:1::1 with hop limit 1: delivered (the hop limit is not checked for the router's own): port unreachable", g.udp6(a, dptest.R0v6, 1, 33436, 12))
	g.add(0, "UDP to 2001:db9::1 (no route): Destination Unreachable code 0", g.udp6(a, noRoute6, 64, 9, 20))
	g.add(0, "UDP of exactly 1400 bytes (if1's MTU) to HostB6: forwarded whole", g.udp6(a, dptest.HostB6, 64, 9, 1400-48))
	g.add(0, "UDP of 1401 bytes to HostB6: Packet Too Big with MTU 1400, never fragmented", g.udp6(a, dptest.HostB6, 64, 9, 1401-48))
	g.add(0, "UDP of 1500 bytes to HostB6: Packet Too Big MTU 1400, the quote cut to fit 1280 bytes", g.udp6(a, dptest.HostB6, 64, 9, 1500-48))
	g.add(0, "UDP from HostA's link-local address to HostB6: Destination Unreachable code 2 (beyond scope), straight back to HostA's MAC",
		g.udp6(hostALL, dptest.HostB6, 64, 9, 16))
	g.add(0, "UDP from HostA6 to fe80::99 (link-local, not the router's): Destination Unreachable code 2", g.udp6(a, netip.MustParseAddr("fe80::99"), 64, 9, 16))
	g.add(0, "UDP from HostA's link-local address to if1's link-local address (another link's): Destination Unreachable code 2",
		g.udp6(hostALL, r1LL, 64, 9, 16))
	g.add(0, "ping 2001:db8:1::1 (global): echo reply", g.ping6(a, dptest.R0v6, 1, 56))
	g.add(0, "ping 2001:db8:2::1 (the other interface's address): echo reply from it", g.ping6(a, dptest.R1v6, 2, 56))
	g.add(0, "ping if0's link-local address from HostA's link-local one: echo reply, straight back", g.ping6(hostALL, r0LL, 3, 56))
	g.add(0, "ping if0's link-local address from HostA6: echo reply, routed", g.ping6(a, r0LL, 4, 24))
	g.add(0, "UDP to 2001:db8:1::1 port 9: port unreachable from 2001:db8:1::1", g.udp6(a, dptest.R0v6, 64, 9, 20))
	g.add(0, "UDP to 2001:db8:2::1 port 9: port unreachable from 2001:db8:2::1, the address it was sent to (RFC 4443 §2.2 a)", g.udp6(a, dptest.R1v6, 64, 9, 20))
	g.add(0, "UDP to if0's link-local address from HostA's link-local one: port unreachable from that address", g.udp6(hostALL, r0LL, 64, 9, 20))
	g.add(0, "unknown upper layer 253 to 2001:db8:1::1: Parameter Problem code 1 pointing at the IPv6 Next Header (6)",
		g.ip6(a, dptest.R0v6, 64, 253, payload(8)))
	g.add(0, "Destination Unreachable (an ICMPv6 error) to HostB6 with hop limit 1: no error about an error",
		g.ip6(a, dptest.HostB6, 1, layers.IPProtocolICMPv6, l4(a.addr, dptest.HostB6,
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, 0)},
			gopacket.Payload(append(make([]byte, 4), g.udp6(hostB6, dptest.HostA6, 64, 9, 8)[hdr.EthernetLen:]...)))))
	g.add(0, "UDP to 2001:db8:2::50 (on if1, unresolved): held while the router solicits it, sent once HostB's NA arrives",
		g.udp6(a, netip.MustParseAddr("2001:db8:2::50"), 64, 9, 24))
	g.add(0, "UDP from a multicast source MAC (L2 hygiene): dropped, multicast-source",
		g.frame6(dptest.R0MAC, [6]byte{0x33, 0x33, 0, 0, 0, 1}, a.addr, dptest.HostB6, 64, layers.IPProtocolUDP, udp6(a.addr, dptest.HostB6, 9, 8)))
	g.add(0, "UDP from the router's own MAC (L2 hygiene): dropped, own-source",
		g.frame6(dptest.R0MAC, dptest.R0MAC, a.addr, dptest.HostB6, 64, layers.IPProtocolUDP, udp6(a.addr, dptest.HostB6, 9, 8)))
	g.add(0, "UDP from the multicast source ff02::1: dropped, martian-source (no error to a multicast source)",
		g.frame6(dptest.R0MAC, a.mac, allNodes, dptest.HostB6, 64, layers.IPProtocolUDP, udp6(allNodes, dptest.HostB6, 9, 8)))
	g.add(0, "UDP to HostB6 in a multicast Ethernet frame: dropped (l2-multicast), not forwarded",
		g.frame6([6]byte{0x33, 0x33, 0, 0, 0, 1}, a.mac, a.addr, dptest.HostB6, 64, layers.IPProtocolUDP, udp6(a.addr, dptest.HostB6, 9, 8)))
	n50 := host6{1, [6]byte{0x02, 0xbb, 0, 0, 0, 0x50}, netip.MustParseAddr("2001:db8:2::50")}
	g.add(1, "NA from 2001:db8:2::50 (solicited, override) to 2001:db8:2::1: resolves it", g.na(n50, dptest.R1v6, dptest.R1MAC))
	g.add(1, "UDP from HostB6 to HostA6: forwarded", g.udp6(hostB6, dptest.HostA6, 64, 9, 8))
	return g.out
}

// ip6ExtInput: the extension header rules of ip6-input and ip6-local.
func ip6ExtInput() [2][]frame {
	g := &gen{}
	a, b := hostA6, dptest.HostB6
	u := func(dst netip.Addr) []byte { return udp6(a.addr, dst, 9, 8) }
	const udp, hbh = layers.IPProtocolUDP, layers.IPProtocolIPv6HopByHop
	dest, rt, frag := layers.IPProtocolIPv6Destination, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Fragment
	g.add(0, "Hop-by-Hop (PadN, Router Alert) then UDP to HostB6: forwarded unchanged",
		g.ip6(a, b, 64, hbh, cat(hopByHop(udp, 5, 2, 0, 0, 1, 0), u(b))))
	g.add(0, "Destination Options then Hop-by-Hop to HostB6: Parameter Problem code 1, pointer 40 (the Next Header field naming it)",
		g.ip6(a, b, 64, dest, cat(destOpts(hbh), hopByHop(udp, 1, 4, 0, 0, 0, 0), u(b))))
	g.add(0, "Hop-by-Hop with unknown option 0x07 (action 00, skip): forwarded",
		g.ip6(a, b, 64, hbh, cat(hopByHop(udp, 0x07, 4, 0, 0, 0, 0), u(b))))
	g.add(0, "Hop-by-Hop with unknown option 0x47 (action 01): discarded silently (option-discard)",
		g.ip6(a, b, 64, hbh, cat(hopByHop(udp, 0x47, 4, 0, 0, 0, 0), u(b))))
	g.add(0, "Hop-by-Hop with PadN then unknown option 0x87 (action 10): Parameter Problem code 2, pointer 44 (the option's type)",
		g.ip6(a, b, 64, hbh, cat(hopByHop(udp, 1, 0, 0x87, 2, 0, 0), u(b))))
	g.add(0, "Hop-by-Hop with Pad1 then unknown option 0xc7 (action 11), unicast: Parameter Problem code 2, pointer 43",
		g.ip6(a, b, 64, hbh, cat(hopByHop(udp, 0, 0xc7, 3, 0, 0, 0), u(b))))
	g.add(0, "Hop-by-Hop with unknown option 0x87 (action 10) to ff02::1: Parameter Problem code 2, pointer 42, although the destination is multicast (RFC 4443 §2.4 e.3)",
		g.frame6(multicastMAC(allNodes), a.mac, a.addr, allNodes, 1, hbh, cat(hopByHop(udp, 0x87, 4, 0, 0, 0, 0), u(allNodes))))
	g.add(0, "Hop-by-Hop with unknown option 0xc7 (action 11) to ff02::1: discarded silently (multicast destination)",
		g.frame6(multicastMAC(allNodes), a.mac, a.addr, allNodes, 1, hbh, cat(hopByHop(udp, 0xc7, 4, 0, 0, 0, 0), u(allNodes))))
	g.add(0, "Hop-by-Hop with only padding to ff02::1: dropped (no multicast routing)",
		g.frame6(multicastMAC(allNodes), a.mac, a.addr, allNodes, 1, hbh, cat(hopByHop(udp, 1, 4, 0, 0, 0, 0), u(allNodes))))
	g.add(0, "Routing header type 0, Segments Left 1, to 2001:db8:1::1: Parameter Problem code 0, pointer 42 (the routing type)",
		g.ip6(a, dptest.R0v6, 64, rt, cat(routing(udp, 0, 1, b), u(dptest.R0v6))))
	g.add(0, "Routing header of unknown type 42, Segments Left 1, to 2001:db8:1::1: Parameter Problem code 0, pointer 42",
		g.ip6(a, dptest.R0v6, 64, rt, cat(routing(udp, 42, 1, b), u(dptest.R0v6))))
	g.add(0, "Routing header type 0, Segments Left 0, to 2001:db8:1::1: ignored, the UDP behind it gets port unreachable",
		g.ip6(a, dptest.R0v6, 64, rt, cat(routing(udp, 0, 0, b), u(dptest.R0v6))))
	g.add(0, "Routing header type 0, Segments Left 1, to HostB6 (in transit): forwarded, the destination's business",
		g.ip6(a, b, 64, rt, cat(routing(udp, 0, 1, remote6), u(b))))
	g.add(0, "First fragment (offset 0, M) with a Destination Options header and no upper-layer header: Parameter Problem code 3 (RFC 7112)",
		g.ip6(a, b, 64, frag, cat(fragment(dest, 0, true, 7), destOpts(udp))))
	g.add(0, "First fragment (offset 0, M) with the whole chain and UDP: forwarded",
		g.ip6(a, b, 64, frag, cat(fragment(udp, 0, true, 8), u(b)[:16])))
	g.add(0, "Later fragment (offset 16) to HostB6: forwarded (its payload is not headers)",
		g.ip6(a, b, 64, frag, cat(fragment(udp, 16, false, 8), payload(8))))
	return g.out
}

// ip6NDInput: Neighbor Discovery and Router Advertisements (RA on if0).
func ip6NDInput() [2][]frame {
	g := &gen{}
	a := hostA6
	sn := solicitedNode(dptest.R0v6)
	g.add(0, "NS from HostA6 for 2001:db8:1::1 to its solicited-node group: NA with R, S and O flags and the target's MAC",
		g.ns(a, a.addr, sn, multicastMAC(sn), dptest.R0v6))
	g.add(0, "NS from HostA's link-local address for if0's link-local address: NA",
		g.ns(hostALL, hostALL.addr, solicitedNode(r0LL), multicastMAC(solicitedNode(r0LL)), r0LL))
	g.add(0, "NS unicast from HostA6 for 2001:db8:1::1 (a reachability probe): NA back to HostA6",
		g.ns(a, a.addr, dptest.R0v6, dptest.R0MAC, dptest.R0v6))
	g.add(0, "DAD NS (from ::) for 2001:db8:1::1: NA to all nodes (ff02::1), S flag clear",
		g.ns(a, netip.IPv6Unspecified(), sn, multicastMAC(sn), dptest.R0v6))
	g.add(0, "NS for 2001:db8:2::1 (if1's address) on if0: not for us, dropped",
		g.ns(a, a.addr, solicitedNode(dptest.R1v6), multicastMAC(solicitedNode(dptest.R1v6)), dptest.R1v6))
	g.add(0, "NS with hop limit 64: dropped (bad-hop-limit: it crossed a router)",
		func() []byte {
			f := g.ns(a, a.addr, sn, multicastMAC(sn), dptest.R0v6)
			f[hdr.EthernetLen+7] = 64
			return f
		}())
	rs := l4(hostALL.addr, allRtrs, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeRouterSolicitation, 0)},
		&layers.ICMPv6RouterSolicitation{Options: layers.ICMPv6Options{ndOpt(layers.ICMPv6OptSourceAddress, hostALL.mac)}})
	g.add(0, "RS from HostA's link-local address to all routers: Router Advertisement with 2001:db8:1::/64",
		g.frame6(multicastMAC(allRtrs), hostALL.mac, hostALL.addr, allRtrs, 255, layers.IPProtocolICMPv6, rs))
	g.add(1, "RS on if1 (RA off there): ignored",
		g.frame6(multicastMAC(allRtrs), hostBLL.mac, hostBLL.addr, allRtrs, 255, layers.IPProtocolICMPv6,
			l4(hostBLL.addr, allRtrs, &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeRouterSolicitation, 0)},
				&layers.ICMPv6RouterSolicitation{Options: layers.ICMPv6Options{ndOpt(layers.ICMPv6OptSourceAddress, hostBLL.mac)}})))
	g.add(1, "NS from HostB6 for 2001:db8:2::1: NA with the R flag",
		g.ns(hostB6, hostB6.addr, solicitedNode(dptest.R1v6), multicastMAC(solicitedNode(dptest.R1v6)), dptest.R1v6))
	return g.out
}

// ip6LLOnlyInput: errors sent on an interface (if1) with no IPv6
// address of its own, only its derived link-local one.
func ip6LLOnlyInput() [2][]frame {
	g := &gen{}
	b := hostBLL
	g.add(1, "UDP from HostB's link-local address to HostA6: Destination Unreachable code 2 back on if1, from if1's link-local address (the only one it has)",
		g.udp6(b, dptest.HostA6, 64, 9, 16))
	g.add(1, "UDP from HostB's link-local address to 2001:db8:1::1: port unreachable from 2001:db8:1::1 (the address it was sent to)",
		g.udp6(b, dptest.R0v6, 64, 9, 16))
	g.add(1, "ping if1's link-local address from HostB's: echo reply", g.ping6(b, r1LL, 1, 16))
	g.add(0, "UDP from HostA6 to 2001:db9::1 (no route): Destination Unreachable code 0 from 2001:db8:1::1",
		g.udp6(hostA6, noRoute6, 64, 9, 16))
	return g.out
}

// ---- Property checks (RFC 8200, 4443, 4861) ----

// routerLL is the link-local address of the router's interface i.
func routerLL(i int) netip.Addr {
	if i == 0 {
		return r0LL
	}
	return r1LL
}

// in6 is a valid IPv6 packet received on iface, trimmed to its length.
type in6 struct {
	iface int
	mac   [6]byte // the frame's source
	ip    []byte
}

// checkRFC6 asserts, for every IPv6 frame the router sent, the properties
// the RFCs require, decoding with gopacket (the independent decoder):
// the ICMPv6 checksum (gopacket's VerifyChecksum), a forwarded packet
// changed only by its hop limit (decremented once), errors quoting the
// start of a received packet with as much as fits in 1280 bytes, sent to
// its source, never about an error; Packet Too Big at least 1280; echo
// replies matching a request; Neighbor Advertisements with the R flag
// for an address of the interface.
func checkRFC6(t *testing.T, in, out [2][][]byte, mtu [2]int, own6 [2][]netip.Addr) {
	t.Helper()
	var pkts []in6
	for i := range in {
		for _, f := range in[i] {
			if len(f) < hdr.EthernetLen+hdr.IPv6Len || binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeIPv6 {
				continue
			}
			ip := f[hdr.EthernetLen:]
			n := hdr.IPv6Len + int(binary.BigEndian.Uint16(ip[4:]))
			if n > len(ip) {
				continue
			}
			pkts = append(pkts, in6{i, [6]byte(f[6:12]), ip[:n]})
		}
	}
	routerMAC := [2][6]byte{dptest.R0MAC, dptest.R1MAC}
	ours := func(a netip.Addr) bool {
		if a == r0LL || a == r1LL {
			return true
		}
		return slices.Contains(own6[0], a) || slices.Contains(own6[1], a)
	}
	for i := range out {
		for j, f := range out[i] {
			if len(f) < hdr.EthernetLen || binary.BigEndian.Uint16(f[12:]) != hdr.EtherTypeIPv6 {
				continue // checkRFC's
			}
			where := fmt.Sprintf("out%d frame %d (%s)", i, j, describe(f))
			if !bytes.Equal(f[6:12], routerMAC[i][:]) {
				t.Errorf("%s: source MAC is not interface %d's", where, i)
			}
			p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Errorf("%s: gopacket cannot decode it: %v", where, el.Error())
				continue
			}
			ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ip == nil {
				t.Errorf("%s: no IPv6 layer", where)
				continue
			}
			raw := f[hdr.EthernetLen:]
			if n := hdr.IPv6Len + int(ip.Length); n != len(raw) && !(len(f) == dp.MinFrame && n < len(raw)) {
				t.Errorf("%s: %d bytes after the Ethernet header, the payload length says %d", where, len(raw), n)
			}
			if ip.HopLimit == 0 {
				t.Errorf("%s: sent with hop limit 0 (RFC 8200 §3)", where)
			}
			if int(hdr.IPv6Len)+int(ip.Length) > mtu[i] {
				t.Errorf("%s: %d bytes exceed interface %d's MTU %d", where, hdr.IPv6Len+int(ip.Length), i, mtu[i])
			}
			src, _ := netip.AddrFromSlice(ip.SrcIP)
			dst, _ := netip.AddrFromSlice(ip.DstIP)
			if src.IsLinkLocalUnicast() && src != routerLL(i) && ours(src) {
				t.Errorf("%s: sent on interface %d from another interface's link-local address", where, i)
			}
			c, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			if c != nil && ours(src) {
				_ = c.SetNetworkLayerForChecksum(ip)
				if err, res := c.VerifyChecksum(); err != nil || !res.Valid {
					t.Errorf("%s: ICMPv6 checksum %#04x is wrong (gopacket: %v, want %#04x)", where, res.Actual, err, res.Correct)
				}
				checkICMP6(t, where, i, f, src, dst, c, pkts, ours)
				continue
			}
			// Forwarded: the input with the same flow label, source and
			// destination, hop limit one less, nothing else changed.
			var orig []byte
			for _, q := range pkts {
				if bytes.Equal(q.ip[1:4], raw[1:4]) && bytes.Equal(q.ip[8:40], raw[8:40]) {
					orig = q.ip
				}
			}
			if orig == nil {
				t.Errorf("%s: forwarded packet matches no input", where)
				continue
			}
			if raw[7] != orig[7]-1 {
				t.Errorf("%s: hop limit %d, received %d: must be decremented by exactly 1", where, raw[7], orig[7])
			}
			want := slices.Clone(orig)
			want[7] = raw[7]
			if !bytes.Equal(want, raw[:min(len(raw), hdr.IPv6Len+int(ip.Length))]) {
				t.Errorf("%s: forwarded packet changed beyond the hop limit", where)
			}
		}
	}
}

// checkICMP6 checks an ICMPv6 message the router sent on interface i.
func checkICMP6(t *testing.T, where string, i int, f []byte, src, dst netip.Addr, c *layers.ICMPv6, pkts []in6, ours func(netip.Addr) bool) {
	t.Helper()
	typ, code := c.TypeCode.Type(), c.TypeCode.Code()
	raw := f[hdr.EthernetLen:]
	body := raw[hdr.IPv6Len:]
	switch {
	case typ < 128: // an error (RFC 4443 §2.4)
		if len(raw) > 1280 {
			t.Errorf("%s: an ICMPv6 error of %d bytes exceeds 1280 (RFC 4443 §2.4 c)", where, len(raw))
		}
		quote := body[8:]
		var orig *in6
		for k := range pkts {
			if len(quote) >= hdr.IPv6Len && bytes.HasPrefix(pkts[k].ip, quote) {
				orig = &pkts[k]
				break
			}
		}
		if orig == nil {
			t.Errorf("%s: the quote is not the start of any received packet", where)
			return
		}
		if want := min(len(orig.ip), 1280-48); len(quote) != want {
			t.Errorf("%s: quotes %d bytes of a %d-byte packet, want %d", where, len(quote), len(orig.ip), want)
		}
		osrc, _ := netip.AddrFromSlice(orig.ip[8:24])
		odst, _ := netip.AddrFromSlice(orig.ip[24:40])
		if dst != osrc {
			t.Errorf("%s: sent to %v, not to the offending packet's source %v", where, dst, osrc)
		}
		// RFC 4443 §2.2: from the address the packet was sent to if it
		// was the router's; else an address of the router, a link-local
		// one only to a link-local destination.
		switch {
		case ours(odst) && (!odst.IsLinkLocalUnicast() || odst == routerLL(orig.iface)) && src != odst:
			t.Errorf("%s: error about a packet to the router's %v sent from %v (RFC 4443 §2.2 a)", where, odst, src)
		case !ours(src):
			t.Errorf("%s: sent from %v, not an address of the router", where, src)
		case src.IsLinkLocalUnicast() && !dst.IsLinkLocalUnicast() && !ours(odst):
			t.Errorf("%s: from link-local %v to %v, beyond the link-local scope", where, src, dst)
		}
		if q := gopacket.NewPacket(orig.ip, layers.LayerTypeIPv6, gopacket.Default); q != nil {
			if oc, _ := q.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); oc != nil && (oc.TypeCode.Type() < 128 || oc.TypeCode.Type() == layers.ICMPv6TypeRedirect) {
				t.Errorf("%s: an error about an ICMPv6 error or redirect (RFC 4443 §2.4 e.1)", where)
			}
		}
		rest := binary.BigEndian.Uint32(body[4:8])
		switch typ {
		case layers.ICMPv6TypePacketTooBig:
			if rest < 1280 || int(rest) >= len(orig.ip) {
				t.Errorf("%s: Packet Too Big with MTU %d for a %d-byte packet (at least 1280, below its size)", where, rest, len(orig.ip))
			}
		case layers.ICMPv6TypeParameterProblem:
			if int(rest) >= len(orig.ip) {
				t.Errorf("%s: pointer %d past the %d-byte packet", where, rest, len(orig.ip))
			}
			if code == 2 && orig.ip[rest]>>6 < 2 {
				t.Errorf("%s: Parameter Problem code 2 pointing at option type %#02x, whose action bits do not ask for one", where, orig.ip[rest])
			}
			if code == 1 && orig.ip[rest] != hdr.ProtoHopByHop && ours(odst) == false {
				t.Errorf("%s: Parameter Problem code 1 in transit pointing at %d, not at a Next Header naming Hop-by-Hop", where, orig.ip[rest])
			}
		default:
			if rest != 0 {
				t.Errorf("%s: unused field %#08x, must be zero", where, rest)
			}
		}
		if typ == layers.ICMPv6TypeTimeExceeded && orig.ip[7] > 1 {
			t.Errorf("%s: Time Exceeded for a packet received with hop limit %d", where, orig.ip[7])
		}
	case typ == layers.ICMPv6TypeEchoReply:
		for _, q := range pkts {
			qs, _ := netip.AddrFromSlice(q.ip[8:24])
			qd, _ := netip.AddrFromSlice(q.ip[24:40])
			qb := q.ip[hdr.IPv6Len:]
			if q.ip[6] == hdr.ProtoICMPv6 && qs == dst && qd == src && len(qb) == len(body) && qb[0] == layers.ICMPv6TypeEchoRequest &&
				bytes.Equal(qb[4:], body[4:]) && body[1] == 0 {
				return
			}
		}
		t.Errorf("%s: echo reply matches no request (same identifier, sequence and data, addresses swapped)", where)
	case typ == layers.ICMPv6TypeNeighborAdvertisement:
		if raw[7] != 255 {
			t.Errorf("%s: NA with hop limit %d, must be 255 (RFC 4861 §7.1.2)", where, raw[7])
		}
		na := body[4:]
		target, _ := netip.AddrFromSlice(na[4:20])
		if na[0]&0x80 == 0 {
			t.Errorf("%s: NA without the Router flag (RFC 4861 §7.2.4)", where)
		}
		if !ours(target) {
			t.Errorf("%s: NA for %v, not an address of the router", where, target)
		}
		if dst.IsMulticast() && na[0]&0x40 != 0 {
			t.Errorf("%s: NA to a multicast address with the Solicited flag", where)
		}
		opts := na[20:]
		if len(opts) < 8 || opts[0] != 2 || opts[1] != 1 || !bytes.Equal(opts[2:8], f[6:12]) {
			t.Errorf("%s: NA without a Target Link-Layer Address option holding the interface's MAC", where)
		}
	case typ == layers.ICMPv6TypeNeighborSolicitation, typ == layers.ICMPv6TypeRouterAdvertisement:
		if raw[7] != 255 {
			t.Errorf("%s: ND message with hop limit %d, must be 255", where, raw[7])
		}
		if !src.IsLinkLocalUnicast() && typ == layers.ICMPv6TypeRouterAdvertisement {
			t.Errorf("%s: RA from %v, must be link-local (RFC 4861 §4.2)", where, src)
		}
	default:
		t.Errorf("%s: unexpected ICMPv6 type %d from the router", where, typ)
	}
}
