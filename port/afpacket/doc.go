// Package afpacket is softnet's AF_PACKET port: it reads a Linux network
// interface through a memory-mapped packet ring and writes it with one
// sendmmsg per batch (or through a second ring), in the batches the
// workers use.
//
// # What it owns
//
// A Port owns, per queue, one RX socket with a TPACKET_V2 slot ring (or,
// with Options.RxRing "v3", a TPACKET_V3 block ring; mmap'ed) and one TX
// socket, plain for the default transmit mode
// (sendmmsg) or with an mmap'ed TPACKET_V2 slot ring (Options.TxMode
// "ring"), plus the queue's counters. It does not own packet buffers: Recv fills buffers
// from the caller's pkt.Pool (the batch then owns them) and Send returns
// every buffer it is handed to the caller's pool (it takes ownership).
// The device stays the system's: the port puts it in promiscuous mode
// (Options.Promisc; the kernel undoes it when the sockets close) and turns
// GRO/LRO off on it (see Offloads), and changes nothing else.
//
// Hot path: yes. Recv and Send make no allocation, take no lock and make
// no syscall per packet: Recv reads the ring with plain memory accesses
// (no poll(); one recvmsg only for a frame longer than a V2 slot, see
// Rings), Send makes one sendmmsg (or, in ring mode, one sendto) per
// batch. Proven in both modes by TestZeroAllocs (testing.AllocsPerRun
// over a veth with traffic) and BenchmarkForward (b.ReportAllocs), and
// for split super-packets and finished checksums by
// TestZeroAllocsOffloads.
//
// # Threading
//
// Each queue is used by one worker goroutine: Recv(q) and Send(q) for the
// same q must not run concurrently, and only that goroutine ever touches
// q's rings, including when they are unmapped and re-created after an
// error. Different queues may be used by different goroutines at once.
// Stats, MAC, MTU, Name and WaitFD are safe from any goroutine: the counters are
// atomics written only by the queue's owner (a load and a store, no
// locked instruction) and read by Stats; PACKET_STATISTICS is read with
// getsockopt under a per-queue mutex that only Stats and the reopen path
// take, so the socket cannot be closed under it. Close is called after
// the workers stopped.
//
// # Rings
//
// RX (TPACKET_V2, the default, Options.RxRing "v2"): BlockCount blocks
// of BlockSize bytes cut into slots of 2112 bytes (33 cache lines, an odd
// number, so consecutive slot headers do not all alias to the same cache
// sets: design.md, lesson 4), default 128 x 128 KiB = 16 MiB, 7936
// slots per queue (~10 ms of 64-byte frames at 0.8 Mpps). The kernel writes each frame into the next slot
// and hands the slot over at once (its status word: TP_STATUS_USER),
// waking a poll(2) on the socket for every frame; Recv copies frames out
// of consecutive slots into pool buffers until the batch is full or it
// meets a slot the kernel still owns, and gives each slot back
// (TP_STATUS_KERNEL) as it goes; with nothing ready it returns 0 at once.
// A slot holds a frame of up to ~2020 bytes with its headers (a 1500-byte
// MTU frame with two tags). A longer one (jumbo frames, a peer's 64 KiB
// TCP super-packet) arrives in its slot truncated and flagged
// TP_STATUS_COPY, and whole in the socket's receive queue
// (PACKET_COPY_THRESH, a 4 MiB receive buffer): Recv reads it with one
// recvmsg into a 128 KiB buffer the queue owns (allocated at Open, no
// allocation per frame) and goes on as for any frame. The kernel queues
// it in slot order, so the two stay paired; if the receive buffer is full
// the frame is truncated and counted in RxOversize.
//
// RX (TPACKET_V3, Options.RxRing "v3", the ring before issue 10):
// BlockCount blocks of BlockSize bytes, default 64 x 128 KiB = 8 MiB per
// queue (128 KiB so that a 64 KiB TCP super-packet fits in one block: see
// Offloads). The kernel packs frames into a block and hands the whole
// block over when it is full or RetireTimeout (1 ms) after its first
// frame. Recv walks the current block frame by frame and gives the block
// back once every frame is read. A 64-byte frame takes 176 bytes of ring
// (with its virtio_net_hdr), so a block holds ~740 (3 batches) and the
// ring ~47,000: ~67 ms at the ~0.7 Mpps a veth delivers here. Blocks are
// many rather than few because a block is the unit of hand-over: at low
// rates each block is retired after 1 ms holding only a few frames, so
// the number of blocks, not their size, bounds how long a stalled reader
// is covered (64 ms).
//
// Why V2 is the default: latency. A V3 block, and the poll(2) wake-up,
// come only when the block is retired, so a lone frame waits up to
// RetireTimeout, whose least value is 1 ms (tp_retire_blk_tov counts whole
// milliseconds), however small the block; nothing a reader can do makes
// the kernel hand a partly filled block over sooner. V2 hands over, and
// wakes a poll for, every frame. BenchmarkRecvLatency (a peer sends one
// 64-byte frame every 5 ms; the port's goroutine blocks in poll(2) on
// WaitFD and calls Recv when woken, as an idle worker does; -spin calls
// Recv in a loop instead; 400 frames per run; kernel 6.18, 2 vCPUs shared
// with two other engineers' builds and a CI run, load average 3 to 7):
//
//	ring                          p50 us per run             p99 us per run
//	v3, 1 ms, 128 KiB blocks      628 557 600 585 592 603 612     1316-13265
//	v3, 1 ms, 4 KiB blocks        595 616 559 601 703 587 553     1070-54447
//	v3, 1 ms, spinning            590 575 568 592 597             1075-10033
//	v2, poll on WaitFD            63 57 62 73 42 49 98 107        607-7951
//	v2, spinning                  18 52 25 23 43                  109-36983
//
// (The first six V2 runs had an earlier geometry, 4096 or 8192 slots of
// 2 KiB; the delay does not depend on it.) V3's median is half its retire
// timeout whatever the block size. V2's,
// spinning, is the kernel's path from the peer's sendto to the slot plus
// the load; blocked in poll it adds the wake-up of a sleeping thread on a
// busy 2-vCPU VM (the scheduler's and the hypervisor's, not the ring's);
// the p99s are the load (other builds descheduling the reader).
//
// The cost of V2 is in the reader's TLB. A slot holds one frame whatever
// its size, so Recv steps onto a new 4 KiB page every second frame where
// V3 packs ~23 small frames in a page; once the ring is larger than the
// TLB covers, every page is a page walk (a nested one in a VM).
// BenchmarkRecvDrain (Recv draining 256 64-byte frames the peer put in
// the ring, ns per frame, alternating runs, same loaded machine):
//
//	v3 (8 MiB)                    100 112 122 132 149 169
//	v2 (3 MiB, the default)       120 145 189 191 239 305 381 425, once 2023
//	v2 with 16 MiB (128 blocks)   449 491 503 564 578 598 662, once 1361
//
// A 3 MiB V2 ring (1488 slots) costs ~50-100 ns less a frame than 16 MiB,
// against ~1.3 us per forwarded frame for the whole worker, and
// BenchmarkForward (both ports of one veth on one goroutine, sendmmsg,
// three alternating runs each) shows no loss: V2 0.27 0.31 0.30 Mpps,
// 1475-2277 ns system and 111-136 ns user time per frame; V3 0.28 0.22
// 0.22 Mpps, 1964-2192 and 137-240 (the load decides the spread). But
// depth decides what a flood does: in `softnet lab`'s 3 s trafgen flood
// of 64-byte frames, one run each, a 3 MiB ring lost 3.4 % (0.74 Mpps
// offered) and an 8 MiB one 8.5 % (0.96 Mpps) to KernelDrops, while
// 16 MiB lost nothing in three runs (0.61-0.94 Mpps offered; iperf3 TCP
// 3.99-4.39 Gbit/s). Hence the 16 MiB
// default: the worker's short stalls (a preemption, the hypervisor) are
// ridden out, at the TLB cost above. Options.RxRing "v3" gives the old
// ring back (~47,000 small frames, ~67 ms) for a port where riding out
// long stalls matters more than latency.
//
// Control queue (Options.ControlQueue, which softnet run sets): one more
// queue, the last, whose RX socket is bound to ETH_P_ARP with a ring of
// ControlBlockCount blocks, while the data queues' sockets carry a classic
// BPF filter that drops ARP. Under a flood the data rings overflow (their
// tail drops are PACKET_STATISTICS tp_drops, the ifq drops) but ARP lands
// in a ring the flood cannot reach, and the worker polls it with a batch
// of its own: neighbour resolution and ARP replies keep working at any
// load (bench --scenario veth-overload: every ARP request answered at
// full overload; 16 of 140 before it existed).
//
// TX ring (TxMode "ring"; TPACKET_V2, on a second socket bound with
// protocol 0 so it receives nothing): TxFrames slots (default 1024, rounded up to whole 128 KiB
// blocks of 13 slots: 1027, ~10 MiB), four batches in flight. A slot is
// TxFrameSize = 9408 bytes (32 bytes of header, then up to pkt.MaxFrame,
// a jumbo frame): the pkt.Stride, 147 cache lines, an odd number, so
// consecutive slots do not alias in the cache the way a power-of-two
// stride would (design.md, lesson 4). Every slot holds the largest frame
// whatever the device's MTU is now or becomes: the ring never needs
// re-creating when it changes (see MTU below). Send
// copies each frame into the next slot, marks it TP_STATUS_SEND_REQUEST,
// and after the batch kicks the kernel once with sendto(MSG_DONTWAIT); the
// kernel sends the marked slots in order with PACKET_QDISC_BYPASS (no
// qdisc, like a driver's doorbell per burst) and marks them available
// again when each skb is freed. A slot still in flight means the ring is
// full: the rest of the batch is freed and counted in TxRingFull.
// PACKET_LOSS makes the kernel skip a frame it rejects instead of stopping
// the ring on it; SO_SNDBUFFORCE sizes the send buffer to the ring so a
// batch of large frames never stalls on socket accounting. V2 rather than
// V3 for TX: V3's TX ring is the same fixed-slot layout (block packing is
// RX-only) and needs a 4.11+ kernel; V2 on its own socket works
// everywhere and keeps the RX socket's version free.
//
// # Transmit modes
//
// TxSendmmsg (the default): the TX socket is a plain SOCK_RAW AF_PACKET
// socket bound to the device with protocol 0 (it receives nothing) and
// PACKET_QDISC_BYPASS. Send fills a per-queue [256]mmsghdr whose iovecs
// point straight at the frames in the pool buffers (allocated once in
// Open, so nothing is copied in userspace and nothing allocated per call)
// and makes one sendmmsg(MSG_DONTWAIT) for the batch; the kernel copies
// each frame into a fresh linear skb (a frame under a page is never
// paged). sendmmsg stops at the first frame it cannot send and drops that
// frame's error, so a short count is followed by exactly one retry from
// that frame, which sends it or returns its error: busy (EAGAIN, ENOBUFS:
// a full backlog) frees the rest of the batch into TxBusy (TxNoCarrier
// when the carrier is off, see Carrier below);
// a rejected frame (EMSGSIZE, EINVAL) is counted in Errors and skipped;
// anything else (ENXIO, ENETDOWN, ...) takes the queue down as in ring
// mode, the unsent frames counted in TxDown. At most two syscalls per
// batch on a busy device, and a frame is never held for a later call:
// unlike ring slots there is nowhere to keep it. TestSendPeerDown and
// TestSendRejectedMidBatch cover both paths.
//
// Why sendmmsg is the default. The ring mode's skbs are zero-copy: their
// data are page frags pointing into the mmap'ed ring. When a veth hands
// such an skb to a peer in another network namespace the kernel must copy
// it out (skb_copy_ubufs: a page allocation and a copy per frame), and
// the receiver then pulls headers out of the frag again; the ring slot is
// released by tpacket_destruct_skb. With sendmmsg the one copy is into
// linear skb data, so veth and the receiving stack take the cheap path.
// What sendmmsg adds is per message: copying the msghdr and iovec in
// (copy_msghdr_from_user, ~6% of the sender's CPU) and one
// ___sys_sendmsg each.
//
// Measured (kernel 6.18, 2 vCPUs, `softnet bench --scenario veth
// --duration 5s`, 64-byte UDP, trafgen on CPU 0, softnet on CPU 1, one
// worker; three runs per mode, alternating, each binary built with that
// default, perf confirming no other process on either CPU):
//
//	mode      softnet Mpps         kernel Mpps           ratio             RX ring drops             softnet loss
//	ring      0.646 0.809 0.777    0.831 0.782 0.594     0.78 1.03 1.31    480k 837k 1054k           12% 16% 20%
//	sendmmsg  0.799 0.668 0.661    0.779 0.664 0.728     1.02 1.01 0.91    110k  91k   60k           2.5% 2.4% 1.6%
//
// The Mpps do not separate the modes: both the Linux and the softnet
// figures vary by ±20% from run to run with trafgen's own rate (0.66 to
// 0.98 Mpps offered; CPU 0 also runs the a0→ra veth receive and
// tpacket_rcv into softnet's ring). What separates them is that in ring
// mode CPU 1 cannot keep up (12–20% of the offered frames lost at the RX
// ring) and in sendmmsg mode it nearly can (2–3%), so softnet now
// forwards ~98% of what trafgen manages to offer and trafgen (CPU 0) is
// the limit. A ring-mode run that drops more even offers more: a full RX
// ring makes tpacket_rcv on CPU 0 cheap. Per packet on CPU 1 (perf, one
// run each): the send path (Send and everything under its syscall,
// including host B's receive, which veth runs on the sending CPU) is
// 1.33 us in ring mode (skb_copy_ubufs alone 0.17 us, B's backlog
// processing 0.42 us) and 1.25 us with sendmmsg (B's backlog 0.26 us);
// the worker's idle back-off is ~4% of CPU 1 in ring mode and ~12% with
// sendmmsg. BenchmarkForward (both ports of one veth on one goroutine,
// three runs): ring 2.9–3.4 us of system time per frame, sendmmsg
// 2.5–2.7 us.
//
// RX details: our own transmissions are not received back
// (PACKET_IGNORE_OUTGOING, and sll_pkttype is checked for kernels without
// it). The kernel always takes an 802.1Q tag out of a received frame into
// the ring header (TP_STATUS_VLAN_VALID, even without the 8021q module);
// Recv puts it back, so softnet's VLAN stages see the frame as sent. A
// frame longer than pkt.MaxFrame with its tag (a device MTU above 9258),
// or captured short (longer than a V3 ring block or the V2 copy buffer), is dropped and counted in
// RxOversize: never truncated, never copied past a buffer. Recv takes at
// most pkt.BatchSize frames off the ring per call, dropped ones included,
// so a stream of such frames cannot hold a worker in it. With Queues > 1 the RX sockets join one PACKET_FANOUT group
// (FANOUT_HASH | FLAG_DEFRAG): the kernel's flow hash, symmetric in
// addresses and ports, keeps each flow (both directions) on one queue, and
// fragments are reassembled for hashing so a datagram's fragments stay
// together. The kernel numbers a group's members in join order (hash % n
// picks one), so data queue i must be member i on every port for both
// directions of a flow to reach the same worker: Open joins them in queue
// order, and after a reopen (a re-created device, or one queue's socket
// error) every data queue joins a fresh group, again in queue order, once
// all of them have their new sockets (fanout_linux.go). A queue still in
// the old group notices at its next Recv (one atomic load per call) and
// reopens to join.
//
// # Offloads
//
// On veth, segmentation and checksum offloads are decided by the SENDING
// device, and a host's veth has them on by default: a TCP sender's
// super-packet (TSO/GSO, up to 64 KiB) crosses the veth whole and
// AF_PACKET hands it over as one frame, and with tx-checksumming on
// frames arrive CHECKSUM_PARTIAL (the TCP or UDP checksum field holds
// only the pseudo-header sum). Linux, forwarding them, segments and
// finishes them before a wire; so does Recv, so the peers need no
// `ethtool -K ... tx off`:
//
//   - The RX socket asks for PACKET_VNET_HDR: the kernel puts a
//     virtio_net_hdr in front of each frame in the ring with the
//     partial checksum's csum_start and csum_offset and the
//     super-packet's gso_type and gso_size (and, for a frame longer
//     than a V2 slot, in front of the frame recvmsg returns). It works
//     with TPACKET_V2 and V3 rings on this kernel (6.18; measured: flags,
//     offsets and gso_size exact, 64 KiB super-packets whole in a 128 KiB
//     V3 block or through the V2 copy path).
//   - A partial checksum is finished as skb_checksum_help does: the sum
//     from csum_start to the end of the frame, complemented, into the
//     field (0xffff for 0), after the VLAN tag is put back (offsets
//     shifted by 4). Only TCP and UDP fields (csum_offset 16 or 6):
//     SCTP's CRC32c is flagged the same way and such a frame is dropped
//     (RxCsumPartial) rather than forwarded with a wrong checksum.
//     Finished frames are counted in RxCsumFinished, not as drops.
//   - A TCP super-packet (IPv4 or IPv6) is split into segments of
//     gso_size payload bytes, each copied into its own pool buffer with
//     the headers: IP length, IPv4 identification (+1 per segment) and
//     header checksum, TCP sequence number, FIN and PSH on the last
//     segment only, CWR on the first only, and the TCP checksum computed
//     in full. The segments are what the sender's stack would have put
//     on a wire (RxGSOSplit counts the super-packets, RxPackets the
//     segments). A super-packet whose segments do not fit in the batch
//     or the pool waits in the ring for the next Recv; one Recv cannot
//     split (UDP GSO, segments larger than a buffer, more than 256
//     segments) is dropped and counted in RxOversize.
//
// All of it is plain loops over the frame in the buffer: no allocation,
// no syscall (but the V2 copy path's one recvmsg per super-packet), and
// frames without offloads pay one branch. The V3 RX block is 128 KiB
// (twice what it was) so that a 64 KiB super-packet fits in one; a frame
// larger than a block (V2: than the 128 KiB copy buffer) is truncated by
// the kernel and counted in RxOversize. On a kernel that refuses
// PACKET_VNET_HDR with the ring,
// Open goes on without it: a frame flagged TP_STATUS_CSUMNOTREADY has its
// TCP or UDP header found by parsing (Ethernet, up to two VLAN tags, IPv4
// without fragmentation or IPv6 without extension headers) and is
// finished the same way, and super-packets are dropped (RxOversize).
//
// Open turns GRO and LRO off on its own device (unless
// Options.NoOffloadChange), since those would merge received segments
// into super-packets on a real NIC. DisableOffloads turns TSO, GSO, GRO,
// LRO, tx- and rx-checksumming off on any device: the lab's
// NewOffloadsOff (and the benchmark) use it to measure without the work
// above. softnet transmits frames with their checksums complete, so
// nothing is offloaded on TX. TestTCPPeerOffloads covers both peers.
//
// # Waiting
//
// Port implements port.Waiter: WaitFD(q) is queue q's RX socket, which
// poll(2) reports readable when its ring has a frame for Recv (POLLERR
// when the device goes down or away; Recv then notices within 128 calls,
// see Lifecycle). With the V2 ring that is microseconds after the frame
// arrived, with V3 up to RetireTimeout later (see Rings). While a queue
// is down WaitFD is -1, so an idle worker keeps calling Recv, which
// reopens it; after a reopen it is the new socket. TestWaitFD covers both
// rings and a reopen; BenchmarkRecvLatency measures the delay.
//
// # MTU
//
// The port supports any device MTU up to 9258 (pkt.MaxFrame = 9280 bytes
// with an Ethernet header and two tags; a 9000-byte jumbo MTU with room
// to spare), and follows the MTU when it changes at run time (ip link set
// DEV mtu N) without reopening anything: no limit in the port is derived
// from the MTU. On receive, the device itself enforces its MTU (a veth
// drops a longer frame from its peer; a NIC does not receive one), and
// the only frames past it are super-packets, which the virtio_net_hdr
// identifies (see Offloads). On send, the kernel checks each frame
// against the MTU it has at that moment and rejects a longer one
// (EMSGSIZE: counted in Errors, the rest of the batch sent). Every
// buffer and every TX slot holds the largest frame. softnet's control
// plane reads the device's MTU once a second (run's link watcher) and
// fragments, or answers "fragmentation needed" (RFC 1191) to, packets
// that no longer fit; a frame sent in the second between a lowered MTU
// and the watcher noticing it is one of those Errors. Port.MTU is the
// device's MTU as the last (re)open or Stats call read it (an ioctl on the
// port's own socket, so in the device's namespace). TestMTUChange covers
// both directions; TestMTUFollowed Port.MTU.
//
// # Stack drop
//
// An AF_PACKET socket gets a copy of each frame; the device's own stack
// still gets the frame itself and, for a device softnet routes on, only
// throws it away (a frame to softnet's MAC is "for another host"), on the
// sending CPU when the frame came over a veth. Options.StackDrop (config
// stack_drop: true) cuts that: a tc ingress program that returns
// TC_ACT_SHOT for every frame (stackdrop_linux.go: two instructions built
// with cilium/ebpf's asm, no clang), attached through a tcx BPF link
// (Linux 6.6 or later), so it goes away when the port closes or softnet
// dies. The kernel hands a frame to the packet sockets bound with
// ETH_P_ALL (every queue's, the ARP control queue's too) before tc
// ingress runs, so softnet still receives everything; the namespace's
// stack receives nothing on that device (no ARP, no ping answered by the
// host on its addresses there), which is why it is off by default. A
// device deleted and re-created gets the program again when its queues
// reopen. TestStackDrop covers it; the veth scenario's --stack-drop
// measures it.
//
// # Lifecycle
//
// A device that goes down, disappears (e.g. its veth peer deleted) or
// errors takes its queues down without a panic, a goroutine or a spin:
// Send sees the sendmmsg or sendto error (ENXIO, ENETDOWN, ENODEV, EBADF,
// ...), and
// Recv, which makes no syscall while frames flow, reads SO_ERROR once per
// 128 empty polls (the kernel sets ENETDOWN on the socket when its device
// goes down or away). The owning goroutine then folds in the socket's last
// kernel statistics, takes the rings and sockets away from the queue and
// marks it down: Stats().Up is false, LastError says what happened, Errors
// counts it. While down, Recv returns 0 and Send frees its batch (counted
// in TxDown) and returns 0, after one monotonic clock read; every 200 ms
// one of those calls starts a reopen: it looks the device up by name
// (a re-created device has a new ifindex), requires it to be up, and
// creates fresh sockets and rings. Reopens counts successes.
// The old sockets are closed and the new ones made on goroutines of their
// own, never on the worker's thread: closing a packet socket and making
// its ring (PACKET_RX_RING) each wait for an RCU grace period
// (synchronize_net), which took seconds on a busy machine while the
// worker's other ports' rings overflowed (the soak's lost_unchanged, see
// docs/faults.md; TestReopenAside holds a reopen as long as it likes and
// the worker's Recv returns meanwhile). A reopen runs on a thread that
// joins the network namespace Open was called in, and leaves what it made
// for the owning goroutine, which installs it at its next Recv or Send:
// only the owner ever touches the rings it reads and writes. Close waits
// for a reopen in progress. An interface that exists but is down at Open
// opens with its queues down and comes up the same way. Open acts in the
// network namespace of the calling thread (softnet runs in one). Once the
// port is up again LastError is cleared: it explains a port that is down.
// TestLifecycle checks that the attempts come only when due (no timing
// threshold); BenchmarkLifecycle reports the CPU share of polling a down
// port and the time from re-creating the device to the first frame.
//
// Carrier. A device can be up without its link (`ip link` NO-CARRIER: the
// veth peer is down, the cable pulled). The kernel then refuses every
// frame with ENOBUFS, which would look like a busy device or a full
// ring; and the sockets stay open. So the carrier is link state: Stats
// reads it (ETHTOOL_GLINK, the driver's carrier, or IFF_RUNNING for a
// device without it: one ioctl per Stats call) and reports Up false,
// Carrier false and LastError "no carrier" while it is off. Send checks a
// port-wide flag (one atomic load per batch): while the carrier is off it
// frees the batch into TxNoCarrier and re-reads the carrier at most every
// 50 ms (carrierEvery), so sending resumes on its own; a sendmmsg or kick
// that fails as busy also re-reads it (at most as often), so frames lost
// to a missing carrier are counted in TxNoCarrier, not TxBusy.
// TestSendPeerDown covers both transmit modes.
package afpacket
