package hdr

import "encoding/binary"

// EtherTypes (IEEE 802.3 / IANA) and fixed header sizes, in bytes.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86DD
	EtherTypeVLAN = 0x8100 // IEEE 802.1Q customer tag
	EtherTypeQinQ = 0x88A8 // IEEE 802.1ad service tag

	EthernetLen = 14 // dst(6) src(6) type(2); no FCS, the NIC strips it
	VLANTagLen  = 4  // TPID(2) TCI(2); the TPID sits in the outer type field
	ARPLen      = 28 // Ethernet/IPv4 ARP, RFC 826
	IPv4MinLen  = 20 // RFC 791 §3.1, IHL = 5
	IPv6Len     = 40 // RFC 8200 §3
	UDPLen      = 8  // RFC 768
	TCPMinLen   = 20 // RFC 9293 §3.1, data offset = 5
	ICMPv4Len   = 8  // RFC 792: type, code, checksum, 4 bytes of rest
	ICMPv6Len   = 8  // RFC 4443 §2.1, counting the first 4 bytes of the body
)

// Ethernet is a view of an Ethernet II header: destination MAC, source MAC,
// EtherType. Accessors need len >= EthernetLen.
type Ethernet []byte

// Dst returns the destination MAC; copy into it to set it.
func (e Ethernet) Dst() []byte { return e[0:6:6] }

// Src returns the source MAC; copy into it to set it.
func (e Ethernet) Src() []byte { return e[6:12:12] }

// Type returns the outer EtherType (a TPID if the frame is tagged).
func (e Ethernet) Type() uint16 { return binary.BigEndian.Uint16(e[12:]) }

// SetType sets the outer EtherType.
func (e Ethernet) SetType(t uint16) { binary.BigEndian.PutUint16(e[12:], t) }

// ParseEthernet reads the Ethernet header of frame b and walks up to maxTags
// 802.1Q (0x8100) and 802.1ad (0x88A8) tags, in any nesting order. etype is
// the innermost EtherType, l3off the offset of the L3 header and ntags the
// number of tags seen. It returns TooShort if the frame ends inside the
// header or a tag, and TooManyTags when a tag follows maxTags tags. On
// failure the other results describe the walk so far. It never panics.
func ParseEthernet(b []byte, maxTags int) (etype uint16, l3off int, ntags int, st Status) {
	if len(b) < EthernetLen {
		return 0, 0, 0, TooShort
	}
	etype = binary.BigEndian.Uint16(b[12:])
	l3off = EthernetLen
	for etype == EtherTypeVLAN || etype == EtherTypeQinQ {
		if ntags >= maxTags {
			return etype, l3off, ntags, TooManyTags
		}
		if len(b) < l3off+VLANTagLen {
			return etype, l3off, ntags, TooShort
		}
		// The tag's TCI is at l3off, the encapsulated EtherType after it.
		etype = binary.BigEndian.Uint16(b[l3off+2:])
		l3off += VLANTagLen
		ntags++
	}
	return etype, l3off, ntags, OK
}

// VLAN is a view of the 4 bytes of an 802.1Q tag that follow its TPID:
// TCI(2) and the encapsulated EtherType(2). For the first tag of a frame it
// starts at offset 14 (the TPID is the frame's outer type field).
type VLAN []byte

// TCI returns the tag control information: PCP(3) DEI(1) VID(12).
func (v VLAN) TCI() uint16 { return binary.BigEndian.Uint16(v) }

// VID returns the 12-bit VLAN identifier.
func (v VLAN) VID() uint16 { return binary.BigEndian.Uint16(v) & 0x0fff }

// PCP returns the 3-bit priority code point (IEEE 802.1p).
func (v VLAN) PCP() uint8 { return v[0] >> 5 }

// DEI reports the drop eligible indicator.
func (v VLAN) DEI() bool { return v[0]&0x10 != 0 }

// Type returns the encapsulated EtherType.
func (v VLAN) Type() uint16 { return binary.BigEndian.Uint16(v[2:]) }

// SetTCI sets the tag control information.
func (v VLAN) SetTCI(tci uint16) { binary.BigEndian.PutUint16(v, tci) }

// SetType sets the encapsulated EtherType.
func (v VLAN) SetType(t uint16) { binary.BigEndian.PutUint16(v[2:], t) }
