package afxdp

import (
	"log/slog"

	"github.com/softnet/softnet/pkt"
)

// DefaultRingSize is the entries of each of a socket's four rings.
const DefaultRingSize = 2048

// DefaultFillFrames is the buffers a queue lends the kernel by default:
// a whole ring's worth. With half a ring (1024) the fill ring ran dry
// whenever the worker was off its CPU for a few milliseconds: in the veth
// scenario under load every one of the XDP socket's drops was
// fill-ring-empty, 2 to 90 % of the frames in five runs, against 0.1 and
// 3 % in two runs lending the whole ring (see doc.go, Where the time
// goes).
const DefaultFillFrames = DefaultRingSize

// Options configure a Port.
type Options struct {
	// Queues is the number of XDP sockets, bound to receive queues 0 to
	// Queues-1; fewer are opened if the device has fewer receive queues
	// (Port.Queues tells). 0 means 1.
	Queues int
	// Arena is the UMEM: every socket registers its whole frame region, so
	// a frame received on one port goes out on another from the same
	// chunk. Its chunk must be 2048 or 4096 bytes. Required.
	Arena *pkt.Arena
	// Mode is ModeAuto (native XDP, else generic), ModeNative or
	// ModeGeneric.
	Mode string
	// RingSize is the entries of each ring (a power of two); 0 means
	// DefaultRingSize.
	RingSize int
	// FillFrames caps the buffers one queue lends the kernel (on its fill
	// and RX rings together); 0 means RingSize (DefaultFillFrames with
	// the default ring). They come from the pool
	// Recv is given, so a worker's pool must hold FillFrames for each
	// port it receives on, plus its TX rings and batches in flight.
	FillFrames int
	// Logger, if set, gets the one line saying which XDP mode and socket
	// mode (zero-copy or copy) the port uses and why, and at Close one
	// with its counters and its kernel drops by cause.
	Logger *slog.Logger
}

// Stats are the port's counters, summed over its queues. Read them while
// the port runs: they are plain loads of the workers' counters (a count
// may be a batch behind).
type Stats struct {
	RxPackets, RxBytes uint64
	TxPackets, TxBytes uint64
	TxRingFull         uint64 // frames dropped: the TX ring had no room
	TxKicks            uint64 // sendto calls (need_wakeup was set)
	Foreign            uint64 // frames dropped: buffer outside the UMEM arena
	FillEmpty          uint64 // top-ups that found the pool empty
	KernelDrops        uint64 // XDP_STATISTICS: rx_dropped + rx_ring_full (frames the kernel dropped)
	// XDP_STATISTICS by cause: RxRingFull, the RX ring was full (the
	// worker did not drain it in time); RxDropped, every other drop, of
	// which FillRingEmpty had no fill ring entry (no buffer lent to write
	// the frame in; the kernel counts those in both).
	RxRingFull, FillRingEmpty, RxDropped uint64
	TxDown                               uint64 // frames dropped: their queue was down (device deleted)
	Reopens                              uint64 // queues reopened after their device was deleted and re-created
	DownQueues                           int    // queues down now (their device is gone; Recv and Send retry every 200 ms)
	LastError                            string // while a queue is down: why it went down or failed to reopen
}
