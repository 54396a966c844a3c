package fib

import (
	"math/bits"
	"unsafe"
)

// Encoding of the IPv6 tables (see doc.go). Entries are uint32:
//
//	bit 31 clear: bits 0–14 are the next-hop index; 0 means no route
//	bit 31 set:   bits 0–30 are the offset of a node in the node array
const (
	ext6   = 1 << 31
	index6 = ext6 - 1

	// A node of a /16 block is stored as its 256 entries. The others
	// (/24 to /120 blocks) are compressed: a header of 4 groups of 3
	// words, one per 64 entries (the 64-bit bitmap of where runs of equal
	// entries start, low word first, then the offset in the node array of
	// the entry before the first run that starts in the group), then one
	// entry per run. Entry b of the node is then at the group's offset plus
	// the number of bitmap bits set up to bit b&63.
	cnodeGroup   = 3
	cnodeEntries = 4 * cnodeGroup
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
		p := unsafe.Pointer(unsafe.SliceData(s.nodes))
		e = word6(p, e&index6+uint32(addr[2])) // a /16 node: uncompressed
		for i := 3; e&ext6 != 0 && i < 16; i++ {
			e = word6(p, entry6(p, e&index6+uint32(addr[i]>>6)*cnodeGroup, addr[i]))
		}
	}
	return uint16(e)
}

// word6 returns word i of the node array at p. The callers' proof that i is
// in bounds: every offset in an entry (root or node) is where Table6.emit
// wrote a node into this array (children before the parents that point at
// them, and the array is append-only), a /16 node has 256 entries and
// entry6 stays inside the compressed node it reads (see there). The
// differential and fuzz tests check every lookup against bart.
func word6(p unsafe.Pointer, i uint32) uint32 {
	return *(*uint32)(unsafe.Add(p, uintptr(i)*4))
}

// entry6 returns the index in the node array at p of entry b of the
// compressed node whose group of b (its (b>>6)th 3-word group) is at index
// h: the group's offset plus the bits of its bitmap set up to bit b&63. In
// bounds: h+2 is in the header, and the result lies in the node's entries,
// since bit 0 of group 0 is set and a later group with no bit set up to b
// gets the last entry of the groups before.
func entry6(p unsafe.Pointer, h uint32, b byte) uint32 {
	bm := uint64(word6(p, h)) | uint64(word6(p, h+1))<<32
	return word6(p, h+2) + uint32(bits.OnesCount64(bm<<((63-b)&63)))
}

// batch6 is the number of addresses LookupBatch resolves level by level
// together; their entries live on the stack.
const batch6 = 64

// LookupBatch sets out[i] = s.Lookup(addrs[i]) for every i. out must be at
// least as long as addrs. It walks the trie level by level across up to 64
// addresses at a time, so the cache misses of the addresses at one level are
// independent and overlap in the CPU. It keeps the list of the addresses
// not yet at their next hop, and goes over it twice per compressed level:
// entries6 reads each one's bitmap group and computes the index of its
// entry, keep6 reads the entries, drops from the list those that reached a
// next hop and computes the next level's group index. Each prefetches what
// the other reads next: a load that misses holds up the instructions after
// it, so only a few addresses' misses would overlap, while a prefetch does
// not, so all of the level's do. On amd64 these and the root pass are
// assembly (with POPCNT; the Go versions otherwise).
func (s *Snapshot6) LookupBatch(addrs [][16]byte, out []uint16) {
	out = out[:len(addrs)]
	p := unsafe.Pointer(unsafe.SliceData(s.nodes))
	var es [batch6]uint32
	var live [batch6]uint8 // addresses not yet at their next hop
	var idx [batch6]uint32 // per live address: the word to read next
	for len(addrs) > 0 {
		n := min(len(addrs), batch6)
		as, e := addrs[:n], es[:n]
		var m int
		if asm6 {
			m = root6asm(p, &s.root, &as[0], n, &es, &live, &idx)
		} else {
			m = s.root6(p, as, &es, &live, &idx)
		}
		if m > 0 {
			if asm6 {
				m = keep6asm(p, &es, live[:m], &idx, &as[0][3])
			} else {
				m = keep6(p, &es, live[:m], &idx, as, 3)
			}
		}
		for l := 3; m > 0 && l < 16; l++ {
			next := min(l+1, 15) // past /128 every entry is a next hop
			if asm6 {
				entries6asm(p, idx[:m], live[:m], &as[0][l])
				m = keep6asm(p, &es, live[:m], &idx, &as[0][next])
			} else {
				entries6(p, idx[:m], live[:m], as, l)
				m = keep6(p, &es, live[:m], &idx, as, next)
			}
		}
		o := out[:n]
		for i, x := range e {
			o[i] = uint16(x)
		}
		addrs, out = addrs[n:], out[n:]
	}
}

// root6 is LookupBatch's root pass: it sets e[i] to the root entry of
// as[i], lists in live those that point at a /16 node, sets idx to the
// index of their entry there, prefetches those, and returns how many it
// listed. root6asm is the same in assembly.
func (s *Snapshot6) root6(p unsafe.Pointer, as [][16]byte, e *[batch6]uint32, live *[batch6]uint8, idx *[batch6]uint32) int {
	m := 0
	for i := range as {
		a := &as[i]
		x := s.root[a[0]][a[1]]
		e[i] = x
		live[m] = uint8(i)
		idx[m] = (x&index6 + uint32(a[2])) & -(x >> 31) // a /16 node: uncompressed
		m += int(x >> 31)
	}
	prefetch6(p, idx[:m])
	return m
}

// entries6 replaces idx[k], the index of the bitmap group that address
// live[k] reads in a compressed node at level l, with the index of its entry
// (see entry6), and prefetches the entry. entries6asm is the same in
// assembly.
func entries6(p unsafe.Pointer, idx []uint32, live []uint8, as [][16]byte, l int) {
	live = live[:len(idx)]
	for k, i := range live {
		idx[k] = entry6(p, idx[k], as[i][l])
	}
	prefetch6(p, idx)
}

// keep6 reads word idx[k] of the node array for each address live[k] into
// its entry, keeps in live (in place, in order) those whose entry points at a
// node, sets idx to the index of their bitmap group there for byte l of the
// address, prefetches those, and returns how many it kept. keep6asm is the
// same in assembly, with the address bytes as[0][l], as[1][l], … at col, 16
// bytes apart.
func keep6(p unsafe.Pointer, e *[batch6]uint32, live []uint8, idx *[batch6]uint32, as [][16]byte, l int) int {
	m := 0
	for k, i := range live {
		x := word6(p, idx[k])
		e[i] = x
		live[m] = i
		idx[m] = (x&index6 + uint32(as[i][l]>>6)*cnodeGroup) & -(x >> 31)
		m += int(x >> 31)
	}
	prefetch6(p, idx[:m])
	return m
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
