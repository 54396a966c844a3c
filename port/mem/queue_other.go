//go:build !linux

package mem

func newEventFD() int    { return -1 }
func signalFD(int)       {}
func drainFD(int) uint64 { return 0 }
func closeFD(int)        {}
