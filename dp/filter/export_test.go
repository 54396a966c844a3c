package filter

import "fmt"

// CheckTable checks the invariants of t that hold whatever packets came
// (FuzzFilter): its slots are a power of two, more than its limit; its
// count is its used slots and at most its limit; an unused slot is all
// zeros; every used slot is reachable from its key's home slot without
// an empty slot in between (else a lookup stops short of it); no key is
// in two slots; every state's key is normalised and its lookup, from
// either direction of the flow, finds that slot.
func CheckTable(t *Table) error {
	ns := len(t.entries)
	if ns&(ns-1) != 0 || ns <= t.limit || t.mask != uint64(ns-1) {
		return fmt.Errorf("%d slots (mask %#x) for limit %d: not a power of two above the limit", ns, t.mask, t.limit)
	}
	if t.n < 0 || t.n > t.limit {
		return fmt.Errorf("count %d outside 0..limit %d", t.n, t.limit)
	}
	used := 0
	keys := map[Key]int{}
	for j := range t.entries {
		s := &t.entries[j]
		if !s.used {
			if *s != (State{}) {
				return fmt.Errorf("slot %d: unused but not zeroed (%+v)", j, *s)
			}
			continue
		}
		used++
		if o, dup := keys[s.K]; dup {
			return fmt.Errorf("key %+v in slots %d and %d", s.K, o, j)
		}
		keys[s.K] = j
		for x := s.K.hash() & t.mask; x != uint64(j); x = (x + 1) & t.mask {
			if !t.entries[x].used {
				return fmt.Errorf("slot %d (%+v): empty slot %d between it and its home %d", j, s.K, x, s.K.hash()&t.mask)
			}
		}
	}
	if used != t.n {
		return fmt.Errorf("count %d, used slots %d", t.n, used)
	}
	for j := range t.entries {
		s := &t.entries[j]
		if !s.used {
			continue
		}
		k := s.K
		f := Flow{Fam: k.Fam, Proto: k.Proto, Src: k.A, SPort: k.PA, Dst: k.B, DPort: k.PB}
		for dir := range 2 {
			if dir == 1 {
				f.Src, f.Dst, f.SPort, f.DPort = f.Dst, f.Src, f.DPort, f.SPort
			}
			var k2 Key
			f.key(&k2)
			if k2 != k {
				return fmt.Errorf("slot %d: key %+v, from direction %d %+v", j, k, dir, k2)
			}
			if x, ok := t.locate(&k2, k2.hash()); !ok || x != uint64(j) {
				return fmt.Errorf("slot %d (%+v): not found from direction %d", j, k, dir)
			}
		}
	}
	return nil
}

// FrameKeys is the key of the IP packet ip (its L3 bytes) as the filter
// makes it and, for an ICMP error whose quote is readable, the key of
// the flow it quotes (hasQ). ok false: no key (cut short).
func FrameKeys(ip []byte) (k, q Key, hasQ, ok bool) {
	var f, qf Flow
	l4 := parse(ip, &f)
	if f.Short || f.Fam == 0 {
		return k, q, false, false
	}
	f.key(&k)
	if f.ICMPErr && quoted(ip, l4, &qf) {
		qf.key(&q)
		hasQ = true
	}
	return k, q, hasQ, true
}

// Holds reports whether t has a state for k alive at now, without
// removing an expired one.
func Holds(t *Table, k *Key, now int64) bool { return t.peek(k, now) != nil }
