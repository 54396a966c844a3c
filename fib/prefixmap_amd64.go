package fib

import "unsafe"

// prefetch asks for the cache line at p (PREFETCHT0) without waiting for
// it, as a load that misses would.
//
//go:noescape
func prefetch(p unsafe.Pointer)
