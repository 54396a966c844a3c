package hdr

import (
	"bytes"
	"testing"
)

// frame returns dst, src, then the given 16-bit words, then payload bytes.
func frame(words []uint16, payload int) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for _, w := range words {
		b = append(b, byte(w>>8), byte(w))
	}
	return append(b, make([]byte, payload)...)
}

func TestParseEthernet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       []byte
		maxTags int
		etype   uint16
		l3off   int
		ntags   int
		st      Status
	}{
		{"untagged", frame([]uint16{EtherTypeIPv4}, 20), 2, EtherTypeIPv4, 14, 0, OK},
		{"untagged-header-only", frame([]uint16{EtherTypeARP}, 0), 0, EtherTypeARP, 14, 0, OK},
		{"one-tag", frame([]uint16{EtherTypeVLAN, 0x2064, EtherTypeIPv6}, 40), 2, EtherTypeIPv6, 18, 1, OK},
		{"qinq", frame([]uint16{EtherTypeQinQ, 0x0010, EtherTypeVLAN, 0x0020, EtherTypeIPv4}, 0), 2, EtherTypeIPv4, 22, 2, OK},
		{"vlan-in-vlan", frame([]uint16{EtherTypeVLAN, 1, EtherTypeVLAN, 2, EtherTypeARP}, 28), 2, EtherTypeARP, 22, 2, OK},
		{"three-tags-max-two", frame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2, EtherTypeVLAN, 3, EtherTypeIPv4}, 0), 2, EtherTypeVLAN, 22, 2, TooManyTags},
		{"tag-max-zero", frame([]uint16{EtherTypeVLAN, 1, EtherTypeIPv4}, 0), 0, EtherTypeVLAN, 14, 0, TooManyTags},
		{"tag-max-negative", frame([]uint16{EtherTypeVLAN, 1, EtherTypeIPv4}, 0), -1, EtherTypeVLAN, 14, 0, TooManyTags},
		{"empty", nil, 2, 0, 0, 0, TooShort},
		{"13-bytes", frame([]uint16{EtherTypeIPv4}, 0)[:13], 2, 0, 0, 0, TooShort},
		{"truncated-tag", frame([]uint16{EtherTypeVLAN, 1, EtherTypeIPv4}, 0)[:17], 2, EtherTypeVLAN, 14, 0, TooShort},
		{"truncated-second-tag", frame([]uint16{EtherTypeQinQ, 1, EtherTypeVLAN, 2}, 0), 2, EtherTypeVLAN, 18, 1, TooShort},
	} {
		etype, l3off, ntags, st := ParseEthernet(tc.b, tc.maxTags)
		if etype != tc.etype || l3off != tc.l3off || ntags != tc.ntags || st != tc.st {
			t.Errorf("%s: ParseEthernet = (%#x, %d, %d, %v), want (%#x, %d, %d, %v)",
				tc.name, etype, l3off, ntags, st, tc.etype, tc.l3off, tc.ntags, tc.st)
		}
	}
}

func TestEthernetVLAN(t *testing.T) {
	b := frame([]uint16{EtherTypeVLAN, 0xb064, EtherTypeIPv4}, 0) // PCP 5, DEI 1, VID 100
	e := Ethernet(b)
	if !bytes.Equal(e.Dst(), []byte{0, 1, 2, 3, 4, 5}) || !bytes.Equal(e.Src(), []byte{6, 7, 8, 9, 10, 11}) {
		t.Fatalf("Dst/Src = % x / % x", e.Dst(), e.Src())
	}
	if e.Type() != EtherTypeVLAN {
		t.Fatalf("Type = %#x", e.Type())
	}
	copy(e.Dst(), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if b[0] != 0xff || b[5] != 0xff || b[6] != 6 {
		t.Fatalf("copy into Dst wrote % x", b[:7])
	}
	if len(append(e.Dst(), 0xaa)) != 7 || b[6] != 6 {
		t.Fatalf("append to Dst overwrote Src")
	}
	v := VLAN(b[EthernetLen:])
	if v.TCI() != 0xb064 || v.VID() != 100 || v.PCP() != 5 || !v.DEI() || v.Type() != EtherTypeIPv4 {
		t.Fatalf("VLAN = tci %#x vid %d pcp %d dei %v type %#x", v.TCI(), v.VID(), v.PCP(), v.DEI(), v.Type())
	}
	v.SetTCI(0x0fff)
	v.SetType(EtherTypeIPv6)
	if v.VID() != 4095 || v.PCP() != 0 || v.DEI() || v.Type() != EtherTypeIPv6 {
		t.Fatalf("after set: VLAN = vid %d pcp %d dei %v type %#x", v.VID(), v.PCP(), v.DEI(), v.Type())
	}
	e.SetType(EtherTypeQinQ)
	if b[12] != 0x88 || b[13] != 0xa8 {
		t.Fatalf("SetType wrote % x", b[12:14])
	}
}
