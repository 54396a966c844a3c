package rss

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/softnet/softnet/hdr"
)

// refHash is the Toeplitz hash exactly as the NDIS RSS specification
// states it, one input bit at a time: for each set bit i of the input
// (MSB first), XOR in the 32 key bits starting at bit i. The key window is
// read bit by bit too, so it shares no code with New.
func refHash(k *Key, in []byte) uint32 {
	var r uint32
	for i := range len(in) * 8 {
		if in[i/8]&(0x80>>(i%8)) == 0 {
			continue
		}
		var w uint32
		for j := range 32 {
			n := i + j
			w = w<<1 | uint32(k[n/8]>>(7-n%8)&1)
		}
		r ^= w
	}
	return r
}

// The verification data of Microsoft's "Verifying the RSS Hash
// Calculation" (Windows driver docs, network/verifying-the-rss-hash-
// calculation, ms.date 04/20/2017), reproduced exactly: the hash input is
// source address, destination address, source port, destination port; the
// "only" column hashes the addresses alone, the "with TCP" column the
// 4-tuple. Key: MicrosoftKey.
var msIPv4 = []struct {
	dst, src     string
	dport, sport uint16
	only, tcp    uint32
}{
	{"161.142.100.80", "66.9.149.187", 1766, 2794, 0x323e8fc2, 0x51ccc178},
	{"65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a, 0xc626b0ea},
	{"12.22.207.184", "24.19.198.95", 38024, 12898, 0xd2d0a5de, 0x5c2b394a},
	{"209.142.163.6", "38.27.205.30", 2217, 48228, 0x82989176, 0xafc7327f},
	{"202.188.127.2", "153.39.163.191", 1303, 44251, 0x5d1809c5, 0x10e828a2},
}

var msIPv6 = []struct {
	dst, src     string
	dport, sport uint16
	only, tcp    uint32
}{
	{"3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794, 0x2cc18cd5, 0x40207d3d},
	{"ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230, 0x0f0c461c, 0xdde51bbf},
	{"fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 38024, 44251, 0x4b61e985, 0x02d1feef},
}

func addr4(s string) uint32 {
	a := netip.MustParseAddr(s).As4()
	return binary.BigEndian.Uint32(a[:])
}

func addr6(s string) [16]byte { return netip.MustParseAddr(s).As16() }

func TestMicrosoftVectors(t *testing.T) {
	h := New(MicrosoftKey)
	if h.fold {
		t.Fatal("MicrosoftKey taken as 16-bit periodic")
	}
	for _, v := range msIPv4 {
		src, dst := addr4(v.src), addr4(v.dst)
		in := binary.BigEndian.AppendUint32(nil, src)
		in = binary.BigEndian.AppendUint32(in, dst)
		check := func(what string, got, want uint32) {
			t.Helper()
			if got != want {
				t.Errorf("%s %s -> %s: %s = %#08x, want %#08x", v.src, v.dst, what, what, got, want)
			}
		}
		check("IPv4Addrs", h.IPv4Addrs(src, dst), v.only)
		check("Sum(2-tuple)", h.Sum(in), v.only)
		check("ref(2-tuple)", refHash(&MicrosoftKey, in), v.only)
		f, _ := frame4(nil, src, dst, protoICMP, 0, 0)
		hash, ok := h.Frame(f)
		check("Frame(ICMP)", hash, v.only)
		if !ok {
			t.Errorf("Frame(ICMP) not ok")
		}

		in = binary.BigEndian.AppendUint16(in, v.sport)
		in = binary.BigEndian.AppendUint16(in, v.dport)
		check("IPv4", h.IPv4(src, dst, v.sport, v.dport), v.tcp)
		check("Sum(4-tuple)", h.Sum(in), v.tcp)
		check("ref(4-tuple)", refHash(&MicrosoftKey, in), v.tcp)
		f, _ = frame4(nil, src, dst, protoTCP, v.sport, v.dport)
		hash, _ = h.Frame(f)
		check("Frame(TCP)", hash, v.tcp)
	}
	for _, v := range msIPv6 {
		src, dst := addr6(v.src), addr6(v.dst)
		in := append(append([]byte(nil), src[:]...), dst[:]...)
		check := func(what string, got, want uint32) {
			t.Helper()
			if got != want {
				t.Errorf("%s %s -> %s: %s = %#08x, want %#08x", v.src, v.dst, what, what, got, want)
			}
		}
		check("IPv6Addrs", h.IPv6Addrs(&src, &dst), v.only)
		check("Sum(2-tuple)", h.Sum(in), v.only)
		check("ref(2-tuple)", refHash(&MicrosoftKey, in), v.only)
		f, _ := frame6(nil, &src, &dst, nil, hdr.ProtoICMPv6, 0, 0)
		hash, _ := h.Frame(f)
		check("Frame(ICMPv6)", hash, v.only)

		in = binary.BigEndian.AppendUint16(in, v.sport)
		in = binary.BigEndian.AppendUint16(in, v.dport)
		check("IPv6", h.IPv6(&src, &dst, v.sport, v.dport), v.tcp)
		check("Sum(4-tuple)", h.Sum(in), v.tcp)
		check("ref(4-tuple)", refHash(&MicrosoftKey, in), v.tcp)
		f, _ = frame6(nil, &src, &dst, nil, protoTCP, v.sport, v.dport)
		hash, _ = h.Frame(f)
		check("Frame(TCP)", hash, v.tcp)
	}
}

// TestSumReference compares the table-driven Sum with the bit-by-bit
// reference on random inputs of every length 0..36, for the two named keys
// and random ones.
func TestSumReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := []Key{MicrosoftKey, SymmetricKey}
	for range 3 {
		var k Key
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		keys = append(keys, k)
	}
	buf := make([]byte, MaxInput+8)
	for ki, k := range keys {
		h := New(k)
		for n := 0; n <= MaxInput; n++ {
			for range 200 {
				for i := range buf {
					buf[i] = byte(r.Uint32())
				}
				in := buf[:n]
				if got, want := h.Sum(in), refHash(&k, in); got != want {
					t.Fatalf("key %d len %d %x: Sum = %#08x, ref = %#08x", ki, n, in, got, want)
				}
			}
		}
		// Bytes past MaxInput are ignored, not a panic.
		if got, want := h.Sum(buf), refHash(&k, buf[:MaxInput]); got != want {
			t.Fatalf("key %d len %d: Sum = %#08x, want the 36-byte hash %#08x", ki, len(buf), got, want)
		}
	}
}

// TestShapesMatchSum checks the fixed-shape methods, including the folded
// path the symmetric key takes, against Sum over the serialised tuple.
func TestShapesMatchSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []Key{MicrosoftKey, SymmetricKey} {
		h := New(k)
		for range 10000 {
			src, dst := r.Uint32(), r.Uint32()
			sp, dp := uint16(r.Uint32()), uint16(r.Uint32())
			in := binary.BigEndian.AppendUint32(nil, src)
			in = binary.BigEndian.AppendUint32(in, dst)
			if got, want := h.IPv4Addrs(src, dst), h.Sum(in); got != want {
				t.Fatalf("IPv4Addrs = %#08x, Sum = %#08x", got, want)
			}
			in = binary.BigEndian.AppendUint16(in, sp)
			in = binary.BigEndian.AppendUint16(in, dp)
			if got, want := h.IPv4(src, dst, sp, dp), h.Sum(in); got != want {
				t.Fatalf("IPv4 = %#08x, Sum = %#08x", got, want)
			}
			s6, d6 := rand6(r), rand6(r)
			in = append(append(in[:0], s6[:]...), d6[:]...)
			if got, want := h.IPv6Addrs(&s6, &d6), h.Sum(in); got != want {
				t.Fatalf("IPv6Addrs = %#08x, Sum = %#08x", got, want)
			}
			in = binary.BigEndian.AppendUint16(in, sp)
			in = binary.BigEndian.AppendUint16(in, dp)
			if got, want := h.IPv6(&s6, &d6, sp, dp), h.Sum(in); got != want {
				t.Fatalf("IPv6 = %#08x, Sum = %#08x", got, want)
			}
		}
	}
}

func rand6(r *rand.Rand) (a [16]byte) {
	binary.BigEndian.PutUint64(a[:], r.Uint64())
	binary.BigEndian.PutUint64(a[8:], r.Uint64())
	return a
}

func TestSymmetric(t *testing.T) {
	h := New(SymmetricKey)
	if !h.fold {
		t.Fatal("SymmetricKey not detected as 16-bit periodic")
	}
	ms := New(MicrosoftKey)
	r := rand.New(rand.NewPCG(5, 6))
	msSame := 0
	for range 10000 {
		src, dst := r.Uint32(), r.Uint32()
		sp, dp := uint16(r.Uint32()), uint16(r.Uint32())
		if a, b := h.IPv4(src, dst, sp, dp), h.IPv4(dst, src, dp, sp); a != b {
			t.Fatalf("IPv4 %08x:%d -> %08x:%d hashes %#08x, reverse %#08x", src, sp, dst, dp, a, b)
		}
		if a, b := h.IPv4Addrs(src, dst), h.IPv4Addrs(dst, src); a != b {
			t.Fatalf("IPv4Addrs %08x -> %08x hashes %#08x, reverse %#08x", src, dst, a, b)
		}
		s6, d6 := rand6(r), rand6(r)
		if a, b := h.IPv6(&s6, &d6, sp, dp), h.IPv6(&d6, &s6, dp, sp); a != b {
			t.Fatalf("IPv6 %x:%d -> %x:%d hashes %#08x, reverse %#08x", s6, sp, d6, dp, a, b)
		}
		if a, b := h.IPv6Addrs(&s6, &d6), h.IPv6Addrs(&d6, &s6); a != b {
			t.Fatalf("IPv6Addrs %x -> %x hashes %#08x, reverse %#08x", s6, d6, a, b)
		}
		if ms.IPv4(src, dst, sp, dp) == ms.IPv4(dst, src, dp, sp) {
			msSame++
		}
	}
	// Sanity check of the test itself: the Microsoft key is not symmetric.
	if msSame > 10 {
		t.Errorf("MicrosoftKey: %d of 10000 flows hash the same both ways; the test cannot tell symmetric keys apart", msSame)
	}
}

// TestSpread measures how evenly the symmetric key spreads flows over the
// redirection table. Its hash depends only on the 16-bit XOR fold of the
// tuple, so it takes at most 65536 values; the table uses the low 7 bits,
// a linear function of that fold, which is balanced as long as the fields
// vary. Numbers are logged for doc.go (go test -v -run Spread).
func TestSpread(t *testing.T) {
	h := New(SymmetricKey)
	r := rand.New(rand.NewPCG(7, 8))
	const flows = 10000
	type gen func() uint32
	cases := []struct {
		name string
		hash gen
	}{
		{"ipv4-random-5-tuple", func() uint32 {
			return h.IPv4(r.Uint32(), r.Uint32(), uint16(r.Uint32()), uint16(r.Uint32()))
		}},
		{"ipv6-random-5-tuple", func() uint32 {
			s, d := rand6(r), rand6(r)
			return h.IPv6(&s, &d, uint16(r.Uint32()), uint16(r.Uint32()))
		}},
		// Clients in 10.0.0.0/16 with ephemeral ports (32768-60999, the
		// Linux default range) to one server, 192.0.2.1:443.
		{"ipv4-clients-to-one-server", func() uint32 {
			return h.IPv4(0x0a000000|r.Uint32()&0xffff, 0xc0000201, uint16(32768+r.IntN(28232)), 443)
		}},
		// One client, one server, sequential source ports: only the port
		// varies.
		{"ipv4-sequential-ports", func() func() uint32 {
			p := uint16(40000)
			return func() uint32 { p++; return h.IPv4(0x0a000001, 0xc0000201, p, 443) }
		}()},
	}
	for _, c := range cases {
		var q2 [2]int
		var q4 [4]int
		t2, t4 := NewTable(2), NewTable(4)
		distinct := map[uint32]bool{}
		for range flows {
			x := c.hash()
			q2[t2.Queue(x)]++
			q4[t4.Queue(x)]++
			distinct[x] = true
		}
		t.Logf("%-28s NewTable(2): %d/%d (%.1f%% / %.1f%%)  NewTable(4): %v  distinct hashes: %d",
			c.name, q2[0], q2[1], 100*float64(q2[0])/flows, 100*float64(q2[1])/flows, q4, len(distinct))
		// "Within a few %" of an even split: 3 % is 6 standard deviations
		// of a fair binomial split of 10 000 flows.
		if d := q2[0] - flows/2; d > flows*3/100 || d < -flows*3/100 {
			t.Errorf("%s: NewTable(2) split %v, more than 3%% off 50/50", c.name, q2)
		}
		for i, n := range q4 {
			if d := n - flows/4; d > flows*3/100 || d < -flows*3/100 {
				t.Errorf("%s: NewTable(4) queue %d has %d of %d flows, more than 3%% off 25%%", c.name, i, n, flows)
			}
		}
	}
	// The fold is the only loss: the 16-bit fold maps to 65536 distinct
	// hashes (the key's linear map is injective), so it is the ceiling.
	seen := make(map[uint32]bool, 1<<16)
	for x := range 1 << 16 {
		seen[h.fold16(uint16(x))] = true
	}
	if len(seen) != 1<<16 {
		t.Errorf("SymmetricKey maps the 16-bit fold to %d distinct hashes, want 65536", len(seen))
	}
	// The weakness, stated as a fact: flows whose fields XOR to the same
	// 16 bits collide, e.g. swapping the halves of an address.
	if a, b := h.IPv4Addrs(0x0a000001, 0xc0000201), h.IPv4Addrs(0x00010a00, 0xc0000201); a != b {
		t.Errorf("fold collision expected: %#08x != %#08x", a, b)
	}
}

func TestTable(t *testing.T) {
	tb := NewTable(3)
	for i := range TableSize {
		if got := tb.Entry(i); got != i%3 {
			t.Fatalf("NewTable(3) entry %d = %d, want %d", i, got, i%3)
		}
		// The hash's low 7 bits pick the entry; higher bits do not matter.
		if got := tb.Queue(uint32(i) | 0xabcd0000); got != i%3 {
			t.Fatalf("Queue(%#x) = %d, want %d", uint32(i)|0xabcd0000, got, i%3)
		}
	}
	tb.Set(5, 7)
	if tb.Queue(5) != 7 || tb.Queue(5+128) != 7 || tb.Queue(4) != 1 {
		t.Errorf("after Set(5, 7): Queue(5)=%d Queue(133)=%d Queue(4)=%d", tb.Queue(5), tb.Queue(133), tb.Queue(4))
	}
	for _, n := range []int{0, -1, 1} {
		tb := NewTable(n)
		for i := range TableSize {
			if tb.Entry(i) != 0 {
				t.Fatalf("NewTable(%d) entry %d = %d, want 0", n, i, tb.Entry(i))
			}
		}
	}
	tb = NewTable(1000)
	if tb.Entry(127) != 127 {
		t.Errorf("NewTable(1000) entry 127 = %d, want 127", tb.Entry(127))
	}
}
