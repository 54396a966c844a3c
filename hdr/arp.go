package hdr

import "encoding/binary"

// ARP operation codes, RFC 826.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARP is a view of an Ethernet/IPv4 ARP packet (RFC 826): htype(2) ptype(2)
// hlen(1) plen(1) op(2) sha(6) spa(4) tha(6) tpa(4). Accessors need
// Validate() == OK or len >= ARPLen.
type ARP []byte

// Validate checks that a is an Ethernet/IPv4 request or reply: len >= 28,
// htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op 1 or 2. Anything else
// is not something a router answers or learns from (RFC 826, "Packet
// Reception"). It never panics.
func (a ARP) Validate() Status {
	if len(a) < ARPLen {
		return TooShort
	}
	// htype, ptype, hlen, plen in one compare: 0x0001 0x0800 0x06 0x04.
	if binary.BigEndian.Uint32(a) != 0x00010800 || a[4] != 6 || a[5] != 4 {
		return BadARP
	}
	if op := a.Op(); op != ARPRequest && op != ARPReply {
		return BadARP
	}
	return OK
}

// Op returns the operation (ARPRequest or ARPReply).
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[6:]) }

// SenderMAC returns the sender hardware address; copy into it to set it.
func (a ARP) SenderMAC() []byte { return a[8:14:14] }

// SenderIP returns the sender protocol address.
func (a ARP) SenderIP() uint32 { return binary.BigEndian.Uint32(a[14:]) }

// TargetMAC returns the target hardware address; copy into it to set it.
func (a ARP) TargetMAC() []byte { return a[18:24:24] }

// TargetIP returns the target protocol address.
func (a ARP) TargetIP() uint32 { return binary.BigEndian.Uint32(a[24:]) }

// SetOp sets the operation.
func (a ARP) SetOp(op uint16) { binary.BigEndian.PutUint16(a[6:], op) }

// SetSenderIP sets the sender protocol address.
func (a ARP) SetSenderIP(ip uint32) { binary.BigEndian.PutUint32(a[14:], ip) }

// SetTargetIP sets the target protocol address.
func (a ARP) SetTargetIP(ip uint32) { binary.BigEndian.PutUint32(a[24:], ip) }

// SetEthIPv4 writes the fixed Ethernet/IPv4 prefix (htype 1, ptype 0x0800,
// hlen 6, plen 4) and op, for building a request from scratch.
func (a ARP) SetEthIPv4(op uint16) {
	binary.BigEndian.PutUint32(a, 0x00010800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], op)
}
