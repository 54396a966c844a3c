//go:build !linux

package run

// lowerThreadPriority does nothing off Linux (see prio_linux.go).
func lowerThreadPriority() {}
