package fib

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaissmai/bart"
)

func mustAdd6(t testing.TB, tab *Table6, p string, nh uint16) {
	t.Helper()
	if err := tab.Add(netip.MustParsePrefix(p), nh); err != nil {
		t.Fatalf("add %s: %v", p, err)
	}
}

func mustDelete6(t testing.TB, tab *Table6, p string) {
	t.Helper()
	if err := tab.Delete(netip.MustParsePrefix(p)); err != nil {
		t.Fatalf("delete %s: %v", p, err)
	}
}

func a16(s string) [16]byte { return netip.MustParseAddr(s).As16() }

// expect6 checks lookups of address → next hop on a fresh snapshot, through
// Lookup and LookupBatch.
func expect6(t *testing.T, tab *Table6, step string, want map[string]uint16) {
	t.Helper()
	s := tab.Snapshot()
	var addrs [][16]byte
	var nhs []uint16
	for a, nh := range want {
		if got := s.Lookup(a16(a)); got != nh {
			t.Errorf("%s: lookup %s = %d, want %d", step, a, got, nh)
		}
		addrs, nhs = append(addrs, a16(a)), append(nhs, nh)
	}
	out := make([]uint16, len(addrs))
	s.LookupBatch(addrs, out)
	for i, nh := range nhs {
		if out[i] != nh {
			t.Errorf("%s: batch lookup %v = %d, want %d", step, netip.AddrFrom16(addrs[i]), out[i], nh)
		}
	}
}

// hostIn6 returns a random address inside p.
func hostIn6(rng *rand.Rand, p netip.Prefix) [16]byte {
	a := p.Masked().Addr().As16()
	for i := range a {
		bits := p.Bits() - 8*i // bits of byte i that p fixes
		if bits >= 8 {
			continue
		}
		r := byte(rng.Uint32())
		if bits > 0 {
			r &= 0xff >> bits
		}
		a[i] |= r
	}
	return a
}

// random6 returns a uniformly random address.
func random6(rng *rand.Rand) [16]byte {
	var a [16]byte
	for i := range a {
		a[i] = byte(rng.Uint32())
	}
	return a
}

// destinations6 returns n addresses drawn from ps: a random prefix, random
// host bits.
func destinations6(rng *rand.Rand, ps []netip.Prefix, n int) [][16]byte {
	d := make([][16]byte, n)
	for i := range d {
		d[i] = hostIn6(rng, ps[rng.IntN(len(ps))])
	}
	return d
}

func TestTable6EdgeCases(t *testing.T) {
	tab := NewTable6()
	expect6(t, tab, "empty", map[string]uint16{"::": 0, "2001:db8::1": 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 0})

	mustAdd6(t, tab, "::/0", 1)
	expect6(t, tab, "default route", map[string]uint16{"::": 1, "2001:db8::1": 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 1})

	mustAdd6(t, tab, "2001:db8::1/128", 2)
	mustAdd6(t, tab, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 9)
	mustAdd6(t, tab, "::/128", 10)
	expect6(t, tab, "host routes", map[string]uint16{
		"2001:db8::1": 2, "2001:db8::": 1, "2001:db8::2": 1,
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 9, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe": 1,
		"::": 10, "::1": 1,
	})
	if n := tab.Nodes(); n != 3*14 {
		t.Errorf("nodes = %d, want 42 (14 per /128: one per 8 bits from /16 to /120)", n)
	}

	// A /48 added before its /32 keeps winning inside itself; a /36 and a
	// /20 (both ending inside an 8-bit stride) nest around them.
	mustAdd6(t, tab, "2001:db8:100::/48", 4)
	mustAdd6(t, tab, "2001:db8::/32", 3)
	mustAdd6(t, tab, "2001:db8:1000::/36", 5)
	mustAdd6(t, tab, "2001::/20", 6)
	expect6(t, tab, "nested", map[string]uint16{
		"2001:db8::": 3, "2001:db8::1": 2, "2001:db8:100::": 4, "2001:db8:100:ffff::1": 4,
		"2001:db8:101::": 3, "2001:db8:1000::": 5, "2001:db8:1fff:ffff::": 5, "2001:db8:2000::": 3,
		"2001:db9::": 6, "2001:fff::": 6, "2001:1000::": 1, "2002::": 1,
	})

	// Deletes restore the covering route; nodes go once they only hold
	// routes from above.
	before := tab.Nodes()
	mustDelete6(t, tab, "2001:db8:100::/48")
	expect6(t, tab, "delete /48", map[string]uint16{"2001:db8:100::": 3, "2001:db8::1": 2, "2001:db8:1000::": 5})
	if n := tab.Nodes(); n != before-1 {
		t.Errorf("nodes after deleting the /48 = %d, want %d (its /40 node goes)", n, before-1)
	}
	mustDelete6(t, tab, "2001:db8::/32")
	expect6(t, tab, "delete /32", map[string]uint16{"2001:db8::": 6, "2001:db8::1": 2, "2001:db8:1000::": 5, "2001:db8:2000::": 6})
	mustDelete6(t, tab, "2001:db8::1/128")
	mustDelete6(t, tab, "2001:db8:1000::/36")
	expect6(t, tab, "delete /128 and /36", map[string]uint16{"2001:db8::1": 6, "2001:db8:1000::": 6})
	mustDelete6(t, tab, "2001::/20")
	expect6(t, tab, "delete /20", map[string]uint16{"2001:db8::1": 1})
	if n := tab.Nodes(); n != 2*14 {
		t.Errorf("nodes = %d, want 28 (the two /128s left)", n)
	}
	mustDelete6(t, tab, "::/0")
	expect6(t, tab, "delete /0", map[string]uint16{"2001:db8::1": 0, "::": 10, "::1": 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 9})
	mustDelete6(t, tab, "::/128")
	mustDelete6(t, tab, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")
	if tab.Nodes() != 0 || tab.Len() != 0 {
		t.Errorf("empty table: %d nodes, %d routes", tab.Nodes(), tab.Len())
	}
	expect6(t, tab, "empty again", map[string]uint16{"::": 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 0})

	// Re-adding, replacing, and masking the input.
	mustAdd6(t, tab, "2001:db8:ffff::1/32", 6) // masked to 2001:db8::/32
	if nh, ok := tab.Get(netip.MustParsePrefix("2001:db8::/32")); !ok || nh != 6 {
		t.Errorf("Get after masked add = %d, %v", nh, ok)
	}
	mustAdd6(t, tab, "2001:db8::/32", MaxNextHop)
	mustAdd6(t, tab, "2001:db8::/64", 7)
	if nh, _ := tab.Get(netip.MustParsePrefix("2001:db8::/32")); nh != MaxNextHop || tab.Len() != 2 {
		t.Errorf("replace: Get = %d, Len = %d, want %d, 2", nh, tab.Len(), MaxNextHop)
	}
	expect6(t, tab, "replace", map[string]uint16{"2001:db8:1::": MaxNextHop, "2001:db8::5": 7})
	if _, ok := tab.Get(netip.MustParsePrefix("2001:db8::/33")); ok {
		t.Error("Get of a missing route succeeded")
	}
	if c := tab.Counts(); c[32] != 1 || c[64] != 1 || c[0] != 0 {
		t.Errorf("Counts = %v", c)
	}

	// Errors leave the table unchanged.
	s := tab.Snapshot()
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"IPv4", "not an IPv6 prefix", tab.Add(netip.MustParsePrefix("10.0.0.0/8"), 1)},
		{"invalid prefix", "invalid prefix", tab.Add(netip.Prefix{}, 1)},
		{"next hop 0", "next hop 0 out of range", tab.Add(netip.MustParsePrefix("2001:db8:9::/48"), 0)},
		{"next hop too big", "next hop 32768 out of range", tab.Add(netip.MustParsePrefix("2001:db8:9::/48"), MaxNextHop+1)},
		{"delete missing", "no such route", tab.Delete(netip.MustParsePrefix("2001:db8:9::/48"))},
		{"delete IPv4", "not an IPv6 prefix", tab.Delete(netip.MustParsePrefix("10.0.0.0/8"))},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
	if tab.Snapshot() != s || tab.Len() != 2 {
		t.Error("failed operations changed the table")
	}
}

func TestSnapshot6CheapAndImmutable(t *testing.T) {
	tab := NewTable6()
	mustAdd6(t, tab, "2001:db8::/32", 1)
	s1 := tab.Snapshot()
	if s2 := tab.Snapshot(); s2 != s1 {
		t.Fatal("Snapshot without changes returned a new snapshot")
	}
	mustAdd6(t, tab, "2001:db8::/32", 2)
	mustAdd6(t, tab, "2001:db8:7::/48", 3)
	s3 := tab.Snapshot()
	if s3 == s1 {
		t.Fatal("Snapshot after a change returned the old snapshot")
	}
	a := a16("2001:db8:7::1")
	if s1.Lookup(a) != 1 || s3.Lookup(a) != 3 || s1.Routes() != 1 || s3.Routes() != 2 {
		t.Fatalf("s1 = %d (%d routes), s3 = %d (%d routes)", s1.Lookup(a), s1.Routes(), s3.Lookup(a), s3.Routes())
	}
	// Changing a /48 appends new copies of its node and its ancestors to
	// the node array and copies one root chunk; what s3 reads is untouched.
	old := append([]uint32(nil), s3.nodes...)
	mustAdd6(t, tab, "2001:db8:7::/48", 4)
	s4 := tab.Snapshot()
	if s3.Lookup(a) != 3 || s4.Lookup(a) != 4 {
		t.Fatal("replacing a /48 changed the old snapshot or not the new one")
	}
	for i, w := range old {
		if s3.nodes[i] != w || s4.nodes[i] != w {
			t.Fatalf("node array word %d rewritten", i)
		}
	}
	if len(s4.nodes) <= len(s3.nodes) {
		t.Fatal("no node appended")
	}
	for c := range s3.root {
		if shared := s3.root[c] == s4.root[c]; shared != (c != 0x20) {
			t.Fatalf("root chunk %#x shared = %v", c, shared)
		}
	}
}

func TestLookup6DoesNotAllocate(t *testing.T) {
	tab := NewTable6()
	mustAdd6(t, tab, "2001:db8::/32", 1)
	mustAdd6(t, tab, "2001:db8:0:80::/57", 2)
	s := tab.Snapshot()
	addrs := make([][16]byte, 256)
	for i := range addrs {
		addrs[i] = a16("2001:db8::")
		addrs[i][7] = byte(i)
	}
	out := make([]uint16, len(addrs))
	var sink uint16
	if n := testing.AllocsPerRun(1000, func() { sink += s.Lookup(addrs[sink&0xff]) }); n != 0 {
		t.Errorf("Lookup: %v allocations per run", n)
	}
	if n := testing.AllocsPerRun(1000, func() { s.LookupBatch(addrs, out) }); n != 0 {
		t.Errorf("LookupBatch: %v allocations per run", n)
	}
	if out[0] != 1 || out[0x7f] != 1 || out[0x80] != 2 || out[255] != 2 {
		t.Errorf("batch = %d %d %d %d, want 1 1 2 2", out[0], out[0x7f], out[0x80], out[255])
	}
}

// check6 compares s with bart on every address of dst, through Lookup and
// LookupBatch.
func check6(t *testing.T, what string, s *Snapshot6, r *bart.Table[uint16], dst [][16]byte) {
	t.Helper()
	out := make([]uint16, len(dst))
	s.LookupBatch(dst, out)
	goOut := goSteps6(s, dst)
	bad := 0
	for i, a := range dst {
		want, _ := r.Lookup(netip.AddrFrom16(a))
		if got := s.Lookup(a); got != want || out[i] != want || goOut[i] != want {
			if bad++; bad <= 10 {
				t.Errorf("%s: lookup %v = %d, batch %d, batch with the Go steps %d, want %d",
					what, netip.AddrFrom16(a), got, out[i], goOut[i], want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d lookups wrong", what, bad, len(dst))
	}
}

// goSteps6 is s.LookupBatch(dst) through the Go steps (keep6, entries6),
// which other architectures use, rather than the assembly ones.
func goSteps6(s *Snapshot6, dst [][16]byte) []uint16 {
	saved := asm6
	asm6 = false
	defer func() { asm6 = saved }()
	out := make([]uint16, len(dst))
	s.LookupBatch(dst, out)
	return out
}

// checkAround6 compares s with bart at the edges of p, just outside them,
// and at random addresses inside p.
func checkAround6(t *testing.T, rng *rand.Rand, s *Snapshot6, r *bart.Table[uint16], p netip.Prefix, op string) {
	t.Helper()
	first, last := p.Masked().Addr(), lastOf(p)
	as := []netip.Addr{first, first.Prev(), last, last.Next()}
	for range 8 {
		as = append(as, netip.AddrFrom16(hostIn6(rng, p)))
	}
	for _, a := range as {
		if !a.IsValid() {
			continue
		}
		want, _ := r.Lookup(a)
		if got := s.Lookup(a.As16()); got != want {
			t.Fatalf("after %s %v: lookup %v = %d, want %d", op, p, a, got, want)
		}
	}
}

// lastOf returns the last address of p.
func lastOf(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As16()
	for i := range a {
		if bits := p.Bits() - 8*i; bits <= 0 {
			a[i] = 0xff
		} else if bits < 8 {
			a[i] |= 0xff >> bits
		}
	}
	return netip.AddrFrom16(a)
}

// randomBits6 picks a prefix length for a random update, shaped like the
// real table: mostly /29–/48, often longer up to /128, rarely /0–/28.
func randomBits6(rng *rand.Rand) int {
	switch x := rng.IntN(1000); {
	case x < 2:
		return rng.IntN(4) // /0–/3: repaint much of the table
	case x < 20:
		return 4 + rng.IntN(25)
	case x < 250:
		return 49 + rng.IntN(80)
	default:
		return 29 + rng.IntN(20)
	}
}

func TestDifferential6FullTable(t *testing.T) {
	v6 := fullTable6(t)
	if len(v6) != fullV6 {
		t.Fatalf("full table: %d IPv6 prefixes, want %d", len(v6), fullV6)
	}
	start := time.Now()
	tab, err := LoadIPv6(v6, nextHops)
	if err != nil {
		t.Fatal(err)
	}
	s0 := tab.Snapshot()
	t.Logf("loaded %d IPv6 prefixes in %v; snapshot %.1f MiB, %d nodes",
		tab.Len(), time.Since(start).Round(time.Millisecond), float64(s0.Bytes())/(1<<20), s0.Nodes())

	r := new(bart.Table[uint16])
	live := &liveSet{idx: make(map[netip.Prefix]int, len(v6))}
	for _, p := range v6 {
		r.Insert(p, NextHopOf(p, nextHops))
		live.add(p)
	}
	if tab.Len() != fullV6 || s0.Routes() != fullV6 || r.Size() != fullV6 {
		t.Fatalf("Len %d, Routes %d, bart %d, want %d", tab.Len(), s0.Routes(), r.Size(), fullV6)
	}
	var counts [129]int
	for _, p := range v6 {
		counts[p.Bits()]++
	}
	if tab.Counts() != counts {
		t.Errorf("Counts = %v, want %v", tab.Counts(), counts)
	}

	rng := rand.New(rand.NewPCG(5, 6))
	nDrawn, nUniform, nOps := 1<<19, 1<<16, 30000
	if testing.Short() {
		nDrawn, nUniform, nOps = 1<<16, 1<<13, 4000
	}
	dst := destinations6(rng, v6, nDrawn)
	global := netip.MustParsePrefix("2000::/3")
	for range nUniform {
		dst = append(dst, random6(rng), hostIn6(rng, global))
	}
	// The first and last address of every prefix.
	for _, p := range v6 {
		dst = append(dst, p.Addr().As16(), lastOf(p).As16())
	}
	check6(t, "full table", s0, r, dst)
	ans0 := make([]uint16, len(dst))
	s0.LookupBatch(dst, ans0)
	sub := dst[:len(dst)/8]

	var sMid *Snapshot6
	var ansMid []uint16
	var pending []netip.Prefix
	var ops [4]int // add, replace, delete, delete-missing
	s := s0
	for i := range nOps {
		var p netip.Prefix
		var op string
		switch x := rng.IntN(100); {
		case x < 40: // add (a replace if it happens to exist)
			bits := randomBits6(rng)
			a := random6(rng)
			if rng.IntN(10) < 7 { // inside an existing route, to nest
				a = hostIn6(rng, live.list[rng.IntN(len(live.list))])
			}
			p, _ = netip.AddrFrom16(a).Prefix(bits)
			nh := uint16(1 + rng.IntN(MaxNextHop))
			if err := tab.Add(p, nh); err != nil {
				t.Fatalf("add %v: %v", p, err)
			}
			r.Insert(p, nh)
			live.add(p)
			op = "add"
			ops[0]++
		case x < 60: // replace
			p = live.list[rng.IntN(len(live.list))]
			nh := uint16(1 + rng.IntN(MaxNextHop))
			if err := tab.Add(p, nh); err != nil {
				t.Fatalf("replace %v: %v", p, err)
			}
			r.Insert(p, nh)
			op = "replace"
			ops[1]++
		case x < 98: // delete
			p = live.list[rng.IntN(len(live.list))]
			if err := tab.Delete(p); err != nil {
				t.Fatalf("delete %v: %v", p, err)
			}
			r.Delete(p)
			live.remove(p)
			op = "delete"
			ops[2]++
		default: // delete of a missing route must fail and change nothing
			p, _ = netip.AddrFrom16(random6(rng)).Prefix(randomBits6(rng))
			if _, ok := r.Get(p); ok {
				continue
			}
			if err := tab.Delete(p); err == nil {
				t.Fatalf("delete of missing %v succeeded", p)
			}
			op = "delete-missing"
			ops[3]++
		}
		want, wantOK := r.Get(p)
		if got, ok := tab.Get(p); ok != wantOK || got != want {
			t.Fatalf("after %s %v: Get = %d, %v, want %d, %v", op, p, got, ok, want, wantOK)
		}
		pending = append(pending, p)
		if rng.IntN(3) == 0 && i != nOps-1 {
			continue // let a few changes pile up before the next snapshot
		}
		s = tab.Snapshot()
		for _, q := range pending {
			checkAround6(t, rng, s, r, q, op)
		}
		pending = pending[:0]
		if s.Routes() != r.Size() {
			t.Fatalf("op %d: Routes = %d, want %d", i, s.Routes(), r.Size())
		}
		if (i+1)%(nOps/5) == 0 {
			check6(t, "periodic re-check", s, r, sub)
			if sMid == nil {
				sMid = s
				ansMid = make([]uint16, len(sub))
				sMid.LookupBatch(sub, ansMid)
			}
		}
	}
	t.Logf("%d adds, %d replaces, %d deletes, %d deletes of missing routes; %d routes, %d nodes, %d compactions",
		ops[0], ops[1], ops[2], ops[3], tab.Len(), s.Nodes(), tab.compactions)
	check6(t, "after updates", s, r, dst)

	// Snapshots taken earlier still answer exactly as they did.
	for i, a := range dst {
		if got := s0.Lookup(a); got != ans0[i] {
			t.Fatalf("first snapshot changed: lookup %v = %d, was %d", netip.AddrFrom16(a), got, ans0[i])
		}
	}
	for i, a := range sub {
		if got := sMid.Lookup(a); got != ansMid[i] {
			t.Fatalf("mid snapshot changed: lookup %v = %d, was %d", netip.AddrFrom16(a), got, ansMid[i])
		}
	}
	if s0.Routes() != fullV6 {
		t.Fatalf("first snapshot Routes = %d, want %d", s0.Routes(), fullV6)
	}

	// Delete every route: every node comes back, and nothing is routed.
	used := len(tab.nodes)
	for _, p := range append([]netip.Prefix(nil), live.list...) {
		if err := tab.Delete(p); err != nil {
			t.Fatal(err)
		}
	}
	s = tab.Snapshot()
	if tab.Len() != 0 || tab.Nodes() != 0 || s.Nodes() != 0 || len(tab.free) != used {
		t.Fatalf("after deleting every route: %d routes, %d nodes in use, %d free of %d", tab.Len(), tab.Nodes(), len(tab.free), used)
	}
	for g, n := range tab.nodes {
		if n != nil {
			t.Fatalf("node %d still in use", g)
		}
	}
	for c, chunk := range s.root {
		for i, e := range chunk {
			if e != 0 {
				t.Fatalf("root entry %d = %#x after deleting every route", c<<8|i, e)
			}
		}
	}
	if s.live != 0 || s.LiveBytes() > 256*1024 {
		t.Fatalf("after deleting every route: %d live words, LiveBytes %d", s.live, s.LiveBytes())
	}
	if tab.compactions == 0 {
		t.Error("the churn never compacted the node array")
	}
	// A new long route reuses recycled nodes instead of growing the table.
	mustAdd6(t, tab, "2001:db8::1/128", 7)
	if tab.Nodes() != 14 || len(tab.nodes) != used {
		t.Fatalf("after re-adding: %d nodes in use, %d slots, want 14, %d", tab.Nodes(), len(tab.nodes), used)
	}
	expect6(t, tab, "re-added /128", map[string]uint16{"2001:db8::1": 7, "2001:db8::": 0})
}

// TestConcurrentReaders6 runs workers reading published snapshots while the
// control goroutine updates the table (meaningful under -race): every
// snapshot must keep answering what it answered when published.
func TestConcurrentReaders6(t *testing.T) {
	var cur atomic.Pointer[Snapshot6]
	tab := NewTable6()
	mustAdd6(t, tab, "2001:db8::/32", 1)
	cur.Store(tab.Snapshot())
	probe := [][16]byte{a16("2001:db8::1"), a16("2001:db8:1:2::3"), a16("2001:db8:1:2:ffff::"), a16("2001:db8:1:3::1"), a16("2001:db9::")}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]uint16, len(probe))
			for !stop.Load() {
				s := cur.Load()
				s.LookupBatch(probe, out)
				for i, a := range probe {
					if s.Lookup(a) != out[i] {
						t.Errorf("snapshot changed under a reader at %v", netip.AddrFrom16(a))
						return
					}
				}
			}
		}()
	}
	for i := range 2000 {
		a := a16("2001:db8:1:2::")
		a[8] = byte(i)
		p, _ := netip.AddrFrom16(a).Prefix(64 + i%65)
		if i%3 == 2 {
			tab.Delete(p) // may be missing
		} else {
			mustAdd6(t, tab, p.String(), uint16(1+i%MaxNextHop))
		}
		// A sibling of the churned block, so that replacing it does not
		// repaint every node of the block (slow under -race).
		mustAdd6(t, tab, "2001:db8:1:3::/64", uint16(1+i%7))
		cur.Store(tab.Snapshot())
	}
	stop.Store(true)
	wg.Wait()
}
