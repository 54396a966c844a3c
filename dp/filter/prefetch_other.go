//go:build !amd64

package filter

func prefetch(uintptr) {}
