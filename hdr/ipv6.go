package hdr

import "encoding/binary"

// MaxExtHeaders bounds the IPv6 extension header walk in Transport. RFC 8200
// §4.1 sets no limit, so a bound is needed to keep the per-packet cost
// fixed; 8 covers every legitimate chain (hop-by-hop, destination options,
// routing, fragment, AH, destination options) with room to spare.
const MaxExtHeaders = 8

// IPv6 is a view of an IPv6 header (RFC 8200 §3). Accessors need
// Validate() == OK or len >= IPv6Len.
type IPv6 []byte

// Validate checks len >= 40, version 6, and 40 + payload length <= len
// (the rest is Ethernet padding; the caller trims to IPv6Len+PayloadLen()).
// A payload length of 0 is accepted; jumbograms (RFC 2675) are not
// supported and their payload is then empty. It never panics.
func (ip IPv6) Validate() Status {
	if len(ip) < IPv6Len {
		return TooShort
	}
	if ip[0]>>4 != 6 {
		return BadVersion
	}
	if IPv6Len+int(binary.BigEndian.Uint16(ip[4:])) > len(ip) {
		return BadPayloadLen
	}
	return OK
}

// Version returns the version field (6 for a valid header).
func (ip IPv6) Version() uint8 { return ip[0] >> 4 }

// TrafficClass returns the traffic class: DSCP(6) and ECN(2).
func (ip IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(ip) >> 4) }

// FlowLabel returns the 20-bit flow label.
func (ip IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(ip) & 0x000fffff }

// PayloadLen returns the payload length: the bytes after the fixed header,
// extension headers included.
func (ip IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(ip[4:])) }

// NextHeader returns the type of the header after the fixed header.
func (ip IPv6) NextHeader() uint8 { return ip[6] }

// HopLimit returns the hop limit.
func (ip IPv6) HopLimit() uint8 { return ip[7] }

// Src returns the 16-byte source address; copy into it to set it.
func (ip IPv6) Src() []byte { return ip[8:24:24] }

// Dst returns the 16-byte destination address; copy into it to set it.
func (ip IPv6) Dst() []byte { return ip[24:40:40] }

// Payload returns the bytes from 40 to 40+PayloadLen(), so Ethernet padding
// is excluded. Needs Validate() == OK.
func (ip IPv6) Payload() []byte { return ip[IPv6Len : IPv6Len+ip.PayloadLen()] }

// SetHopLimit sets the hop limit. IPv6 has no header checksum, so a router
// decrements it with a plain store (RFC 8200 §3).
func (ip IPv6) SetHopLimit(h uint8) { ip[7] = h }

// SetPayloadLen sets the payload length.
func (ip IPv6) SetPayloadLen(n int) { binary.BigEndian.PutUint16(ip[4:], uint16(n)) }

// SetNextHeader sets the next header field.
func (ip IPv6) SetNextHeader(p uint8) { ip[6] = p }

// SetVersionClassFlow sets version 6, the traffic class and the flow label
// (20 bits; higher bits are dropped), for building a header from scratch.
func (ip IPv6) SetVersionClassFlow(tc uint8, flow uint32) {
	binary.BigEndian.PutUint32(ip, 6<<28|uint32(tc)<<20|flow&0x000fffff)
}

// Transport walks the extension headers that follow the fixed header
// (hop-by-hop, routing, fragment, destination options, AH; at most
// MaxExtHeaders of them) and returns the upper-layer protocol and its offset
// from the start of ip. frag reports a fragment header and fragOff its
// fragment offset (8-byte units). If fragOff != 0 the walk stops after that
// fragment header: proto is its Next Header and the bytes at off are the
// middle of the fragmented payload, not a header. ESP and No Next
// Header end the walk and are returned as proto. The walk stays within
// 40+PayloadLen() (and len(ip)), so off <= len(ip) always.
//
// Status: TooShort if ip is shorter than 40 bytes; TooManyExtHeaders when a
// (MaxExtHeaders+1)th extension header is found; BadExtHeader when one runs
// past the payload, or when hop-by-hop options appear anywhere but directly
// after the fixed header (RFC 8200 §4.1). Transport does not check the
// version or the payload length against len(ip); call Validate first. It
// never panics.
func (ip IPv6) Transport() (proto uint8, off int, frag bool, fragOff uint16, st Status) {
	if len(ip) < IPv6Len {
		return 0, 0, false, 0, TooShort
	}
	end := IPv6Len + int(binary.BigEndian.Uint16(ip[4:]))
	if end > len(ip) {
		end = len(ip)
	}
	proto = ip[6]
	off = IPv6Len
	for n := 0; ; n++ {
		var hl int
		switch proto {
		case ProtoHopByHop, ProtoRouting, ProtoDestOpts, ProtoFragment, ProtoAH:
		default:
			return proto, off, frag, fragOff, OK
		}
		if n == MaxExtHeaders {
			return proto, off, frag, fragOff, TooManyExtHeaders
		}
		if proto == ProtoHopByHop && n != 0 {
			return proto, off, frag, fragOff, BadExtHeader
		}
		// Every extension header has next-header and length bytes first
		// and is at least 8 bytes long.
		if end-off < 8 {
			return proto, off, frag, fragOff, BadExtHeader
		}
		switch proto {
		case ProtoFragment:
			// Fixed 8 bytes; offset is the top 13 bits of bytes 2-3 (RFC 8200 §4.5).
			hl = 8
			frag = true
			fragOff = binary.BigEndian.Uint16(ip[off+2:]) >> 3
		case ProtoAH:
			// Payload Len is in 4-byte units, minus 2 (RFC 4302 §2.2).
			hl = (int(ip[off+1]) + 2) << 2
		default:
			// Hdr Ext Len is in 8-byte units, not counting the first 8
			// (RFC 8200 §4.3, §4.4, §4.6).
			hl = (int(ip[off+1]) + 1) << 3
		}
		if hl > end-off {
			return proto, off, frag, fragOff, BadExtHeader
		}
		proto = ip[off]
		off += hl
		if fragOff != 0 {
			// A non-first fragment: what follows is the middle of the
			// fragmentable part, not headers (RFC 8200 §4.5). Stop here.
			return proto, off, frag, fragOff, OK
		}
	}
}
