package rss

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/softnet/softnet/hdr"
)

// Benchmarks walk 4096 random flows so that the table loads see the
// spread a real traffic mix gives, not one cache line. ns/op is ns per
// packet.

const nflows = 4096

type tuple struct {
	src4, dst4   uint32
	src6, dst6   [16]byte
	sport, dport uint16
}

func benchTuples() []tuple {
	r := rand.New(rand.NewPCG(13, 14))
	ts := make([]tuple, nflows)
	for i := range ts {
		ts[i] = tuple{r.Uint32(), r.Uint32(), rand6(r), rand6(r), uint16(r.Uint32()), uint16(r.Uint32())}
	}
	return ts
}

var keys = []struct {
	name string
	k    Key
}{{"symmetric", SymmetricKey}, {"microsoft", MicrosoftKey}}

var sink uint32

func BenchmarkIPv4(b *testing.B) {
	ts := benchTuples()
	for _, k := range keys {
		h := New(k.k)
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			var x uint32
			for i := 0; b.Loop(); i++ {
				t := &ts[i&(nflows-1)]
				x ^= h.IPv4(t.src4, t.dst4, t.sport, t.dport)
			}
			sink = x
		})
	}
}

func BenchmarkIPv6(b *testing.B) {
	ts := benchTuples()
	for _, k := range keys {
		h := New(k.k)
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			var x uint32
			for i := 0; b.Loop(); i++ {
				t := &ts[i&(nflows-1)]
				x ^= h.IPv6(&t.src6, &t.dst6, t.sport, t.dport)
			}
			sink = x
		})
	}
}

func BenchmarkSum36(b *testing.B) {
	ts := benchTuples()
	in := make([]byte, nflows*MaxInput)
	for i, t := range ts {
		p := in[i*MaxInput:]
		copy(p, t.src6[:])
		copy(p[16:], t.dst6[:])
		binary.BigEndian.PutUint16(p[32:], t.sport)
		binary.BigEndian.PutUint16(p[34:], t.dport)
	}
	h := New(MicrosoftKey)
	b.ReportAllocs()
	var x uint32
	for i := 0; b.Loop(); i++ {
		j := (i & (nflows - 1)) * MaxInput
		x ^= h.Sum(in[j : j+MaxInput])
	}
	sink = x
}

func BenchmarkFrame(b *testing.B) {
	ts := benchTuples()
	shapes := []struct {
		name string
		p    func(t tuple) pkt
	}{
		{"ipv4-tcp", func(t tuple) pkt {
			return pkt{src4: t.src4, dst4: t.dst4, proto: protoTCP, sport: t.sport, dport: t.dport}
		}},
		{"ipv4-vlan-udp", func(t tuple) pkt {
			return pkt{tags: []uint16{hdr.EtherTypeVLAN}, src4: t.src4, dst4: t.dst4, proto: protoUDP, sport: t.sport, dport: t.dport}
		}},
		{"ipv6-tcp", func(t tuple) pkt {
			return pkt{v6: true, src6: t.src6, dst6: t.dst6, proto: protoTCP, sport: t.sport, dport: t.dport}
		}},
		{"ipv6-ext-udp", func(t tuple) pkt {
			return pkt{v6: true, src6: t.src6, dst6: t.dst6, exts: []uint8{hdr.ProtoHopByHop, hdr.ProtoDestOpts},
				proto: protoUDP, sport: t.sport, dport: t.dport}
		}},
	}
	for _, s := range shapes {
		frames := make([][]byte, nflows)
		for i, t := range ts {
			frames[i], _ = s.p(t).build()
		}
		for _, k := range keys {
			h := New(k.k)
			b.Run(s.name+"/"+k.name, func(b *testing.B) {
				b.ReportAllocs()
				var x uint32
				for i := 0; b.Loop(); i++ {
					v, _ := h.Frame(frames[i&(nflows-1)])
					x ^= v
				}
				sink = x
			})
		}
	}
}

// BenchmarkChunk16IPv4 is the measurement behind the per-byte tables: the
// same 12-byte hash with one table per 16-bit chunk (6 × 65536 × 4 bytes =
// 1.5 MiB) halves the loads but misses the cache on random flows.
func BenchmarkChunk16IPv4(b *testing.B) {
	h := New(MicrosoftKey)
	t16 := make([][65536]uint32, 6)
	for c := range t16 {
		for v := range 65536 {
			t16[c][v] = h.t[2*c][v>>8] ^ h.t[2*c+1][v&0xff]
		}
	}
	ts := benchTuples()
	for _, t := range ts[:64] {
		in := binary.BigEndian.AppendUint32(nil, t.src4)
		in = binary.BigEndian.AppendUint32(in, t.dst4)
		in = binary.BigEndian.AppendUint16(in, t.sport)
		in = binary.BigEndian.AppendUint16(in, t.dport)
		var x uint32
		for c := range 6 {
			x ^= t16[c][binary.BigEndian.Uint16(in[2*c:])]
		}
		if x != h.Sum(in) {
			b.Fatal("16-bit chunk tables disagree with Sum")
		}
	}
	b.ReportAllocs()
	var x uint32
	a0, a1, a2, a3, a4, a5 := &t16[0], &t16[1], &t16[2], &t16[3], &t16[4], &t16[5]
	for i := 0; b.Loop(); i++ {
		t := &ts[i&(nflows-1)]
		x ^= a0[uint16(t.src4>>16)] ^ a1[uint16(t.src4)] ^ a2[uint16(t.dst4>>16)] ^ a3[uint16(t.dst4)] ^
			a4[t.sport] ^ a5[t.dport]
	}
	sink = x
}
