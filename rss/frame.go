package rss

import (
	"encoding/binary"

	"github.com/softnet/softnet/hdr"
)

// MaxTags is the number of VLAN tags (802.1Q or 802.1ad, any order) Frame
// looks through: one customer tag, or a QinQ service+customer pair.
const MaxTags = 2

// Frame returns the RSS hash of an Ethernet frame f (no FCS), as a NIC
// would compute it on receive:
//
//   - up to MaxTags VLAN tags are skipped;
//   - IPv4 (any IHL) and IPv6 (extension headers walked with
//     hdr.IPv6.Transport) TCP and UDP packets hash the 4-tuple
//     (addresses and ports);
//   - fragments (IPv4 MF or a non-zero offset; any IPv6 Fragment header,
//     the first fragment included) and every other protocol (ICMP, ESP,
//     ...) hash the 2-tuple (addresses only), so all fragments of a
//     datagram, and ICMP errors, stay with the flow's addresses' queue;
//
// ok is false for non-IP frames (ARP, LLDP, ...) and for malformed ones:
// a truncated Ethernet header or tag, more than MaxTags tags, an IPv4
// header with a bad version, IHL or total length, an IPv6 header with a
// bad version or payload length or a broken extension chain, a TCP/UDP
// header too short to hold the ports. Callers send those to queue 0. The
// IPv4 header checksum is not verified: RSS only picks a queue, and the
// ip4-input stage checks and drops. Frame borrows f, never panics and never
// allocates.
func (h *Hasher) Frame(f []byte) (hash uint32, ok bool) {
	if len(f) < hdr.EthernetLen {
		return 0, false
	}
	// Untagged frames, the common case, skip the tag walk.
	et, off := binary.BigEndian.Uint16(f[12:]), hdr.EthernetLen
	if et == hdr.EtherTypeVLAN || et == hdr.EtherTypeQinQ {
		var st hdr.Status
		if et, off, _, st = hdr.ParseEthernet(f, MaxTags); st != hdr.OK {
			return 0, false
		}
	}
	switch et {
	case hdr.EtherTypeIPv4:
		return h.frame4(f[off:])
	case hdr.EtherTypeIPv6:
		return h.frame6(f[off:])
	}
	return 0, false
}

// frame4 hashes the IPv4 packet ip (possibly followed by Ethernet padding).
func (h *Hasher) frame4(ip []byte) (uint32, bool) {
	if len(ip) < hdr.IPv4MinLen || ip[0]>>4 != 4 {
		return 0, false
	}
	v := hdr.IPv4(ip)
	hl := v.HeaderLen()
	tl := v.TotalLen()
	if hl < hdr.IPv4MinLen || tl < hl || tl > len(ip) {
		return 0, false
	}
	src, dst := v.Src(), v.Dst()
	// Flags|offset: MF (0x2000) or a non-zero offset (0x1fff) marks a
	// fragment (RFC 791 §3.2); only the first carries the ports.
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return h.IPv4Addrs(src, dst), true
	}
	switch v.Protocol() {
	case hdr.ProtoTCP, hdr.ProtoUDP:
		if tl-hl < 4 {
			return 0, false
		}
		return h.IPv4(src, dst, binary.BigEndian.Uint16(ip[hl:]), binary.BigEndian.Uint16(ip[hl+2:])), true
	}
	return h.IPv4Addrs(src, dst), true
}

// frame6 hashes the IPv6 packet ip (possibly followed by Ethernet padding).
func (h *Hasher) frame6(ip []byte) (uint32, bool) {
	v := hdr.IPv6(ip)
	if v.Validate() != hdr.OK {
		return 0, false
	}
	proto, off, frag, _, st := v.Transport()
	if st != hdr.OK {
		return 0, false
	}
	// Validate guaranteed len(ip) >= 40.
	src, dst := (*[16]byte)(ip[8:24]), (*[16]byte)(ip[24:40])
	if frag {
		return h.IPv6Addrs(src, dst), true
	}
	switch proto {
	case hdr.ProtoTCP, hdr.ProtoUDP:
		if off+4 > hdr.IPv6Len+v.PayloadLen() {
			return 0, false
		}
		return h.IPv6(src, dst, binary.BigEndian.Uint16(ip[off:]), binary.BigEndian.Uint16(ip[off+2:])), true
	}
	return h.IPv6Addrs(src, dst), true
}

// IP returns the RSS hash of an IPv4 or IPv6 packet ip (its version
// nibble says which), as Frame hashes the packet of a frame: the 4-tuple
// for TCP and UDP, the addresses otherwise and for fragments. ok is false
// for a malformed packet (the hash is then 0). ECMP (dp.PickECMP) picks a
// group's next hop with it, so a flow, both directions alike with the
// symmetric key, keeps one path. It never allocates.
func (h *Hasher) IP(ip []byte) (hash uint32, ok bool) {
	if len(ip) == 0 {
		return 0, false
	}
	switch ip[0] >> 4 {
	case 4:
		return h.frame4(ip)
	case 6:
		return h.frame6(ip)
	}
	return 0, false
}
