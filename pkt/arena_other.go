//go:build !linux

package pkt

import (
	"errors"
	"unsafe"
)

// Elsewhere than Linux the arena's memory comes from the Go heap, kept
// reachable here for the life of the process (the records hold pointers
// the GC must not see as the only reference). softnet's data plane runs on
// Linux; this keeps tools building.
var keep [][]byte

func mapFrames(size, slack int) (mapping, frames []byte, err error) {
	m := make([]byte, size+slack)
	keep = append(keep, m)
	return m, m[:size:size], nil
}

func unmapFrames([]byte) error { return nil }

func reserveIndexSpace(size int) (unsafe.Pointer, error) {
	return nil, errors.New("arenas need Linux")
}

func commitRecords(unsafe.Pointer, int) error   { return nil }
func decommitRecords(unsafe.Pointer, int) error { return nil }
