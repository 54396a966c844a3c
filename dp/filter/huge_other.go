//go:build !linux

package filter

func adviseHuge([]byte) {}
