package hdr

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestIPv6Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want Status
	}{
		{"no-payload", buildIPv6(nil, ProtoNoNext, 0), OK},
		{"udp", buildIPv6(nil, ProtoUDP, 8), OK},
		{"padding", append(buildIPv6(nil, ProtoICMPv6, 8), 0, 0, 0, 0), OK},
		{"empty", nil, TooShort},
		{"39-bytes", buildIPv6(nil, ProtoNoNext, 0)[:39], TooShort},
		{"version-4", func() []byte { b := buildIPv6(nil, ProtoUDP, 8); b[0] = 0x45; return b }(), BadVersion},
		{"truncated-payload", buildIPv6(nil, ProtoUDP, 8)[:47], BadPayloadLen},
		{"payload-len-max", func() []byte { b := buildIPv6(nil, ProtoUDP, 8); b[4], b[5] = 0xff, 0xff; return b }(), BadPayloadLen},
	} {
		if got := IPv6(tc.b).Validate(); got != tc.want {
			t.Errorf("%s: Validate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestIPv6Accessors(t *testing.T) {
	ip := IPv6(buildIPv6(nil, ProtoTCP, 20))
	if ip.Version() != 6 || ip.TrafficClass() != 0xa5 || ip.FlowLabel() != 0x12345 || ip.PayloadLen() != 20 ||
		ip.NextHeader() != ProtoTCP || ip.HopLimit() != 64 || len(ip.Payload()) != 20 {
		t.Fatalf("v%d tc %#x flow %#x plen %d nh %d hl %d", ip.Version(), ip.TrafficClass(), ip.FlowLabel(), ip.PayloadLen(), ip.NextHeader(), ip.HopLimit())
	}
	if ip.Src()[0] != 8 || ip.Src()[15] != 23 || ip.Dst()[0] != 24 || ip.Dst()[15] != 39 || len(ip.Src()) != 16 || len(ip.Dst()) != 16 {
		t.Fatalf("src % x dst % x", ip.Src(), ip.Dst())
	}
	copy(ip.Dst(), bytes.Repeat([]byte{0xfe}, 16))
	ip.SetHopLimit(1)
	ip.SetPayloadLen(12)
	ip.SetNextHeader(ProtoUDP)
	ip.SetVersionClassFlow(0x01, 0xfffff0)
	if ip.HopLimit() != 1 || ip.PayloadLen() != 12 || ip.NextHeader() != ProtoUDP || ip[39] != 0xfe || ip[23] != 23 ||
		ip.Version() != 6 || ip.TrafficClass() != 1 || ip.FlowLabel() != 0xffff0 {
		t.Fatalf("setters: % x", []byte(ip[:40]))
	}
}

func TestIPv6Transport(t *testing.T) {
	destOpts := func(n int) []ext {
		c := make([]ext, n)
		for i := range c {
			c[i] = ext{ProtoDestOpts, 8}
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		b       []byte
		proto   uint8
		off     int
		frag    bool
		fragOff uint16
		st      Status
	}{
		{"tcp", buildIPv6(nil, ProtoTCP, 20), ProtoTCP, 40, false, 0, OK},
		{"no-payload", buildIPv6(nil, ProtoUDP, 0), ProtoUDP, 40, false, 0, OK},
		{"hop-by-hop", buildIPv6([]ext{{ProtoHopByHop, 8}}, ProtoICMPv6, 8), ProtoICMPv6, 48, false, 0, OK},
		{"full-chain", buildIPv6([]ext{{ProtoHopByHop, 16}, {ProtoDestOpts, 8}, {ProtoRouting, 24}, {ProtoFragment, 8}, {ProtoAH, 24}, {ProtoDestOpts, 8}}, ProtoUDP, 8),
			ProtoUDP, 40 + 16 + 8 + 24 + 8 + 24 + 8, true, 0, OK},
		{"ah-12", buildIPv6([]ext{{ProtoAH, 12}}, ProtoTCP, 20), ProtoTCP, 52, false, 0, OK},
		{"esp-stops", buildIPv6([]ext{{ProtoDestOpts, 8}}, ProtoESP, 16), ProtoESP, 48, false, 0, OK},
		{"no-next", buildIPv6([]ext{{ProtoRouting, 8}}, ProtoNoNext, 0), ProtoNoNext, 48, false, 0, OK},
		{"first-fragment", buildIPv6([]ext{{ProtoFragment, 8}}, ProtoUDP, 8), ProtoUDP, 48, true, 0, OK},
		{"non-first-fragment-stops", func() []byte {
			b := buildIPv6([]ext{{ProtoFragment, 8}, {ProtoDestOpts, 8}}, ProtoTCP, 20)
			binary.BigEndian.PutUint16(b[42:], 21<<3) // offset 21, M=0
			b[49] = 200                               // garbage where a header would be
			return b
		}(), ProtoDestOpts, 48, true, 21, OK},
		{"eight-ext", buildIPv6(destOpts(8), ProtoTCP, 20), ProtoTCP, 40 + 64, false, 0, OK},
		{"nine-ext", buildIPv6(destOpts(9), ProtoTCP, 20), ProtoDestOpts, 40 + 64, false, 0, TooManyExtHeaders},
		{"nine-ext-no-upper", buildIPv6(destOpts(9), ProtoNoNext, 0), ProtoDestOpts, 40 + 64, false, 0, TooManyExtHeaders},
		{"hop-by-hop-second", buildIPv6([]ext{{ProtoDestOpts, 8}, {ProtoHopByHop, 8}}, ProtoTCP, 20), ProtoHopByHop, 48, false, 0, BadExtHeader},
		{"truncated-ext", buildIPv6([]ext{{ProtoDestOpts, 16}}, ProtoTCP, 0)[:50], ProtoDestOpts, 40, false, 0, BadExtHeader},
		{"ext-past-payload-len", func() []byte {
			b := buildIPv6([]ext{{ProtoRouting, 16}}, ProtoTCP, 0)
			binary.BigEndian.PutUint16(b[4:], 8) // payload length ends inside the header
			return b
		}(), ProtoRouting, 40, false, 0, BadExtHeader},
		{"ext-len-past-packet", func() []byte {
			b := buildIPv6([]ext{{ProtoDestOpts, 8}}, ProtoTCP, 0)
			b[41] = 255
			return b
		}(), ProtoDestOpts, 40, false, 0, BadExtHeader},
		{"ext-less-than-8", buildIPv6(nil, ProtoHopByHop, 4), ProtoHopByHop, 40, false, 0, BadExtHeader},
		{"empty", nil, 0, 0, false, 0, TooShort},
		{"39-bytes", make([]byte, 39), 0, 0, false, 0, TooShort},
	} {
		proto, off, frag, fragOff, st := IPv6(tc.b).Transport()
		if proto != tc.proto || off != tc.off || frag != tc.frag || fragOff != tc.fragOff || st != tc.st {
			t.Errorf("%s: Transport = (%d, %d, %v, %d, %v), want (%d, %d, %v, %d, %v)",
				tc.name, proto, off, frag, fragOff, st, tc.proto, tc.off, tc.frag, tc.fragOff, tc.st)
		}
		if off > len(tc.b) {
			t.Errorf("%s: off %d past len %d", tc.name, off, len(tc.b))
		}
	}
}
