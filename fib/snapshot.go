package fib

// Entry encoding, shared by tbl24 and tbl8 entries (see doc.go).
const (
	extBit    = 0x8000 // set: the low 15 bits index a tbl8 group
	indexMask = 0x7fff

	// MaxNextHop is the largest next-hop index an entry can hold (15 bits).
	MaxNextHop = indexMask
	// MaxGroups is the number of tbl8 groups an entry can address: indices
	// 0..32766, so that no group index ever equals indexMask.
	MaxGroups = indexMask

	chunkBits  = 16
	chunkSize  = 1 << chunkBits // tbl24 entries per chunk: 128 KiB of uint16
	chunkCount = 1 << (24 - chunkBits)
)

// chunk is 1/256 of tbl24: the entries of one /8.
type chunk = [chunkSize]uint16

// group is a tbl8 group: the 256 host addresses of one /24.
type group = [256]uint16

// zeroChunk backs every tbl24 chunk that holds no route yet. It is never
// written: the control plane copies a chunk before its first write.
var zeroChunk chunk

// Snapshot is an immutable DIR-24-8 longest-prefix-match table. It is never
// modified after Table.Snapshot returns it, so any number of goroutines may
// read it with no lock. Chunks and groups it shares with older or newer
// snapshots are immutable too (see doc.go for the copy-on-write rule).
type Snapshot struct {
	tbl24  [chunkCount]*chunk // never nil; unrouted chunks point at zeroChunk
	tbl8   []*group           // nil slots are free groups that no entry references
	routes int
	groups int
}

// Lookup returns the next-hop index of the longest prefix that covers addr
// (a host-order IPv4 address), or 0 if no prefix does. It does not allocate,
// and it is small enough to be inlined into the caller's loop.
func (s *Snapshot) Lookup(addr uint32) uint16 {
	e := s.tbl24[addr>>24][addr>>8&0xffff]
	if e&extBit != 0 {
		e = s.tbl8[e&indexMask][addr&0xff]
	}
	return e
}

// LookupBatch sets out[i] = s.Lookup(addrs[i]) for every i. out must be at
// least as long as addrs. It makes two passes: the first reads only tbl24, so
// the cache misses of the whole batch are independent and overlap in the CPU;
// the second resolves the few entries that point at a tbl8 group.
func (s *Snapshot) LookupBatch(addrs []uint32, out []uint16) {
	out = out[:len(addrs)]
	t := &s.tbl24
	for i, a := range addrs {
		out[i] = t[a>>24][a>>8&0xffff]
	}
	for i, e := range out {
		if e&extBit != 0 {
			out[i] = s.tbl8[e&indexMask][addrs[i]&0xff]
		}
	}
}

// Routes returns the number of prefixes in the snapshot.
func (s *Snapshot) Routes() int { return s.routes }

// Groups returns the number of tbl8 groups in use (one per /24 that holds a
// prefix longer than /24).
func (s *Snapshot) Groups() int { return s.groups }

// Bytes returns the memory the snapshot's lookup structures occupy, counting
// chunks and groups shared with other snapshots but each distinct chunk once.
func (s *Snapshot) Bytes() int {
	const chunkBytes, groupBytes = chunkSize * 2, 256 * 2
	n := 0
	seen := make(map[*chunk]bool, chunkCount)
	for _, c := range s.tbl24 {
		if !seen[c] {
			seen[c] = true
			n += chunkBytes
		}
	}
	return n + s.groups*groupBytes + cap(s.tbl8)*8
}
