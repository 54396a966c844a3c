package hdr

import "encoding/binary"

// ICMPv4 types and codes, RFC 792.
const (
	ICMPv4EchoReply     = 0
	ICMPv4DestUnreach   = 3
	ICMPv4SourceQuench  = 4 // deprecated by RFC 6633, still an error message
	ICMPv4Redirect      = 5
	ICMPv4Echo          = 8
	ICMPv4TimeExceeded  = 11
	ICMPv4ParamProblem  = 12
	ICMPv4NetUnreach    = 0 // codes for ICMPv4DestUnreach
	ICMPv4HostUnreach   = 1
	ICMPv4ProtoUnreach  = 2
	ICMPv4PortUnreach   = 3
	ICMPv4FragNeeded    = 4 // RFC 1191: next-hop MTU in Rest()[2:4]
	ICMPv4TTLExceeded   = 0 // code for ICMPv4TimeExceeded
	ICMPv4ReassExceeded = 1 // code for ICMPv4TimeExceeded
)

// ICMPv4 is a view of an ICMPv4 message (RFC 792): type(1) code(1)
// checksum(2) rest(4) and the body. Accessors need Validate() == OK or
// len >= ICMPv4Len. The checksum covers the whole message, so verify it with
// Checksum(msg, 0) == 0 over the bytes the IP header says are there.
type ICMPv4 []byte

// Validate checks len >= 8. It never panics.
func (c ICMPv4) Validate() Status {
	if len(c) < ICMPv4Len {
		return TooShort
	}
	return OK
}

// Type returns the message type.
func (c ICMPv4) Type() uint8 { return c[0] }

// Code returns the message code.
func (c ICMPv4) Code() uint8 { return c[1] }

// Checksum returns the checksum field.
func (c ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(c[2:]) }

// Rest returns bytes 4..8, whose meaning depends on the type (echo ID and
// sequence, redirect gateway, parameter problem pointer, next-hop MTU).
func (c ICMPv4) Rest() []byte { return c[4:8:8] }

// ID returns the echo identifier (types 0 and 8).
func (c ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(c[4:]) }

// Seq returns the echo sequence number (types 0 and 8).
func (c ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(c[6:]) }

// Payload returns the body after the first 8 bytes.
func (c ICMPv4) Payload() []byte { return c[ICMPv4Len:] }

// SetType sets the message type.
func (c ICMPv4) SetType(t uint8) { c[0] = t }

// SetCode sets the message code.
func (c ICMPv4) SetCode(code uint8) { c[1] = code }

// SetChecksum sets the checksum field.
func (c ICMPv4) SetChecksum(s uint16) { binary.BigEndian.PutUint16(c[2:], s) }

// IsError reports whether the type is an error message (destination
// unreachable, source quench, redirect, time exceeded, parameter problem).
// RFC 1812 §4.3.2.7: a router never sends an ICMP error about one of these.
func (c ICMPv4) IsError() bool {
	switch c[0] {
	case ICMPv4DestUnreach, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ICMPv6 types (RFC 4443 §2.1, RFC 4861 §4) and codes (RFC 4443 §3).
const (
	ICMPv6DestUnreach     = 1
	ICMPv6PacketTooBig    = 2 // MTU is the 32-bit Rest()
	ICMPv6TimeExceeded    = 3
	ICMPv6ParamProblem    = 4
	ICMPv6Echo            = 128
	ICMPv6EchoRequest     = ICMPv6Echo
	ICMPv6EchoReply       = 129
	ICMPv6RouterSolicit   = 133
	ICMPv6RouterAdvert    = 134
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
	ICMPv6Redirect        = 137

	ICMPv6NoRoute          = 0 // codes for ICMPv6DestUnreach
	ICMPv6AdminProhibited  = 1
	ICMPv6AddrUnreach      = 3
	ICMPv6PortUnreach      = 4
	ICMPv6HopLimitExceeded = 0 // code for ICMPv6TimeExceeded
)

// ICMPv6 is a view of an ICMPv6 message (RFC 4443 §2.1): type(1) code(1)
// checksum(2) and the body, whose first 4 bytes are Rest(). Accessors need
// Validate() == OK or len >= ICMPv6Len. The checksum covers the IPv6
// pseudo-header (RFC 4443 §2.3): verify with
// Checksum(msg, PseudoSumIPv6(src, dst, ProtoICMPv6, len(msg))) == 0.
type ICMPv6 []byte

// Validate checks len >= 8. It never panics.
func (c ICMPv6) Validate() Status {
	if len(c) < ICMPv6Len {
		return TooShort
	}
	return OK
}

// Type returns the message type.
func (c ICMPv6) Type() uint8 { return c[0] }

// Code returns the message code.
func (c ICMPv6) Code() uint8 { return c[1] }

// Checksum returns the checksum field.
func (c ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(c[2:]) }

// Rest returns bytes 4..8 (echo ID and sequence, packet-too-big MTU,
// parameter problem pointer).
func (c ICMPv6) Rest() []byte { return c[4:8:8] }

// ID returns the echo identifier (types 128 and 129).
func (c ICMPv6) ID() uint16 { return binary.BigEndian.Uint16(c[4:]) }

// Seq returns the echo sequence number (types 128 and 129).
func (c ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(c[6:]) }

// Payload returns the body after the first 8 bytes.
func (c ICMPv6) Payload() []byte { return c[ICMPv6Len:] }

// SetType sets the message type.
func (c ICMPv6) SetType(t uint8) { c[0] = t }

// SetCode sets the message code.
func (c ICMPv6) SetCode(code uint8) { c[1] = code }

// SetChecksum sets the checksum field.
func (c ICMPv6) SetChecksum(s uint16) { binary.BigEndian.PutUint16(c[2:], s) }

// IsError reports whether the type is an error message: types 0-127
// (RFC 4443 §2.1). RFC 4443 §2.4 (e.1): no ICMPv6 error is sent about one.
func (c ICMPv6) IsError() bool { return c[0] < 128 }
