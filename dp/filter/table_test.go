package filter

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/fib"
)

// TestTableLayout: an entry is two cache lines' worth (128 bytes) with the
// fields a packet touches (key, expiry, peers, counters) in its first 96,
// those a UDP packet touches (key, expiry, counters) in its first 64,
// a bucket one cache line, and the table for the bench's 200,000-state
// limit takes less than half the 64 MiB the open-addressed array of
// 128-byte slots at twice the limit took, its live states packed at the
// front of the entries (a third of the pages to touch for 100,000 states).
func TestTableLayout(t *testing.T) {
	if n := unsafe.Sizeof(State{}); n != 128 {
		t.Errorf("State is %d bytes, want 128", n)
	}
	var s State
	if end := unsafe.Offsetof(s.rnh) + unsafe.Sizeof(s.rnh); end > 64 {
		t.Errorf("the hot fields end at byte %d, want within the first 64", end)
	}
	if end := unsafe.Offsetof(s.Peer) + unsafe.Sizeof(s.Peer); end > 96 {
		t.Errorf("the peers end at byte %d, want within the first 96", end)
	}
	for _, f := range []struct {
		name     string
		off, len uintptr
	}{{"K", unsafe.Offsetof(s.K), unsafe.Sizeof(s.K)}, {"used", unsafe.Offsetof(s.used), 1},
		{"Expire", unsafe.Offsetof(s.Expire), 8}, {"pkts", unsafe.Offsetof(s.pkts), unsafe.Sizeof(s.pkts)},
		{"rgen", unsafe.Offsetof(s.rgen), unsafe.Sizeof(s.rgen)}, {"rnh", unsafe.Offsetof(s.rnh), unsafe.Sizeof(s.rnh)}} {
		if f.off+f.len > 64 {
			t.Errorf("%s ends at byte %d: a UDP state hit would read a second cache line", f.name, f.off+f.len)
		}
	}
	var bk bucket
	if unsafe.Offsetof(bk.over) != 20 || unsafe.Offsetof(bk.idx) != 24 {
		t.Errorf("bucket: over at %d, idx at %d; bucketHint reads the signatures and over as three words", unsafe.Offsetof(bk.over), unsafe.Offsetof(bk.idx))
	}
	// eq4 reads a state's key as words at these offsets.
	if unsafe.Offsetof(s.K) != 0 || unsafe.Offsetof(s.K.B) != 16 || unsafe.Offsetof(s.K.PA) != 32 || unsafe.Offsetof(s.K.PB) != 34 ||
		unsafe.Offsetof(s.K.Proto) != 36 || unsafe.Offsetof(s.K.Fam) != 37 {
		t.Errorf("Key's layout moved: eq4 reads the words at 8, 24 and 32")
	}
	if n := unsafe.Sizeof(bucket{}); n != 64 {
		t.Errorf("bucket is %d bytes, want 64 (a cache line)", n)
	}
	tb := NewTable(200_000)
	size := uintptr(len(tb.buckets))*unsafe.Sizeof(bucket{}) + uintptr(len(tb.entries))*unsafe.Sizeof(State{}) + uintptr(cap(tb.free))*4
	if size > 32<<20 {
		t.Errorf("table for 200,000 states takes %d MiB, want at most 32", size>>20)
	}
	if p := uintptr(unsafe.Pointer(&tb.entries[0])); p%128 != 0 {
		t.Errorf("entries at %#x: not aligned on 128 bytes", p)
	}
	for i := 0; i < 100_000; i++ {
		var k Key
		k.A[12], k.A[13], k.A[14], k.A[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		k.Proto, k.Fam = 17, 4
		if tb.Insert(&k) == nil {
			t.Fatalf("insert %d refused", i)
		}
	}
	for i := 100_000; i < len(tb.entries); i++ {
		if tb.entries[i].used {
			t.Fatalf("entry %d used with 100,000 states: the live states are not packed at the front", i)
		}
	}
}

// TestLookupBatchRandom: vectors of lookups through LookupBatch's hints
// then FindHint, with inserts and lazy expiry in the middle of a vector
// (a hint stale by then: the entry freed, or reused by another key, or a
// key inserted after its batch read the bucket), agree with a map; and
// a full bucket overflows into the next and is found there.
func TestLookupBatchRandom(t *testing.T) {
	tb := NewTable(300)
	ref := map[Key]int64{}
	rng := rand.New(rand.NewPCG(3, 4))
	now := int64(1000)
	var keys [64]Key
	var hs [64]uint64
	var hints [64]Hint
	for round := 0; round < 5000; round++ {
		n := 1 + rng.IntN(len(keys))
		for i := range keys[:n] {
			keys[i] = Key{Proto: 17, Fam: 4}
			keys[i].A[15] = byte(rng.IntN(30))
			keys[i].B[15] = byte(rng.IntN(20))
			hs[i] = keys[i].hash()
		}
		tb.LookupBatch(hs[:n], make([]bool, n), hints[:n])
		for i := range keys[:n] {
			k := &keys[i]
			exp, live := ref[*k]
			if live && exp < now {
				delete(ref, *k)
				live = false
			}
			s := tb.FindHint(k, hs[i], hints[i], now)
			if (s != nil) != live {
				t.Fatalf("round %d packet %d: found %v, live %v", round, i, s != nil, live)
			}
			if s != nil && s.K != *k {
				t.Fatalf("round %d packet %d: the state of %v for %v", round, i, s.K, *k)
			}
			if s == nil {
				if s = tb.Insert(k); s == nil {
					if tb.Len() < tb.Limit() {
						t.Fatalf("round %d: refused below the limit", round)
					}
					continue
				}
				s.Expire = now + int64(rng.IntN(40))
				ref[*k] = s.Expire
			}
		}
		now += int64(rng.IntN(3))
		tb.Sweep(8, now)
	}
	// Overflow: more keys than one bucket holds, all with one home.
	tb = NewTable(64)
	var same []Key
	for i := 0; len(same) < 3*bucketSlots; i++ {
		k := Key{Proto: 6, Fam: 4, PA: uint16(i)}
		if k.hash()&tb.bmask == 0 {
			same = append(same, k)
			if tb.Insert(&k) == nil {
				t.Fatal("insert refused")
			}
		}
	}
	for i := range same {
		if tb.Find(&same[i], 0) == nil {
			t.Fatalf("key %d of %d with one home bucket not found", i, len(same))
		}
	}
	for i := 0; i < len(same); i += 2 {
		tb.Find(&same[i], 0).Expire = -1
		if tb.Find(&same[i], 0) != nil { // expired: removed
			t.Fatalf("key %d still found after it expired", i)
		}
	}
	for i := range same {
		if (tb.Find(&same[i], 0) != nil) != (i%2 == 1) {
			t.Fatalf("key %d: found %v after removing the even ones", i, i%2 == 0)
		}
	}
	for i := 1; i < len(same); i += 2 {
		tb.Find(&same[i], 0).Expire = -1
	}
	tb.Sweep(tb.Limit(), 0)
	if tb.Len() != 0 || len(tb.free) != tb.Limit() {
		t.Fatalf("%d states, %d free entries after every state expired", tb.Len(), len(tb.free))
	}
	for b := range tb.buckets {
		if bk := &tb.buckets[b]; bk.over != 0 || bk.sig != [bucketSlots]uint16{} {
			t.Fatalf("bucket %d not empty (over %d) with no state", b, bk.over)
		}
	}
}

// TestHashSpreads: flows that differ only in the last two bytes of an
// IPv4 source (a /16 of clients, fixed ports: IPsec NAT-T, a flood) fall
// into as many buckets as random keys would, not into one: the old hash
// never let those bytes reach the low bits, so 65,536 such flows shared
// one home slot and a lookup walked all of them.
func TestHashSpreads(t *testing.T) {
	const buckets = 1 << 14
	for _, c := range []struct {
		name string
		set  func(k *Key, i int)
	}{
		{"source /16", func(k *Key, i int) { k.A[14], k.A[15] = byte(i>>8), byte(i) }},
		{"destination /16", func(k *Key, i int) { k.B[14], k.B[15] = byte(i>>8), byte(i) }},
		{"ports", func(k *Key, i int) { k.PA = uint16(i) }},
	} {
		seen := map[uint64]bool{}
		sigs := map[uint16]bool{}
		for i := 0; i < 65536; i++ {
			k := Key{Proto: 17, Fam: 4, PA: 4500, PB: 4500}
			k.A[10], k.A[11], k.B[10], k.B[11] = 0xff, 0xff, 0xff, 0xff
			k.A[12], k.A[13] = 10, 1
			k.B[12], k.B[13], k.B[14], k.B[15] = 192, 0, 2, 1
			c.set(&k, i)
			h := k.hash()
			seen[h&(buckets-1)] = true
			sigs[sigOf(h)] = true
		}
		// 65,536 random keys in 16,384 buckets fill about 98% of them,
		// and take about 86% of the 32,768 signatures.
		if len(seen) < buckets*9/10 || len(sigs) < 32768*8/10 {
			t.Errorf("%s: 65,536 flows in %d of %d buckets, %d signatures", c.name, len(seen), buckets, len(sigs))
		}
	}
}

// BenchmarkStateHit is the filter's established path on its own: vectors
// of 256 packets of random flows among n states (the ip4-filter bench's
// 100,000 in a 200,000-state table), hashed, looked up in passes, the
// state updated; median-ns/pkt is the median vector's time a packet (a
// vector during which the thread lost its CPU does not count). Three
// variants side by side: N, the Key path (Key.hash, FindHint); words-N,
// the node's hit (hash4 of the key in registers, LookupBatch, eq4 on the
// key's words, as run does for a UDP hit); oneline-N, benchOneLine's
// prototype, the least a hit can do. Each reads its packets' keys in
// order from a stream of 65,536 laid out for it (read in order, the
// stream is prefetched by the hardware, as a packet's header is in the
// cache when the filter's node reads it): what differs is the table.
func BenchmarkStateHit(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		tb := NewTable(200_000)
		rng := rand.New(rand.NewPCG(5, 6))
		keys := make([]Key, n)
		words := make([]wordKey, n)
		for i := range keys {
			k := &keys[i]
			k.Proto, k.Fam, k.PA, k.PB = 17, 4, uint16(1024+rng.IntN(60000)), 9
			k.A[10], k.A[11], k.B[10], k.B[11] = 0xff, 0xff, 0xff, 0xff
			k.A[12], k.A[13], k.A[14], k.A[15] = 198, 18, 0, 1
			v := rng.Uint32()
			k.B[12], k.B[13], k.B[14], k.B[15] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			if s := tb.Insert(k); s != nil {
				s.Expire = 1 << 62
			}
			le := binary.LittleEndian
			words[i] = wordKey{w: key4{a: le.Uint64(k.A[8:]), b: le.Uint64(k.B[8:]), p: uint64(k.PA) | uint64(k.PB)<<16 | 17<<32 | 4<<40},
				a: binary.BigEndian.Uint32(k.A[12:]), b: v}
		}
		const streamLen = 65536
		keyStream := make([]Key, streamLen)
		wordStream := make([]wordKey, streamLen)
		for i := range streamLen {
			f := rng.IntN(n)
			keyStream[i], wordStream[i] = keys[f], words[f]
		}
		var hs [256]uint64
		var hints [256]Hint
		var tcp [256]bool
		b.Run(itoa(n), func(b *testing.B) {
			benchVectors(b, func(j int) int {
				ks := keyStream[j%streamLen:][:256]
				for x := range ks {
					hs[x] = ks[x].hash()
				}
				tb.LookupBatch(hs[:], tcp[:], hints[:])
				hits := 0
				for x := range ks {
					if s := tb.FindHint(&ks[x], hs[x], hints[x], 1); s != nil {
						s.Expire = 1 << 62
						s.count(0)
						hits++
					}
				}
				return hits
			})
		})
		b.Run("words-"+itoa(n), func(b *testing.B) {
			benchVectors(b, func(j int) int {
				ws := wordStream[j%streamLen:][:256]
				for x := range ws {
					w := &ws[x]
					hs[x] = hash4(w.a, w.b, uint16(w.w.p), uint16(w.w.p>>16), 17)
				}
				tb.LookupBatch(hs[:], tcp[:], hints[:])
				hits := 0
				for x := range ws {
					if h := hints[x]; h >= 0 {
						if e := &tb.entries[h]; e.used && e.Expire >= 1 && eq4(e, &ws[x].w) {
							e.Expire = 1 << 62
							e.count(0)
							hits++
						}
					}
				}
				return hits
			})
		})
		b.Run("oneline-"+itoa(n), func(b *testing.B) { benchOneLine(b, words, wordStream) })
	}
}

// wordKey is a flow's IPv4 key as the node holds it (key4's words) and
// its two addresses as hash4 takes them.
type wordKey struct {
	w    key4
	a, b uint32
}

// benchVectors runs vector(j) (j: the number of packets before it, a
// multiple of 256) until b.N packets, and reports the median vector's time a packet. It fails
// if a vector found fewer than 250 of its 256 packets' states (a hint
// misses now and then: another key's signature first in the bucket, one
// in about 10,000, which run leaves to decide).
func benchVectors(b *testing.B, vector func(j int) int) {
	var per []float64
	b.ResetTimer()
	for i := 0; i < b.N; i += 256 {
		t0 := time.Now()
		if hits := vector(i); hits < 250 {
			b.Fatalf("%d states found for 256 packets", hits)
		}
		per = append(per, float64(time.Since(t0))/256)
	}
	slices.Sort(per)
	b.ReportMetric(per[len(per)/2], "median-ns/pkt")
}

// oneLine is a state of benchOneLine's prototype table: the IPv4 key in
// two words, the expiry and the counters in one 64-byte line.
type oneLine struct {
	k0, k1 uint64
	exp    int64
	pkts   [2]uint32
	_      [32]byte
}

// benchOneLine is BenchmarkStateHit's lower bound on this machine: the
// same flows words, sent in the order of stream, in a prototype table of
// the least a hit can do: the IPv4 key in two words hashed with one
// product, one 64-byte line a state at its hash in 2^18 slots (linear
// probing), the expiry and a counter written, one loop with no prefetch
// (its loads overlap by themselves); no TCP, no IPv6, no route cache, no
// ageing, no deletion. It is not the filter: it is the figure a leaner
// table could approach (docs/history-filter.md, 2026-12-07 23:00-00:27).
func benchOneLine(b *testing.B, words, stream []wordKey) {
	const nslots = 1 << 18
	slots := make([]oneLine, nslots)
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(&slots[0])), nslots*int(unsafe.Sizeof(oneLine{}))))
	hash := func(k0, k1 uint64) uint64 { return mum(k0^hashSeed[0], k1^hashSeed[1]) & (nslots - 1) }
	type key struct{ k0, k1 uint64 }
	// The addresses are the key words' high halves (the low ones hold the
	// IPv4-mapped prefix, the same for every key).
	keyOf := func(w *wordKey) key { return key{k0: w.w.a>>32 | w.w.b>>32<<32, k1: w.w.p} }
	for i := range words {
		k := keyOf(&words[i])
		j := hash(k.k0, k.k1)
		for slots[j].k1 != 0 { // w.p is never 0: 0 is an empty slot
			j = (j + 1) & (nslots - 1)
		}
		slots[j] = oneLine{k0: k.k0, k1: k.k1, exp: 1 << 62}
	}
	keys := make([]key, len(stream))
	for i := range stream {
		keys[i] = keyOf(&stream[i])
	}
	benchVectors(b, func(j int) int {
		vk := keys[j%len(keys):][:256]
		hits := 0
		for x := range vk {
			k := &vk[x]
			h := hash(k.k0, k.k1)
			e := &slots[h]
			for e.k0 != k.k0 || e.k1 != k.k1 {
				h = (h + 1) & (nslots - 1)
				e = &slots[h]
			}
			if e.exp >= 1 {
				e.exp = 1 << 62
				e.pkts[0]++
				hits++
			}
		}
		return hits
	})
}

// TestKeyEq: eq is the struct's ==, byte for byte.
func TestKeyEq(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 20000; i++ {
		var a Key
		a.A[rng.IntN(16)], a.B[rng.IntN(16)] = byte(rng.Uint32()), byte(rng.Uint32())
		a.PA, a.PB, a.Proto, a.Fam = uint16(rng.IntN(3)), uint16(rng.IntN(3)), uint8(rng.IntN(2)), uint8(rng.IntN(2))
		b := a
		switch rng.IntN(7) {
		case 0:
			b.A[rng.IntN(16)] ^= 1 << rng.IntN(8)
		case 1:
			b.B[rng.IntN(16)] ^= 1 << rng.IntN(8)
		case 2:
			b.PA ^= 1 << rng.IntN(16)
		case 3:
			b.PB ^= 1 << rng.IntN(16)
		case 4:
			b.Proto ^= 1 << rng.IntN(8)
		case 5:
			b.Fam ^= 1 << rng.IntN(8)
		}
		if a.eq(&b) != (a == b) {
			t.Fatalf("%v eq %v: %v, == says %v", a, b, a.eq(&b), a == b)
		}
	}
}

// TestRouteGen: the route generation stays while a snapshot routes as
// the last one did (another snapshot with a copy of the adjacencies, as
// the control plane publishes, kinds and headers changed, one more
// adjacency), moves on another FIB, other ECMP buckets, or a group
// changed (TestRouteGenWrap: when it wraps).
func TestRouteGen(t *testing.T) {
	tb := NewTable(16)
	fib1, fib2 := &fib.Snapshot{}, &fib.Snapshot{}
	adj := []dp.Adj{{}, {Kind: dp.AdjForward, Iface: 1}, {Kind: dp.AdjGroup, Group: 0, GroupN: 2}, {Kind: dp.AdjIncomplete}}
	ecmp := []uint16{1, 3}
	c1 := &dp.Config{FIB: fib1, Adj: adj, ECMP: ecmp}
	g1 := tb.routeGen(c1)
	if g1 == 0 {
		t.Fatal("generation 0: a state's empty cache would be valid")
	}
	same := slices.Clone(adj)
	same[1].Iface, same[1].L2[20] = 2, 9
	same[3].Kind = dp.AdjForward
	same = append(same, dp.Adj{Kind: dp.AdjForward})
	if g := tb.routeGen(&dp.Config{FIB: fib1, Adj: same, ECMP: slices.Clone(ecmp), ICMPRate: 5}); g != g1 {
		t.Fatalf("a snapshot that routes the same: generation %d, want %d", g, g1)
	}
	for _, c := range []struct {
		what string
		cfg  *dp.Config
	}{
		{"another FIB", &dp.Config{FIB: fib2, Adj: adj, ECMP: ecmp}},
		{"other ECMP buckets", &dp.Config{FIB: fib2, Adj: adj, ECMP: []uint16{1, 1}}},
		{"a group moved", &dp.Config{FIB: fib2, Adj: []dp.Adj{{}, adj[1], {Kind: dp.AdjGroup, Group: 1, GroupN: 1}, adj[3]}, ECMP: []uint16{1, 1}}},
		{"a group no more", &dp.Config{FIB: fib2, Adj: []dp.Adj{{}, adj[1], {Kind: dp.AdjForward, Group: 1, GroupN: 1}, adj[3]}, ECMP: []uint16{1, 1}}},
	} {
		before := tb.rgen
		if g := tb.routeGen(c.cfg); g == before {
			t.Fatalf("%s kept generation %d", c.what, g)
		}
	}
}

// countCached is how many of tb's entries cache a route for side A.
func countCached(tb *Table) int {
	n := 0
	for j := range tb.entries {
		if tb.entries[j].rgen[0] != 0 {
			n++
		}
	}
	return n
}

// TestRouteGenWrap: when the 16-bit route generation comes back to a
// number after 65,535 changes of routing, no state still holds that
// number from the first time (its cached next hop would be taken as
// valid), and no change clears more than its share of the table
// (limit/routeAgeGens entries, at least one): a clear of every entry at
// the wrap stalled the worker's vector for milliseconds with a large
// table.
func TestRouteGenWrap(t *testing.T) {
	for _, limit := range []int{16, 100_000} {
		tb := NewTable(limit)
		cfgs := [2]*dp.Config{{FIB: &fib.Snapshot{}}, {FIB: &fib.Snapshot{}}}
		tb.routeGen(cfgs[0])
		step := (limit + routeAgeGens - 1) / routeAgeGens
		// Every entry caches the generation of the moment, some of
		// them again at each change (a state refreshed by traffic).
		for i := range tb.entries {
			tb.entries[i].rgen = [2]uint16{tb.rgen, tb.rgen}
		}
		first := tb.rgen
		setAt := make([]int, limit) // the change at which each entry's cache was set
		for i := 1; i <= 65535; i++ {
			before := tb.rgen
			check := i%4099 == 1 || before == 0xffff
			cached := 0
			if check {
				cached = countCached(tb)
			}
			g := tb.routeGen(cfgs[i&1])
			if g == 0 || g == before {
				t.Fatalf("limit %d, change %d: generation %d after %d", limit, i, g, before)
			}
			if check {
				if cleared := cached - countCached(tb); cleared > step {
					t.Fatalf("limit %d, change %d (generation %d to %d): %d caches cleared at once, want at most %d", limit, i, before, g, cleared, step)
				}
				// A cache still set is less than a round old.
				for j := range tb.entries {
					if tb.entries[j].rgen != [2]uint16{} && i-setAt[j] >= routeAgeGens {
						t.Fatalf("limit %d, change %d: entry %d holds %v, cached at change %d: %d changes ago, want fewer than %d", limit, i, j, tb.entries[j].rgen, setAt[j], i-setAt[j], routeAgeGens)
					}
				}
			}
			if i < 65535 {
				// A state refreshed now and then holds a recent one.
				j := (i * 7919) % limit
				tb.entries[j].rgen = [2]uint16{g, g}
				setAt[j] = i
			}
		}
		if tb.rgen != first {
			t.Fatalf("limit %d: generation %d after 65,535 changes, want %d again", limit, tb.rgen, first)
		}
		for j := range tb.entries {
			if r := tb.entries[j].rgen; r[0] == first || r[1] == first {
				t.Fatalf("limit %d: entry %d holds generation %d, %v, from 65,535 changes ago: taken as valid", limit, j, first, r)
			}
		}
	}
}

// TestRouteCacheResize: a table remade for a new limit keeps its states
// and the route generation, but not their cached next hops: its clearing
// round starts again at its first entry, and tables remade one after
// another would otherwise leave the last entries' caches never cleared.
func TestRouteCacheResize(t *testing.T) {
	h := NewHolder(64)
	tb := h.table(0)
	cfgs := [2]*dp.Config{{FIB: &fib.Snapshot{}}, {FIB: &fib.Snapshot{}}}
	for i := range 3 {
		tb.routeGen(cfgs[i&1])
	}
	for i := range 10 {
		s := tb.Insert(&Key{PA: uint16(i + 1), Fam: 4})
		s.Expire, s.rgen, s.rnh = 1<<62, [2]uint16{tb.rgen, tb.rgen}, [2]uint16{5, 6}
	}
	for limit := 65; limit < 70; limit++ {
		h.SetLimit(limit)
		nt := h.table(0)
		if nt == tb || nt.Limit() != limit {
			t.Fatalf("limit %d: the table was not remade", limit)
		}
		if nt.Len() != 10 || nt.rgen != tb.rgen || nt.rcfg != tb.rcfg {
			t.Fatalf("limit %d: %d states, generation %d (of %v); want 10 and %d (of %v)", limit, nt.Len(), nt.rgen, nt.rcfg, tb.rgen, tb.rcfg)
		}
		for i := range 10 {
			s := nt.Find(&Key{PA: uint16(i + 1), Fam: 4}, 1)
			if s == nil || s.rgen != [2]uint16{} {
				t.Fatalf("limit %d: state %d is %v; want it kept with no cached route", limit, i+1, s)
			}
		}
		tb = nt
	}
}

// TestBucketHint: the signature match in words (bucketHint) finds the
// first slot whose signature is the one looked for, as a loop over the
// ten would, in buckets of random and repeated signatures, empty slots,
// and over counts whose halves look like signatures.
func TestBucketHint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 200_000; n++ {
		var bk bucket
		for j := range bk.sig {
			bk.sig[j] = uint16(rng.IntN(6)) // 0 (empty) to 5: repeats
			if rng.IntN(4) == 0 {
				bk.sig[j] = uint16(rng.Uint32())
			}
			bk.idx[j] = rng.Uint32() >> 1
		}
		bk.over = uint32(rng.IntN(6)) | uint32(rng.IntN(6))<<16
		sig := uint16(1 + rng.IntN(5))
		if rng.IntN(4) == 0 {
			sig = uint16(rng.Uint32()) | 1
		}
		want := Hint(-1)
		for j := range bk.sig {
			if bk.sig[j] == sig {
				want = Hint(bk.idx[j])
				break
			}
		}
		if got := bucketHint(&bk, sig); got != want {
			t.Fatalf("bucket %+v, signature %d: hint %d, want %d", bk, sig, got, want)
		}
	}
}

// TestEq4: eq4 (a state's key against an IPv4 key's words) agrees with
// comparing the whole Key, for IPv4 and IPv6 states whose fields differ
// from the words in one place or none.
func TestEq4(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 0; n < 100_000; n++ {
		w := key4{a: rng.Uint64()&0xffffffff_0000ffff | 0xffff0000, b: rng.Uint64()&0xffffffff_0000ffff | 0xffff0000,
			p: uint64(rng.IntN(3)) | uint64(rng.IntN(3))<<16 | uint64([]uint8{6, 17}[rng.IntN(2)])<<32 | 4<<40}
		var s State
		w.key(&s.K)
		s.Init, s.used = 1, true
		switch rng.IntN(7) {
		case 1:
			s.K.A[8+rng.IntN(8)]++
		case 2:
			s.K.B[8+rng.IntN(8)]++
		case 3:
			s.K.PA++
		case 4:
			s.K.PB++
		case 5:
			s.K.Proto = 1
		case 6:
			s.K.Fam = 6
			s.K.A[rng.IntN(8)] = 0x20
		}
		var k Key
		w.key(&k)
		if got, want := eq4(&s, &w), s.K == k; got != want {
			t.Fatalf("eq4(%+v, %+v) = %v, want %v", s.K, w, got, want)
		}
	}
}
