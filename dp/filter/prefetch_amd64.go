package filter

// prefetch asks for the cache line at p without waiting for it (a load
// that misses holds up the instructions after it; a prefetch does not).
//
//go:noescape
func prefetch(p uintptr)
