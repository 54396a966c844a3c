//go:build linux

package filter

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugeSize = 2 << 20

// adviseHuge asks for transparent huge pages under b (a large table: one
// TLB entry per 2 MiB instead of per 4 KiB, as pkt's arena does); the
// whole 2 MiB pages inside b only. A hint: plain pages where THP is off.
func adviseHuge(b []byte) {
	p := uintptr(unsafePointer(b))
	start := (p + hugeSize - 1) &^ (hugeSize - 1)
	end := (p + uintptr(len(b))) &^ (hugeSize - 1)
	if end > start {
		_ = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
	}
}

// hugeSlice returns n zeroed Ts for a table owned by t: for a large
// table, in fresh anonymous memory off the Go heap, aligned on 2 MiB and
// advised for huge pages before it is first touched (memory the heap
// reuses was faulted in as 4 KiB pages already: a state table there
// costs a TLB miss a packet), unmapped when t is garbage; else on the
// heap. T must hold no pointers.
func hugeSlice[T any](t *Table, n int) []T {
	size := uintptr(n) * unsafe.Sizeof(*new(T))
	if size < hugeSize {
		s := make([]T, n)
		adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size))
		return s
	}
	m, err := unix.Mmap(-1, 0, int(size+hugeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		s := make([]T, n)
		adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), size))
		return s
	}
	p := uintptr(unsafePointer(m))
	off := ((p + hugeSize - 1) &^ (hugeSize - 1)) - p
	b := m[off : off+size]
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	runtime.AddCleanup(t, func(m []byte) { _ = unix.Munmap(m) }, m)
	return unsafe.Slice((*T)(unsafePointer(b)), n)
}
