package fib

// Entry encoding of the IPv6 tables (see doc.go): a uint32 per entry.
const (
	ext6    = 1 << 31 // set: the low 31 bits index a node
	index6  = ext6 - 1
	rootLen = 1 << 16 // root entries: one per /16
)

// node6 is one 8-bit stride of the IPv6 trie: the 256 /(D+8) blocks of a
// /D, D = 16, 24, …, 120.
type node6 = [256]uint32

// root6 is the first level of the IPv6 trie: one entry per /16.
type root6 = [rootLen]uint32

// Snapshot6 is an immutable IPv6 longest-prefix-match table. It is never
// modified after Table6.Snapshot returns it, so any number of goroutines may
// read it with no lock. The root and nodes it shares with older or newer
// snapshots are immutable too (see doc.go for the copy-on-write rule).
type Snapshot6 struct {
	root   *root6
	nodes  []*node6 // nil slots are free nodes that no entry references
	routes int
	nnodes int
}

// Lookup returns the next-hop index of the longest prefix that covers addr
// (an IPv6 address in network byte order, as in the packet), or 0 if no
// prefix does. It reads one root entry, then one entry per 8 bits beyond /16
// while the entry points at a node. It does not allocate.
func (s *Snapshot6) Lookup(addr [16]byte) uint16 {
	e := s.root[uint32(addr[0])<<8|uint32(addr[1])]
	for i := 2; e&ext6 != 0 && i < 16; i++ {
		e = s.nodes[e&index6][addr[i]]
	}
	return uint16(e)
}

// batch6 is the number of addresses LookupBatch resolves level by level
// together; their entries live on the stack.
const batch6 = 64

// LookupBatch sets out[i] = s.Lookup(addrs[i]) for every i. out must be at
// least as long as addrs. It walks the trie level by level across up to 64
// addresses at a time, so the cache misses of the addresses at one level are
// independent and overlap in the CPU, and it stops as soon as every address
// of the block has reached its next hop.
func (s *Snapshot6) LookupBatch(addrs [][16]byte, out []uint16) {
	out = out[:len(addrs)]
	var es [batch6]uint32
	for len(addrs) > 0 {
		n := min(len(addrs), batch6)
		as, e := addrs[:n], es[:n]
		more := false
		for i := range as {
			x := s.root[uint32(as[i][0])<<8|uint32(as[i][1])]
			e[i] = x
			more = more || x&ext6 != 0
		}
		for l := 2; more && l < 16; l++ {
			more = false
			for i, x := range e {
				if x&ext6 != 0 {
					x = s.nodes[x&index6][as[i][l]]
					e[i] = x
					more = more || x&ext6 != 0
				}
			}
		}
		o := out[:n]
		for i, x := range e {
			o[i] = uint16(x)
		}
		addrs, out = addrs[n:], out[n:]
	}
}

// Routes returns the number of prefixes in the snapshot.
func (s *Snapshot6) Routes() int { return s.routes }

// Nodes returns the number of trie nodes in use (one per /16, /24, …, /120
// block that holds a prefix longer than itself).
func (s *Snapshot6) Nodes() int { return s.nnodes }

// Bytes returns the memory the snapshot's lookup structures occupy, counting
// the root and the nodes shared with other snapshots.
func (s *Snapshot6) Bytes() int {
	const rootBytes, nodeBytes = rootLen * 4, 256 * 4
	return rootBytes + s.nnodes*nodeBytes + cap(s.nodes)*8
}
