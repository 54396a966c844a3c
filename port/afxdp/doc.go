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
// samples). AF_PACKET: sendmmsg 39, Gosched 47, futex 21. (That was
// with trafgen as the source and the old Gosched back-off; the profile
// with the XDP generator is under "The worker's CPU with the XDP
// generator" below.)
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
// # The worker's CPU with the XDP generator
//
// With softnet's XDP generator as the source (several Mpps into ra; a
// quiet run at 09:16 on 7 December: kernel 3.66 Mpps, softnet 2.27,
// ratio 0.62, ~440 ns of the worker's CPU a frame), ra's kernel drops
// are all fill ring empty (rx_ring_full 0): the RX side gets back only
// the buffers the worker has forwarded, so the worker's CPU is the bound.
// perf record -C 1 -g (cpu-clock, 999 Hz, 3.5 s inside the softnet flood
// of softnet bench --scenario veth --backend afxdp), the router process's
// samples on its CPU, by what the stack shows (two runs, load 14-16
// from other sessions: the router had 24-29 % of cpu 1):
//
//	the TX kick, sendto of each batch (copy mode)    74-76
//	  b0's receive in that sendto's softirq          35-37  (process_backlog,
//	      ip_rcv dropping frames for a MAC b0 does not own, kfree_skb,
//	      xsk_destruct_skb writing the completion ring; __dev_direct_xmit
//	      re-enables bottom halves after each frame, so net_rx_action
//	      runs once per frame)
//	  veth_xmit                                      11-12
//	  skb allocation (sock_alloc_send_pskb)          9-10
//	  the copy into the skb (skb_store_bits)         7-8
//	  the rest (syscall, __xsk_generic_xmit)         10-11
//	routing (dp's graph: ethernet, ip4 lookup, rewrite)  11
//	this package's Recv, refill, Send and complete   6-7.5
//	Go runtime: sysmon 4, the rest 1.5-2.6
//	idle (poll(2) in dp's interrupt mode)            1.4-2.9
//
// Cut here: the kick is a raw syscall (it never blocks), so the worker
// keeps its P through the 50-100 µs a batch's sendto takes. Through the
// runtime's Syscall, sysmon took the P from any syscall longer than
// 20 µs when the process had no idle P, which is the bench's case
// (softnet pinned to one CPU: GOMAXPROCS 1): a thread woken to take the
// P at each batch and the worker getting it back after, on the worker's
// CPU (TestSendKeepsP counts the context switches: 198-420 in 400
// sendto calls before, 10-44 after). A cost of it: with GOMAXPROCS 1 the
// control plane now runs between the worker's batches only when the
// worker sleeps or sysmon preempts it (every 10 ms). complete returns a
// batch of completions to the pool at once. The TX budget is already a
// whole batch per sendto (XDP_MAX_TX_SKB_BUDGET; 210-240 frames a kick
// in these runs) and copy mode never asks for a fill ring wake-up. Ratio
// before: 0.46 and 0.60 (kernel 1.37 and 0.53 Mpps, softnet 0.64 and
// 0.32); after: 0.80 and 0.73 (kernel 0.51 and 0.77, softnet 0.40 and
// 0.56), 09:26-09:41 UTC, generator limit 1.6 to 6.9 Mpps between runs:
// the load moved the figures more than the change could, so they show
// no more than that it did no harm; the profile's shares barely moved
// (sysmon still 4 %: something else keeps it at its 20 µs cadence; the
// worker's idle poll(2) in dp, a syscall of the runtime's kind, is a
// candidate, not checked).
//
// Is 1.5x reachable in copy mode on veth on this 2-vCPU VM? No. The
// kernel's copy-mode transmit and b0's receive are three quarters of the
// worker's CPU: with everything softnet owns (routing, this package,
// the runtime, idling) free, the worker would forward at most 4/3 of
// its rate, about 3.0 Mpps against the quiet run's 2.27, a ratio of
// about 0.83 against Linux's 3.66. Reaching 1.5x needs a transmit
// without an skb per frame (a zero-copy driver; veth has none), or the
// receiver's work off the worker's CPU (veth runs b0's receive in the
// softirq of softnet's sendto, where Linux forwarding runs it on the
// source's CPU along with everything else), or a third CPU.
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
