package hdr

import "encoding/binary"

// TCP flag bits, byte 13 of the header (RFC 9293 §3.1, RFC 3168 §6.1).
const (
	TCPFlagFIN = 0x01
	TCPFlagSYN = 0x02
	TCPFlagRST = 0x04
	TCPFlagPSH = 0x08
	TCPFlagACK = 0x10
	TCPFlagURG = 0x20
	TCPFlagECE = 0x40
	TCPFlagCWR = 0x80
)

// TCP is a view of a TCP header (RFC 9293 §3.1). Accessors need
// Validate() == OK, or len >= TCPMinLen for the fixed fields.
type TCP []byte

// Validate checks len >= 20 and 20 <= DataOffset() <= len. TCP has no length
// field; the caller slices the segment to the length the IP header gives. It
// never panics.
func (t TCP) Validate() Status {
	if len(t) < TCPMinLen {
		return TooShort
	}
	if d := int(t[12]>>4) << 2; d < TCPMinLen || d > len(t) {
		return BadDataOffset
	}
	return OK
}

// SrcPort returns the source port.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t) }

// DstPort returns the destination port.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[2:]) }

// Seq returns the sequence number.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[4:]) }

// Ack returns the acknowledgment number.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[8:]) }

// DataOffset returns the header length in bytes (the data offset field * 4).
func (t TCP) DataOffset() int { return int(t[12]>>4) << 2 }

// Flags returns the flag byte (CWR ECE URG ACK PSH RST SYN FIN); the
// TCPFlag constants name its bits.
func (t TCP) Flags() uint8 { return t[13] }

// Window returns the window field.
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[14:]) }

// Checksum returns the checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[16:]) }

// Urgent returns the urgent pointer.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[18:]) }

// Options returns the options, bytes 20..DataOffset(). Needs Validate() == OK.
func (t TCP) Options() []byte { return t[TCPMinLen:t.DataOffset()] }

// Payload returns the bytes after the header. Needs Validate() == OK.
func (t TCP) Payload() []byte { return t[t.DataOffset():] }

// SetSrcPort sets the source port.
func (t TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(t, p) }

// SetDstPort sets the destination port.
func (t TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(t[2:], p) }

// SetSeq sets the sequence number.
func (t TCP) SetSeq(s uint32) { binary.BigEndian.PutUint32(t[4:], s) }

// SetAck sets the acknowledgment number.
func (t TCP) SetAck(a uint32) { binary.BigEndian.PutUint32(t[8:], a) }

// SetDataOffset sets the header length in bytes (a multiple of 4, 20..60);
// the low reserved bits of byte 12 are cleared.
func (t TCP) SetDataOffset(n int) { t[12] = uint8(n>>2) << 4 }

// SetFlags sets the flag byte.
func (t TCP) SetFlags(f uint8) { t[13] = f }

// SetWindow sets the window field.
func (t TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(t[14:], w) }

// SetChecksum sets the checksum field.
func (t TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(t[16:], c) }

// SetUrgent sets the urgent pointer.
func (t TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(t[18:], u) }
