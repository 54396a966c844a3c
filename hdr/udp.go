package hdr

import "encoding/binary"

// UDP is a view of a UDP header (RFC 768): source port, destination port,
// length, checksum. Accessors need Validate() == OK or len >= UDPLen.
type UDP []byte

// Validate checks len >= 8 and 8 <= Length() <= len. It never panics.
func (u UDP) Validate() Status {
	if len(u) < UDPLen {
		return TooShort
	}
	if l := int(binary.BigEndian.Uint16(u[4:])); l < UDPLen || l > len(u) {
		return BadLength
	}
	return OK
}

// SrcPort returns the source port.
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u) }

// DstPort returns the destination port.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[2:]) }

// Length returns the length field: header plus data, in bytes.
func (u UDP) Length() int { return int(binary.BigEndian.Uint16(u[4:])) }

// Checksum returns the checksum field. Over IPv4, 0 means "no checksum"
// (RFC 768); a computed 0 is sent as 0xFFFF, see UDPChecksum.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[6:]) }

// Payload returns the data, bytes 8..Length(). Needs Validate() == OK.
func (u UDP) Payload() []byte { return u[UDPLen:u.Length()] }

// SetSrcPort sets the source port.
func (u UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(u, p) }

// SetDstPort sets the destination port.
func (u UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(u[2:], p) }

// SetLength sets the length field.
func (u UDP) SetLength(n int) { binary.BigEndian.PutUint16(u[4:], uint16(n)) }

// SetChecksum sets the checksum field.
func (u UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(u[6:], c) }

// UDPChecksum maps a computed UDP checksum to the value to transmit: a
// computed 0x0000 is sent as 0xFFFF, because 0 means "no checksum" over
// IPv4 (RFC 768) and is forbidden over IPv6 (RFC 8200 §8.1). Apply it after
// Checksum, Update16 or Update32 on a UDP checksum.
func UDPChecksum(c uint16) uint16 {
	if c == 0 {
		return 0xffff
	}
	return c
}
