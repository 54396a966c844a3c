package afpacket

import (
	"time"

	"github.com/softnet/softnet/pkt"
)

// Default ring geometry; doc.go explains the choices.
const (
	DefaultBlockSize     = 128 << 10 // bytes per RX block: 64 V2 slots; V3: ~740 64-byte or ~85 1514-byte frames, or one 64 KiB TCP super-packet
	DefaultBlockCount    = 64        // RX blocks per queue with RxV3: 8 MiB, ~75 ms of 64-byte frames at 0.7 Mpps
	DefaultBlockCountV2  = 128       // RX blocks per queue with RxV2: 16 MiB, 7936 slots, ~10 ms at 0.8 Mpps (see doc.go, Rings)
	DefaultRetireTimeout = time.Millisecond
	DefaultTxFrames      = 1024 // TX ring slots per queue: four full batches in flight (~10 MiB)
	// ControlBlockCount is the RX ring of the control queue: 256 blocks
	// of 4 KiB (1 MiB): 256 slots with RxV2. With RxV3 a block is retired
	// 1 ms after its first frame, so at the rate ARP comes in each holds
	// one or a few frames: the ring covers a worker stalled for a quarter
	// of a second.
	ControlBlockCount = 256
	// TxFrameSize is the stride of a TX ring slot: 32 bytes of
	// tpacket2_hdr, then the frame (up to pkt.MaxFrame = 9280 bytes, a
	// jumbo frame). It is pkt.Stride, 147 cache lines, an odd number, so
	// the slots a batch writes do not all alias to the same cache sets
	// (design.md, lesson 4).
	TxFrameSize = pkt.Stride
)

// Transmit modes (Options.TxMode); doc.go compares them.
const (
	// TxRing copies each frame into a slot of a memory-mapped TPACKET_V2
	// TX ring and kicks the kernel with one sendto per batch.
	TxRing = "ring"
	// TxSendmmsg sends each batch with one sendmmsg(2) on a plain
	// AF_PACKET socket, the kernel copying each frame straight out of its
	// pool buffer.
	TxSendmmsg = "sendmmsg"
	// DefaultTxMode is the faster of the two in the veth benchmark
	// (doc.go, Transmit modes).
	DefaultTxMode = TxSendmmsg
)

// RX ring versions (Options.RxRing); doc.go, Rings, compares them.
const (
	// RxV2 is a TPACKET_V2 ring of fixed 2112-byte slots, one frame each,
	// which the kernel hands over (and wakes a poll for) one by one, as
	// soon as it is written: microseconds of receive latency at any rate.
	// A frame longer than a slot (jumbo frames, TCP super-packets) is
	// read whole from the socket with one recvmsg.
	RxV2 = "v2"
	// RxV3 is a TPACKET_V3 ring of blocks that the kernel packs frames
	// into and hands over whole, when full or RetireTimeout after its
	// first frame: a lone frame waits up to RetireTimeout (>= 1 ms).
	RxV3 = "v3"
	// DefaultRxRing is the one with microsecond latency and the same
	// throughput in the measurements (doc.go, Rings).
	DefaultRxRing = RxV2
)

// Options configure Open. The zero value gives one queue, the default ring
// sizes, no promiscuous mode and GRO/LRO turned off on the device.
type Options struct {
	// Queues is the number of queues, one AF_PACKET socket pair each, the
	// RX sockets joined in one PACKET_FANOUT_HASH group. One per worker;
	// default 1.
	Queues int
	// RxRing is the RX ring's version: RxV2 or RxV3; empty means
	// DefaultRxRing.
	RxRing string
	// BlockSize and BlockCount shape each queue's RX ring: BlockCount
	// blocks of BlockSize bytes, each holding BlockSize/2112 slots
	// (RxV2) or packed frames (RxV3). BlockSize must be a multiple of the
	// page size. Defaults: DefaultBlockSize, and DefaultBlockCountV2 or
	// DefaultBlockCount.
	BlockSize, BlockCount int
	// RetireTimeout is how long the kernel waits before handing over a
	// partly filled RX block (TPACKET_V3 tp_retire_blk_tov, whole
	// milliseconds, at least 1 ms). It bounds the receive latency of a
	// lightly loaded RxV3 port; RxV2 does not use it.
	RetireTimeout time.Duration
	// TxMode is how Send hands frames to the kernel: TxRing or
	// TxSendmmsg; empty means DefaultTxMode.
	TxMode string
	// TxFrames is the number of TX ring slots per queue (rounded up to
	// fill whole ring blocks). TxRing only.
	TxFrames int
	// Promisc puts the device in promiscuous mode for as long as the port
	// is open (PACKET_MR_PROMISC; the kernel undoes it when the socket
	// closes). softnet sets it: a router receives frames for its own MAC
	// and, on a shared segment, frames it must see anyway.
	Promisc bool
	// ControlQueue adds one more queue, the last (index Queues), that
	// receives only ARP (tagged or not), from a socket of its own with a
	// small ring; the data queues' sockets then filter ARP out (a classic
	// BPF filter). A flood that fills the data rings cannot crowd ARP out:
	// the router keeps resolving and answering under overload, as a NIC
	// steering control traffic to its own queue would. Its frames count in
	// the same Stats; the queue transmits like the others.
	ControlQueue bool
	// NoOffloadChange leaves the device's offloads alone. By default Open
	// turns GRO and LRO off on its own device (see doc.go, Offloads).
	NoOffloadChange bool
	// StackDrop attaches a tc ingress program to the device that drops
	// every frame after the port's packet sockets have seen it, so the
	// namespace's own stack does not process (and drop) a second copy of
	// each frame softnet takes: the device is softnet's alone (no
	// addresses of the host's own on it). Needs Linux 6.6 (tcx). See
	// doc.go, Stack drop.
	StackDrop bool
}

// Stats are a port's counters, summed over its queues.
type Stats struct {
	RxPackets, RxBytes uint64 // frames handed to Recv's caller
	TxPackets, TxBytes uint64 // frames queued on the TX ring and kicked
	// KernelDrops and KernelFreezes are PACKET_STATISTICS tp_drops and
	// tp_freeze_q_cnt summed over the RX sockets: frames the kernel
	// dropped because the ring was full, and times the ring filled up
	// (RxV3 only: a V2 ring does not count freezes).
	KernelDrops, KernelFreezes uint64
	// RxOversize counts received frames longer than the pool's buffers
	// (Pool.MaxFrame: pkt.MaxFrame in a default arena) or than
	// a ring block holds, and super-packets Recv cannot split (UDP GSO,
	// segments larger than a buffer, or no PACKET_VNET_HDR): dropped,
	// never truncated.
	RxOversize uint64
	// RxCsumPartial counts received frames whose L4 checksum was left
	// partial (CHECKSUM_PARTIAL) and could not be finished: not TCP or
	// UDP (e.g. SCTP, whose CRC32c is offloaded the same way). Dropped.
	RxCsumPartial uint64
	// RxCsumFinished counts received frames with a partial TCP or UDP
	// checksum (from a peer with tx-checksumming on, the veth default)
	// that Recv finished, as the kernel would before a wire: forwarded,
	// not a drop.
	RxCsumFinished uint64
	// RxGSOSplit counts received TCP super-packets (from a peer with
	// TSO/GSO on, the veth default) that Recv split into MTU-sized
	// segments, each counted in RxPackets: forwarded, not a drop.
	RxGSOSplit uint64
	// TxRingFull counts frames Send freed because the TX ring had no
	// free slot (TxRing).
	TxRingFull uint64
	// TxBusy counts frames Send freed because the kernel would not take
	// them even on a second try (TxSendmmsg: EAGAIN or ENOBUFS, e.g. the
	// peer's backlog is full; with the carrier off they are TxNoCarrier).
	TxBusy uint64
	// TxBadLength counts frames Send freed because they were shorter
	// than an Ethernet header or longer than the device MTU allows.
	TxBadLength uint64
	// TxDown counts frames Send freed while the queue was down.
	TxDown uint64
	// TxNoCarrier counts frames Send freed because the device had no
	// carrier (up, but its link is not: `ip link` shows NO-CARRIER, e.g.
	// the veth peer is down): neither a full ring nor a busy device.
	TxNoCarrier uint64
	// Errors counts socket errors (each one takes the queue down) and TX
	// frames the kernel rejected.
	Errors uint64
	// Reopens counts queues re-created after an error.
	Reopens uint64
	// Up is true while every queue has working sockets and the device
	// has its carrier (administratively up and the link up: what `ip
	// link` shows as LOWER_UP rather than NO-CARRIER).
	Up bool
	// Carrier is false while the device is up without carrier (then Up
	// is false too, and LastError says so).
	Carrier bool
	// LastError is the last error seen, with what to do about it, while
	// the port is not Up; "" once it is up again (the error is over).
	LastError string
}
