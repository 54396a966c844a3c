package afpacket

import (
	"encoding/binary"
	"testing"
)

// naiveSum is the RFC 1071 sum, 16 bits at a time: the reference the
// tests check finished and segmented checksums against.
func naiveSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return s
}

// l4frame builds an Ethernet frame (tags: VLAN IDs, outermost first) with
// an IPv4 (or IPv6) header and an L4 header of l4len bytes for proto
// followed by payload. It returns the frame and the L3 and L4 offsets.
func l4frame(tags []uint16, v6 bool, proto byte, l4len int, payload []byte) (f []byte, l3, l4 int) {
	f = append(f, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1)
	for _, id := range tags {
		f = binary.BigEndian.AppendUint16(f, etherType8021Q)
		f = binary.BigEndian.AppendUint16(f, id)
	}
	l3 = len(f) + 2
	l4n := l4len + len(payload)
	if v6 {
		f = binary.BigEndian.AppendUint16(f, etherTypeIPv6)
		f = append(f, 0x60, 0, 0, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(l4n))
		f = append(f, proto, 64)
		f = append(f, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}...)
		f = append(f, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}...)
	} else {
		f = binary.BigEndian.AppendUint16(f, etherTypeIPv4)
		f = append(f, 0x45, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(20+l4n))
		f = append(f, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0, 10, 11, 1, 2, 10, 11, 2, 2)
		binary.BigEndian.PutUint16(f[l3+10:], ^uint16(naiveSum(f[l3:l3+20])))
	}
	l4 = len(f)
	h := make([]byte, l4len)
	binary.BigEndian.PutUint16(h[0:], 40000)
	binary.BigEndian.PutUint16(h[2:], 5201)
	if proto == ipProtoTCP {
		binary.BigEndian.PutUint32(h[4:], 0xfffff000) // wraps while segmenting
		h[12] = byte(l4len/4) << 4
		h[13] = tcpFlagCWR | tcpFlagPSH | tcpFlagFIN | 0x10 // ACK
	} else if proto == ipProtoUDP {
		binary.BigEndian.PutUint16(h[4:], uint16(l4n))
	}
	f = append(f, h...)
	return append(f, payload...), l3, l4
}

// pseudo is the one's complement sum of the pseudo-header for the L4
// bytes f[l4:].
func pseudo(f []byte, l3, l4 int, proto byte) uint32 {
	var b []byte
	if f[l3]>>4 == 4 {
		b = append(b, f[l3+12:l3+20]...)
	} else {
		b = append(b, f[l3+8:l3+40]...)
	}
	b = append(b, 0, proto)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)-l4))
	return naiveSum(b)
}

// l4ok reports whether the L4 checksum of f verifies.
func l4ok(f []byte, l3, l4 int, proto byte) bool {
	s := pseudo(f, l3, l4, proto) + naiveSum(f[l4:])
	for s>>16 != 0 {
		s = s>>16 + s&0xffff
	}
	return s == 0xffff
}

// partial stores the pseudo-header sum in the checksum field, as a
// sender with tx-checksumming on leaves it (CHECKSUM_PARTIAL).
func partial(f []byte, l3, l4, off int, proto byte) {
	binary.BigEndian.PutUint16(f[l4+off:], 0)
	binary.BigEndian.PutUint16(f[l4+off:], uint16(pseudo(f, l3, l4, proto)))
}

func payload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return p
}

// TestFinishCsum finishes partial checksums of crafted frames, both with
// the offsets PACKET_VNET_HDR gives and with those l4Offset parses, and
// checks that the result verifies as a receiver's stack would check it.
func TestFinishCsum(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tags  []uint16
		v6    bool
		proto byte
		n     int
	}{
		{"tcp4", nil, false, ipProtoTCP, 1000},
		{"tcp4-odd", nil, false, ipProtoTCP, 1001},
		{"tcp4-empty", nil, false, ipProtoTCP, 0},
		{"udp4", nil, false, ipProtoUDP, 64},
		{"udp4-odd", nil, false, ipProtoUDP, 1},
		{"udp4-vlan", []uint16{100}, false, ipProtoUDP, 333},
		{"tcp4-qinq", []uint16{10, 20}, false, ipProtoTCP, 1447},
		{"tcp6", nil, true, ipProtoTCP, 1399},
		{"udp6-vlan", []uint16{7}, true, ipProtoUDP, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l4len, off := 20, tcpCsumOff
			if tc.proto == ipProtoUDP {
				l4len, off = 8, udpCsumOff
			}
			f, l3, l4 := l4frame(tc.tags, tc.v6, tc.proto, l4len, payload(tc.n))
			partial(f, l3, l4, off, tc.proto)
			if l4ok(f, l3, l4, tc.proto) {
				t.Fatal("the partial frame verifies already: the test proves nothing")
			}
			s, o, ok := l4Offset(f)
			if !ok || s != l4 || o != off {
				t.Fatalf("l4Offset = %d, %d, %v; want %d, %d", s, o, ok, l4, off)
			}
			g := append([]byte(nil), f...)
			if !finishCsum(g, l4, off) || !l4ok(g, l3, l4, tc.proto) {
				t.Fatalf("checksum %#04x does not verify", binary.BigEndian.Uint16(g[l4+off:]))
			}
		})
	}
	t.Run("udp4-zero", func(t *testing.T) {
		// A datagram whose checksum computes to 0 must carry 0xffff: 0
		// would mean "no checksum".
		f, l3, l4 := l4frame(nil, false, ipProtoUDP, 8, payload(10))
		partial(f, l3, l4, udpCsumOff, ipProtoUDP)
		g := append([]byte(nil), f...)
		finishCsum(g, l4, udpCsumOff)
		c := binary.BigEndian.Uint16(g[l4+udpCsumOff:])
		// Add the checksum into the last payload word: the sum becomes
		// 0xffff and the checksum 0.
		w := uint32(binary.BigEndian.Uint16(f[len(f)-2:])) + uint32(c)
		binary.BigEndian.PutUint16(f[len(f)-2:], uint16(w+w>>16))
		if !finishCsum(f, l4, udpCsumOff) || !l4ok(f, l3, l4, ipProtoUDP) {
			t.Fatal("does not verify")
		}
		if c := binary.BigEndian.Uint16(f[l4+udpCsumOff:]); c != 0xffff {
			t.Fatalf("checksum %#04x, want 0xffff", c)
		}
	})
	t.Run("refused", func(t *testing.T) {
		f, _, l4 := l4frame(nil, false, 132, 12, payload(20)) // SCTP: CRC32c at offset 8
		g := append([]byte(nil), f...)
		if finishCsum(g, l4, 8) || string(g) != string(f) {
			t.Fatal("finished an SCTP checksum as if it were TCP's or UDP's")
		}
		if _, _, ok := l4Offset(f); ok {
			t.Fatal("l4Offset found TCP or UDP in SCTP")
		}
		if finishCsum(f, l4, len(f)) || finishCsum(f, 4, tcpCsumOff) {
			t.Fatal("finished with offsets outside the frame")
		}
		frag, _, _ := l4frame(nil, false, ipProtoUDP, 8, payload(20))
		frag[14+6] |= 0x20 // MF
		if _, _, ok := l4Offset(frag); ok {
			t.Fatal("l4Offset accepted a fragment")
		}
	})
}

// TestSegment splits crafted TCP super-packets as recv does and checks
// every segment: lengths, IPv4 identification and header checksum, TCP
// sequence numbers (wrapping), FIN/PSH on the last and CWR on the first
// only, and TCP checksums that verify.
func TestSegment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tags   []uint16
		v6     bool
		n, mss int
		l4len  int
	}{
		{"tcp4", nil, false, 10000, 1448, 32},
		{"tcp4-exact", nil, false, 2 * 1460, 1460, 20},
		{"tcp4-vlan-odd", []uint16{5}, false, 4001, 1000, 20},
		{"tcp6", nil, true, 9000, 1428, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := payload(tc.n)
			f, l3, l4 := l4frame(tc.tags, tc.v6, ipProtoTCP, tc.l4len, pl)
			partial(f, l3, l4, tcpCsumOff, ipProtoTCP)
			hdrLen, segs, ok := gsoPlan(f, l4, tc.mss)
			if !ok || hdrLen != l4+tc.l4len || segs != (tc.n+tc.mss-1)/tc.mss {
				t.Fatalf("gsoPlan = %d, %d, %v", hdrLen, segs, ok)
			}
			var got []byte
			for i, pos := 0, hdrLen; i < segs; i, pos = i+1, pos+tc.mss {
				n := min(tc.mss, len(f)-pos)
				s := append(append([]byte(nil), f[:hdrLen]...), f[pos:pos+n]...)
				fixSegment(s, l3, l4, uint32(pos-hdrLen), uint16(i), i == 0, i == segs-1)
				if !l4ok(s, l3, l4, ipProtoTCP) {
					t.Fatalf("segment %d: TCP checksum does not verify", i)
				}
				if tc.v6 {
					if pl := binary.BigEndian.Uint16(s[l3+4:]); int(pl) != len(s)-l3-40 {
						t.Fatalf("segment %d: payload length %d", i, pl)
					}
				} else {
					if tl := binary.BigEndian.Uint16(s[l3+2:]); int(tl) != len(s)-l3 {
						t.Fatalf("segment %d: total length %d", i, tl)
					}
					if id := binary.BigEndian.Uint16(s[l3+4:]); id != 0x1234+uint16(i) {
						t.Fatalf("segment %d: id %#x", i, id)
					}
					if naiveSum(s[l3:l3+20]) != 0xffff {
						t.Fatalf("segment %d: IPv4 header checksum does not verify", i)
					}
				}
				if seq := binary.BigEndian.Uint32(s[l4+4:]); seq != 0xfffff000+uint32(pos-hdrLen) {
					t.Fatalf("segment %d: seq %#x", i, seq)
				}
				fl := s[l4+13]
				if want := i == segs-1; (fl&tcpFlagFIN != 0) != want || (fl&tcpFlagPSH != 0) != want {
					t.Fatalf("segment %d: flags %#x", i, fl)
				}
				if (fl&tcpFlagCWR != 0) != (i == 0) || fl&0x10 == 0 {
					t.Fatalf("segment %d: flags %#x", i, fl)
				}
				got = append(got, s[hdrLen:]...)
			}
			if string(got) != string(pl) {
				t.Fatal("the segments' payloads do not add up to the super-packet's")
			}
		})
	}
	if _, _, ok := gsoPlan(make([]byte, 60), 34, 0); ok {
		t.Fatal("gsoPlan accepted a zero gso_size")
	}
}

// FuzzCsum feeds arbitrary frames to the parsers: no panic, no write
// outside the frame, and what l4Offset finds can be finished.
func FuzzCsum(f *testing.F) {
	fr, _, _ := l4frame([]uint16{3}, false, ipProtoTCP, 20, payload(5))
	f.Add(fr, uint16(38), uint16(16), uint16(1))
	fr, _, _ = l4frame(nil, true, ipProtoUDP, 8, payload(3))
	f.Add(fr, uint16(54), uint16(6), uint16(100))
	f.Fuzz(func(t *testing.T, b []byte, start, off, mss uint16) {
		g := append([]byte(nil), b...)
		if s, o, ok := l4Offset(g); ok && !finishCsum(g, s, o) {
			t.Fatalf("l4Offset gave %d, %d that finishCsum refuses", s, o)
		}
		finishCsum(g, int(start), int(off))
		if len(g) != len(b) {
			t.Fatal("length changed")
		}
		if hdrLen, segs, ok := gsoPlan(g, int(start), int(mss)); ok {
			if hdrLen >= len(g) || segs < 1 {
				t.Fatalf("gsoPlan = %d, %d", hdrLen, segs)
			}
		}
	})
}
