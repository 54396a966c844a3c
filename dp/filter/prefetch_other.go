//go:build !amd64

package filter

func prefetch(uintptr)                              {}
func prefetchLines(uintptr, uint, uint64, []uint64) {}
func prefetchHints(uintptr, uint, []Hint)           {}
