//go:build !linux

package filter

func adviseHuge([]byte) {}

// hugeSlice returns n zeroed Ts (on Linux, in memory advised for huge
// pages).
func hugeSlice[T any](_ *Table, n int) []T { return make([]T, n) }
