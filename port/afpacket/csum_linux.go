package afpacket

import (
	"encoding/binary"
	"github.com/softnet/softnet/hdr"
)

// Checksum completion and TCP segmentation of what a veth peer with its
// default offloads sends (doc.go, Offloads). Pure functions on frames, no
// allocation: Recv calls them on the frames it copied into pool buffers.

// virtio_net_hdr, the 10 bytes PACKET_VNET_HDR puts in front of each
// received frame (in host byte order).
const (
	vnetHdrLen       = 10
	vnetNeedsCsum    = 1    // flags: the L4 checksum is partial (csum_start, csum_offset)
	vnetGSOTCPv4     = 1    // gso_type
	vnetGSOTCPv6     = 4    //
	vnetGSOECN       = 0x80 // gso_type flag: the segments carry ECN (CWR on the first only)
	tcpCsumOff       = 16   // checksum field in the TCP header
	udpCsumOff       = 6    // in the UDP header
	ipProtoTCP       = 6
	ipProtoUDP       = 17
	etherTypeIPv4    = 0x0800
	etherTypeIPv6    = 0x86dd
	etherType8021Q   = 0x8100
	etherType8021AD  = 0x88a8
	tcpFlagFIN       = 0x01
	tcpFlagPSH       = 0x08
	tcpFlagCWR       = 0x80
	maxGSOSegments   = 256 // more than a batch holds: such a super-packet is dropped (RxOversize)
	minTCPHeaderLen  = 20
	ipv6HeaderLen    = 40
	minIPv4HeaderLen = 20
)

// finishCsum completes a CHECKSUM_PARTIAL frame as the kernel's
// skb_checksum_help does: the L4 header starts at start, its checksum
// field (at start+off) holds the pseudo-header sum, and the checksum is
// the complement of the sum from start to the end of the frame, 0xffff
// for 0 (0 means "no checksum" in UDP). Only TCP and UDP checksum fields
// (off 16 or 6) are finished: anything else (SCTP's CRC32c is also
// "partial") reports false and f is left alone.
func finishCsum(f []byte, start, off int) bool {
	if (off != tcpCsumOff && off != udpCsumOff) || start < ethHdrLen || start+off+2 > len(f) {
		return false
	}
	c := hdr.Checksum(f[start:], 0)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(f[start+off:], c)
	return true
}

// l4Offset finds the L4 header of an Ethernet frame carrying IPv4 or IPv6
// TCP or UDP (behind up to two VLAN tags) and the offset of its checksum
// field in it, for a partial checksum flagged without its csum_start (no
// PACKET_VNET_HDR). ok is false for anything else, an IPv4 fragment or
// IPv6 extension headers included.
func l4Offset(f []byte) (start, off int, ok bool) {
	l3 := ethHdrLen
	if len(f) < l3 {
		return 0, 0, false
	}
	et := binary.BigEndian.Uint16(f[12:])
	for i := 0; i < 2 && (et == etherType8021Q || et == etherType8021AD); i++ {
		if len(f) < l3+4 {
			return 0, 0, false
		}
		et = binary.BigEndian.Uint16(f[l3+2:])
		l3 += 4
	}
	var proto byte
	switch et {
	case etherTypeIPv4:
		if len(f) < l3+minIPv4HeaderLen || f[l3]>>4 != 4 {
			return 0, 0, false
		}
		ihl := int(f[l3]&15) * 4
		if ihl < minIPv4HeaderLen || binary.BigEndian.Uint16(f[l3+6:])&0x3fff != 0 {
			return 0, 0, false // bad header, or a fragment (MF or an offset)
		}
		proto, start = f[l3+9], l3+ihl
	case etherTypeIPv6:
		if len(f) < l3+ipv6HeaderLen || f[l3]>>4 != 6 {
			return 0, 0, false
		}
		proto, start = f[l3+6], l3+ipv6HeaderLen
	default:
		return 0, 0, false
	}
	switch proto {
	case ipProtoTCP:
		off = tcpCsumOff
	case ipProtoUDP:
		off = udpCsumOff
	default:
		return 0, 0, false
	}
	if start+off+2 > len(f) {
		return 0, 0, false
	}
	return start, off, true
}

// gsoPlan checks a TCP super-packet f (as received, L4 header at l4) for
// segmentation into segments of mss payload bytes and returns the length
// of its headers (through the TCP header) and the number of segments.
// ok is false if f is not IPv4 or IPv6 TCP with sane headers.
func gsoPlan(f []byte, l4, mss int) (hdrLen, segs int, ok bool) {
	if mss <= 0 || l4 < ethHdrLen+minIPv4HeaderLen || l4+minTCPHeaderLen > len(f) {
		return 0, 0, false
	}
	hdrLen = l4 + int(f[l4+12]>>4)*4
	if hdrLen < l4+minTCPHeaderLen || hdrLen >= len(f) {
		return 0, 0, false
	}
	segs = (len(f) - hdrLen + mss - 1) / mss
	return hdrLen, segs, true
}

// fixSegment makes f, a copy of a super-packet's headers (IPv4 or IPv6 at
// l3, TCP at l4) followed by one segment's payload, a complete frame, as
// the kernel's TCP segmentation does: IP length (and for IPv4 the
// identification, plus idAdd, and the header checksum), TCP sequence
// number (plus seqAdd), FIN and PSH only on the last segment, CWR only
// on the first, and the TCP checksum computed in full.
func fixSegment(f []byte, l3, l4 int, seqAdd uint32, idAdd uint16, first, last bool) {
	tcpLen := len(f) - l4
	var ps uint32
	if f[l3]>>4 == 4 {
		ihl := int(f[l3]&15) * 4
		binary.BigEndian.PutUint16(f[l3+2:], uint16(len(f)-l3))
		binary.BigEndian.PutUint16(f[l3+4:], binary.BigEndian.Uint16(f[l3+4:])+idAdd)
		f[l3+10], f[l3+11] = 0, 0
		binary.BigEndian.PutUint16(f[l3+10:], hdr.Checksum(f[l3:l3+ihl], 0))
		ps = hdr.Sum(f[l3+12:l3+20], ipProtoTCP+uint32(tcpLen))
	} else {
		binary.BigEndian.PutUint16(f[l3+4:], uint16(len(f)-l3-ipv6HeaderLen))
		ps = hdr.Sum(f[l3+8:l3+40], ipProtoTCP+uint32(tcpLen))
	}
	t := f[l4:]
	binary.BigEndian.PutUint32(t[4:], binary.BigEndian.Uint32(t[4:])+seqAdd)
	if !last {
		t[13] &^= tcpFlagFIN | tcpFlagPSH
	}
	if !first {
		t[13] &^= tcpFlagCWR
	}
	t[tcpCsumOff], t[tcpCsumOff+1] = 0, 0
	binary.BigEndian.PutUint16(t[tcpCsumOff:], hdr.Checksum(t, ps))
}
