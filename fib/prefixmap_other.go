//go:build !amd64

package fib

import "unsafe"

// prefetch does nothing without the assembly (prefixmap_amd64.s): a
// PrefixMap is as correct, only its batches' misses do not overlap.
func prefetch(unsafe.Pointer) {}
