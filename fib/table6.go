package fib

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// Table6 is the control plane's mutable view of the IPv6 routes. It is not
// safe for concurrent use: one control goroutine owns it. Workers read the
// immutable snapshots it publishes through Snapshot.
//
// It is Table's algorithm over a deeper trie: a root of 65536 entries (one
// per /16) and nodes of 256 entries (one per 8 bits beyond), kept here
// uncompressed with the depth (prefix length + 1; 0 = no route) of the route
// behind every entry: a new route overwrites only the entries whose depth is
// not greater than its own, and a deleted route hands its entries to the
// longest route that covers it. Snapshot compresses the nodes that changed
// since the last snapshot (and their ancestors, whose entries point at them)
// into the published node array.
type Table6 struct {
	root      *[rootLen]uint32 // next hop, or ext6 | node index
	rootDepth *[rootLen]uint8  // meaningful only where root holds no node
	nodes     []*[256]uint32   // nil slots are free
	depth     []*[256]uint8    // per node
	parent    []uint32         // per node: parent node, or noParent under the root
	pslot     []uint32         // per node: its entry in the parent (or the root)
	level     []uint8          // per node: 0 for a /16 block, 1 for a /24, … 13 for a /120
	free      []uint32         // recycled node indices
	nnodes    int              // nodes in use
	routes    map[netip.Prefix]uint16
	counts    [129]int

	// What changed since the last snapshot.
	dirty     []bool // per node
	dirtyList []uint32
	rootDirty *[rootLen]bool
	rootList  []uint32

	// The published side: root chunks (copy-on-write, as Table's chunks)
	// and the append-only array of compressed nodes.
	proot       [256]*rootChunk
	chunkGen    [256]uint64 // chunk c is owned (writable) iff chunkGen[c] == gen
	flat        []uint32
	off         []uint32 // per node: its offset in flat, or noOff
	size        []uint32 // per node: its words in flat
	live        int      // words of flat that nodes in use occupy
	compactions int      // for tests
	gen         uint64   // bumped whenever a snapshot is published
	snap        *Snapshot6
}

const (
	rootLen  = 1 << 16
	noParent = ^uint32(0)
	noOff    = ^uint32(0)
	// maxNodes6 bounds the node indices (31 bits).
	maxNodes6 = index6
	// compactAfter is the size of flat below which Snapshot never
	// compacts it.
	compactAfter = 1 << 16
)

// ErrNoNode is returned by Table6.Add when no node index is left.
var ErrNoNode = errors.New("fib: out of IPv6 trie nodes: at most 2^31-1 blocks may hold longer prefixes")

// NewTable6 returns an empty IPv6 table.
func NewTable6() *Table6 {
	t := &Table6{
		root:      new([rootLen]uint32),
		rootDepth: new([rootLen]uint8),
		rootDirty: new([rootLen]bool),
		routes:    make(map[netip.Prefix]uint16),
		gen:       1,
	}
	for i := range t.proot {
		t.proot[i] = &zeroRootChunk
	}
	return t
}

// key6 validates p and returns it masked with its address bytes.
func key6(p netip.Prefix) (netip.Prefix, [16]byte, error) {
	if !p.IsValid() {
		return p, [16]byte{}, fmt.Errorf("fib: invalid prefix %v: want an IPv6 prefix such as 2001:db8::/32", p)
	}
	if !p.Addr().Is6() {
		return p, [16]byte{}, fmt.Errorf("fib: %v is not an IPv6 prefix: this table holds IPv6 routes only (IPv4 routes go in Table)", p)
	}
	p = p.Masked()
	return p, p.Addr().As16(), nil
}

// Add adds the route p → nh, or replaces the next hop of p if present. p must
// be IPv6 and is masked; nh must be in 1..MaxNextHop.
func (t *Table6) Add(p netip.Prefix, nh uint16) error {
	p, a, err := key6(p)
	if err != nil {
		return err
	}
	if nh == 0 || nh > MaxNextHop {
		return fmt.Errorf("fib: add %v: next hop %d out of range: want 1..%d", p, nh, MaxNextHop)
	}
	bits := p.Bits()
	depth := uint8(bits + 1)
	if bits <= 16 {
		t.paintRoot(uint32(a[0])<<8|uint32(a[1]), 1<<(16-bits), 0, depth, uint32(nh), depth)
	} else {
		// Walk down, making nodes where the path has none yet, to the
		// node whose 8 bits hold the end of p.
		i := uint32(a[0])<<8 | uint32(a[1])
		e := t.root[i]
		if e&ext6 == 0 {
			g, err := t.allocNode(e, t.rootDepth[i], noParent, i, 0)
			if err != nil {
				return fmt.Errorf("fib: add %v: %w", p, err)
			}
			t.root[i] = ext6 | g
			t.markRoot(i)
			e = ext6 | g
		}
		g := e & index6
		d := 16
		for ; bits > d+8; d += 8 {
			j := a[d/8]
			e := t.nodes[g][j]
			if e&ext6 == 0 {
				ng, err := t.allocNode(e, t.depth[g][j], g, uint32(j), uint8(d/8-1))
				if err != nil {
					return fmt.Errorf("fib: add %v: %w", p, err)
				}
				t.nodes[g][j] = ext6 | ng
				t.markNode(g)
				e = ext6 | ng
			}
			g = e & index6
		}
		t.paintNode(g, uint32(a[d/8]), 1<<(d+8-bits), 0, depth, uint32(nh), depth)
	}
	if _, ok := t.routes[p]; !ok {
		t.counts[bits]++
	}
	t.routes[p] = nh
	t.snap = nil
	return nil
}

// Delete removes the route p. Addresses it covered fall back to the longest
// remaining route that covers p, if any.
func (t *Table6) Delete(p netip.Prefix) error {
	p, a, err := key6(p)
	if err != nil {
		return err
	}
	if _, ok := t.routes[p]; !ok {
		return fmt.Errorf("fib: delete %v: no such route", p)
	}
	delete(t.routes, p)
	bits := p.Bits()
	t.counts[bits]--
	t.snap = nil

	// The covering route inherits the entries.
	var cnh uint32
	var cdepth uint8
	for l := bits - 1; l >= 0; l-- {
		if t.counts[l] == 0 {
			continue
		}
		q, _ := p.Addr().Prefix(l)
		if nh, ok := t.routes[q]; ok {
			cnh, cdepth = uint32(nh), uint8(l+1)
			break
		}
	}
	depth := uint8(bits + 1)
	if bits <= 16 {
		t.paintRoot(uint32(a[0])<<8|uint32(a[1]), 1<<(16-bits), depth, depth, cnh, cdepth)
		return nil
	}
	// The path from the root to the node that holds the end of p: the
	// route exists, so every node on it does.
	var path [15]uint32
	i := uint32(a[0])<<8 | uint32(a[1])
	g := t.root[i] & index6
	path[0] = g
	n := 1
	d := 16
	for ; bits > d+8; d += 8 {
		g = t.nodes[g][a[d/8]] & index6
		path[n] = g
		n++
	}
	t.paintNode(g, uint32(a[d/8]), 1<<(d+8-bits), depth, depth, cnh, cdepth)

	// Recycle, bottom up, every node on the path that no longer holds a
	// route longer than its block: all its entries then hold the route
	// its parent entry had.
	for k := n - 1; k >= 0; k-- {
		g := path[k]
		base := uint8(16 + 8*k) // the node is a /base block
		ents, ds := t.nodes[g], t.depth[g]
		for j, e := range ents {
			if e&ext6 != 0 || ds[j] > base+1 {
				return nil
			}
		}
		if k == 0 {
			t.root[i] = ents[0]
			t.rootDepth[i] = ds[0]
			t.markRoot(i)
		} else {
			pg, j := path[k-1], a[base/8-1]
			t.nodes[pg][j] = ents[0]
			t.depth[pg][j] = ds[0]
			t.markNode(pg)
		}
		t.freeNode(g)
	}
	return nil
}

// Get returns the next hop of exactly p.
func (t *Table6) Get(p netip.Prefix) (nh uint16, ok bool) {
	p, _, err := key6(p)
	if err != nil {
		return 0, false
	}
	nh, ok = t.routes[p]
	return nh, ok
}

// Len returns the number of routes.
func (t *Table6) Len() int { return len(t.routes) }

// Counts returns the number of routes of each prefix length.
func (t *Table6) Counts() [129]int { return t.counts }

// Nodes returns the number of trie nodes in use.
func (t *Table6) Nodes() int { return t.nnodes }

// Snapshot publishes the current state as an immutable Snapshot6. It returns
// the previous snapshot if nothing changed since. Otherwise it appends to the
// node array a compressed copy of every node changed since the last snapshot
// and of its ancestors (their entries point at the new copies), copies the
// root chunks whose entries changed, and allocates one 2 KiB Snapshot6. When
// the replaced copies outweigh the live ones it compacts: it writes every
// node into a new array (about as long as loading the table).
func (t *Table6) Snapshot() *Snapshot6 {
	if t.snap != nil {
		return t.snap
	}
	if len(t.flat) > compactAfter && len(t.flat)-t.live > t.live {
		t.compact()
	} else {
		// The ancestors of changed nodes change too: their entries
		// hold the offsets of the new copies.
		for k := 0; k < len(t.dirtyList); k++ {
			g := t.dirtyList[k]
			if t.nodes[g] == nil {
				continue
			}
			if p := t.parent[g]; p == noParent {
				t.markRoot(t.pslot[g])
			} else {
				t.markNode(p)
			}
		}
		// Children first, so that a parent is written with the new
		// offsets of its children.
		var byLevel [14][]uint32
		for _, g := range t.dirtyList {
			if t.nodes[g] != nil {
				byLevel[t.level[g]] = append(byLevel[t.level[g]], g)
			}
		}
		for l := len(byLevel) - 1; l >= 0; l-- {
			for _, g := range byLevel[l] {
				t.emit(g)
			}
		}
		for _, i := range t.rootList {
			t.publishRoot(i)
		}
	}
	for _, g := range t.dirtyList {
		t.dirty[g] = false
	}
	for _, i := range t.rootList {
		t.rootDirty[i] = false
	}
	t.dirtyList, t.rootList = t.dirtyList[:0], t.rootList[:0]
	t.snap = &Snapshot6{root: t.proot, nodes: t.flat, routes: len(t.routes), nnodes: t.nnodes, live: t.live}
	t.gen++ // the root chunks are now shared with t.snap: copy before writing
	return t.snap
}

// compact writes every node in use into a new node array and republishes
// the root. Snapshots already published keep the old array.
func (t *Table6) compact() {
	t.compactions++
	t.flat = make([]uint32, 0, t.live+t.live/4+cnodeEntries)
	t.live = 0
	var byLevel [14][]uint32
	for g, n := range t.nodes {
		t.off[g] = noOff
		if n != nil {
			byLevel[t.level[g]] = append(byLevel[t.level[g]], uint32(g))
		}
	}
	for l := len(byLevel) - 1; l >= 0; l-- {
		for _, g := range byLevel[l] {
			t.emit(g)
		}
	}
	for i := range uint32(rootLen) {
		t.publishRoot(i)
	}
}

// emit appends node g to the node array, node indices replaced by the
// children's offsets: as is for a /16 node, else compressed (a bitmap of
// where runs of equal entries start, the offset of the entries of each
// bitmap word, and one entry per run: see snapshot6.go).
func (t *Table6) emit(g uint32) {
	if t.off[g] != noOff {
		t.live -= int(t.size[g])
	}
	start := len(t.flat)
	if t.level[g] == 0 { // a /16 node: uncompressed (see snapshot6.go)
		for _, e := range t.nodes[g] {
			if e&ext6 != 0 {
				e = ext6 | t.off[e&index6]
			}
			t.flat = append(t.flat, e)
		}
		t.off[g] = uint32(start)
		t.size[g] = 256
		t.live += 256
		return
	}
	t.flat = append(t.flat, make([]uint32, cnodeEntries)...)
	var bm [4]uint64
	var prev uint32
	for j, e := range t.nodes[g] {
		if e&ext6 != 0 {
			e = ext6 | t.off[e&index6]
		}
		if j == 0 || e != prev {
			bm[j>>6] |= 1 << (j & 63)
			t.flat = append(t.flat, e)
			prev = e
		}
	}
	// Group w's offset: the entry before the first run that starts in
	// it (bit 0 is always set, so group 0's is never read itself).
	h := t.flat[start : start+cnodeEntries]
	c := uint32(start + cnodeEntries - 1)
	for w, x := range bm {
		h[w*cnodeGroup] = uint32(x)
		h[w*cnodeGroup+1] = uint32(x >> 32)
		h[w*cnodeGroup+2] = c
		c += uint32(bits.OnesCount64(x))
	}
	if len(t.flat) > index6 {
		panic("fib: IPv6 node array beyond 2^31 words")
	}
	t.off[g] = uint32(start)
	t.size[g] = uint32(len(t.flat) - start)
	t.live += int(t.size[g])
}

// publishRoot copies root entry i into the published root, with a node's
// offset for its index.
func (t *Table6) publishRoot(i uint32) {
	e := t.root[i]
	if e&ext6 != 0 {
		e = ext6 | t.off[e&index6]
	}
	c := i >> 8
	if t.proot[c][i&0xff] == e {
		return
	}
	if t.chunkGen[c] != t.gen {
		n := new(rootChunk)
		*n = *t.proot[c]
		t.proot[c] = n
		t.chunkGen[c] = t.gen
	}
	t.proot[c][i&0xff] = e
}

// markNode records that node g changed since the last snapshot.
func (t *Table6) markNode(g uint32) {
	if !t.dirty[g] {
		t.dirty[g] = true
		t.dirtyList = append(t.dirtyList, g)
	}
}

// markRoot records that root entry i changed since the last snapshot.
func (t *Table6) markRoot(i uint32) {
	if !t.rootDirty[i] {
		t.rootDirty[i] = true
		t.rootList = append(t.rootList, i)
	}
}

// allocNode takes a free node and fills it with e (a next hop) at depth. The
// node is entry slot of node parent (or of the root) and covers a block of
// /(16+8*level).
func (t *Table6) allocNode(e uint32, depth uint8, parent, slot uint32, level uint8) (uint32, error) {
	var g uint32
	if n := len(t.free); n > 0 {
		g = t.free[n-1]
		t.free = t.free[:n-1]
	} else if len(t.nodes) < maxNodes6 {
		g = uint32(len(t.nodes))
		t.nodes = append(t.nodes, nil)
		t.depth = append(t.depth, new([256]uint8))
		t.parent = append(t.parent, 0)
		t.pslot = append(t.pslot, 0)
		t.level = append(t.level, 0)
		t.off = append(t.off, noOff)
		t.size = append(t.size, 0)
		t.dirty = append(t.dirty, false)
	} else {
		return 0, ErrNoNode
	}
	n := new([256]uint32)
	ds := t.depth[g]
	for j := range n {
		n[j] = e
		ds[j] = depth
	}
	t.nodes[g] = n
	t.parent[g], t.pslot[g], t.level[g] = parent, slot, level
	t.markNode(g)
	t.nnodes++
	return g, nil
}

func (t *Table6) freeNode(g uint32) {
	if t.off[g] != noOff {
		t.live -= int(t.size[g])
		t.off[g] = noOff
	}
	t.nodes[g] = nil
	t.free = append(t.free, g)
	t.nnodes--
}

// paintRoot sets to (nh, depth) every root entry in [start, start+n), and
// every entry of the nodes below them, whose depth lies in [lo, hi]. Add
// paints with [0, its depth]; Delete with [its depth, its depth].
func (t *Table6) paintRoot(start, n uint32, lo, hi uint8, nh uint32, depth uint8) {
	r := t.root
	for i := start; i < start+n; i++ {
		e := r[i]
		if e&ext6 != 0 {
			t.paintNode(e&index6, 0, 256, lo, hi, nh, depth)
			continue
		}
		if d := t.rootDepth[i]; d < lo || d > hi {
			continue
		}
		t.rootDepth[i] = depth
		if e != nh {
			r[i] = nh
			t.markRoot(i)
		}
	}
}

// paintNode is paintRoot for entries start..start+n-1 of node g.
func (t *Table6) paintNode(g, start, n uint32, lo, hi uint8, nh uint32, depth uint8) {
	src := t.nodes[g]
	ds := t.depth[g]
	for j := start; j < start+n && j < 256; j++ {
		e := src[j]
		if e&ext6 != 0 {
			t.paintNode(e&index6, 0, 256, lo, hi, nh, depth)
			continue
		}
		if ds[j] < lo || ds[j] > hi {
			continue
		}
		ds[j] = depth
		if e != nh {
			src[j] = nh
			t.markNode(g)
		}
	}
}

// LoadIPv6 adds every IPv6 prefix of ps to a new table with next hop
// NextHopOf(p, nextHops), skipping IPv4 ones. It is how tests, benchmarks and
// tools build an IPv6 table from a prefix list.
func LoadIPv6(ps []netip.Prefix, nextHops int) (*Table6, error) {
	t := NewTable6()
	for _, p := range ps {
		if !p.Addr().Is6() {
			continue
		}
		if err := t.Add(p, NextHopOf(p, nextHops)); err != nil {
			return nil, err
		}
	}
	return t, nil
}
