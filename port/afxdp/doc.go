// Package afxdp is a port on a Linux device through AF_XDP sockets: the
// kernel's XDP hook hands frames to softnet before the stack builds an skb
// for them, and softnet hands the kernel only descriptors to send.
//
// Hot path: yes. Recv and Send allocate nothing, take no lock and make no
// per-packet interface call; each is one pass over a batch of ring entries
// and at most one syscall (Send in copy mode on kernels before 6.17: one
// per 32 frames), made only when the kernel asked for it (need_wakeup).
//
// # UMEM: the engine's arena
//
// The UMEM, the memory the kernel reads and writes frames in, is the
// caller's pkt.Arena (Options.Arena, chunk 2048 or 4096 bytes, aligned
// mode): every socket of every afxdp port registers the arena's whole frame
// region, so a buffer's UMEM address is its chunk's offset in the region,
// and a frame that arrived on one port goes out on another from the chunk
// it arrived in. Nothing is copied between UMEM and softnet's buffers:
//
//   - Recv tops the fill ring up with buffers from the worker's pool (in
//     batches of up to pkt.BatchSize, and only when a quarter batch of room
//     is free, so the producer index is stored once per batch), then hands
//     out the buffers of the RX ring's descriptors: the frame is where the
//     kernel wrote it, XDP_PACKET_HEADROOM (256) bytes into the chunk.
//   - Send puts each buffer's own chunk and frame offset on the TX ring and
//     reaps the completion ring, returning sent buffers to the pool. In
//     copy mode each sendto sends up to the socket's TX budget: a whole
//     batch where the kernel takes XDP_MAX_TX_SKB_BUDGET (Linux 6.17),
//     else the kernel's 32 frames, and Send kicks until the batch is
//     taken.
//
// A queue lends the kernel at most Options.FillFrames buffers (fill and RX
// rings together; by default a whole ring, 2048); the rest of the pool
// stays with the worker. The largest
// frame is the chunk less 256 bytes (MaxFrame): 3840 bytes with 4096-byte
// chunks, so an interface's MTU is at most 3818 (two VLAN tags).
//
// # Rings
//
// ring_linux.go is the ring code (fill, completion, RX, TX): mmap'd rings,
// free-running uint32 producer and consumer indices with a cached copy of
// the other side's, the producer index stored after the entries (release)
// and loaded before them (acquire), reserve/submit and peek/release by
// batch. It is written here on golang.org/x/sys/unix rather than taken
// from a library because the pure-Go AF_XDP packages looked at do not
// fit: asavie/xdp, the best known, maps and owns its UMEM inside
// NewSocket and hands out descriptor slices and []byte frames, where
// softnet's UMEM must be its own arena and its batches hold buffer
// indices; mdlayher/xdp is a help-wanted stub; binw666/xsk says it is not
// for production. Bindings to libxdp need cgo (CGO_ENABLED=0 must build).
// The ring protocol itself is about 100 lines.
//
// # XDP program and modes
//
// The program (prog_linux.go) is built in Go with cilium/ebpf's asm (no
// clang): bpf_redirect_map to the XSKMAP entry of the frame's receive
// queue, with XDP_PASS as the fallback action, so a queue without a socket
// leaves its frames to the stack. It is attached through a BPF link: when
// softnet exits or dies its last file descriptor of the link closes and
// the kernel detaches the program. Attach errors name what is missing
// (CAP_BPF/CAP_NET_ADMIN, RLIMIT_MEMLOCK on old kernels, a kernel without
// XDP sockets or BPF links, a driver without the mode, another program
// already attached).
//
// Modes, each chosen once at Open and logged with its reason:
// native XDP (the driver runs the program) where the driver supports it,
// else generic XDP (the stack runs it on the skb, any device); sockets
// bound in zero-copy mode where the driver supports it, else copy mode
// (veth: the kernel copies each frame into the UMEM chunk, still without
// an skb for the router namespace's stack). A veth receives in native
// mode without anything on its peer.
//
// # Queues
//
// One socket per receive queue, 0 to Options.Queues-1 (fewer if the device
// has fewer); each socket is also a transmit queue (TxQueues) and its fd
// is the queue's wait fd (port.Waiter: readable when the RX ring has
// frames).
//
// # Figures (first measurement)
//
// softnet bench --scenario veth --json, 64-byte frames, trafgen on CPU 0,
// softnet on CPU 1, this 2-vCPU machine shared with other work (load
// average 4 to 6, so the kernel's own figure moved from 0.50 to 1.02 Mpps
// between runs), back to back:
//
//	--backend afpacket: kernel 0.948 Mpps, softnet 0.505 (ratio 0.53); TCP 5.17 vs 3.49 Gbit/s
//	--backend afxdp:    kernel 0.854 Mpps, softnet 0.561 (ratio 0.66); TCP 7.20 vs 2.56 Gbit/s
//
// Far from the 1.5x.
//
// # The generator's limit
//
// The veth scenario now also measures generator_limit_mpps: the same
// trafgen flood into ra while an XDP program there drops every frame
// (lab.DropAtRouter), in the same run. It bounds every router: on this
// machine, under the load of seven other sessions (load average 14-17 on
// 2 vCPUs, trafgen getting 5-25 % of its CPU), three afxdp runs gave
// kernel 0.395 / 0.180 / 0.381 Mpps, generator limit 0.422 / 0.284 /
// 0.443, softnet 0.128 / 0.144 / 0.127; the generator limit is only 1.07
// to 1.6 times what Linux forwards, so with trafgen as the source no
// router can show the 1.5x here, and last session's quiet-machine
// flood (1.065 Mpps received of 1.064 sent through softnet on AF_XDP)
// was the generator's figure, not softnet's. Every figure's source is
// one trafgen thread on CPU 0 (the JSON's source field): trafgen's
// TX_RING frames reference the ring's pages, so each one is copied
// (skb_copy_ubufs) when it crosses into the router namespace, and with a
// second sender CPU there is none left for the router on this 2-vCPU
// machine. The cheaper source is now softnet's XDP generator (lab.XDPGen,
// softnet bench --source): BPF_PROG_RUN in live-frames mode redirects a
// prebuilt frame into a0, no socket and no skb on the sender; the bench
// measures both sources' limits in one run and floods with the one that
// pushes more per second of its CPU (README.md has the figures).
//
// # Where the time goes
//
// perf record -a -g (cpu-clock, 999 Hz, 3 s inside each phase of one
// bench run; the VM has no hardware counters, and irqs-off time shows up
// where irqs are re-enabled), shares of the named process's samples on
// its CPU, children included:
//
// Sending CPU (trafgen, cpu 0), Linux forwarding:
//
//	packet_sendmsg 100: veth_xmit 22-26 (skb_copy_ubufs 11-14: the
//	ring's pages copied into the skb), softirq 58-62 on the same CPU:
//	process_backlog 52-54, ip_rcv 24-26, ip_output 11-12, the sink's
//	veth hand-off
//
// Sending CPU, generator limit (XDP_DROP on ra):
//
//	veth_xmit 27 (skb_copy_ubufs 20), veth_poll 32 (veth_xdp_rcv_skb 27,
//	of which skb_pp_cow_data 18: veth copies every frame into a page
//	pool page because the skb has frags and less than 256 bytes of
//	headroom), page allocations 15
//
// Sending CPU, softnet on AF_XDP (copy mode):
//
//	veth_xmit 18-20 (skb_copy_ubufs 11-15), veth_poll 50-55:
//	veth_xdp_rcv_skb 49-50 = skb_pp_cow_data 15-16 + xdp_do_redirect
//	29-33 (__xsk_rcv 15-16: the copy into the UMEM chunk, xp_alloc
//	6-8 taking a fill ring entry per frame, page_frag_free 11-15)
//
// Sending CPU, softnet on AF_PACKET:
//
//	veth_xmit 18 (skb_copy_ubufs 13), __netif_receive_skb_core 52:
//	tpacket_rcv 48 (packet_lookup_frame 23 and __packet_rcv_has_room
//	20: reading the status words of ring slots the worker on the other
//	CPU just released), ip_rcv 6 (the stack's own copy, which
//	afpacket's stack_drop removes)
//
// Worker CPU (softnet, cpu 1), AF_XDP: Send 53 (the sendto of each
// batch 34: __xsk_generic_xmit 29, an skb per frame, and b0's receive in
// that sendto's softirq 16); runtime.Gosched on the locked worker thread
// 38 (dp/worker.go's idle back-off: handoffp, startm and stoplockedm, two
// futex wake-ups per yield; runtime.futex alone 20 % of the process's
// samples). AF_PACKET: sendmmsg 39, Gosched 47, futex 21.
//
// So, against the questions asked: ra runs the redirect program in
// native mode (veth's NAPI path, no generic XDP), nothing is needed on
// the peer for that; b0 receives softnet's frames through the stack's
// backlog (copy mode transmits an skb). The copy into the UMEM is 15 % of
// the sending CPU, less than the two copies veth already makes
// (skb_copy_ubufs, skb_pp_cow_data) because trafgen's skbs are not
// XDP-ready, and those two are paid by the generator limit as well.
// Send made one sendto per 32 frames (the kernel's copy-mode budget;
// a batch is up to 256): it now sets XDP_MAX_TX_SKB_BUDGET to a batch
// where the kernel has it (Linux 6.17; TestTxBudget), so a batch is one
// sendto. Recv makes a recvfrom only on an empty poll when the kernel
// set need_wakeup on the fill ring, so there is no wake-up or poll per
// frame.
//
// The XDP socket's kernel drops, now told apart (Stats RxRingFull,
// FillRingEmpty, RxDropped; Close logs them and the veth scenario keeps
// that line as softnet_port_log), were all fill ring empty, never RX
// ring full: with half a ring lent (1024 buffers, 3 ms of frames at 0.3
// Mpps), a worker off its CPU for a few milliseconds left the kernel no
// buffer; 30, 31, 40, 2.3 and 90 % of ra's frames in five runs, against
// 0.14 and 3.0 % in two runs of the same hour lending the whole ring. A
// queue now lends a whole ring (DefaultFillFrames) and package run grows
// each worker's pool by it: three runs after it (load 15) dropped 475,
// 9,836 and 3,825 frames (0.08, 1.3 and 0.7 % of ra's), ratio 0.36 /
// 0.63 / 0.51 (kernel 0.251 / 0.200 / 0.178 Mpps, softnet 0.091 / 0.125
// / 0.090, generator limit 0.230 / 0.219 / 0.271), against 0.32 / 0.37 /
// 0.31 in the three runs before it: softnet's share of its CPU, not the
// rings, bounds it here. (KernelDrops also counted each such drop twice,
// the kernel having it in rx_dropped and in rx_fill_ring_empty_descs; no
// longer.)
//
// The largest cost left that softnet owns is the worker's idle back-off
// in dp/ (outside this package): a yield on a locked thread costs two
// thread switches, and at these rates the worker yields between most
// batches.
//
// # Link state
//
// LinkUp reads the carrier (ETHTOOL_GLINK) for the router's link watcher.
// A device that goes down and up (or whose veth peer does) keeps its
// sockets bound and its program attached: frames flow again once it is
// up (e2e TestAFXDPVeth).
//
// A device deleted under the port (TestDeleteRecreate): the kernel unbinds
// its XDP sockets and sets ENETDOWN on them; a queue notices at its next
// send (ENXIO) or, receiving only, at the SO_ERROR read Recv makes every
// 128 empty polls. The queue then goes down: WaitFD is -1, Send frees its
// frames (Stats.TxDown), and its socket is closed; once it is, every
// buffer the kernel held is given back to the pool, at the queue's next
// Recv or Send (each queue keeps a bit per arena buffer on its fill and
// RX rings, and one on its TX and completion rings, set and cleared as
// buffers go to the kernel and come back). Then Recv and Send try to
// reopen it every 200 ms (LastError says why not yet). When a device of
// that name is back, the program is attached to it again (a new ifindex)
// and the queue gets a new socket; Stats.Reopens counts it.
// The old socket is closed, and the new one made, on goroutines of their
// own, never on the worker's thread: closing an XDP socket (xsk_release)
// and binding one wait for RCU grace periods, which took up to seconds
// on a busy machine while the worker's other ports went unpolled (as for
// afpacket, docs/faults.md). A reopen runs on a thread that joins the
// network namespace Open was called in, and leaves the new socket for the
// queue's owner, which installs it at its next Recv or Send; the buffers
// go back to the owner's pool only after the close is done, so the kernel
// never writes a buffer the worker has again (TestReopenAside holds the
// close and then the reopen as long as it likes: Recv and Send return
// meanwhile, the buffers come back once each, after the close). Close
// waits for a close or reopen in progress.
// A queue's receive and transmit sides must run on one goroutine (the
// router's: worker i receives queue i and sends on queue i), since a
// reopen replaces both. A reopen reads the device's MAC and MTU again
// (MAC and MTU return the new device's: it may have others); a device
// back with an MTU too large for a UMEM chunk keeps the queue down, its
// LastError saying which MTU fits, until it is lowered
// (TestReopenRereadsDevice).
// Frames the program passes to the stack (queues without a socket) are
// not seen by softnet.
package afxdp
