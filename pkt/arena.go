package pkt

import (
	"fmt"
	"sort"
	"sync"
	"unsafe"
)

// ArenaOptions shape an Arena's frame region.
type ArenaOptions struct {
	// Frames is the number of buffers (frames and records).
	Frames int
	// Chunk is the bytes of frame memory per buffer; 0 means Stride (9408:
	// any jumbo frame fits). 2048 and 4096 make the region usable as an
	// AF_XDP UMEM in aligned-chunk mode. A multiple of 64 from 2048 to
	// Stride.
	Chunk int
	// Stagger is the number of distinct packet data offsets: buffer i's
	// frame starts at Headroom + (i%Stagger)*64 in its chunk, so the
	// headers of consecutive buffers of power-of-two chunks do not all
	// fall in the same cache sets (AF_XDP unaligned-chunk mode allows
	// any start). 0 or 1: no stagger. Only for power-of-two chunks.
	Stagger int
}

// Arena is one contiguous mmap'd region of frames (advised to use huge
// pages) and its array of 64-byte metadata records (Buf), both off the Go
// heap: the GC never scans nor moves them. Every buffer has a global
// uint32 index (At). Make arenas before the ports that fill them; Close
// unmaps both regions (after which no index of the arena may be used).
type Arena struct {
	first    uint32 // index of frame 0
	n        int
	chunk    int
	stagger  int
	maxFrame int
	units    int            // record pages (of recsPerPage records) reserved in the index space
	region   []byte         // the frames: n*chunk bytes
	mapping  []byte         // the whole frame mapping (alignment and tail slack included)
	recs     unsafe.Pointer // &record[first]
	closed   bool
}

// minFrame is the smallest MaxFrame an arena may have: a 1500-byte MTU
// frame with its Ethernet header and two VLAN tags.
const minFrame = 1500 + 14 + 8

// NewArena maps an arena. Its errors say which option is wrong.
func NewArena(o ArenaOptions) (*Arena, error) {
	if o.Frames <= 0 {
		return nil, fmt.Errorf("pkt: arena of %d frames: want at least 1", o.Frames)
	}
	if o.Chunk == 0 {
		o.Chunk = Stride
	}
	if o.Chunk < 2048 || o.Chunk > Stride || o.Chunk%64 != 0 {
		return nil, fmt.Errorf("pkt: arena chunk %d bytes: want a multiple of 64 from 2048 to %d (2048 or 4096 for an AF_XDP UMEM)", o.Chunk, Stride)
	}
	if o.Stagger <= 1 {
		o.Stagger = 1
	} else if o.Chunk&(o.Chunk-1) != 0 {
		return nil, fmt.Errorf("pkt: arena stagger %d with chunk %d: stagger is for power-of-two chunks (2048, 4096); %d-byte chunks already vary where headers fall", o.Stagger, o.Chunk, o.Chunk)
	}
	maxFrame := o.Chunk - Headroom - (o.Stagger-1)*64
	if maxFrame < minFrame {
		return nil, fmt.Errorf("pkt: arena chunk %d with stagger %d leaves %d bytes for a frame: want at least %d (a 1500-byte MTU frame with two VLAN tags); use a smaller stagger or a larger chunk", o.Chunk, o.Stagger, maxFrame, minFrame)
	}
	if o.Frames > maxRecords/2 {
		return nil, fmt.Errorf("pkt: arena of %d frames: want at most %d", o.Frames, maxRecords/2)
	}
	a := &Arena{n: o.Frames, chunk: o.Chunk, stagger: o.Stagger, maxFrame: maxFrame}
	// Frame region: n chunks, plus Stride bytes of slack so that a
	// buffer's Stride-byte array view never reaches past the mapping.
	m, region, err := mapFrames(o.Frames*o.Chunk, Stride)
	if err != nil {
		return nil, fmt.Errorf("pkt: arena of %d %d-byte frames: %w (lower the pool size)", o.Frames, o.Chunk, err)
	}
	a.mapping, a.region = m, region
	a.units = (o.Frames + recsPerPage - 1) / recsPerPage
	recs, first, err := reserveRecords(a.units)
	if err != nil {
		_ = unmapFrames(m)
		return nil, fmt.Errorf("pkt: arena of %d frames: records: %w", o.Frames, err)
	}
	a.recs, a.first = recs, first
	for i := range o.Frames {
		b := (*Buf)(unsafe.Add(recs, uintptr(i)*RecordSize))
		b.data = (*[Stride]byte)(unsafe.Pointer(&region[i*o.Chunk]))
		b.idx = first + uint32(i)
		b.size = uint16(o.Chunk)
		b.head = uint16(Headroom + (i%o.Stagger)*64)
		b.Off = b.head
	}
	return a, nil
}

// Close unmaps the arena. Every buffer of it must be back in a pool that
// is no longer used (or nowhere): its indices become invalid.
func (a *Arena) Close() error {
	arenaMu.Lock()
	defer arenaMu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	err := releaseRecords(a.recs, a.first, a.units)
	if e := unmapFrames(a.mapping); err == nil {
		err = e
	}
	a.region, a.mapping = nil, nil
	return err
}

// Len is the number of buffers.
func (a *Arena) Len() int { return a.n }

// Chunk is the bytes of frame memory per buffer.
func (a *Arena) Chunk() int { return a.chunk }

// Stagger is the number of distinct frame start offsets (1: none).
func (a *Arena) Stagger() int { return a.stagger }

// MaxFrame is the largest frame a buffer of the arena holds.
func (a *Arena) MaxFrame() int { return a.maxFrame }

// First is the global index of the arena's frame 0; frame i is First()+i.
func (a *Arena) First() uint32 { return a.first }

// Buf returns the arena's buffer i (0 <= i < Len()).
func (a *Arena) Buf(i int) *Buf {
	if uint(i) >= uint(a.n) {
		panic("pkt: Arena.Buf: index out of range")
	}
	return At(a.first + uint32(i))
}

// Region is the frame region: Len()*Chunk() bytes, buffer i's chunk at
// i*Chunk(). Register it as an AF_XDP UMEM.
func (a *Arena) Region() []byte { return a.region }

// Addr is the UMEM address of b's frame (its offset in Region), as an
// AF_XDP descriptor carries it. b must be a buffer of a.
func (a *Arena) Addr(b *Buf) uint64 {
	return uint64(uintptr(unsafe.Pointer(&b.data[b.Off])) - uintptr(unsafe.Pointer(&a.region[0])))
}

// Lookup returns the buffer whose chunk holds UMEM address addr and the
// frame's offset in Raw(); ok is false when addr is outside the region.
func (a *Arena) Lookup(addr uint64) (b *Buf, off int, ok bool) {
	if addr >= uint64(len(a.region)) {
		return nil, 0, false
	}
	i := int(addr / uint64(a.chunk))
	return At(a.first + uint32(i)), int(addr % uint64(a.chunk)), true
}

// The index space: records of every arena live in one reserved range of
// virtual memory (PROT_NONE until an arena maps its part), so At needs no
// arena argument. Index 0 to recsPerPage-1 are never handed out: the zero
// index names no buffer (At(0) faults if dereferenced).
const (
	recsPerPage = 4096 / RecordSize
	// 64 Mi buffers on 64-bit (4 GiB of address space reserved, none
	// committed); 4 Mi (256 MiB) where the address space is 32 bits.
	maxRecords = 1 << (22 + 4*(^uintptr(0)>>63))
)

var (
	recBase  unsafe.Pointer // written once, before the first index exists
	arenaMu  sync.Mutex
	freeUnit []unitRange // free record pages, sorted by start
)

type unitRange struct{ start, n int }

// reserveRecords maps units pages of records in the index space and
// returns their base and the first index.
func reserveRecords(units int) (unsafe.Pointer, uint32, error) {
	arenaMu.Lock()
	defer arenaMu.Unlock()
	if recBase == nil {
		base, err := reserveIndexSpace(maxRecords * RecordSize)
		if err != nil {
			return nil, 0, err
		}
		recBase = base
		freeUnit = []unitRange{{1, maxRecords/recsPerPage - 1}}
	}
	for k, r := range freeUnit {
		if r.n < units {
			continue
		}
		start := r.start
		if r.n == units {
			freeUnit = append(freeUnit[:k], freeUnit[k+1:]...)
		} else {
			freeUnit[k] = unitRange{r.start + units, r.n - units}
		}
		p := unsafe.Add(recBase, uintptr(start)*4096)
		if err := commitRecords(p, units*4096); err != nil {
			freeUnit = append(freeUnit, unitRange{start, units})
			sortUnits()
			return nil, 0, err
		}
		return p, uint32(start * recsPerPage), nil
	}
	return nil, 0, fmt.Errorf("the buffer index space (%d buffers) is full: close arenas that are no longer used", maxRecords)
}

// releaseRecords returns an arena's records to the index space. Called
// with arenaMu held.
func releaseRecords(p unsafe.Pointer, first uint32, units int) error {
	err := decommitRecords(p, units*4096)
	freeUnit = append(freeUnit, unitRange{int(first) / recsPerPage, units})
	sortUnits()
	// Merge neighbours.
	out := freeUnit[:1]
	for _, r := range freeUnit[1:] {
		last := &out[len(out)-1]
		if last.start+last.n == r.start {
			last.n += r.n
			continue
		}
		out = append(out, r)
	}
	freeUnit = out
	return err
}

func sortUnits() {
	sort.Slice(freeUnit, func(i, j int) bool { return freeUnit[i].start < freeUnit[j].start })
}
