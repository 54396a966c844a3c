package filter

// prefetch asks for the cache line at p without waiting for it (a load
// that misses holds up the instructions after it; a prefetch does not).
//
//go:noescape
func prefetch(p uintptr)

// prefetchLines prefetches, for each h of hs, the line at base +
// (h&mask)<<shift: a vector's home buckets in one call (a call per
// prefetch costs more than the prefetch).
//
//go:noescape
func prefetchLines(base uintptr, shift uint, mask uint64, hs []uint64)

// prefetchHints prefetches, for each hint h ≥ 0 of hints, the line at
// base + h<<shift: a vector's matching entries in one call.
//
//go:noescape
func prefetchHints(base uintptr, shift uint, hints []Hint)
