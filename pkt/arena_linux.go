package pkt

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugeSize = 2 << 20

// mapFrames maps size bytes of frames (2 MiB aligned, advised to use huge
// pages) plus slack bytes after them; it returns the whole mapping and the
// frames.
func mapFrames(size, slack int) (mapping, frames []byte, err error) {
	m, err := unix.Mmap(-1, 0, size+slack+hugeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, nil, err
	}
	base := uintptr(unsafe.Pointer(&m[0]))
	off := int(((base + hugeSize - 1) &^ (hugeSize - 1)) - base)
	f := m[off : off+size : off+size]
	_ = unix.Madvise(m[off:off+size+slack], unix.MADV_HUGEPAGE) // a hint: plain pages where THP is off
	return m, f, nil
}

func unmapFrames(m []byte) error {
	if m == nil {
		return nil
	}
	return unix.Munmap(m)
}

// reserveIndexSpace reserves size bytes of address space, inaccessible and
// not committed, for the record arrays of every arena.
func reserveIndexSpace(size int) (unsafe.Pointer, error) {
	return unix.MmapPtr(-1, 0, nil, uintptr(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
}

// commitRecords makes size bytes at p (inside the reserved range) usable.
func commitRecords(p unsafe.Pointer, size int) error {
	_, err := unix.MmapPtr(-1, 0, p, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED)
	return err
}

// decommitRecords gives size bytes at p back to the reservation.
func decommitRecords(p unsafe.Pointer, size int) error {
	_, err := unix.MmapPtr(-1, 0, p, uintptr(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	return err
}
