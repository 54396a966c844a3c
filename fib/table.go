package fib

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/softnet/softnet/internal/hugepage"
)

// Table is the control plane's mutable view of the IPv4 routes. It is not safe
// for concurrent use: one control goroutine owns it. Workers read the
// immutable snapshots it publishes through Snapshot.
//
// Besides the lookup arrays it keeps, on the control side only, the depth of
// the route behind every entry (prefix length + 1; 0 = no route) and the
// routes of each prefix length, as DPDK rte_lpm does: a new route overwrites
// only the entries whose depth is not greater than its own, and a deleted
// route hands its entries to the longest route that covers it.
type Table struct {
	tbl24    [chunkCount]*chunk
	tbl8     []*group
	depth24  []uint8      // 1<<24 entries; meaningful only where tbl24 holds no group
	depth8   [][256]uint8 // per group
	free     []uint16     // recycled group indices
	groups   int          // groups in use
	routes   [33]map[uint32]uint16
	nroutes  int
	chunkGen [chunkCount]uint64 // chunk c is owned (writable) iff chunkGen[c] == gen
	groupGen []uint64           // likewise per group
	tbl8Gen  uint64             // likewise the tbl8 slice itself
	gen      uint64             // bumped whenever a snapshot is published
	snap     *Snapshot          // last published snapshot; nil when stale

	// arena holds the first private copy of every chunk once the table
	// has written more than arenaAfter distinct chunks: one 32 MiB array
	// on huge pages (see internal/hugepage), so a full table's random
	// lookups do not also miss the TLB. It lives as long as the process
	// (a router has one table). Copies made after a chunk's arena slot was
	// published are ordinary allocations.
	arena     []chunk
	arenaUsed [chunkCount]bool
	written   int
}

// arenaAfter is the number of chunks a table writes before it moves to the
// arena: small tables (tests, labs) never pay for 32 MiB.
const arenaAfter = 8

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{depth24: make([]uint8, 1<<24), gen: 1}
	for i := range t.tbl24 {
		t.tbl24[i] = &zeroChunk
	}
	for i := range t.routes {
		t.routes[i] = make(map[uint32]uint16)
	}
	return t
}

func mask(bits int) uint32 {
	if bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// key validates p and returns its masked address and length.
func key(p netip.Prefix) (uint32, int, error) {
	if !p.IsValid() {
		return 0, 0, fmt.Errorf("fib: invalid prefix %v: want an IPv4 prefix such as 192.0.2.0/24", p)
	}
	if !p.Addr().Is4() {
		return 0, 0, fmt.Errorf("fib: %v is not an IPv4 prefix: this table holds IPv4 routes only", p)
	}
	a := p.Addr().As4()
	bits := p.Bits()
	addr := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	return addr & mask(bits), bits, nil
}

// ErrNoGroup is returned by Add when all tbl8 groups are in use.
var ErrNoGroup = errors.New("fib: out of tbl8 groups: at most 32767 /24 blocks may hold prefixes longer than /24")

// Add adds the route p → nh, or replaces the next hop of p if present. p must
// be IPv4 and is masked; nh must be in 1..MaxNextHop.
func (t *Table) Add(p netip.Prefix, nh uint16) error {
	addr, bits, err := key(p)
	if err != nil {
		return err
	}
	if nh == 0 || nh > MaxNextHop {
		return fmt.Errorf("fib: add %v: next hop %d out of range: want 1..%d", p, nh, MaxNextHop)
	}
	depth := uint8(bits + 1)
	if bits <= 24 {
		t.paint24(addr>>8, 1<<(24-bits), 0, depth, nh, depth)
	} else {
		i := addr >> 8
		e := t.tbl24[i>>chunkBits][i&(chunkSize-1)]
		if e&extBit == 0 {
			g, err := t.allocGroup(e, t.depth24[i])
			if err != nil {
				return fmt.Errorf("fib: add %v: %w", p, err)
			}
			t.chunk(i >> chunkBits)[i&(chunkSize-1)] = extBit | g
			e = extBit | g
		}
		t.paint8(e&indexMask, addr&0xff, 1<<(32-bits), 0, depth, nh, depth)
	}
	if _, ok := t.routes[bits][addr]; !ok {
		t.nroutes++
	}
	t.routes[bits][addr] = nh
	t.snap = nil
	return nil
}

// Delete removes the route p. Addresses it covered fall back to the longest
// remaining route that covers p, if any.
func (t *Table) Delete(p netip.Prefix) error {
	addr, bits, err := key(p)
	if err != nil {
		return err
	}
	if _, ok := t.routes[bits][addr]; !ok {
		return fmt.Errorf("fib: delete %v: no such route", p.Masked())
	}
	delete(t.routes[bits], addr)
	t.nroutes--
	t.snap = nil

	// The covering route inherits the entries.
	var cnh uint16
	var cdepth uint8
	for l := bits - 1; l >= 0; l-- {
		if nh, ok := t.routes[l][addr&mask(l)]; ok {
			cnh, cdepth = nh, uint8(l+1)
			break
		}
	}
	depth := uint8(bits + 1)
	if bits <= 24 {
		t.paint24(addr>>8, 1<<(24-bits), depth, depth, cnh, cdepth)
		return nil
	}
	i := addr >> 8
	g := t.tbl24[i>>chunkBits][i&(chunkSize-1)] & indexMask
	t.paint8(g, addr&0xff, 1<<(32-bits), depth, depth, cnh, cdepth)

	// Recycle the group once no prefix longer than /24 remains in it: then
	// every entry holds the same ≤/24 route (or none).
	d := &t.depth8[g]
	for _, x := range d {
		if x > 25 {
			return nil
		}
	}
	t.chunk(i >> chunkBits)[i&(chunkSize-1)] = t.tbl8[g][0]
	t.depth24[i] = d[0]
	t.freeGroup(g)
	return nil
}

// Get returns the next hop of exactly p.
func (t *Table) Get(p netip.Prefix) (nh uint16, ok bool) {
	addr, bits, err := key(p)
	if err != nil {
		return 0, false
	}
	nh, ok = t.routes[bits][addr]
	return nh, ok
}

// Len returns the number of routes.
func (t *Table) Len() int { return t.nroutes }

// Counts returns the number of routes of each prefix length.
func (t *Table) Counts() [33]int {
	var c [33]int
	for i, m := range t.routes {
		c[i] = len(m)
	}
	return c
}

// Groups returns the number of tbl8 groups in use.
func (t *Table) Groups() int { return t.groups }

// Snapshot publishes the current state as an immutable Snapshot. It returns
// the previous snapshot if nothing changed since; otherwise it costs one 2 KiB
// allocation, and the next changes copy the chunks and groups they touch.
func (t *Table) Snapshot() *Snapshot {
	if t.snap == nil {
		t.snap = &Snapshot{tbl24: t.tbl24, tbl8: t.tbl8, routes: t.nroutes, groups: t.groups}
		t.gen++ // everything is now shared with t.snap: copy before writing
	}
	return t.snap
}

// chunk returns tbl24 chunk c ready for writing, copying it first if a
// published snapshot may hold it.
func (t *Table) chunk(c uint32) *chunk {
	if t.chunkGen[c] != t.gen {
		var n *chunk
		if t.arena == nil && t.written >= arenaAfter {
			t.arena = hugepage.Alloc[chunk](chunkCount)
		}
		if t.arena != nil && !t.arenaUsed[c] {
			n, t.arenaUsed[c] = &t.arena[c], true
		} else {
			n = new(chunk)
		}
		t.written++
		*n = *t.tbl24[c]
		t.tbl24[c] = n
		t.chunkGen[c] = t.gen
	}
	return t.tbl24[c]
}

// ownTBL8 makes the tbl8 pointer slice writable.
func (t *Table) ownTBL8() {
	if t.tbl8Gen != t.gen {
		n := make([]*group, len(t.tbl8), len(t.tbl8)+len(t.tbl8)/4+16)
		copy(n, t.tbl8)
		t.tbl8 = n
		t.tbl8Gen = t.gen
	}
}

// group returns tbl8 group g ready for writing, copying it first if a
// published snapshot may hold it.
func (t *Table) group(g uint16) *group {
	if t.groupGen[g] != t.gen {
		t.ownTBL8()
		n := new(group)
		*n = *t.tbl8[g]
		t.tbl8[g] = n
		t.groupGen[g] = t.gen
	}
	return t.tbl8[g]
}

// allocGroup takes a free group and fills it with nh at depth.
func (t *Table) allocGroup(nh uint16, depth uint8) (uint16, error) {
	var g uint16
	if n := len(t.free); n > 0 {
		g = t.free[n-1]
		t.free = t.free[:n-1]
	} else if len(t.tbl8) < MaxGroups {
		t.ownTBL8()
		g = uint16(len(t.tbl8))
		t.tbl8 = append(t.tbl8, nil)
		t.depth8 = append(t.depth8, [256]uint8{})
		t.groupGen = append(t.groupGen, 0)
	} else {
		return 0, ErrNoGroup
	}
	t.ownTBL8()
	n := new(group) // a fresh array: the recycled one may still be in a snapshot
	for j := range n {
		n[j] = nh
	}
	t.tbl8[g] = n
	t.groupGen[g] = t.gen
	d := &t.depth8[g]
	for j := range d {
		d[j] = depth
	}
	t.groups++
	return g, nil
}

func (t *Table) freeGroup(g uint16) {
	t.ownTBL8()
	t.tbl8[g] = nil
	t.free = append(t.free, g)
	t.groups--
}

// paint24 sets to (nh, depth) every entry of tbl24[start:start+n], and of the
// groups those entries point to, whose depth lies in [lo, hi]. Add paints with
// [0, its depth]; Delete with [its depth, its depth].
func (t *Table) paint24(start, n uint32, lo, hi uint8, nh uint16, depth uint8) {
	end := start + n
	for i := start; i < end; {
		c := i >> chunkBits
		segEnd := min(end, (c+1)<<chunkBits)
		src := t.tbl24[c]
		written := false
		for ; i < segEnd; i++ {
			e := src[i&(chunkSize-1)]
			if e&extBit != 0 {
				t.paint8(e&indexMask, 0, 256, lo, hi, nh, depth)
				continue
			}
			d := t.depth24[i]
			if d < lo || d > hi {
				continue
			}
			t.depth24[i] = depth
			if e != nh {
				if !written {
					src = t.chunk(c)
					written = true
				}
				src[i&(chunkSize-1)] = nh
			}
		}
	}
}

// paint8 is paint24 for entries start..start+n-1 of group g.
func (t *Table) paint8(g uint16, start, n uint32, lo, hi uint8, nh uint16, depth uint8) {
	src := t.tbl8[g]
	d := &t.depth8[g]
	written := false
	for j := start; j < start+n && j < 256; j++ {
		if d[j] < lo || d[j] > hi {
			continue
		}
		d[j] = depth
		if src[j] != nh {
			if !written {
				src = t.group(g)
				written = true
			}
			src[j] = nh
		}
	}
}
