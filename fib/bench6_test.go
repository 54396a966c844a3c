package fib

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/gaissmai/bart"
)

// bench6 holds what the IPv6 lookup benchmarks share, built once: the full
// IPv6 table in softnet and in bart, and two sets of 1<<20 destinations, the
// same for both: drawn from the table (a random prefix, random host bits) and
// uniformly random in 2000::/3 (global unicast, where most miss every
// prefix longer than /16 or so).
var bench6 struct {
	once   sync.Once
	tab    *Table6
	snap   *Snapshot6
	bart   *bart.Table[uint16]
	table  [][16]byte
	random [][16]byte
}

func setupBench6(b *testing.B) {
	v6 := fullTable6(b)
	bench6.once.Do(func() {
		tab, err := LoadIPv6(v6, nextHops)
		if err != nil {
			b.Fatal(err)
		}
		bench6.tab, bench6.snap = tab, tab.Snapshot()
		bench6.bart = new(bart.Table[uint16])
		for _, p := range v6 {
			bench6.bart.Insert(p, NextHopOf(p, nextHops))
		}
		rng := rand.New(rand.NewPCG(3, 4))
		bench6.table = destinations6(rng, v6, 1<<20)
		bench6.random = destinations6(rng, []netip.Prefix{netip.MustParsePrefix("2000::/3")}, 1<<20)
		// The two must agree before their speeds are worth comparing.
		for _, d := range [][][16]byte{bench6.table, bench6.random} {
			for _, a := range d[:1<<16] {
				want, _ := bench6.bart.Lookup(netip.AddrFrom16(a))
				if got := bench6.snap.Lookup(a); got != want {
					b.Fatalf("softnet and bart disagree on %v: %d vs %d", netip.AddrFrom16(a), got, want)
				}
			}
		}
	})
	if bench6.snap == nil {
		b.Fatal("setup failed")
	}
}

// benchLookup6 runs impl=softnet, impl=softnet-batch and impl=bart over dst:
// one op is one lookup.
func benchLookup6(b *testing.B, dst [][16]byte) {
	mask := len(dst) - 1 // a power of two
	b.Run("impl=softnet", func(b *testing.B) {
		s := bench6.snap
		var x uint16
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			x += s.Lookup(dst[i&mask])
		}
		sink = x
	})
	b.Run("impl=softnet-batch", func(b *testing.B) {
		s := bench6.snap
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
		addrs := make([]netip.Addr, len(dst))
		for i, a := range dst {
			addrs[i] = netip.AddrFrom16(a)
		}
		t := bench6.bart
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

// BenchmarkLookup6FullTable: one op is one lookup of a destination drawn from
// the prefixes of the full IPv6 table (issue 12's benchmark).
func BenchmarkLookup6FullTable(b *testing.B) {
	setupBench6(b)
	benchLookup6(b, bench6.table)
}

// BenchmarkLookup6Random: one op is one lookup of a uniformly random
// destination in 2000::/3, on the full IPv6 table.
func BenchmarkLookup6Random(b *testing.B) {
	setupBench6(b)
	benchLookup6(b, bench6.random)
}

// BenchmarkUpdate6 measures the control plane: Add (a replace with a new next
// hop) and Snapshot, on the full IPv6 table, for a /48 (one node copied), a
// /32 (its node, and the /40 nodes below it whose entries it owns) and a /16
// (the root and every node below it whose entries it owns).
func BenchmarkUpdate6(b *testing.B) {
	setupBench6(b)
	tab := bench6.tab
	for _, s := range []string{"2001:db8:1::/48", "2a02:26f0::/32", "2001::/16"} {
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

// BenchmarkLoad6FullTable measures building a table from the 160,147 IPv6
// prefixes of the full table, and reports the snapshot's size.
func BenchmarkLoad6FullTable(b *testing.B) {
	v6 := fullTable6(b)
	b.ReportAllocs()
	for b.Loop() {
		tab, err := LoadIPv6(v6, nextHops)
		if err != nil {
			b.Fatal(err)
		}
		s := tab.Snapshot()
		b.ReportMetric(float64(s.Bytes())/(1<<20), "MiB-snapshot")
		b.ReportMetric(float64(s.Nodes()), "nodes")
	}
}
