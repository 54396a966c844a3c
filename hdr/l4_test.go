package hdr

import (
	"encoding/binary"
	"testing"
)

func TestICMPv4(t *testing.T) {
	c := ICMPv4([]byte{ICMPv4Echo, 0, 0, 0, 0x12, 0x34, 0x00, 0x07, 'p', 'i', 'n', 'g'})
	if c.Validate() != OK || ICMPv4(c[:7]).Validate() != TooShort || ICMPv4(nil).Validate() != TooShort {
		t.Fatalf("Validate")
	}
	c.SetChecksum(Checksum(c, 0))
	if Checksum(c, 0) != 0 {
		t.Fatalf("checksum does not verify")
	}
	if c.Type() != ICMPv4Echo || c.Code() != 0 || c.ID() != 0x1234 || c.Seq() != 7 || string(c.Payload()) != "ping" ||
		c.Checksum() != binary.BigEndian.Uint16(c[2:]) || len(c.Rest()) != 4 || c.Rest()[1] != 0x34 {
		t.Fatalf("accessors: % x", []byte(c))
	}
	// Echo to echo reply: type changes 8 -> 0 in the high byte of word 0.
	old := binary.BigEndian.Uint16(c)
	c.SetType(ICMPv4EchoReply)
	c.SetChecksum(Update16(c.Checksum(), old, binary.BigEndian.Uint16(c)))
	if c.Type() != ICMPv4EchoReply || Checksum(c, 0) != 0 {
		t.Fatalf("echo reply checksum does not verify")
	}
	c.SetCode(ICMPv4PortUnreach)
	if c.Code() != 3 {
		t.Fatalf("SetCode")
	}
	errs := map[uint8]bool{3: true, 4: true, 5: true, 11: true, 12: true}
	for ty := range 256 {
		c.SetType(uint8(ty))
		if c.IsError() != errs[uint8(ty)] {
			t.Errorf("type %d: IsError = %v", ty, c.IsError())
		}
	}
}

func TestICMPv6(t *testing.T) {
	ip := IPv6(buildIPv6(nil, ProtoICMPv6, 12))
	c := ICMPv6(ip[40:])
	copy(c, []byte{ICMPv6Echo, 0, 0, 0, 0xab, 0xcd, 0x00, 0x01, 'p', 'i', 'n', 'g'})
	ps := PseudoSumIPv6(ip.Src(), ip.Dst(), ProtoICMPv6, uint32(len(c)))
	c.SetChecksum(Checksum(c, ps))
	if Checksum(c, ps) != 0 {
		t.Fatalf("checksum does not verify")
	}
	if c.Validate() != OK || ICMPv6(c[:7]).Validate() != TooShort {
		t.Fatalf("Validate")
	}
	if c.Type() != ICMPv6EchoRequest || c.Code() != 0 || c.ID() != 0xabcd || c.Seq() != 1 || string(c.Payload()) != "ping" ||
		c.Checksum() != binary.BigEndian.Uint16(c[2:]) || c.Rest()[0] != 0xab {
		t.Fatalf("accessors: % x", []byte(c))
	}
	c.SetType(ICMPv6TimeExceeded)
	c.SetCode(ICMPv6HopLimitExceeded)
	c.SetChecksum(0xbeef)
	if c.Type() != 3 || c.Code() != 0 || c.Checksum() != 0xbeef {
		t.Fatalf("setters")
	}
	for ty := range 256 {
		c.SetType(uint8(ty))
		if c.IsError() != (ty < 128) {
			t.Errorf("type %d: IsError = %v", ty, c.IsError())
		}
	}
}

func TestUDP(t *testing.T) {
	good := []byte{0x00, 0x35, 0x10, 0x92, 0x00, 0x0c, 0xab, 0xcd, 'd', 'a', 't', 'a'}
	for _, tc := range []struct {
		name string
		b    []byte
		want Status
	}{
		{"ok", good, OK},
		{"header-only", []byte{0, 1, 0, 2, 0, 8, 0, 0}, OK},
		{"padding", append(append([]byte(nil), good...), 0, 0), OK},
		{"empty", nil, TooShort},
		{"7-bytes", good[:7], TooShort},
		{"length-7", []byte{0, 1, 0, 2, 0, 7, 0, 0}, BadLength},
		{"length-0", []byte{0, 1, 0, 2, 0, 0, 0, 0}, BadLength},
		{"length-past", good[:11], BadLength},
	} {
		if got := UDP(tc.b).Validate(); got != tc.want {
			t.Errorf("%s: Validate = %v, want %v", tc.name, got, tc.want)
		}
	}
	u := UDP(append([]byte(nil), good...))
	if u.SrcPort() != 53 || u.DstPort() != 4242 || u.Length() != 12 || u.Checksum() != 0xabcd || string(u.Payload()) != "data" {
		t.Fatalf("accessors")
	}
	u.SetSrcPort(1)
	u.SetDstPort(2)
	u.SetLength(10)
	u.SetChecksum(3)
	if u.SrcPort() != 1 || u.DstPort() != 2 || u.Length() != 10 || u.Checksum() != 3 || string(u.Payload()) != "da" {
		t.Fatalf("setters: % x", []byte(u))
	}
}

func TestTCP(t *testing.T) {
	seg := make([]byte, 32)
	copy(seg, []byte{0x01, 0xbb, 0xc0, 0x00, 0, 0, 0, 1, 0x80, 0, 0, 2, 0x60, TCPFlagSYN | TCPFlagACK, 0xff, 0xff, 0x12, 0x34, 0, 9, 2, 4, 5, 0xb4})
	copy(seg[24:], "payload!")
	for _, tc := range []struct {
		name string
		b    []byte
		want Status
	}{
		{"ok", seg, OK},
		{"header-only", seg[:24], OK},
		{"empty", nil, TooShort},
		{"19-bytes", seg[:19], TooShort},
		{"offset-past", seg[:23], BadDataOffset},
		{"offset-4", func() []byte { b := append([]byte(nil), seg...); b[12] = 0x40; return b }(), BadDataOffset},
		{"offset-0", func() []byte { b := append([]byte(nil), seg...); b[12] = 0x0f; return b }(), BadDataOffset},
		{"offset-15", func() []byte { b := append([]byte(nil), seg...); b[12] = 0xf0; return b }(), BadDataOffset},
	} {
		if got := TCP(tc.b).Validate(); got != tc.want {
			t.Errorf("%s: Validate = %v, want %v", tc.name, got, tc.want)
		}
	}
	tc := TCP(seg)
	if tc.SrcPort() != 443 || tc.DstPort() != 49152 || tc.Seq() != 1 || tc.Ack() != 0x80000002 || tc.DataOffset() != 24 ||
		tc.Flags() != TCPFlagSYN|TCPFlagACK || tc.Window() != 0xffff || tc.Checksum() != 0x1234 || tc.Urgent() != 9 ||
		string(tc.Options()) != "\x02\x04\x05\xb4" || string(tc.Payload()) != "payload!" {
		t.Fatalf("accessors")
	}
	tc.SetSrcPort(1)
	tc.SetDstPort(2)
	tc.SetSeq(3)
	tc.SetAck(4)
	tc.SetDataOffset(20)
	tc.SetFlags(TCPFlagRST)
	tc.SetWindow(5)
	tc.SetChecksum(6)
	tc.SetUrgent(7)
	if tc.SrcPort() != 1 || tc.DstPort() != 2 || tc.Seq() != 3 || tc.Ack() != 4 || tc.DataOffset() != 20 || tc.Flags() != TCPFlagRST ||
		tc.Window() != 5 || tc.Checksum() != 6 || tc.Urgent() != 7 || len(tc.Options()) != 0 {
		t.Fatalf("setters: % x", []byte(tc[:20]))
	}
}
