package hdr

import "encoding/binary"

// Packet builders shared by the tests. They write fields by hand (not through
// the views under test) so a bug in a setter cannot hide a bug in a getter.

// buildIPv4 returns a valid IPv4 header with the given options (a multiple
// of 4 bytes) followed by n payload bytes and pad bytes of Ethernet padding.
func buildIPv4(opts []byte, n, pad int) []byte {
	hl := 20 + len(opts)
	b := make([]byte, hl+n+pad)
	b[0] = 0x40 | byte(hl/4)
	b[1] = 0xb8 // DSCP EF
	binary.BigEndian.PutUint16(b[2:], uint16(hl+n))
	binary.BigEndian.PutUint16(b[4:], 0x1234)
	binary.BigEndian.PutUint16(b[6:], 0x4000|0x0123) // DF, offset 0x123
	b[8] = 64
	b[9] = ProtoUDP
	binary.BigEndian.PutUint32(b[12:], 0xc0a80001) // 192.168.0.1
	binary.BigEndian.PutUint32(b[16:], 0x0a000002) // 10.0.0.2
	copy(b[20:], opts)
	for i := hl; i < hl+n; i++ {
		b[i] = byte(i)
	}
	binary.BigEndian.PutUint16(b[10:], refChecksum(b[:hl]))
	return b
}

// ext is one IPv6 extension header for buildIPv6: its type and total length.
type ext struct {
	proto uint8
	len   int
}

// buildIPv6 returns an IPv6 header followed by the extension headers in
// chain, then an upper-layer header of type last with n bytes.
func buildIPv6(chain []ext, last uint8, n int) []byte {
	size := 40 + n
	for _, e := range chain {
		size += e.len
	}
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, 6<<28|0xa5<<20|0x12345)
	binary.BigEndian.PutUint16(b[4:], uint16(size-40))
	b[7] = 64
	for i := 8; i < 40; i++ {
		b[i] = byte(i)
	}
	nh := &b[6]
	off := 40
	for _, e := range chain {
		*nh = e.proto
		nh = &b[off]
		switch e.proto {
		case ProtoFragment:
			binary.BigEndian.PutUint16(b[off+2:], 1) // offset 0, M=1: a first fragment
		case ProtoAH:
			b[off+1] = byte(e.len/4 - 2)
		default:
			b[off+1] = byte(e.len/8 - 1)
		}
		off += e.len
	}
	*nh = last
	return b
}

// refSum is the textbook 16-bit ones' complement sum of RFC 1071 §4.1.
func refSum(b []byte) uint32 {
	var s uint32
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return s
}

// refChecksum is the checksum of b computed with refSum.
func refChecksum(b []byte) uint16 { return ^uint16(refSum(b)) }
