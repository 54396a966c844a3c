package hdr

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestIPv4Validate(t *testing.T) {
	// mod returns a valid header changed by f, with the checksum fixed
	// unless f breaks it on purpose.
	mod := func(opts []byte, n, pad int, fix bool, f func(b []byte)) []byte {
		b := buildIPv4(opts, n, pad)
		f(b)
		if fix && int(b[0]&0xf)*4 <= len(b) && b[0]&0xf >= 5 {
			binary.BigEndian.PutUint16(b[10:], 0)
			binary.BigEndian.PutUint16(b[10:], refChecksum(b[:int(b[0]&0xf)*4]))
		}
		return b
	}
	none := func([]byte) {}
	opts := []byte{0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00} // router alert, NOP, NOP, EOL
	for _, tc := range []struct {
		name string
		b    []byte
		want Status
	}{
		{"minimal", buildIPv4(nil, 0, 0), OK},
		{"payload", buildIPv4(nil, 100, 0), OK},
		{"ethernet-padding", buildIPv4(nil, 6, 20), OK},
		{"options", buildIPv4(opts, 8, 0), OK},
		{"max-options", buildIPv4(make([]byte, 40), 0, 0), OK},
		{"empty", nil, TooShort},
		{"19-bytes", buildIPv4(nil, 0, 0)[:19], TooShort},
		{"version-6", mod(nil, 0, 0, true, func(b []byte) { b[0] = 0x65 }), BadVersion},
		{"version-0", mod(nil, 0, 0, true, func(b []byte) { b[0] = 0x05 }), BadVersion},
		{"ihl-4", mod(nil, 0, 0, false, func(b []byte) { b[0] = 0x44 }), BadIHL},
		{"ihl-0", mod(nil, 0, 0, false, func(b []byte) { b[0] = 0x40 }), BadIHL},
		{"ihl-past-packet", mod(nil, 0, 0, false, func(b []byte) { b[0] = 0x46 }), BadIHL},
		{"options-truncated", buildIPv4(opts, 0, 0)[:24], BadIHL},
		{"bad-checksum", mod(nil, 0, 0, false, func(b []byte) { b[11] ^= 1 }), BadChecksum},
		{"corrupt-ttl", mod(nil, 0, 0, false, func(b []byte) { b[8]-- }), BadChecksum},
		{"corrupt-option", mod(opts, 0, 0, false, func(b []byte) { b[22] = 9 }), BadChecksum},
		{"total-len-below-header", mod(nil, 10, 0, true, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 19) }), BadTotalLen},
		{"total-len-below-options", mod(opts, 0, 0, true, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 24) }), BadTotalLen},
		{"total-len-past-packet", mod(nil, 10, 0, true, func(b []byte) { binary.BigEndian.PutUint16(b[2:], 31) }), BadTotalLen},
		{"truncated-payload", buildIPv4(nil, 10, 0)[:25], BadTotalLen},
		{"unchanged", mod(nil, 0, 0, true, none), OK},
	} {
		if got := IPv4(tc.b).Validate(); got != tc.want {
			t.Errorf("%s: Validate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIPv4Accessors(t *testing.T) {
	opts := []byte{0x94, 0x04, 0, 0}
	ip := IPv4(buildIPv4(opts, 10, 6))
	if st := ip.Validate(); st != OK {
		t.Fatalf("Validate = %v", st)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Version", ip.Version(), uint8(4)},
		{"HeaderLen", ip.HeaderLen(), 24},
		{"TOS", ip.TOS(), uint8(0xb8)},
		{"TotalLen", ip.TotalLen(), 34},
		{"ID", ip.ID(), uint16(0x1234)},
		{"DF", ip.DF(), true},
		{"MF", ip.MF(), false},
		{"FragOffset", ip.FragOffset(), uint16(0x123)},
		{"TTL", ip.TTL(), uint8(64)},
		{"Protocol", ip.Protocol(), uint8(ProtoUDP)},
		{"Checksum", ip.Checksum(), refChecksum(func() []byte { b := append([]byte(nil), ip[:24]...); b[10], b[11] = 0, 0; return b }())},
		{"Src", ip.Src(), uint32(0xc0a80001)},
		{"Dst", ip.Dst(), uint32(0x0a000002)},
		{"ComputeChecksum", ip.ComputeChecksum(), ip.Checksum()},
		{"Options", string(ip.Options()), string(opts)},
		{"Payload", len(ip.Payload()), 10},
		{"PayloadFirst", ip.Payload()[0], byte(24)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(IPv4(buildIPv4(nil, 0, 0)).Options()) != 0 {
		t.Errorf("Options of IHL 5 not empty")
	}

	ip.SetTTL(9)
	ip.SetTotalLen(30)
	ip.SetID(0xbeef)
	ip.SetFlagsFrag(false, true, 0xffff) // offset truncated to 13 bits
	ip.SetProtocol(ProtoTCP)
	ip.SetSrc(0x01020304)
	ip.SetDst(0x05060708)
	ip.SetTOS(0x02)
	if ip.TTL() != 9 || ip.TotalLen() != 30 || ip.ID() != 0xbeef || ip.DF() || !ip.MF() || ip.FragOffset() != 0x1fff ||
		ip.Protocol() != ProtoTCP || ip.Src() != 0x01020304 || ip.Dst() != 0x05060708 || ip.TOS() != 2 {
		t.Fatalf("setters: % x", []byte(ip[:24]))
	}
	if !bytes.Equal(ip[12:20], []byte{1, 2, 3, 4, 5, 6, 7, 8}) || ip[6] != 0x3f || ip[7] != 0xff {
		t.Fatalf("setters wrote % x", []byte(ip[:24]))
	}
	ip.SetFlagsFrag(true, false, 0)
	if ip[6] != 0x40 || ip[7] != 0 {
		t.Fatalf("SetFlagsFrag(DF) wrote % x", []byte(ip[6:8]))
	}
	if ip.Validate() != BadChecksum {
		t.Fatalf("setters should not fix the checksum")
	}
	ip.SetChecksum(ip.ComputeChecksum())
	if st := ip.Validate(); st != OK {
		t.Fatalf("after SetChecksum(ComputeChecksum()): %v", st)
	}
	if Checksum(ip[:ip.HeaderLen()], 0) != 0 {
		t.Fatalf("header with its checksum does not sum to -0")
	}

	n := IPv4(make([]byte, 28))
	n.SetVersionIHL(24)
	n.SetTotalLen(28)
	n.SetChecksum(n.ComputeChecksum())
	if n.Version() != 4 || n.HeaderLen() != 24 || n.Validate() != OK {
		t.Fatalf("SetVersionIHL: v%d hl %d %v", n.Version(), n.HeaderLen(), n.Validate())
	}
}

func TestIPv4DecTTL(t *testing.T) {
	for _, ttl := range []uint8{255, 128, 64, 2, 1} {
		ip := IPv4(buildIPv4([]byte{1, 1, 1, 0}, 4, 0))
		ip.SetTTL(ttl)
		ip.SetChecksum(ip.ComputeChecksum())
		ip.DecTTL()
		if ip.TTL() != ttl-1 || ip.Checksum() != ip.ComputeChecksum() || ip.Validate() != OK {
			t.Errorf("DecTTL from %d: ttl %d checksum %#x recompute %#x", ttl, ip.TTL(), ip.Checksum(), ip.ComputeChecksum())
		}
	}
}

// TestIPv4DecTTLEveryChecksum checks DecTTL's specialised update against
// the general one (Update16, RFC 1624 eqn. 3) for every TTL, every
// checksum value and a few protocols: byte for byte the same header.
func TestIPv4DecTTLEveryChecksum(t *testing.T) {
	ip := IPv4(buildIPv4(nil, 64, 0))
	for _, proto := range []uint8{0, 1, 6, 17, 255} {
		for ttl := 0; ttl < 256; ttl++ {
			for c := 0; c < 1<<16; c++ {
				ip[8], ip[9] = uint8(ttl), proto
				binary.BigEndian.PutUint16(ip[10:], uint16(c))
				old := binary.BigEndian.Uint16(ip[8:])
				want := Update16(uint16(c), old, old-0x0100)
				ip.DecTTL()
				if ip[8] != uint8(ttl-1) || ip[9] != proto || binary.BigEndian.Uint16(ip[10:]) != want {
					t.Fatalf("ttl %d proto %d checksum %#04x: DecTTL gives ttl %d checksum %#04x, want ttl %d checksum %#04x",
						ttl, proto, c, ip[8], binary.BigEndian.Uint16(ip[10:]), uint8(ttl-1), want)
				}
			}
		}
	}
}
