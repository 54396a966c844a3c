package hdr

import (
	"bytes"
	"testing"
)

func buildARP(op uint16) []byte {
	return []byte{
		0, 1, 8, 0, 6, 4, byte(op >> 8), byte(op),
		0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
	}
}

func TestARPValidate(t *testing.T) {
	mod := func(i int, v byte) []byte { b := buildARP(ARPRequest); b[i] = v; return b }
	for _, tc := range []struct {
		name string
		b    []byte
		want Status
	}{
		{"request", buildARP(ARPRequest), OK},
		{"reply", buildARP(ARPReply), OK},
		{"with-padding", append(buildARP(ARPReply), make([]byte, 18)...), OK},
		{"empty", nil, TooShort},
		{"27-bytes", buildARP(ARPRequest)[:27], TooShort},
		{"htype-6", mod(1, 6), BadARP},
		{"htype-high", mod(0, 1), BadARP},
		{"ptype-ipv6", mod(2, 0x86), BadARP},
		{"hlen-8", mod(4, 8), BadARP},
		{"plen-16", mod(5, 16), BadARP},
		{"op-0", buildARP(0), BadARP},
		{"op-rarp-3", buildARP(3), BadARP},
		{"op-high", buildARP(0x0101), BadARP},
	} {
		if got := ARP(tc.b).Validate(); got != tc.want {
			t.Errorf("%s: Validate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestARPAccessors(t *testing.T) {
	a := ARP(buildARP(ARPRequest))
	if a.Op() != ARPRequest || a.SenderIP() != 0x0a000001 || a.TargetIP() != 0x0a000002 {
		t.Fatalf("op %d spa %#x tpa %#x", a.Op(), a.SenderIP(), a.TargetIP())
	}
	if !bytes.Equal(a.SenderMAC(), []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}) || !bytes.Equal(a.TargetMAC(), make([]byte, 6)) {
		t.Fatalf("sha % x tha % x", a.SenderMAC(), a.TargetMAC())
	}
	// Turn the request into a reply, the way the arp stage does.
	copy(a.TargetMAC(), a.SenderMAC())
	copy(a.SenderMAC(), []byte{2, 0, 0, 0, 0, 1})
	spa, tpa := a.SenderIP(), a.TargetIP()
	a.SetSenderIP(tpa)
	a.SetTargetIP(spa)
	a.SetOp(ARPReply)
	want := []byte{
		0, 1, 8, 0, 6, 4, 0, 2,
		2, 0, 0, 0, 0, 1, 10, 0, 0, 2,
		0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 10, 0, 0, 1,
	}
	if !bytes.Equal(a, want) {
		t.Fatalf("reply\n% x\nwant\n% x", []byte(a), want)
	}
	b := ARP(make([]byte, ARPLen))
	b.SetEthIPv4(ARPRequest)
	if b.Validate() != OK || b.Op() != ARPRequest {
		t.Fatalf("SetEthIPv4: Validate %v op %d", b.Validate(), b.Op())
	}
}
