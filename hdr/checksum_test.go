package hdr

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestSumVectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       []byte
		initial uint32
		sum     uint32
		check   uint16
	}{
		// RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
		{"rfc1071", []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0, 0xddf2, 0x220d},
		{"empty", nil, 0, 0, 0xffff},
		{"empty-initial", nil, 0x1234, 0x1234, ^uint16(0x1234)},
		{"initial-folds", nil, 0xffffffff, 0xffff, 0},
		{"odd-pads-zero", []byte{0xab}, 0, 0xab00, ^uint16(0xab00)},
		{"odd-3", []byte{0x01, 0x02, 0x03}, 0, 0x0102 + 0x0300, ^uint16(0x0402)},
		// Only ones: -0 stays 0xffff, never wraps to +0.
		{"all-ones", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, 0xffff, 0},
		// The classic IPv4 header example, checksum b861 in place.
		{"ipv4", []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}, 0, 0xffff, 0},
	} {
		if got := Sum(tc.b, tc.initial); got != tc.sum {
			t.Errorf("%s: Sum = %#x, want %#x", tc.name, got, tc.sum)
		}
		if got := Checksum(tc.b, tc.initial); got != tc.check {
			t.Errorf("%s: Checksum = %#x, want %#x", tc.name, got, tc.check)
		}
	}
}

func TestSumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 2100)
	for i := range 5000 {
		n := r.IntN(len(buf))
		if i < 200 {
			n = i // every small length, to cover each tail path
		}
		b := buf[:n]
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%7 == 0 { // long runs of 0xff stress the carry chain
			for j := range b {
				b[j] = 0xff
			}
		}
		initial := r.Uint32()
		if i%3 == 0 {
			initial = 0
		}
		got := Sum(b, initial)
		if got > 0xffff {
			t.Fatalf("len %d: Sum = %#x, not folded", n, got)
		}
		want := refSum(b) + initial>>16 + initial&0xffff
		want = want>>16 + want&0xffff
		want = want>>16 + want&0xffff
		if got != want {
			t.Fatalf("len %d initial %#x: Sum = %#x, want %#x", n, initial, got, want)
		}
	}
}

func TestSumChaining(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 301)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	whole := Checksum(b, 0)
	for k := 0; k <= len(b); k += 2 { // every even split point
		if got := Checksum(b[k:], Sum(b[:k], 0)); got != whole {
			t.Fatalf("split at %d: %#x, want %#x", k, got, whole)
		}
	}
	// Three-way chain with a 64-bit-unaligned middle piece.
	if got := Checksum(b[100:], Sum(b[38:100], Sum(b[:38], 0))); got != whole {
		t.Fatalf("three-way chain: %#x, want %#x", got, whole)
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		in   uint32
		want uint16
	}{
		{0, 0xffff}, {0xffff, 0}, {0x10000, 0xfffe}, {0x1fffe, 0}, {0xffffffff, 0}, {0x0001ddf2, ^uint16(0xddf3)},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

func TestPseudoSum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		src, dst, length := r.Uint32(), r.Uint32(), uint16(r.Uint32())
		proto := uint8(r.Uint32())
		ph := make([]byte, 12)
		binary.BigEndian.PutUint32(ph, src)
		binary.BigEndian.PutUint32(ph[4:], dst)
		ph[9] = proto
		binary.BigEndian.PutUint16(ph[10:], length)
		if got, want := Fold(PseudoSumIPv4(src, dst, proto, length)), refChecksum(ph); got != want {
			t.Fatalf("PseudoSumIPv4: %#x, want %#x", got, want)
		}

		ph6 := make([]byte, 40)
		for i := range 32 {
			ph6[i] = byte(r.Uint32())
		}
		l6 := r.Uint32()
		binary.BigEndian.PutUint32(ph6[32:], l6)
		ph6[39] = proto
		if got, want := Fold(PseudoSumIPv6(ph6[:16], ph6[16:32], proto, l6)), refChecksum(ph6); got != want {
			t.Fatalf("PseudoSumIPv6: %#x, want %#x", got, want)
		}
	}
}

// TestUDPChecksumPseudo checks a full UDP/IPv4 checksum round trip: the
// pseudo-header sum chained with the datagram verifies to zero.
func TestUDPChecksumPseudo(t *testing.T) {
	u := UDP(make([]byte, 13))
	u.SetSrcPort(53)
	u.SetDstPort(4242)
	u.SetLength(len(u))
	copy(u[8:], "hello")
	ps := PseudoSumIPv4(0x0a000001, 0x0a000002, ProtoUDP, uint16(len(u)))
	u.SetChecksum(UDPChecksum(Checksum(u, ps)))
	if Checksum(u, ps) != 0 {
		t.Fatalf("UDP checksum does not verify")
	}
	if UDPChecksum(0) != 0xffff || UDPChecksum(0x1234) != 0x1234 {
		t.Fatalf("UDPChecksum mapping wrong")
	}
}

func TestUpdate16RFC1624(t *testing.T) {
	// RFC 1624 §4: m = 0x5555 -> 0x3285 with the other octets summing to
	// 0xCD7A. HC = 0xDD2F; recomputation gives 0x0000, eqn. 2 would give
	// 0xFFFF (-0). Eqn. 3 must give 0x0000.
	if got := Update16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Fatalf("Update16(0xDD2F, 0x5555, 0x3285) = %#x, want 0x0000", got)
	}
	// And back again.
	if got := Update16(0x0000, 0x3285, 0x5555); got != 0xdd2f {
		t.Fatalf("Update16(0x0000, 0x3285, 0x5555) = %#x, want 0xDD2F", got)
	}
	// The only input giving 0xFFFF: HC 0xFFFF (all data zero), m 0xFFFF -> 0.
	if got := Update16(0xffff, 0xffff, 0); got != 0xffff {
		t.Fatalf("Update16(0xFFFF, 0xFFFF, 0) = %#x, want 0xFFFF", got)
	}
	if got := Update16(0x1234, 0xabcd, 0xabcd); got != 0x1234 {
		t.Fatalf("no-op update changed the checksum to %#x", got)
	}
	if got := Update32(0xdd2f, 0x00005555, 0x00003285); got != 0x0000 {
		t.Fatalf("Update32 RFC 1624 vector = %#x, want 0x0000", got)
	}
}

// sameChecksum reports whether a and b are equal modulo the ±0 equivalence
// of ones' complement (0x0000 and 0xFFFF both verify; RFC 1624 §3).
func sameChecksum(a, b uint16) bool {
	return a == b || a^b == 0xffff && (a == 0 || a == 0xffff)
}

// TestUpdateVsRecompute changes 16- and 32-bit words of random headers and
// compares the incremental update with a full recomputation, forcing the
// RFC 1624 edge cases: new checksum 0x0000, old checksum 0x0000, and a
// stored -0 (0xFFFF) checksum.
func TestUpdateVsRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var edgeNew, edgeOld int
	for i := range 200000 {
		h := IPv4(buildIPv4(nil, 0, 0))
		for j := range 20 {
			h[j] = byte(r.Uint32())
		}
		h[0] = 0x45
		h.SetChecksum(h.ComputeChecksum())
		check := h.Checksum()
		// Any word but version/IHL (it would change the header length)
		// and the checksum field itself.
		w := [...]int{2, 4, 6, 8, 12, 14, 16, 18}[r.IntN(8)]
		old := binary.BigEndian.Uint16(h[w:])
		nw := uint16(r.Uint32())
		switch i % 4 {
		case 1:
			// Choose the new value so the new checksum is 0x0000: the other
			// words plus m' must sum to -0. sumOthers = ~check - old.
			others := uint32(^check) + uint32(^old)
			others = others>>16 + others&0xffff
			others = others>>16 + others&0xffff
			nw = ^uint16(others)
		case 2:
			// Make the old checksum 0x0000 first, then change a word.
			others := uint32(^check) + uint32(^old)
			others = others>>16 + others&0xffff
			others = others>>16 + others&0xffff
			binary.BigEndian.PutUint16(h[w:], ^uint16(others))
			h.SetChecksum(h.ComputeChecksum())
			check, old = h.Checksum(), binary.BigEndian.Uint16(h[w:])
			if check == 0 {
				edgeOld++
			}
		}
		binary.BigEndian.PutUint16(h[w:], nw)
		want := h.ComputeChecksum()
		if want == 0 {
			edgeNew++
		}
		if got := Update16(check, old, nw); got != want {
			t.Fatalf("Update16(%#x, %#x, %#x) = %#x, recompute %#x (header % x)", check, old, nw, got, want, []byte(h))
		}
		// A stored -0 is accepted by receivers; updating from it must still
		// give a checksum that verifies.
		if check == 0 {
			if got := Update16(0xffff, old, nw); !sameChecksum(got, want) {
				t.Fatalf("Update16 from -0: %#x, recompute %#x", got, want)
			}
		}

		// 32-bit: replace the source address.
		oldA := h.Src()
		newA := r.Uint32()
		check = h.ComputeChecksum()
		h.SetSrc(newA)
		if got, want := Update32(check, oldA, newA), h.ComputeChecksum(); got != want {
			t.Fatalf("Update32(%#x, %#x, %#x) = %#x, recompute %#x", check, oldA, newA, got, want)
		}
	}
	if edgeNew < 1000 || edgeOld < 1000 {
		t.Fatalf("edge cases not exercised: new=0 %d times, old=0 %d times", edgeNew, edgeOld)
	}
}

func TestDecTTLVsRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var zero int
	for i := range 200000 {
		opts := make([]byte, 4*r.IntN(11))
		h := IPv4(buildIPv4(opts, 0, 0))
		for j := range h {
			if j != 0 && j != 2 && j != 3 {
				h[j] = byte(r.Uint32())
			}
		}
		ttl := uint8(2 + r.IntN(254))
		h.SetTTL(ttl)
		if i%2 == 0 {
			// Force the decremented header's checksum to 0x0000 by
			// adjusting the ID so the new header sums to -0.
			h.SetID(0)
			h.SetTTL(ttl - 1)
			h.SetID(h.ComputeChecksum()) // ID absorbs the complement of the rest
			h.SetTTL(ttl)
		}
		h.SetChecksum(h.ComputeChecksum())
		if h.Validate() != OK {
			t.Fatalf("built header invalid: %v", h.Validate())
		}
		h.DecTTL()
		if h.TTL() != ttl-1 {
			t.Fatalf("TTL %d after DecTTL from %d", h.TTL(), ttl)
		}
		want := h.ComputeChecksum()
		if want == 0 {
			zero++
		}
		if got := h.Checksum(); got != want {
			t.Fatalf("DecTTL checksum %#x, recompute %#x (header % x)", got, want, []byte(h))
		}
		if st := h.Validate(); st != OK {
			t.Fatalf("Validate after DecTTL: %v", st)
		}
	}
	if zero < 1000 {
		t.Fatalf("new checksum 0x0000 exercised only %d times", zero)
	}
}

func TestIPv4AddrMask(t *testing.T) {
	if a := IPv4Addr(0x0a000102); a.String() != "10.0.1.2" {
		t.Errorf("IPv4Addr(0x0a000102) = %v, want 10.0.1.2", a)
	}
	for n, want := range map[int]uint32{0: 0, 1: 0x80000000, 24: 0xffffff00, 32: 0xffffffff} {
		if m := IPv4Mask(n); m != want {
			t.Errorf("IPv4Mask(%d) = %#x, want %#x", n, m, want)
		}
	}
}
