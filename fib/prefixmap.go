package fib

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"runtime"
	"unsafe"

	"github.com/softnet/softnet/internal/hugepage"
	"github.com/softnet/softnet/internal/ptrfree"
)

// PrefixMap is a hash table from PrefixKey to V for the control plane's
// tables of a million prefixes (the kernel routes control mirrors, the
// linux_cp mirror's view of them). A full table's burst inserts a
// million new keys, and each Go map access there is a DRAM miss (a
// million random prefixes do not fit in a cache), paid twice for an
// insert (the lookup that finds nothing, then the assignment), and the
// map grows by splitting its tables a thousand times over. PrefixMap
// instead:
//
//   - inserts or finds a key in one probe (Upsert returns the value's
//     slot, to be written in place);
//   - is one array of slots, key and value side by side (24 bytes for a
//     value of up to 4 bytes after the 18-byte key: one cache line, rarely
//     two), open addressing with linear probing at a load of at most 3/4;
//     a free slot is the zero key (a PrefixKey's last byte is 4 or 6);
//   - lets a caller that knows its next keys ask for their slots ahead
//     (Prefetch), so the misses of a batch overlap.
//
// V should hold no pointer: the table is then never scanned by the
// garbage collector, and a large one lives outside the Go heap (a V with
// pointers keeps its slots on the heap: see grow). The hash is seeded per table (random), so prefixes a
// peer chose cannot be made to collide. Deleting shifts the following
// slots of the run back (no tombstones). Not safe for concurrent use.
type PrefixMap[V any] struct {
	slots []pslot[V]
	mask  uint64
	n     int
	seed  [2]uint64
	// mem is the mapping of slots when they are outside the Go heap
	// (hugeSlots), nil when they are the heap's.
	mem *mapping
}

// mapping is slots' memory outside the Go heap: unmapped when the table
// grows out of it, or by a cleanup once the table is unreachable.
type mapping struct {
	free    func()
	cleanup runtime.Cleanup
}

// hugeSlots is the size from which a table's slots are a mapping of
// their own on huge pages (hugepage.AllocFree) rather than heap memory: a
// full table's 2^21 slots are 48 MiB, which on 4 KiB pages is 12,288
// page faults the first time they are touched (several µs each on the
// VMs softnet runs on: as much CPU as the inserts themselves) and a TLB
// miss for nearly every probe; the heap's memory cannot be given huge
// pages once faulted in. Off the heap, the table also does not count
// towards the collector's next goal.
const hugeSlots = 4 << 20

type pslot[V any] struct {
	k PrefixKey
	v V
}

// minSlots is a new table's size; it doubles when 3/4 full.
const minSlots = 64

// hash is k's hash, seeded: two 64×64→128-bit multiplies folded (as
// wyhash's), which mix every bit of the address into the slot index.
func (m *PrefixMap[V]) hash(k *PrefixKey) uint64 {
	a := binary.LittleEndian.Uint64(k[0:8])
	b := binary.LittleEndian.Uint64(k[8:16])
	c := uint64(binary.LittleEndian.Uint16(k[16:18]))
	hi, lo := bits.Mul64(a^m.seed[0], b^m.seed[1])
	hi, lo = bits.Mul64(hi^lo^c, 0x9E3779B97F4A7C15)
	return hi ^ lo
}

// keyEq is a == b in three loads each (== on [18]byte calls memequal).
func keyEq(a, b *PrefixKey) bool {
	return binary.LittleEndian.Uint64(a[0:8]) == binary.LittleEndian.Uint64(b[0:8]) &&
		binary.LittleEndian.Uint64(a[8:16]) == binary.LittleEndian.Uint64(b[8:16]) &&
		binary.LittleEndian.Uint16(a[16:18]) == binary.LittleEndian.Uint16(b[16:18])
}

// Len is the number of keys.
func (m *PrefixMap[V]) Len() int { return m.n }

// find returns k's slot index and whether k is there; if not, the index
// is the free slot where it would go. The table is not empty.
func (m *PrefixMap[V]) find(k *PrefixKey) (uint64, bool) {
	i := m.hash(k) & m.mask
	for {
		s := &m.slots[i]
		if keyEq(&s.k, k) {
			return i, true
		}
		if s.k[17] == 0 {
			return i, false
		}
		i = (i + 1) & m.mask
	}
}

// Get returns k's value.
func (m *PrefixMap[V]) Get(k PrefixKey) (v V, ok bool) {
	if m.n == 0 {
		return v, false
	}
	i, ok := m.find(&k)
	if !ok {
		return v, false
	}
	return m.slots[i].v, true
}

// Upsert returns k's value slot, k inserted with the zero value if it was
// not there (existed false). The pointer is good until the next Upsert or
// Delete.
func (m *PrefixMap[V]) Upsert(k PrefixKey) (v *V, existed bool) {
	if k[17] == 0 {
		panic("fib: PrefixMap key of no family")
	}
	if (m.n+1)*4 > len(m.slots)*3 {
		m.grow()
	}
	i, ok := m.find(&k)
	s := &m.slots[i]
	if !ok {
		s.k = k
		m.n++
	}
	return &s.v, ok
}

// Set sets k's value.
func (m *PrefixMap[V]) Set(k PrefixKey, v V) {
	p, _ := m.Upsert(k)
	*p = v
}

// Delete removes k and returns its value, if it was there.
func (m *PrefixMap[V]) Delete(k PrefixKey) (v V, ok bool) {
	if m.n == 0 {
		return v, false
	}
	i, ok := m.find(&k)
	if !ok {
		return v, false
	}
	v = m.slots[i].v
	// Backward shift: move up each following slot of the run that may
	// live at i (its home is not in (i, j]), so that no probe for it
	// meets the hole first.
	j := i
	for {
		j = (j + 1) & m.mask
		s := &m.slots[j]
		if s.k[17] == 0 {
			break
		}
		h := m.hash(&s.k) & m.mask
		if (j-h)&m.mask >= (j-i)&m.mask {
			m.slots[i] = *s
			i = j
		}
	}
	m.slots[i] = pslot[V]{}
	m.n--
	return v, true
}

// Clear removes every key, keeping the slots.
func (m *PrefixMap[V]) Clear() {
	clear(m.slots)
	m.n = 0
}

// All yields every key and value, in no order. f must not insert or
// delete.
func (m *PrefixMap[V]) All() iter.Seq2[PrefixKey, V] {
	return func(yield func(PrefixKey, V) bool) {
		for i := range m.slots {
			if s := &m.slots[i]; s.k[17] != 0 && !yield(s.k, s.v) {
				return
			}
		}
	}
}

// Prefetch asks for the cache line of k's home slot without waiting for
// it: a caller about to look up keys one after another prefetches a few
// keys ahead and finds the lines there.
func (m *PrefixMap[V]) Prefetch(k PrefixKey) {
	if m.n == 0 {
		return
	}
	prefetch(unsafe.Pointer(&m.slots[m.hash(&k)&m.mask]))
}

// PrefetchAhead is how many keys ahead a loop over a batch prefetches
// (Prefetch): enough for the misses of the keys between to overlap (a
// DRAM miss is some hundred nanoseconds, a key's other work some tens),
// few enough that the lines are still in the cache when their turn comes.
const PrefetchAhead = 16

// grow doubles the table (or makes the first one) and puts every key
// back.
func (m *PrefixMap[V]) grow() {
	old := m.slots
	n := max(2*len(old), minSlots)
	if old == nil {
		m.seed = [2]uint64{rand.Uint64(), rand.Uint64()}
	}
	oldMem := m.mem
	m.mem = nil
	// Off the heap only without pointers: the collector does not scan a
	// mapping, so a pointer kept there would not keep its target alive.
	if size := uintptr(n) * unsafe.Sizeof(pslot[V]{}); size >= hugeSlots && !ptrfree.HasPointers(reflect.TypeFor[V]()) {
		s, free := hugepage.AllocFree[pslot[V]](n)
		m.slots = s
		if free != nil {
			m.mem = &mapping{free: free}
			m.mem.cleanup = runtime.AddCleanup(m.mem, func(f func()) { f() }, free)
		}
	} else {
		m.slots = make([]pslot[V], n)
	}
	m.mask = uint64(n - 1)
	for i := range old {
		if s := &old[i]; s.k[17] != 0 {
			j, _ := m.find(&s.k)
			m.slots[j] = *s
		}
	}
	if oldMem != nil {
		oldMem.cleanup.Stop()
		oldMem.free()
	}
}
