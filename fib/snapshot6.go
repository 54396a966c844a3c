package fib

import "math/bits"

// Encoding of the IPv6 tables (see doc.go). Entries are uint32:
//
//	bit 31 clear: bits 0–14 are the next-hop index; 0 means no route
//	bit 31 set:   bits 0–30 are the offset of a node in the node array
const (
	ext6   = 1 << 31
	index6 = ext6 - 1

	// A node of a /16 block is stored as its 256 entries. The others
	// (/24 to /120 blocks) are compressed: 8 words of bitmap (bit j set:
	// a run of equal entries starts at entry j), 2 words of the number of
	// bits set in the bitmap words before each word (one byte per word),
	// then one entry per run.
	cnodeBits    = 0
	cnodeCounts  = 8
	cnodeEntries = 10
)

// rootChunk is 1/256 of the root: the 256 /16s of one /8.
type rootChunk = [256]uint32

// zeroRootChunk backs every root chunk that holds no route. It is never
// written: the control plane copies a chunk before its first write.
var zeroRootChunk rootChunk

// Snapshot6 is an immutable IPv6 longest-prefix-match table. It is never
// modified after Table6.Snapshot returns it, so any number of goroutines may
// read it with no lock. The root chunks and the node array it shares with
// older or newer snapshots are immutable too (see doc.go).
type Snapshot6 struct {
	root   [256]*rootChunk // never nil; unrouted chunks point at zeroRootChunk
	nodes  []uint32        // compressed nodes; append-only, never rewritten
	routes int
	nnodes int
	live   int // words of nodes that the root reaches; the rest is garbage
}

// Lookup returns the next-hop index of the longest prefix that covers addr
// (an IPv6 address in network byte order, as in the packet), or 0 if no
// prefix does. It reads one root entry, then one node entry per 8 bits beyond
// /16 while the entry points at a node. It does not allocate.
func (s *Snapshot6) Lookup(addr [16]byte) uint16 {
	e := s.root[addr[0]][addr[1]]
	if e&ext6 != 0 {
		e = s.nodes[e&index6+uint32(addr[2])] // a /16 node: uncompressed
		for i := 3; e&ext6 != 0 && i < 16; i++ {
			e = s.step(e&index6, addr[i])
		}
	}
	return uint16(e)
}

// step returns entry b of the compressed node at offset off.
func (s *Snapshot6) step(off uint32, b byte) uint32 {
	n := s.nodes[off : off+cnodeEntries]
	w := uint32(b) >> 5
	before := (n[cnodeCounts+(w>>2)] >> ((w & 3) * 8)) & 0xff
	rank := before + uint32(bits.OnesCount32(n[w]<<(31-(uint32(b)&31))))
	return s.nodes[off+cnodeEntries+rank-1]
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
			x := s.root[as[i][0]][as[i][1]]
			e[i] = x
			more = more || x&ext6 != 0
		}
		if more {
			more = false
			for i, x := range e {
				if x&ext6 != 0 {
					x = s.nodes[x&index6+uint32(as[i][2])]
					e[i] = x
					more = more || x&ext6 != 0
				}
			}
		}
		for l := 3; more && l < 16; l++ {
			more = false
			for i, x := range e {
				if x&ext6 != 0 {
					x = s.step(x&index6, as[i][l])
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

// Bytes returns the memory the snapshot's lookup structures occupy: its
// distinct root chunks and the node array, including the nodes of older
// snapshots that the array still holds (see LiveBytes).
func (s *Snapshot6) Bytes() int {
	n := 0
	for _, c := range s.root {
		if c != &zeroRootChunk {
			n += len(c) * 4
		}
	}
	return n + cap(s.nodes)*4
}

// LiveBytes is Bytes without the node array's garbage (nodes replaced since
// the array was last compacted) and unused capacity.
func (s *Snapshot6) LiveBytes() int {
	return s.Bytes() - cap(s.nodes)*4 + s.live*4
}
