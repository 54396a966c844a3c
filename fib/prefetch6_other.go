//go:build !amd64

package fib

import "unsafe"

// Only amd64 has the assembly (prefetch6_amd64.s): LookupBatch uses the Go
// steps and no prefetch, which is correct, only slower.
var asm6 = false

func prefetch6(unsafe.Pointer, []uint32) {}

func entries6asm(unsafe.Pointer, []uint32, []uint8, *byte) { panic("fib: no assembly") }

func keep6asm(unsafe.Pointer, *[batch6]uint32, []uint8, *[batch6]uint32, *byte) int {
	panic("fib: no assembly")
}

func root6asm(unsafe.Pointer, *[256]*rootChunk, *[16]byte, int, *[batch6]uint32, *[batch6]uint8, *[batch6]uint32) int {
	panic("fib: no assembly")
}
