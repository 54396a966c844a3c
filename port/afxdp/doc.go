// Package afxdp is a port on a Linux device through AF_XDP sockets: the
// kernel's XDP hook hands frames to softnet before the stack builds an skb
// for them, and softnet hands the kernel only descriptors to send.
//
// Hot path: yes. Recv and Send allocate nothing, take no lock and make no
// per-packet interface call; each is one pass over a batch of ring entries
// and at most one syscall, made only when the kernel asked for it
// (need_wakeup).
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
//     reaps the completion ring, returning sent buffers to the pool.
//
// A queue lends the kernel at most Options.FillFrames buffers (fill and RX
// rings together); the rest of the pool stays with the worker. The largest
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
// Far from the 1.5x. Copy mode on veth still builds an skb per
// transmitted frame (the kernel's generic xmit, in softnet's sendto, 32
// frames a call) and copies each received frame into the UMEM in the
// sender's softirq; the XDP socket's own drops (kernel drops above:
// 248,180 in the afxdp run) say the RX side did not keep up. Profiles and
// the generator limit are the next step.
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
// 128 empty polls. The queue then goes down: its socket is closed and
// every buffer the kernel held is given back to the pool (each queue keeps
// a bit per arena buffer on its fill and RX rings, and one on its TX and
// completion rings, set and cleared as buffers go to the kernel and come
// back), WaitFD is -1, Send frees its frames (Stats.TxDown), and Recv and
// Send try to reopen it every 200 ms (LastError says why not yet). When
// a device of that name is back, the program is attached to it again (a
// new ifindex) and the queue gets a new socket; Stats.Reopens counts it.
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
