//go:build linux

package filter

import "golang.org/x/sys/unix"

// adviseHuge asks for transparent huge pages under b (a large table: one
// TLB entry per 2 MiB instead of per 4 KiB, as pkt's arena does); the
// whole 2 MiB pages inside b only. A hint: plain pages where THP is off.
func adviseHuge(b []byte) {
	const huge = 2 << 20
	p := uintptr(unsafePointer(b))
	start := (p + huge - 1) &^ (huge - 1)
	end := (p + uintptr(len(b))) &^ (huge - 1)
	if end > start {
		_ = unix.Madvise(b[start-p:end-p], unix.MADV_HUGEPAGE)
	}
}
