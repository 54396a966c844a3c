package fib

import (
	"errors"
	"fmt"
	"net/netip"
)

// Table6 is the control plane's mutable view of the IPv6 routes. It is not
// safe for concurrent use: one control goroutine owns it. Workers read the
// immutable snapshots it publishes through Snapshot.
//
// It is Table's algorithm over a deeper trie: a root of 65536 entries (one
// per /16) and nodes of 256 entries (one per 8 bits beyond). On the control
// side it keeps the depth (prefix length + 1; 0 = no route) of the route
// behind every entry and the routes themselves: a new route overwrites only
// the entries whose depth is not greater than its own, and a deleted route
// hands its entries to the longest route that covers it.
type Table6 struct {
	root      *root6
	rootDepth *[rootLen]uint8 // meaningful only where root holds no node
	nodes     []*node6
	depth     []*[256]uint8 // per node
	free      []uint32      // recycled node indices
	nnodes    int           // nodes in use
	routes    map[netip.Prefix]uint16
	counts    [129]int
	rootGen   uint64   // root is owned (writable) iff rootGen == gen
	nodeGen   []uint64 // likewise per node
	nodesGen  uint64   // likewise the nodes slice itself
	gen       uint64   // bumped whenever a snapshot is published
	snap      *Snapshot6
}

// zeroRoot6 backs the root of an empty table. It is never written: the
// control plane copies the root before its first write.
var zeroRoot6 root6

// maxNodes6 bounds the node indices an entry can hold (31 bits).
const maxNodes6 = index6

// ErrNoNode is returned by Table6.Add when no node index is left.
var ErrNoNode = errors.New("fib: out of IPv6 trie nodes: at most 2^31-1 blocks may hold longer prefixes")

// NewTable6 returns an empty IPv6 table.
func NewTable6() *Table6 {
	return &Table6{
		root:      &zeroRoot6,
		rootDepth: new([rootLen]uint8),
		routes:    make(map[netip.Prefix]uint16),
		gen:       1,
	}
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
			g, err := t.allocNode(e, t.rootDepth[i])
			if err != nil {
				return fmt.Errorf("fib: add %v: %w", p, err)
			}
			t.ownRoot()[i] = ext6 | g
			e = ext6 | g
		}
		g := e & index6
		d := 16
		for ; bits > d+8; d += 8 {
			j := a[d/8]
			e := t.nodes[g][j]
			if e&ext6 == 0 {
				ng, err := t.allocNode(e, t.depth[g][j])
				if err != nil {
					return fmt.Errorf("fib: add %v: %w", p, err)
				}
				t.node(g)[j] = ext6 | ng
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
			t.ownRoot()[i] = ents[0]
			t.rootDepth[i] = ds[0]
		} else {
			pg, j := path[k-1], a[base/8-1]
			t.node(pg)[j] = ents[0]
			t.depth[pg][j] = ds[0]
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
// the previous snapshot if nothing changed since; otherwise it costs one small
// allocation, and the next changes copy the root and nodes they touch.
func (t *Table6) Snapshot() *Snapshot6 {
	if t.snap == nil {
		t.snap = &Snapshot6{root: t.root, nodes: t.nodes, routes: len(t.routes), nnodes: t.nnodes}
		t.gen++ // everything is now shared with t.snap: copy before writing
	}
	return t.snap
}

// ownRoot returns the root ready for writing, copying it first if a published
// snapshot may hold it.
func (t *Table6) ownRoot() *root6 {
	if t.rootGen != t.gen {
		n := new(root6)
		*n = *t.root
		t.root = n
		t.rootGen = t.gen
	}
	return t.root
}

// ownNodes makes the nodes pointer slice writable.
func (t *Table6) ownNodes() {
	if t.nodesGen != t.gen {
		n := make([]*node6, len(t.nodes), len(t.nodes)+len(t.nodes)/4+16)
		copy(n, t.nodes)
		t.nodes = n
		t.nodesGen = t.gen
	}
}

// node returns node g ready for writing, copying it first if a published
// snapshot may hold it.
func (t *Table6) node(g uint32) *node6 {
	if t.nodeGen[g] != t.gen {
		t.ownNodes()
		n := new(node6)
		*n = *t.nodes[g]
		t.nodes[g] = n
		t.nodeGen[g] = t.gen
	}
	return t.nodes[g]
}

// allocNode takes a free node and fills it with e (a next hop) at depth.
func (t *Table6) allocNode(e uint32, depth uint8) (uint32, error) {
	var g uint32
	if n := len(t.free); n > 0 {
		g = t.free[n-1]
		t.free = t.free[:n-1]
	} else if len(t.nodes) < maxNodes6 {
		t.ownNodes()
		g = uint32(len(t.nodes))
		t.nodes = append(t.nodes, nil)
		t.depth = append(t.depth, new([256]uint8))
		t.nodeGen = append(t.nodeGen, 0)
	} else {
		return 0, ErrNoNode
	}
	t.ownNodes()
	n := new(node6) // a fresh array: the recycled one may still be in a snapshot
	ds := t.depth[g]
	for j := range n {
		n[j] = e
		ds[j] = depth
	}
	t.nodes[g] = n
	t.nodeGen[g] = t.gen
	t.nnodes++
	return g, nil
}

func (t *Table6) freeNode(g uint32) {
	t.ownNodes()
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
			r = t.ownRoot()
			r[i] = nh
		}
	}
}

// paintNode is paintRoot for entries start..start+n-1 of node g.
func (t *Table6) paintNode(g, start, n uint32, lo, hi uint8, nh uint32, depth uint8) {
	src := t.nodes[g]
	ds := t.depth[g]
	written := false
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
			if !written {
				src = t.node(g)
				written = true
			}
			src[j] = nh
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
