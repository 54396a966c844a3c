package hdr

import "encoding/binary"

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"); the same
// space is used by the IPv4 Protocol field and the IPv6 Next Header field.
const (
	ProtoHopByHop = 0  // IPv6 Hop-by-Hop Options, RFC 8200 §4.3
	ProtoICMP     = 1  // RFC 792
	ProtoTCP      = 6  // RFC 9293
	ProtoUDP      = 17 // RFC 768
	ProtoRouting  = 43 // IPv6 Routing, RFC 8200 §4.4
	ProtoFragment = 44 // IPv6 Fragment, RFC 8200 §4.5
	ProtoESP      = 50 // RFC 4303
	ProtoAH       = 51 // RFC 4302
	ProtoICMPv6   = 58 // RFC 4443
	ProtoNoNext   = 59 // RFC 8200 §4.7
	ProtoDestOpts = 60 // IPv6 Destination Options, RFC 8200 §4.6
)

// IPv4 is a view of an IPv4 header (RFC 791 §3.1). Addresses are host-order
// uint32 values decoded big-endian from the wire. Accessors need
// Validate() == OK, or len >= IPv4MinLen for the fixed fields and
// len >= HeaderLen() for Options and the checksum methods.
type IPv4 []byte

// Validate performs the checks of RFC 1812 §5.2.2 on ip, the bytes after the
// link header (possibly with Ethernet padding after the datagram):
// len >= 20, version 4, IHL >= 5, IHL*4 <= len, header checksum correct,
// total length >= IHL*4 and <= len. It does not trim: the caller trims the
// slice to TotalLen(). It never panics.
func (ip IPv4) Validate() Status {
	if len(ip) < IPv4MinLen {
		return TooShort
	}
	if ip[0]>>4 != 4 {
		return BadVersion
	}
	hl := int(ip[0]&0x0f) << 2
	if hl < IPv4MinLen || hl > len(ip) {
		return BadIHL
	}
	// A correct header sums to -0 including its checksum (RFC 1071 §1 (3)).
	if Fold(Sum(ip[:hl], 0)) != 0 {
		return BadChecksum
	}
	if tl := int(binary.BigEndian.Uint16(ip[2:])); tl < hl || tl > len(ip) {
		return BadTotalLen
	}
	return OK
}

// Version returns the version field (4 for a valid header).
func (ip IPv4) Version() uint8 { return ip[0] >> 4 }

// HeaderLen returns the header length in bytes, IHL*4.
func (ip IPv4) HeaderLen() int { return int(ip[0]&0x0f) << 2 }

// TOS returns the type-of-service byte: DSCP(6) and ECN(2) (RFC 2474, RFC 3168).
func (ip IPv4) TOS() uint8 { return ip[1] }

// TotalLen returns the total length of the datagram, header included.
func (ip IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(ip[2:])) }

// ID returns the identification field.
func (ip IPv4) ID() uint16 { return binary.BigEndian.Uint16(ip[4:]) }

// DF reports the Don't Fragment flag.
func (ip IPv4) DF() bool { return ip[6]&0x40 != 0 }

// MF reports the More Fragments flag.
func (ip IPv4) MF() bool { return ip[6]&0x20 != 0 }

// FragOffset returns the fragment offset in 8-byte units.
func (ip IPv4) FragOffset() uint16 { return binary.BigEndian.Uint16(ip[6:]) & 0x1fff }

// TTL returns the time to live.
func (ip IPv4) TTL() uint8 { return ip[8] }

// Protocol returns the upper-layer protocol number.
func (ip IPv4) Protocol() uint8 { return ip[9] }

// Checksum returns the header checksum field.
func (ip IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(ip[10:]) }

// Src returns the source address.
func (ip IPv4) Src() uint32 { return binary.BigEndian.Uint32(ip[12:]) }

// Dst returns the destination address.
func (ip IPv4) Dst() uint32 { return binary.BigEndian.Uint32(ip[16:]) }

// Options returns the options, bytes 20..HeaderLen(); empty for IHL 5.
func (ip IPv4) Options() []byte { return ip[IPv4MinLen:ip.HeaderLen()] }

// Payload returns the bytes from HeaderLen() to TotalLen(), so Ethernet
// padding is excluded. Needs Validate() == OK.
func (ip IPv4) Payload() []byte { return ip[ip.HeaderLen():ip.TotalLen()] }

// SetTTL sets the time to live without touching the checksum (see DecTTL).
func (ip IPv4) SetTTL(ttl uint8) { ip[8] = ttl }

// SetTotalLen sets the total length field.
func (ip IPv4) SetTotalLen(n int) { binary.BigEndian.PutUint16(ip[2:], uint16(n)) }

// SetID sets the identification field.
func (ip IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(ip[4:], id) }

// SetFlagsFrag sets the DF and MF flags and the fragment offset (8-byte
// units, 13 bits; higher bits are dropped). The reserved flag is cleared
// (RFC 791 §3.1: "must be zero").
func (ip IPv4) SetFlagsFrag(df, mf bool, off uint16) {
	v := off & 0x1fff
	if df {
		v |= 0x4000
	}
	if mf {
		v |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], v)
}

// SetProtocol sets the upper-layer protocol number.
func (ip IPv4) SetProtocol(p uint8) { ip[9] = p }

// SetSrc sets the source address.
func (ip IPv4) SetSrc(a uint32) { binary.BigEndian.PutUint32(ip[12:], a) }

// SetDst sets the destination address.
func (ip IPv4) SetDst(a uint32) { binary.BigEndian.PutUint32(ip[16:], a) }

// SetTOS sets the type-of-service byte.
func (ip IPv4) SetTOS(tos uint8) { ip[1] = tos }

// SetChecksum sets the header checksum field.
func (ip IPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(ip[10:], c) }

// SetVersionIHL sets version 4 and a header length in bytes (a multiple of
// 4, 20..60), for building a header from scratch.
func (ip IPv4) SetVersionIHL(hl int) { ip[0] = 0x40 | uint8(hl>>2)&0x0f }

// ComputeChecksum returns the header checksum over HeaderLen() bytes with
// the checksum field taken as zero (RFC 791 §3.1). Store it with
// SetChecksum.
func (ip IPv4) ComputeChecksum() uint16 {
	// Bytes 0..9 precede the checksum field; 10 is even, so chaining is exact.
	return Checksum(ip[12:ip.HeaderLen()], Sum(ip[:10], 0))
}

// DecTTL decrements the TTL and updates the header checksum incrementally
// (RFC 1624 §3 eqn. 3, as RFC 1812 §5.3.1 allows) instead of recomputing
// it. The caller must have checked TTL() > 1 first (RFC 1812 §5.3.1: a
// datagram whose TTL would reach 0 is not forwarded); a TTL of 0 wraps.
//
// It is Update16(check, old, old-0x100) for the word TTL|Protocol at
// offset 8, specialised: ^old + new is 0xFEFF whatever the protocol (0xFF00
// once folded when the TTL wraps from 0), so the update is one add and
// one fold. The sum runs on the checksum's two bytes read little-endian,
// with the constant byte-swapped to match: ones' complement sums do not
// depend on byte order (RFC 1071 §2(B)), and on a little-endian host that
// is no byte swap either way.
func (ip IPv4) DecTTL() {
	_ = ip[11]
	ttl := ip[8]
	ip[8] = ttl - 1
	d := uint32(0xfffe) // 0xFEFF, byte-swapped
	if ttl == 0 {
		d = 0x00ff // 0xFF00, byte-swapped
	}
	s := uint32(^binary.LittleEndian.Uint16(ip[10:])) + d // at most 0x1FFFD
	s = s>>16 + s&0xffff                                  // at most 0xFFFF
	binary.LittleEndian.PutUint16(ip[10:], ^uint16(s))
}
