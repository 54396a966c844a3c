//go:build linux

package mem

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

func newEventFD() int {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil || fd == 0 {
		return -1
	}
	return fd
}

// signalFD adds 1 to eventfd fd (nothing if fd < 0).
func signalFD(fd int) {
	if fd < 0 {
		return
	}
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(fd, b[:])
}

// drainFD resets eventfd fd and returns the count it held.
func drainFD(fd int) uint64 {
	var b [8]byte
	if n, err := unix.Read(fd, b[:]); err != nil || n != 8 {
		return 0
	}
	return binary.NativeEndian.Uint64(b[:])
}

func closeFD(fd int) { unix.Close(fd) }
