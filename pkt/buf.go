package pkt

import "github.com/softnet/softnet/internal/hugepage"

// Sizes of a buffer. Stride is deliberately not a power of two (see doc.go).
const (
	Stride   = 9408              // bytes of slab per buffer: 147 cache lines
	Headroom = 128               // bytes kept free in front of a received frame
	MaxFrame = Stride - Headroom // largest frame a buffer holds (9280: a 9000-byte jumbo MTU + L2 + tags with room to spare)
	// BatchSize is the largest number of packets a stage sees at once. 256 is
	// VPP's frame size: large enough to amortise per-call costs and to overlap
	// the memory misses of FIB lookups, small enough that a batch of metadata
	// and headers stays in L1/L2.
	BatchSize = 256
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

// Buf is one packet buffer: a pointer to its slab memory and its metadata.
// The frame is Raw()[Off : Off+Len]; bytes in front of Off are headroom.
type Buf struct {
	// The buffer's whole stride of slab memory, as an array pointer: its
	// length is a constant, so indexing it needs no slice header load and
	// fixed-size header views cut from it need no bounds checks.
	data *[Stride]byte
	Meta
}

// Meta is a buffer's per-packet metadata, kept small (28 bytes) and apart
// from the packet bytes; Reset clears it in one assignment.
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
	// It sits in what was padding: Meta stays 28 bytes.
	Trace uint16
	Aux   uint32 // next-hop MTU for "fragmentation needed"
	Dst   uint32 // IPv4 destination, noted by ip4-input for ip4-lookup
}

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
	return (*[20]byte)(b.data[int(b.Off)+int(b.L3):])
}

// EthAt returns the 14 bytes at off (from the start of Raw) as an array
// pointer, for writing an Ethernet header in front of an L3 header.
func (b *Buf) EthAt(off int) *[14]byte {
	return (*[14]byte)(b.data[off:])
}

// Raw returns the buffer's whole memory, headroom included.
func (b *Buf) Raw() []byte { return b.data[:] }

// Reset prepares a buffer for a new frame of n bytes at the standard
// headroom and returns the frame's bytes for filling.
func (b *Buf) Reset(n int) []byte {
	b.Meta = Meta{Off: Headroom, Len: uint16(n)}
	return b.data[Headroom : Headroom+n]
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

// Batch is a vector of up to BatchSize buffers. The batch owns the buffers
// in B[:N].
type Batch struct {
	N int
	B [BatchSize]*Buf
}

// Push appends b and reports false (leaving the batch unchanged) when full.
func (v *Batch) Push(b *Buf) bool {
	if v.N == BatchSize {
		return false
	}
	v.B[v.N] = b
	v.N++
	return true
}

// Room is the number of free slots.
func (v *Batch) Room() int { return BatchSize - v.N }

// Pool is a per-worker free list of buffers. Not safe for concurrent use.
type Pool struct {
	free []*Buf
	size int
	slab []byte
	meta []Buf
}

// NewPool allocates n buffers (n*Stride bytes of slab).
func NewPool(n int) *Pool {
	p := &Pool{
		free: make([]*Buf, n, 2*n), // room for buffers that migrate in from other pools
		size: n,
		slab: make([]byte, n*Stride),
		meta: make([]Buf, n),
	}
	hugepage.Advise(p.slab)
	for i := range p.meta {
		p.meta[i].data = (*[Stride]byte)(p.slab[i*Stride:])
		p.free[i] = &p.meta[i]
	}
	return p
}

// Get takes a buffer from the pool, or returns nil when it is empty.
// The caller owns the buffer.
func (p *Pool) Get() *Buf {
	n := len(p.free)
	if n == 0 {
		return nil
	}
	b := p.free[n-1]
	p.free = p.free[:n-1]
	return b
}

// GetN fills dst with up to len(dst) buffers and returns how many it took.
func (p *Pool) GetN(dst []*Buf) int {
	n := min(len(dst), len(p.free))
	copy(dst, p.free[len(p.free)-n:])
	p.free = p.free[:len(p.free)-n]
	return n
}

// Put returns a buffer to the pool; the caller gives up ownership.
func (p *Pool) Put(b *Buf) {
	p.free = append(p.free, b) // capacity is twice the pool size: room for buffers migrating in
}

// PutBatch returns every buffer of v to the pool and empties v.
func (p *Pool) PutBatch(v *Batch) {
	p.free = append(p.free, v.B[:v.N]...)
	clear(v.B[:v.N]) // ownership is visible: a batch never points at a freed buffer
	v.N = 0
}

// Free is the number of buffers in the pool.
func (p *Pool) Free() int { return len(p.free) }

// Size is the number of buffers the pool was built with.
func (p *Pool) Size() int { return p.size }
