package filter

import "fmt"

// CheckTable checks the invariants of t that hold whatever packets came
// (FuzzFilter): its count is its live entries and at most its limit; the
// free list holds exactly the other entries, once each; every index slot
// points to a live entry whose key's hash gives the slot's signature,
// every live entry is indexed exactly once, and each bucket's over count
// is the number of states that passed it; every live state's key is
// normalised and its lookup, from either direction of the flow, finds
// that entry.
func CheckTable(t *Table) error {
	if t.n < 0 || t.n > t.limit {
		return fmt.Errorf("count %d outside 0..limit %d", t.n, t.limit)
	}
	live := 0
	for e := range t.entries {
		if t.entries[e].used {
			live++
		}
	}
	if live != t.n {
		return fmt.Errorf("count %d, live entries %d", t.n, live)
	}
	if len(t.free)+t.n != t.limit {
		return fmt.Errorf("%d free and %d live entries, limit %d", len(t.free), t.n, t.limit)
	}
	onFree := make([]bool, t.limit)
	for _, e := range t.free {
		if int(e) >= t.limit || onFree[e] || t.entries[e].used {
			return fmt.Errorf("free list entry %d: out of range, twice or live", e)
		}
		onFree[e] = true
	}
	indexed := make([]int, t.limit)
	over := make([]uint32, len(t.buckets))
	for b := range t.buckets {
		bk := &t.buckets[b]
		for j, sig := range bk.sig {
			if sig == 0 {
				continue
			}
			e := bk.idx[j]
			if int(e) >= t.limit || !t.entries[e].used {
				return fmt.Errorf("bucket %d slot %d: entry %d not live", b, j, e)
			}
			indexed[e]++
			h := t.entries[e].K.hash()
			if sigOf(h) != sig {
				return fmt.Errorf("bucket %d slot %d: signature %#x, the key's %#x", b, j, sig, sigOf(h))
			}
			for x := h & t.bmask; x != uint64(b); x = (x + 1) & t.bmask {
				over[x]++
			}
		}
	}
	for b := range t.buckets {
		if over[b] != t.buckets[b].over {
			return fmt.Errorf("bucket %d: over %d, %d states passed it", b, t.buckets[b].over, over[b])
		}
	}
	for e := range t.entries {
		s := &t.entries[e]
		if !s.used {
			continue
		}
		if indexed[e] != 1 {
			return fmt.Errorf("state %d (%+v) indexed %d times", e, s.K, indexed[e])
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
				return fmt.Errorf("state %d: key %+v, from direction %d %+v", e, k, dir, k2)
			}
			b, j, ok := t.locate(&k2, k2.hash())
			if !ok || t.buckets[b].idx[j] != uint32(e) {
				return fmt.Errorf("state %d (%+v): not found from direction %d", e, k, dir)
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
