// Package port defines the one interface every packet I/O backend implements:
// in-memory ports and generators (port/mem), and later AF_PACKET, AF_XDP, TAP
// and pcap files.
//
// Hot path: yes. A worker calls Recv and Send once per batch, never per
// packet. A port queue is used by one worker at a time; a port's methods are
// not safe for concurrent use on the same queue.
package port

import "github.com/softnet/softnet/pkt"

// Port is a packet I/O backend with burst receive and burst transmit.
type Port interface {
	// Name is the port's name in counters and the CLI.
	Name() string
	// Recv appends up to v.Room() received frames to v, taking buffers from
	// pool, and returns how many it appended. It does not block, and its
	// work per call is bounded: it takes at most a batch's worth
	// (pkt.BatchSize) of frames off the device, the ones it drops (too
	// long, malformed) included. The batch owns the appended buffers.
	Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int
	// Send takes ownership of every buffer in v (sent or not, each goes back
	// to pool), empties v, and returns how many frames it sent.
	Send(queue int, v *pkt.Batch, pool *pkt.Pool) int
}

// TxQueuer is a Port with a fixed number of transmit queues, numbered 0 to
// TxQueues()-1, each used by one worker at a time. A worker's transmit
// queue on each port is assigned when it is built (dp.Options.TxQueue) and
// checked against TxQueues when it starts: a queue out of range is refused,
// never wrapped onto another worker's queue. A Port without TxQueues (a
// mem.Queue, whose Send takes a lock) takes any queue number >= 0.
type TxQueuer interface {
	TxQueues() int
}
