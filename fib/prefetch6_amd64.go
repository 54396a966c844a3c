package fib

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// asm6 says whether LookupBatch uses the assembly steps, which need POPCNT
// (every amd64 CPU since about 2008 has it).
var asm6 = cpu.X86.HasPOPCNT

// prefetch6 asks for the cache line of word idx[k] of the node array at p,
// for every k, without waiting for any (a load that misses holds up the
// instructions after it; a prefetch does not). One call for a whole list:
// assembly functions are not inlined.
//
//go:noescape
func prefetch6(p unsafe.Pointer, idx []uint32)

// entries6asm is entries6 with the address bytes at col, 16 bytes apart.
//
//go:noescape
func entries6asm(p unsafe.Pointer, idx []uint32, live []uint8, col *byte)

// keep6asm is keep6 with the address bytes at col, 16 bytes apart.
//
//go:noescape
func keep6asm(p unsafe.Pointer, e *[batch6]uint32, live []uint8, idx *[batch6]uint32, col *byte) int

// root6asm is root6 for the n addresses at as.
//
//go:noescape
func root6asm(p unsafe.Pointer, root *[256]*rootChunk, as *[16]byte, n int, e *[batch6]uint32, live *[batch6]uint8, idx *[batch6]uint32) int
