package fib

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// liveSet is the set of routes in the model, with O(1) random pick.
type liveSet struct {
	list []netip.Prefix
	idx  map[netip.Prefix]int
}

func (s *liveSet) add(p netip.Prefix) {
	if _, ok := s.idx[p]; ok {
		return
	}
	s.idx[p] = len(s.list)
	s.list = append(s.list, p)
}

func (s *liveSet) remove(p netip.Prefix) {
	i, ok := s.idx[p]
	if !ok {
		return
	}
	last := s.list[len(s.list)-1]
	s.list[i] = last
	s.idx[last] = i
	s.list = s.list[:len(s.list)-1]
	delete(s.idx, p)
}

// checkAll compares s with the reference on every address of dst, through
// both Lookup and LookupBatch.
func checkAll(t *testing.T, what string, s *Snapshot, r *ref, dst []uint32) {
	t.Helper()
	out := make([]uint16, 256)
	bad := 0
	for i := 0; i < len(dst); i += 256 {
		batch := dst[i:min(i+256, len(dst))]
		s.LookupBatch(batch, out)
		for j, a := range batch {
			want := r.lookup(a)
			if got := s.Lookup(a); got != want || out[j] != want {
				if bad++; bad <= 10 {
					t.Errorf("%s: lookup %v = %d, batch %d, want %d", what, addrOf(a), got, out[j], want)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d lookups wrong", what, bad, len(dst))
	}
}

// checkAround compares s with the reference at the edges of p, just outside
// them, and at random addresses inside p.
func checkAround(t *testing.T, rng *rand.Rand, s *Snapshot, r *ref, p netip.Prefix, op string) {
	t.Helper()
	first := u32(p.Addr())
	last := first | ^mask(p.Bits())
	as := []uint32{first, last, first - 1, last + 1}
	for range 8 {
		as = append(as, hostIn(rng, p))
	}
	for _, a := range as {
		if got, want := s.Lookup(a), r.lookup(a); got != want {
			t.Fatalf("after %s %v: lookup %v = %d, want %d", op, p, addrOf(a), got, want)
		}
	}
}

// groupsWanted is the number of distinct /24s that hold a route longer than /24.
func groupsWanted(r *ref) int {
	m := map[uint32]bool{}
	for l := 25; l <= 32; l++ {
		for a := range r[l] {
			m[a>>8] = true
		}
	}
	return len(m)
}

// randomBits picks a prefix length for a random update: mostly /8–/24, often
// /25–/32, rarely shorter than /8 or /0 (those repaint much of the table).
func randomBits(rng *rand.Rand) int {
	switch x := rng.IntN(1000); {
	case x < 2:
		return 0
	case x < 12:
		return 1 + rng.IntN(7)
	case x < 350:
		return 25 + rng.IntN(8)
	default:
		return 8 + rng.IntN(17)
	}
}

func TestDifferentialFullTable(t *testing.T) {
	v4 := fullTable(t)
	if len(v4) != fullV4 || full.v6 != fullV6 {
		t.Fatalf("full table: %d IPv4 + %d IPv6 prefixes, want %d + %d", len(v4), full.v6, fullV4, fullV6)
	}
	start := time.Now()
	tab, err := LoadIPv4(v4, nextHops)
	if err != nil {
		t.Fatal(err)
	}
	s0 := tab.Snapshot()
	t.Logf("loaded %d IPv4 prefixes in %v; snapshot %.1f MiB, %d tbl8 groups",
		tab.Len(), time.Since(start).Round(time.Millisecond), float64(s0.Bytes())/(1<<20), s0.Groups())

	r := newRef()
	live := &liveSet{idx: make(map[netip.Prefix]int, len(v4))}
	for _, p := range v4 {
		r[p.Bits()][u32(p.Addr())] = NextHopOf(p, nextHops)
		live.add(p)
	}
	if tab.Len() != r.len() || s0.Routes() != r.len() {
		t.Fatalf("Len %d, Routes %d, want %d", tab.Len(), s0.Routes(), r.len())
	}
	counts := tab.Counts()
	for l := range counts {
		if counts[l] != len(r[l]) {
			t.Errorf("Counts[%d] = %d, want %d", l, counts[l], len(r[l]))
		}
	}
	if g := groupsWanted(r); s0.Groups() != g {
		t.Errorf("groups = %d, want %d", s0.Groups(), g)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	nDrawn, nUniform, nOps := 1<<20, 1<<18, 30000
	if testing.Short() {
		nDrawn, nUniform, nOps = 1<<17, 1<<15, 4000
	}
	dst := destinations(rng, v4, nDrawn)
	for range nUniform {
		dst = append(dst, rng.Uint32())
	}
	checkAll(t, "full table", s0, r, dst)
	ans0 := make([]uint16, len(dst))
	s0.LookupBatch(dst, ans0)
	sub := dst[:len(dst)/8]

	var sMid *Snapshot
	var ansMid []uint16
	var pending []netip.Prefix
	var ops [4]int // add, replace, delete, delete-missing
	s := s0
	for i := range nOps {
		var p netip.Prefix
		var op string
		switch x := rng.IntN(100); {
		case x < 40: // add (a replace if it happens to exist)
			bits := randomBits(rng)
			a := rng.Uint32()
			if rng.IntN(10) < 7 { // inside an existing route, to nest
				a = hostIn(rng, live.list[rng.IntN(len(live.list))])
			}
			p = pfx(a, bits)
			nh := uint16(1 + rng.IntN(MaxNextHop))
			if err := tab.Add(p, nh); err != nil {
				t.Fatalf("add %v: %v", p, err)
			}
			r[bits][u32(p.Addr())] = nh
			live.add(p)
			op = "add"
			ops[0]++
		case x < 60: // replace
			p = live.list[rng.IntN(len(live.list))]
			nh := uint16(1 + rng.IntN(MaxNextHop))
			if err := tab.Add(p, nh); err != nil {
				t.Fatalf("replace %v: %v", p, err)
			}
			r[p.Bits()][u32(p.Addr())] = nh
			op = "replace"
			ops[1]++
		case x < 98: // delete
			p = live.list[rng.IntN(len(live.list))]
			if err := tab.Delete(p); err != nil {
				t.Fatalf("delete %v: %v", p, err)
			}
			delete(r[p.Bits()], u32(p.Addr()))
			live.remove(p)
			op = "delete"
			ops[2]++
		default: // delete of a missing route must fail and change nothing
			p = pfx(rng.Uint32(), 25+rng.IntN(8))
			if _, ok := r[p.Bits()][u32(p.Addr())]; ok {
				continue
			}
			if err := tab.Delete(p); err == nil {
				t.Fatalf("delete of missing %v succeeded", p)
			}
			op = "delete-missing"
			ops[3]++
		}
		if got, ok := tab.Get(p); op != "delete-missing" && ok != (op != "delete") || ok && got != r[p.Bits()][u32(p.Addr())] {
			t.Fatalf("after %s %v: Get = %d, %v", op, p, got, ok)
		}
		pending = append(pending, p)
		if rng.IntN(3) == 0 && i != nOps-1 {
			continue // let a few changes pile up before the next snapshot
		}
		s = tab.Snapshot()
		for _, q := range pending {
			checkAround(t, rng, s, r, q, op)
		}
		pending = pending[:0]
		if s.Routes() != r.len() {
			t.Fatalf("op %d: Routes = %d, want %d", i, s.Routes(), r.len())
		}
		if (i+1)%(nOps/5) == 0 {
			checkAll(t, "periodic re-check", s, r, sub)
			if g := groupsWanted(r); s.Groups() != g {
				t.Fatalf("op %d: groups = %d, want %d", i, s.Groups(), g)
			}
			if sMid == nil {
				sMid = s
				ansMid = make([]uint16, len(sub))
				sMid.LookupBatch(sub, ansMid)
			}
		}
	}
	t.Logf("%d adds, %d replaces, %d deletes, %d deletes of missing routes; %d routes, %d groups",
		ops[0], ops[1], ops[2], ops[3], tab.Len(), s.Groups())
	checkAll(t, "after updates", s, r, dst)

	// Snapshots taken earlier still answer exactly as they did.
	for i, a := range dst {
		if got := s0.Lookup(a); got != ans0[i] {
			t.Fatalf("first snapshot changed: lookup %v = %d, was %d", addrOf(a), got, ans0[i])
		}
	}
	for i, a := range sub {
		if got := sMid.Lookup(a); got != ansMid[i] {
			t.Fatalf("mid snapshot changed: lookup %v = %d, was %d", addrOf(a), got, ansMid[i])
		}
	}
	if s0.Routes() != fullV4 {
		t.Fatalf("first snapshot Routes = %d, want %d", s0.Routes(), fullV4)
	}

	// Delete every route longer than /24: every tbl8 group comes back.
	used := len(tab.tbl8)
	for l := 25; l <= 32; l++ {
		for a := range r[l] {
			p := pfx(a, l)
			if err := tab.Delete(p); err != nil {
				t.Fatal(err)
			}
			delete(r[l], a)
			checkAround(t, rng, tab.Snapshot(), r, p, "delete")
		}
	}
	s = tab.Snapshot()
	if tab.Groups() != 0 || s.Groups() != 0 || len(tab.free) != used {
		t.Fatalf("after deleting all long routes: %d groups in use, %d free of %d", tab.Groups(), len(tab.free), used)
	}
	for g, p := range s.tbl8 {
		if p != nil {
			t.Fatalf("group %d still referenced", g)
		}
	}
	checkAll(t, "without long routes", s, r, sub)
	// A new long route reuses a recycled group instead of growing tbl8.
	p := netip.MustParsePrefix("192.0.2.1/32")
	if err := tab.Add(p, 7); err != nil {
		t.Fatal(err)
	}
	r[32][u32(p.Addr())] = 7
	if tab.Groups() != 1 || len(tab.tbl8) != used {
		t.Fatalf("after re-adding: %d groups in use, tbl8 len %d, want 1, %d", tab.Groups(), len(tab.tbl8), used)
	}
	checkAround(t, rng, tab.Snapshot(), r, p, "add")
}
