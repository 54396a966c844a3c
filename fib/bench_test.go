package fib

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/gaissmai/bart"
	"github.com/softnet/softnet"
)

// bench holds what the lookup benchmarks share, built once: the full IPv4
// table in softnet and in bart, and 1<<20 destinations drawn from the table
// (a random prefix, random host bits), the same for both.
var bench struct {
	once  sync.Once
	tab   *Table
	snap  *Snapshot
	bart  *bart.Table[uint16]
	dst   []uint32
	addrs []netip.Addr
}

func setupBench(b *testing.B) {
	v4 := fullTable(b)
	bench.once.Do(func() {
		tab, err := LoadIPv4(v4, nextHops)
		if err != nil {
			b.Fatal(err)
		}
		bench.tab, bench.snap = tab, tab.Snapshot()
		bench.bart = new(bart.Table[uint16])
		for _, p := range v4 {
			bench.bart.Insert(p, NextHopOf(p, nextHops))
		}
		bench.dst = destinations(rand.New(rand.NewPCG(3, 4)), v4, 1<<20)
		bench.addrs = make([]netip.Addr, len(bench.dst))
		for i, a := range bench.dst {
			bench.addrs[i] = addrOf(a)
		}
		// The two must agree before their speeds are worth comparing.
		for i, a := range bench.addrs[:1<<16] {
			want, _ := bench.bart.Lookup(a)
			if got := bench.snap.Lookup(bench.dst[i]); got != want {
				b.Fatalf("softnet and bart disagree on %v: %d vs %d", a, got, want)
			}
		}
	})
	if bench.snap == nil {
		b.Fatal("setup failed")
	}
}

var sink uint16

// BenchmarkLookupFullTable: one op is one lookup of a random destination in
// the full table.
func BenchmarkLookupFullTable(b *testing.B) {
	setupBench(b)
	mask := len(bench.dst) - 1 // a power of two
	b.Run("impl=softnet", func(b *testing.B) {
		s, dst := bench.snap, bench.dst
		var x uint16
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			x += s.Lookup(dst[i&mask])
		}
		sink = x
	})
	b.Run("impl=softnet-batch", func(b *testing.B) {
		s, dst := bench.snap, bench.dst
		var out [256]uint16
		var x uint16
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i += len(out) {
			off := i & mask // mask+1 is a multiple of 256
			n := min(len(out), b.N-i)
			s.LookupBatch(dst[off:off+n], out[:n])
			x += out[0]
		}
		sink = x
	})
	b.Run("impl=bart", func(b *testing.B) {
		t, addrs := bench.bart, bench.addrs
		var x uint16
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			v, _ := t.Lookup(addrs[i&mask])
			x += v
		}
		sink = x
	})
}

// BenchmarkUpdate measures the control plane: Add (a replace with a new next
// hop) and Snapshot, on the full table.
func BenchmarkUpdate(b *testing.B) {
	setupBench(b)
	tab := bench.tab
	for _, s := range []string{"1.0.0.0/24", "8.8.8.8/32"} {
		p := netip.MustParsePrefix(s)
		b.Run("prefix=/"+s[len(s)-2:], func(b *testing.B) {
			b.ReportAllocs()
			nh := uint16(1)
			for b.Loop() {
				nh = nh%2 + 1
				if err := tab.Add(p, nh); err != nil {
					b.Fatal(err)
				}
				tab.Snapshot()
			}
		})
	}
}

// BenchmarkLoadFullTable measures building a table from the 901,899 IPv4
// prefixes of the full table.
func BenchmarkLoadFullTable(b *testing.B) {
	v4 := fullTable(b)
	b.ReportAllocs()
	for b.Loop() {
		tab, err := LoadIPv4(v4, nextHops)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(tab.Snapshot().Bytes())/(1<<20), "MiB-snapshot")
	}
}

// BenchmarkReadFullTable measures parsing the embedded gzipped full table
// (901,899 IPv4 + 160,147 IPv6 prefixes).
func BenchmarkReadFullTable(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadPrefixes(bytes.NewReader(softnet.FullTableGz)); err != nil {
			b.Fatal(err)
		}
	}
}
