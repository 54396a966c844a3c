// Package tap is a port on a Linux TAP device (/dev/net/tun with IFF_TAP and
// IFF_NO_PI): frames softnet sends appear to the kernel as received on the
// device, and frames the kernel transmits on the device are what softnet
// receives. It connects the router to the host's own stack, to a namespace,
// or to anything bridged to the device.
//
// What it owns: one non-blocking file descriptor per queue (IFF_MULTI_QUEUE
// when Options.Queues > 1, so each worker gets its own queue; the kernel
// spreads the flows it transmits over the queues by flow hash) and a
// datagram socket for
// link ioctls (MTU, up/down, MAC), both bound to the network namespace Open
// ran in. The device is not made persistent: a device Open created goes away
// with Close; a persistent device made with 'ip tuntap add' stays.
//
// Hot path: yes, but a TAP is not a fast device. Recv reads one frame per
// read(2) and Send writes one frame per write(2): a TAP file descriptor
// carries exactly one frame per call, and writev or sendmmsg cannot batch on
// it (writev on a tun fd still makes one frame; sendmmsg needs a socket). So
// a TAP port costs one syscall per packet, the device's nature; AF_PACKET
// or AF_XDP ports are the fast path. Recv reads at most pkt.BatchSize
// frames per call, the ones it drops (too long for a buffer) included. Neither Recv nor Send allocates, takes a
// lock, or blocks.
//
// MAC: the device's MAC address (Port.MAC) belongs to the kernel side of
// the link. softnet is the other end of the wire and uses its own MAC for its
// interface; frames it sends to the kernel carry MAC() as destination.
//
// Link loss: when the device is set down, writes fail with EIO; when it is
// deleted, reads and writes fail with EBADFD. A queue that sees either marks
// the port down (Stats.Up false, Stats.LastError says why until it is up
// again), counts, returns
// the batch's buffers to the pool and returns 0, and then tries again at most
// once per 200 ms from the calling goroutine: a deleted device is created
// again (same name, queues, MTU and up state, in Open's namespace, with a new
// MAC) by attaching the same descriptor anew; a device set down is used
// again once it is up (an administrative down is respected, never undone).
// An idle Recv also checks the link state every 200 ms, so Stats.Up follows
// the device on a port that only receives.
//
// Concurrency: each queue is meant to be used by one worker. Send on a queue
// number beyond Queues uses queue number modulo Queues (softnet passes the
// worker ID); that is safe, as the per-queue state is atomic, but such workers
// share a descriptor. Recv on a queue beyond Queues receives nothing. Stats,
// MAC and Name may be called from any goroutine; Close must not run
// concurrently with Recv or Send.
//
// Ownership: Recv appends buffers it takes from the pool to the batch (the
// batch owns them); Send takes ownership of every buffer in the batch, sent
// or not, and returns each to the pool.
package tap
