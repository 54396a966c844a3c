//go:build !linux

package run

// lowerThreadPriority does nothing off Linux (see prio_linux.go).
func lowerThreadPriority() {}

// mainThread reports false off Linux (see prio_linux.go).
func mainThread() bool { return false }
