package afxdp

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is one of the four single-producer single-consumer rings the kernel
// shares with a socket: fill and TX (softnet produces), RX and completion
// (the kernel produces). The producer and consumer indices are free-running
// uint32s; entry i is at descs[i&mask]. Each side keeps a cached copy of the
// other side's index and reads the shared one only when the cache says the
// ring is full (producer) or empty (consumer), so a busy ring costs one
// shared load per batch, not per entry.
//
// Ordering: the producer writes its entries, then stores the producer index
// (a release: the kernel's acquire load of it sees the entries); the
// consumer loads the producer index (an acquire), reads the entries, then
// stores the consumer index (a release: the producer may reuse the slots).
// Go's sync/atomic loads and stores are sequentially consistent, which is
// at least that.
type ring struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	descs    unsafe.Pointer // []uint64 (fill, completion) or []unix.XDPDesc (RX, TX)
	mask     uint32
	size     uint32
	prod     uint32 // producer side: next index to write; consumer side: cached producer index
	cons     uint32 // consumer side: next index to read; producer side: cached consumer index
	mem      []byte // the mapping
}

// mapRing maps the ring at page offset pgoff of socket fd with n entries of
// entSize bytes, as described by off.
func mapRing(fd int, off unix.XDPRingOffset, n uint32, entSize uintptr, pgoff int64, producer bool) (ring, error) {
	size := int(off.Desc + uint64(n)*uint64(entSize))
	mem, err := unix.Mmap(fd, pgoff, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return ring{}, fmt.Errorf("mmap of a %d-entry ring: %w", n, err)
	}
	base := unsafe.Pointer(&mem[0])
	r := ring{
		producer: (*uint32)(unsafe.Add(base, off.Producer)),
		consumer: (*uint32)(unsafe.Add(base, off.Consumer)),
		flags:    (*uint32)(unsafe.Add(base, off.Flags)),
		descs:    unsafe.Add(base, off.Desc),
		mask:     n - 1,
		size:     n,
		mem:      mem,
	}
	r.prod = atomic.LoadUint32(r.producer)
	r.cons = atomic.LoadUint32(r.consumer)
	if producer {
		r.cons += n // the producer's cache holds consumer+size: free = cons - prod
	}
	return r, nil
}

func (r *ring) unmap() {
	if r.mem != nil {
		_ = unix.Munmap(r.mem)
		r.mem = nil
	}
}

// needWakeup reports whether the kernel asked for a syscall to go on with
// this ring (XDP_RING_NEED_WAKEUP, with XDP_USE_NEED_WAKEUP bound).
func (r *ring) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}

// Producer side (fill, TX).

// free returns the number of entries the producer may reserve, up to want,
// loading the kernel's consumer index only when the cache has fewer.
func (r *ring) free(want uint32) uint32 {
	n := r.cons - r.prod
	if n >= want {
		return n
	}
	r.cons = atomic.LoadUint32(r.consumer) + r.size
	return r.cons - r.prod
}

// reserve takes up to want entries and returns the index of the first and
// how many; the caller fills them (addr, desc) and calls submit.
func (r *ring) reserve(want uint32) (idx, n uint32) {
	n = min(r.free(want), want)
	idx = r.prod
	r.prod += n
	return idx, n
}

// submit publishes every reserved entry to the kernel (release).
func (r *ring) submit() { atomic.StoreUint32(r.producer, r.prod) }

// Consumer side (RX, completion).

// avail returns the number of entries ready, up to want, loading the
// kernel's producer index (acquire) only when the cache has fewer.
func (r *ring) avail(want uint32) uint32 {
	n := r.prod - r.cons
	if n >= want {
		return want
	}
	r.prod = atomic.LoadUint32(r.producer)
	return min(r.prod-r.cons, want)
}

// peek returns the index of the first ready entry and how many (up to
// want); release gives them back.
func (r *ring) peek(want uint32) (idx, n uint32) {
	return r.cons, r.avail(want)
}

// release hands n peeked entries back to the kernel (release).
func (r *ring) release(n uint32) {
	r.cons += n
	atomic.StoreUint32(r.consumer, r.cons)
}

// Entries.

func (r *ring) addr(i uint32) *uint64 {
	return (*uint64)(unsafe.Add(r.descs, uintptr(i&r.mask)*8))
}

func (r *ring) desc(i uint32) *unix.XDPDesc {
	return (*unix.XDPDesc)(unsafe.Add(r.descs, uintptr(i&r.mask)*unsafe.Sizeof(unix.XDPDesc{})))
}
