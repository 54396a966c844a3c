package port

// Waiter is a port whose receive queues a worker can wait on instead of
// polling them: when every queue it polls is a Waiter (and its control
// rings have nothing), an idle worker blocks in poll(2) on these
// descriptors and wakes within microseconds of a frame, rather than
// spinning or sleeping on a timer (design.md: idle without latency).
//
// One interface call per queue when the worker goes idle, none per packet.
type Waiter interface {
	// WaitFD returns a file descriptor that poll(2) reports readable
	// (POLLIN) when queue may have frames for Recv, or -1 when the queue
	// has none to offer (the worker then keeps polling it). A spurious
	// wake-up is allowed (Recv then returns 0); a missed one is not: a
	// frame that arrives after a Recv that returned 0 must make the
	// descriptor readable. The descriptor stays valid while the port is
	// open; after the port reopens its device, WaitFD returns the new one.
	WaitFD(queue int) int
}
