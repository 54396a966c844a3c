package pkt

import (
	"encoding/binary"
	"unsafe"
)

// Sizes of a buffer. Stride is deliberately not a power of two (see doc.go).
const (
	Stride   = 9408              // bytes of frame memory per buffer in a default arena: 147 cache lines
	Headroom = 128               // bytes kept free in front of a received frame
	MaxFrame = Stride - Headroom // largest frame a default-arena buffer holds (9280: a 9000-byte jumbo MTU + L2 + tags with room to spare)
	// BatchSize is the largest number of packets a stage sees at once. 256 is
	// VPP's frame size: large enough to amortise per-call costs and to overlap
	// the memory misses of FIB lookups, small enough that a batch of metadata
	// and headers stays in L1/L2.
	BatchSize = 256
	// RecordSize is the size of a buffer's metadata record (Buf): one cache
	// line. Records sit in an mmap'd array, so each is 64-byte aligned.
	RecordSize = 64
)

// Flag bits in Buf.Flags.
const (
	// FlagLocal marks a packet the router originated (ICMP errors, echo
	// replies): ip4-rewrite does not check or decrement its TTL.
	FlagLocal uint8 = 1 << iota
	// FlagL2Multicast marks a frame received to a broadcast or multicast MAC:
	// RFC 1812 §5.3.4 forbids forwarding it and §4.3.2.7 answering it with
	// an ICMP error.
	FlagL2Multicast
	// FlagInjected marks a packet the control plane released after
	// neighbour resolution; it must not be punted for resolution again.
	FlagInjected
)

// Buf is one packet buffer's metadata record: 64 bytes, one cache line, in
// an Arena's record array (off the Go heap). It points at its frame in the
// arena's frame region. The frame is Raw()[Off : Off+Len]; bytes in front
// of Off are headroom. A Buf is named by its index (Index, At); a *Buf is
// only ever a short-lived local in the hot path, never stored in a vector.
type Buf struct {
	// The buffer's frame memory, typed as a Stride-byte array pointer: its
	// length is a constant, so indexing it needs no slice header load and
	// fixed-size header views cut from it need no bounds checks. Only the
	// first size bytes belong to this buffer (the arena's chunk); Raw and
	// Reset enforce that bound, and Off/Len never exceed it (see Reset).
	// The pointer is into mmap'd memory: the GC neither scans nor moves it.
	data *[Stride]byte
	idx  uint32 // this buffer's global index (At(idx) == this record)
	size uint16 // bytes of frame memory: the arena's chunk size
	head uint16 // where Reset starts a frame: Headroom plus the arena's stagger
	Meta
	_ [RecordSize - 56]byte // pad the record to one cache line
}

// Meta is a buffer's per-packet metadata (40 bytes), apart from the packet
// bytes; Reset clears it in one assignment.
type Meta struct {
	Off uint16 // start of the frame in Raw()
	Len uint16 // frame length
	L3  uint16 // offset of the L3 header from the start of the frame

	InPort  uint16 // interface the frame arrived on
	OutPort uint16 // interface to send on (set by ip4-rewrite, arp-input, ...)
	NH      uint16 // next-hop (adjacency) index from ip4-lookup

	Reason uint16 // drop reason, when sent to the drop stage
	Flags  uint8

	// ICMP error to send about this packet (set before icmp4-error).
	ICMPType, ICMPCode uint8
	// Trace marks a traced packet: its record's index in its batch's
	// records plus one; 0 when the packet is not traced (see dp.Tracer).
	Trace uint16
	// Aux: the next-hop MTU for "fragmentation needed"; on a drop, the
	// dropping node's detail (dp/filter: the blocking rule's number, 0
	// for the default policy), which a drop capture records.
	Aux uint32
	// Dst is the destination address noted by the L3 input stage for the
	// lookup, in network byte order: an IPv6 address, or an IPv4 address
	// as ::ffff:a.b.c.d (Dst4, SetDst4).
	Dst [16]byte
}

// Dst4 returns the IPv4 destination noted by SetDst4.
func (m *Meta) Dst4() uint32 { return binary.BigEndian.Uint32(m.Dst[12:]) }

// SetDst4 notes an IPv4 destination (as an IPv4-mapped IPv6 address; the
// first ten bytes are left as they are: Reset zeroes them).
func (m *Meta) SetDst4(a uint32) {
	m.Dst[10], m.Dst[11] = 0xff, 0xff
	binary.BigEndian.PutUint32(m.Dst[12:], a)
}

// SetDst4Bytes is SetDst4 with the address as its four bytes in network
// order (as they sit in the IPv4 header): a copy, no byte swap.
func (m *Meta) SetDst4Bytes(a [4]byte) {
	m.Dst[10], m.Dst[11] = 0xff, 0xff
	*(*[4]byte)(m.Dst[12:]) = a
}

// At returns the buffer with global index x. x must be the index of a
// buffer of a live Arena (Buf.Index, Batch.B, Pool free lists). It is one
// load of the record base and an add: records of every arena sit in one
// reserved range, record x at recBase + x*RecordSize.
func At(x uint32) *Buf {
	return (*Buf)(unsafe.Add(recBase, uintptr(x)*RecordSize))
}

// Recs is the base of the record array, for a loop over a batch: take it
// once before the loop (recs := pkt.Records()) and recs.At(x) is a shift
// and an add in registers, where At loads the global base again for every
// packet (the compiler cannot hoist a global's load out of a loop that
// stores through pointers). Records never move, so a Recs stays valid for
// as long as the indices it resolves.
type Recs struct{ base unsafe.Pointer }

// Records returns the record array's base (see Recs).
func Records() Recs { return Recs{recBase} }

// At returns the buffer with global index x, as the function At does.
func (r Recs) At(x uint32) *Buf {
	return (*Buf)(unsafe.Add(r.base, uintptr(x)*RecordSize))
}

// Index returns the buffer's global index.
func (b *Buf) Index() uint32 { return b.idx }

// Head is where Reset starts a frame in Raw(): Headroom plus the arena's
// stagger for this buffer.
func (b *Buf) Head() int { return int(b.head) }

// Bytes returns the frame.
func (b *Buf) Bytes() []byte { return b.data[b.Off : int(b.Off)+int(b.Len)] }

// L3Bytes returns the frame from its L3 header on.
func (b *Buf) L3Bytes() []byte { return b.data[int(b.Off)+int(b.L3) : int(b.Off)+int(b.Len)] }

// L3Head returns the 20 bytes at the L3 header as an array pointer, so the
// hot stages read fixed header fields without bounds checks. Bytes past
// the frame's end are stale buffer memory: check Len - L3 first. Off and
// L3 are set by softnet's own code (never copied from packet bytes), so
// the header always starts well inside the buffer.
func (b *Buf) L3Head() *[20]byte {
	off := int(b.Off) + int(b.L3)
	return (*[20]byte)(b.data[off : off+20])
}

// EthAt returns the 14 bytes at off (from the start of Raw) as an array
// pointer, for writing an Ethernet header in front of an L3 header.
func (b *Buf) EthAt(off int) *[14]byte {
	return (*[14]byte)(b.data[off : off+14])
}

// L2At returns the 22 bytes at off (from the start of Raw) as an array
// pointer: room for an Ethernet header with two VLAN tags, written
// right-aligned in front of an L3 header in one fixed-size store.
func (b *Buf) L2At(off int) *[22]byte {
	return (*[22]byte)(b.data[off : off+22])
}

// Raw returns the buffer's whole memory (its arena's chunk), headroom
// included.
func (b *Buf) Raw() []byte { return b.data[:b.size:b.size] }

// Reset prepares a buffer for a new frame of n bytes at the buffer's
// headroom (Head) and returns the frame's bytes for filling. It panics if
// n is larger than the buffer holds (MaxFrame of its arena).
func (b *Buf) Reset(n int) []byte {
	h := int(b.head)
	f := b.data[h : h+n : b.size]
	b.Meta = Meta{Off: b.head, Len: uint16(n)}
	return f
}

// SetFrame moves the frame to start at off (relative to Raw) with length n.
func (b *Buf) SetFrame(off, n int) { b.Off, b.Len = uint16(off), uint16(n) }

// Prepend grows the frame by n bytes at the front (into the headroom) and
// returns false if the headroom is too small.
func (b *Buf) Prepend(n int) bool {
	if int(b.Off) < n {
		return false
	}
	b.Off -= uint16(n)
	b.Len += uint16(n)
	return true
}

// Batch is a vector of up to BatchSize buffers, by index: it holds no
// pointers, so storing into it runs no GC write barrier and the GC does not
// scan it. The batch owns the buffers in B[:N].
type Batch struct {
	N int
	B [BatchSize]uint32
}

// Push appends b and reports false (leaving the batch unchanged) when full.
func (v *Batch) Push(b *Buf) bool {
	if v.N == BatchSize {
		return false
	}
	v.B[v.N] = b.idx
	v.N++
	return true
}

// Buf returns the buffer in slot i.
func (v *Batch) Buf(i int) *Buf { return At(v.B[i]) }

// Room is the number of free slots.
func (v *Batch) Room() int { return BatchSize - v.N }

// Pool is a per-worker free list of buffer indices. Not safe for concurrent
// use. The free list holds indices of any arena: buffers that migrate in
// from another worker's pool are kept like its own.
type Pool struct {
	free  []uint32
	size  int
	arena *Arena
}

// NewPool makes a pool of n buffers over an arena of its own with the
// default layout (Stride-byte chunks). For tests and tools: the arena is
// never unmapped. A router makes its arenas with NewArena before it opens
// its ports and builds pools with NewPoolIn. It panics if the arena cannot
// be mapped.
func NewPool(n int) *Pool {
	a, err := NewArena(ArenaOptions{Frames: n})
	if err != nil {
		panic(err)
	}
	return NewPoolIn(a, 0, n)
}

// NewPoolIn makes a pool of the n buffers of a starting at frame first.
// Pools over disjoint slices of one arena may belong to different workers.
func NewPoolIn(a *Arena, first, n int) *Pool {
	if first < 0 || n < 0 || first+n > a.n {
		panic("pkt.NewPoolIn: frames out of the arena's range")
	}
	p := &Pool{
		free:  make([]uint32, n, 2*n), // room for buffers that migrate in from other pools
		size:  n,
		arena: a,
	}
	for i := range n {
		p.free[i] = a.first + uint32(first+i)
	}
	return p
}

// Arena is the arena the pool's own buffers come from.
func (p *Pool) Arena() *Arena { return p.arena }

// MaxFrame is the largest frame the pool's buffers hold.
func (p *Pool) MaxFrame() int { return p.arena.maxFrame }

// Get takes a buffer from the pool, or returns nil when it is empty.
// The caller owns the buffer.
func (p *Pool) Get() *Buf {
	n := len(p.free)
	if n == 0 {
		return nil
	}
	x := p.free[n-1]
	p.free = p.free[:n-1]
	return At(x)
}

// GetN fills dst with up to len(dst) buffer indices and returns how many it
// took.
func (p *Pool) GetN(dst []uint32) int {
	n := min(len(dst), len(p.free))
	copy(dst, p.free[len(p.free)-n:])
	p.free = p.free[:len(p.free)-n]
	return n
}

// Put returns a buffer to the pool; the caller gives up ownership.
func (p *Pool) Put(b *Buf) {
	p.free = append(p.free, b.idx) // capacity is twice the pool size: room for buffers migrating in
}

// PutIndex returns the buffer with index x to the pool.
func (p *Pool) PutIndex(x uint32) {
	p.free = append(p.free, x)
}

// PutN returns the buffers with the indices xs to the pool.
func (p *Pool) PutN(xs []uint32) {
	p.free = append(p.free, xs...)
}

// PutBatch returns every buffer of v to the pool and empties v.
func (p *Pool) PutBatch(v *Batch) {
	p.free = append(p.free, v.B[:v.N]...)
	clear(v.B[:v.N]) // ownership is visible: a batch never names a freed buffer
	v.N = 0
}

// Free is the number of buffers in the pool.
func (p *Pool) Free() int { return len(p.free) }

// Size is the number of buffers the pool was built with.
func (p *Pool) Size() int { return p.size }
