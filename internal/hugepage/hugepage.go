// Package hugepage asks the kernel to back large, long-lived data-plane
// arrays (the FIB's tbl24) with transparent huge pages (pkt advises its
// buffer arenas the same way, in mappings of its own).
//
// Why: a full-table DIR-24-8 is 32 MiB read at random; with 4 KiB pages
// nearly every lookup also misses the TLB. Linux here runs THP in
// "madvise" mode, so memory must ask for it. The advice is a hint: where
// the kernel cannot give huge pages, or on other systems, nothing changes.
//
// Hot path: no (called when arrays are allocated). The unsafe use is
// confined to turning a slice into its bytes for madvise.
package hugepage

import "unsafe"

// Advise hints that s's memory should use huge pages. Call it before the
// memory is first written, so the first touch can fault huge pages in.
func Advise[T any](s []T) {
	if len(s) == 0 {
		return
	}
	var zero T
	n := len(s) * int(unsafe.Sizeof(zero))
	advise(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n))
}

// Alloc returns a zeroed slice of n T in memory of its own, outside the Go
// heap, advised to use huge pages before it is first touched (memory from
// the heap may already be faulted in with small pages, which the advice
// does not change). T must hold no pointers: the garbage collector does
// not scan this memory. The memory is never freed; use it for arrays that
// live as long as the process, such as a router's FIB. Where huge pages
// or anonymous mappings are not available it falls back to make.
func Alloc[T any](n int) []T {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if b := alloc(size); b != nil {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
	}
	return make([]T, n)
}

// AllocFree is Alloc for arrays that do not live as long as the process
// (a blocklist's tables, replaced at run time): it also returns the
// function that unmaps the memory (nil when it fell back to make, whose
// memory the garbage collector frees). Nothing may use the slice after
// free is called.
func AllocFree[T any](n int) (s []T, free func()) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if b, m := allocMapping(size); b != nil {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), func() { unmap(m) }
	}
	return make([]T, n), nil
}
