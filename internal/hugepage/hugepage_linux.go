package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const huge = 2 << 20

// advise calls madvise(MADV_HUGEPAGE) on the 2 MiB-aligned interior of b.
func advise(b []byte) {
	start := uintptr(unsafe.Pointer(&b[0]))
	end := start + uintptr(len(b))
	lo := (start + huge - 1) &^ (huge - 1)
	hi := end &^ (huge - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-start:hi-start], unix.MADV_HUGEPAGE)
}

// alloc maps size bytes (plus slack to align to 2 MiB), advises huge pages
// and returns the aligned part, or nil.
func alloc(size int) []byte {
	b, _ := allocMapping(size)
	return b
}

func unmap(m []byte) { _ = unix.Munmap(m) }

// allocMapping is alloc that also returns the whole mapping (to unmap).
func allocMapping(size int) (b, m []byte) {
	if size <= 0 {
		return nil, nil
	}
	m, err := unix.Mmap(-1, 0, size+huge, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil
	}
	base := uintptr(unsafe.Pointer(&m[0]))
	off := int(((base + huge - 1) &^ (huge - 1)) - base)
	b = m[off : off+size : off+size]
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return b, m
}
