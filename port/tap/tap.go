package tap

import "github.com/softnet/softnet/pkt"

// Options tune a TAP port.
type Options struct {
	// Queues is the number of queues (file descriptors); more than one
	// makes a multi-queue device (IFF_MULTI_QUEUE). Default 1.
	Queues int
	// MTU sets the device's MTU when not 0. It must leave room for an
	// Ethernet header and two VLAN tags in a buffer (at most MaxMTU).
	MTU int
	// Up brings the link up at Open (and when the port re-creates a
	// deleted device).
	Up bool
}

// MaxMTU is the largest MTU whose frames (Ethernet header and two VLAN tags
// included) fit a packet buffer.
const MaxMTU = pkt.MaxFrame - 14 - 8

// maxQueues is the kernel's limit on TAP queues (MAX_TAP_QUEUES).
const maxQueues = 256

// Stats are a port's counters; Port.Stats reads them atomically.
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	// TxDropped counts frames Send freed without sending: the link was
	// down or gone, or the write failed.
	TxDropped uint64
	// Errors counts failed syscalls and bad frames: failed reads and
	// writes, frames too large for a buffer, failed re-attach attempts.
	Errors uint64
	// Reattaches counts queues attached again after the device was deleted.
	Reattaches uint64
	// Up is false while the device is down or gone.
	Up bool
	// LastError is the most recent problem while the port is down; ""
	// while it is up (once it is up again the problem is over).
	LastError string
}
