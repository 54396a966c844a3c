package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/softnet/softnet/pkt"
	"golang.org/x/sys/unix"
)

// retryEvery is the least time between two reopen attempts of a queue
// that is down: often enough that traffic resumes within a fraction of a
// second, rarely enough that a missing device costs nothing.
const retryEvery = 200 * time.Millisecond

// checkEvery is how many empty Recv calls pass between two SO_ERROR
// reads. RX is pure memory reads, so an idle ring is the only sign of a
// device that went down or away; one getsockopt per 128 empty polls is
// noise next to the worker's idle back-off.
const checkEvery = 128

// Layout constants of the rings (linux/if_packet.h).
const (
	tpacket3HdrLen   = 48                  // sizeof(struct tpacket3_hdr), already TPACKET_ALIGNed
	sllPktTypeOff    = tpacket3HdrLen + 10 // sockaddr_ll.sll_pkttype after the V3 frame header
	tpacket2HdrLen   = 32                  // sizeof(struct tpacket2_hdr), already TPACKET_ALIGNed
	sll2PktTypeOff   = tpacket2HdrLen + 10 // sockaddr_ll.sll_pkttype after the V2 frame header
	rxV2FrameSize    = 2112                // a V2 RX slot: a 1500-MTU frame with two tags fits; longer ones take the copy path
	rxCopyBuf        = 128 << 10           // the copy path's buffer: a 64 KiB super-packet and its virtio_net_hdr
	rxCopyRcvbuf     = 4 << 20             // SO_RCVBUF of a V2 RX socket: the copy path's queue
	tx2DataOff       = 32                  // TPACKET2_HDRLEN - sizeof(sockaddr_ll): where a V2 TX frame starts
	rxReqFrameSize   = 2048                // tp_frame_size for the V3 request: checked, not used for layout
	controlBlockSize = 4096                // the control queue's RX block: one page
	txBlockSize      = 128 << 10           // TX ring block: 13 slots of TxFrameSize
	ethHdrLen        = 14
)

var errDown = errors.New("interface is down")

// carrierEvery is the least time between two carrier reads (one ioctl) of
// a queue that found its device without carrier, or whose sends failed as
// busy: often enough that sending resumes within a fraction of a second of
// the carrier coming back, rarely enough to cost nothing.
const carrierEvery = 50 * time.Millisecond

// epoch anchors mono, a cheap monotonic clock read only while a queue is
// down.
var epoch = time.Now()

func mono() time.Duration { return time.Since(epoch) }

// fanoutSeq makes fanout group ids of ports opened by one process differ.
var fanoutSeq atomic.Uint32

// Port is an AF_PACKET port: one RX socket (a TPACKET_V2 or V3 ring) and
// one TX socket (a TPACKET_V2 ring, or plain for sendmmsg) per queue. See
// doc.go for the threading rule.
type Port struct {
	name string
	o    Options

	blockSize, blockCount int  // RX ring
	mmsg                  bool // TxMode is TxSendmmsg
	v2                    bool // RxRing is RxV2
	txPerBlock, txBlocks  int  // TX ring: slots per block, blocks
	fanoutBase            uint16

	q   []queue
	ctl int // index of the ARP-only control queue, -1 for none

	mac    atomic.Uint64 // 6 bytes, big-endian in the low 48 bits
	mtu    atomic.Int64
	closed atomic.Bool
	// netns is the network namespace of the thread that opened the port
	// (/proc/thread-self/ns/net, -1 if it could not be read): reopens run
	// aside (see reopen) on a thread that joins it first. aside counts
	// them; Close waits for them.
	netns   int
	aside   sync.WaitGroup
	lastErr atomic.Pointer[string]
	// noCarrier is the last carrier reading (linkUp false: the device is
	// up but its link is not, `ip link` says NO-CARRIER), by Stats or
	// by a queue; Send frees its batch into TxNoCarrier while it is set.
	noCarrier atomic.Bool
	drop      *stackDrop // Options.StackDrop; nil when off

	// The fanout group (more than one data queue; see fanout_linux.go):
	// data queue i must be member i of the group, in every port, so both
	// directions of a flow reach the same worker. fanRound counts the
	// groups begun; a data queue whose socket is in an older one leaves
	// it (Recv) and joins the new one. fanReady holds the sockets built
	// for round fanRound, not yet joined, by data queue (fanN of them):
	// the round joins them in queue order once every data queue's is in.
	fanRound atomic.Uint32
	fanMu    sync.Mutex
	fanReady []*opened
	fanN     int
}

// counters are one queue's statistics: written only by the goroutine that
// owns the queue (a load and a store, no locked instruction), read by
// Stats from any goroutine.
type counters struct {
	rxPackets, rxBytes, txPackets, txBytes atomic.Uint64
	rxOversize, rxCsum, txRingFull, txBusy atomic.Uint64
	rxCsumFinished, rxGSO                  atomic.Uint64
	txBadLen, txDown, errors, reopens      atomic.Uint64
	txNoCarrier                            atomic.Uint64
}

// add is the single-writer increment.
func add(c *atomic.Uint64, n uint64) { c.Store(c.Load() + n) }

// queue is one RX socket and one TX socket with their rings.
type queue struct {
	p *Port

	// Owned by the goroutine that calls Recv and Send on this queue.
	rxFd, txFd int
	rx, tx     []byte // the mmap'ed rings (tx: TxRing only)
	cur        int    // RX block being read (or next to become ready); V2: the next slot
	left       int    // frames not yet read in block cur; 0: block not opened (V2: slot cur's index in its block)
	off        int    // offset in rx of the next frame of block cur (V2: of slot cur)
	txOff      int    // offset in tx of the next TX slot
	txSlot     int    // its index in its block
	txBlk      int    // its block
	txMax      int    // longest frame a buffer and a TX slot hold (the kernel checks the device's MTU)
	vnet       bool   // the RX socket has PACKET_VNET_HDR: frames come with a virtio_net_hdr
	blocks     int    // RX ring blocks (BlockCount; ControlBlockCount for the control queue)
	bsize      int    // RX block size (BlockSize; controlBlockSize for the control queue)
	perBlock   int    // V2: slots per block (bsize / rxV2FrameSize)
	slots      int    // V2: slots in the ring
	down       bool
	retryAt    time.Duration
	// fan: a data queue of a port with several (its RX socket is in the
	// fanout group, member index = queue index); round: the fanRound
	// whose group it joined.
	fan   bool
	round uint32
	// opening: a reopen runs on a goroutine of its own (reopen), which
	// leaves what it made in pending for the owner to install.
	opening   bool
	tries     uint64 // reopen attempts begun (tests)
	pending   atomic.Pointer[opened]
	carrierAt time.Duration // next carrier read allowed (see carrierEvery)
	idle      uint32

	// V2 copy path: a frame longer than a slot arrives truncated in its
	// slot, flagged TP_STATUS_COPY, and whole in the socket's receive
	// queue (PACKET_COPY_THRESH). Recv reads it into big (allocated once,
	// kept across reopens) with one recvmsg; bigN is its length with the
	// virtio_net_hdr, 0 when big holds nothing for slot cur.
	big   []byte
	bigN  int
	msg   unix.Msghdr
	bigIo unix.Iovec

	// TxSendmmsg: one message per frame of a batch, each mm[i] pointing
	// at iov[i] for good; Send points iov[i] at the frame in its pool
	// buffer. Allocated once in Open, kept across reopens.
	mm  *[pkt.BatchSize]unix.Mmsghdr
	iov *[pkt.BatchSize]unix.Iovec

	up atomic.Bool
	c  counters
	// waitFd is the RX socket while the queue is open, -1 while it is
	// down (WaitFD; written by the owner in open and teardown).
	waitFd atomic.Int32

	// mu orders Stats' PACKET_STATISTICS reads against the owner closing
	// and re-creating the RX socket. Only the reopen path and Stats take
	// it; Recv and Send never do.
	mu       sync.Mutex
	statFd   int // the RX socket while open, else -1
	kdrops   uint64
	kfreezes uint64
	// The V2 stuck-ring watchdog (see stuckV2): kernel drops and frames
	// received at the last Stats, and whether the kernel dropped frames
	// since while Recv got none (set by Stats, cleared by the owner).
	wdDrops, wdRx uint64
	suspect       atomic.Bool

	_ [64]byte // keep queues of different workers off each other's lines
}

// Open opens dev for packet I/O with o.Queues queues. An interface that
// exists but is down opens fine, with Stats().Up false: the queues come up
// on their own once the interface is up (see doc.go, Lifecycle). Open acts
// in the calling thread's network namespace.
func Open(dev string, o Options) (*Port, error) {
	if _, err := newIfreq(dev); err != nil {
		return nil, err
	}
	if o.Queues <= 0 {
		o.Queues = 1
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockCount <= 0 {
		o.BlockCount = DefaultBlockCount
		if o.RxRing == RxV2 || (o.RxRing == "" && DefaultRxRing == RxV2) {
			o.BlockCount = DefaultBlockCountV2
		}
	}
	if o.RetireTimeout <= 0 {
		o.RetireTimeout = DefaultRetireTimeout
	}
	if o.TxFrames <= 0 {
		o.TxFrames = DefaultTxFrames
	}
	if o.TxMode == "" {
		o.TxMode = DefaultTxMode
	}
	if o.RxRing == "" {
		o.RxRing = DefaultRxRing
	}
	if o.RxRing != RxV2 && o.RxRing != RxV3 {
		return nil, fmt.Errorf("afpacket: %s: Options.RxRing %q: use %q or %q", dev, o.RxRing, RxV2, RxV3)
	}
	if o.TxMode != TxRing && o.TxMode != TxSendmmsg {
		return nil, fmt.Errorf("afpacket: %s: Options.TxMode %q: use %q or %q", dev, o.TxMode, TxRing, TxSendmmsg)
	}
	page := os.Getpagesize()
	if o.BlockSize%page != 0 || o.BlockSize < rxReqFrameSize {
		return nil, fmt.Errorf("afpacket: %s: Options.BlockSize %d: use a multiple of the page size (%d)", dev, o.BlockSize, page)
	}
	tb := max(txBlockSize, page)
	p := &Port{
		name:       dev,
		o:          o,
		blockSize:  o.BlockSize,
		blockCount: o.BlockCount,
		mmsg:       o.TxMode == TxSendmmsg,
		v2:         o.RxRing == RxV2,
		txPerBlock: tb / TxFrameSize,
		fanoutBase: uint16(os.Getpid()*31 + int(fanoutSeq.Add(1))*0x9e37),
		q:          make([]queue, o.Queues),
		netns:      -1,
	}
	if fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		p.netns = fd
	}
	if o.ControlQueue {
		p.q = make([]queue, o.Queues+1)
		p.ctl = o.Queues
	} else {
		p.ctl = -1
	}
	p.txBlocks = (o.TxFrames + p.txPerBlock - 1) / p.txPerBlock
	if !o.NoOffloadChange {
		if err := setOffloads(dev, []uint32{unix.ETHTOOL_SGRO}, true); err != nil {
			return nil, err
		}
	}
	fanned := p.dataQueues() > 1
	if fanned {
		p.fanReady = make([]*opened, p.dataQueues())
	}
	for i := range p.q {
		q := &p.q[i]
		q.p, q.rxFd, q.txFd, q.statFd = p, -1, -1, -1
		q.fan = fanned && i < p.dataQueues()
		q.waitFd.Store(-1)
		if p.v2 {
			q.big = make([]byte, rxCopyBuf)
			q.bigIo.Base = &q.big[0]
			q.bigIo.SetLen(len(q.big))
			q.msg.Iov = &q.bigIo
			q.msg.SetIovlen(1)
		}
		if p.mmsg {
			q.mm, q.iov = new([pkt.BatchSize]unix.Mmsghdr), new([pkt.BatchSize]unix.Iovec)
			for j := range q.mm {
				q.mm[j].Hdr.Iov = &q.iov[j]
				q.mm[j].Hdr.SetIovlen(1)
			}
		}
		o, err := q.build()
		if err != nil {
			if errors.Is(err, errDown) {
				q.down = true // the first Recv or Send retries
				p.setErr(err)
				continue
			}
			p.Close()
			return nil, err
		}
		if q.fan {
			p.fanReady[i] = o // joined below, in queue order
			continue
		}
		q.install(o)
		q.up.Store(true)
	}
	if fanned {
		if err := p.openFanout(); err != nil {
			p.Close()
			return nil, err
		}
	}
	if o.StackDrop {
		p.drop = &stackDrop{}
		if err := p.attachStackDrop(); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Name is the device name.
func (p *Port) Name() string { return p.name }

// Queues is the number of queues, the control queue (see ControlQueue)
// included.
func (p *Port) Queues() int { return len(p.q) }

// TxQueues implements port.TxQueuer: every queue, the control queue
// included, has its own transmit socket.
func (p *Port) TxQueues() int { return len(p.q) }

// ControlQueue is the index of the ARP-only control queue (the last one),
// or -1 if Options.ControlQueue was not set.
func (p *Port) ControlQueue() int { return p.ctl }

// MAC is the device's hardware address (re-read when a queue reopens).
func (p *Port) MAC() [6]byte {
	m := p.mac.Load()
	return [6]byte{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// MTU is the device's MTU: read when a queue (re)opens and again by each
// Stats call, so it follows `ip link set DEV mtu N` within one Stats
// period (run's link watcher calls Stats every linkPoll).
func (p *Port) MTU() int { return int(p.mtu.Load()) }

func (p *Port) setErr(err error) {
	s := err.Error()
	p.lastErr.Store(&s)
}

// Recv appends up to v.Room() received frames to v, copying each from the
// RX ring into a buffer from pool, and returns how many it appended. It
// never blocks and makes no syscall while frames flow (but one recvmsg per
// frame longer than a V2 slot). The batch owns the appended buffers. It
// takes at most rxBudget frames off the ring per call, the ones it drops
// (oversize, bad, our own) included, so its work per call is bounded.
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	q := &p.q[queue]
	if q.fan && !q.down && q.round != p.fanRound.Load() {
		q.regroup() // another data queue began a new fanout group
	}
	if q.down && !q.reopen() {
		return 0
	}
	return q.recv(v, pool)
}

// WaitFD implements port.Waiter: queue's RX socket, which poll(2) reports
// readable (POLLIN) once a frame is in its ring for Recv: with the V2 ring
// (the default) as soon as the kernel has written the frame; with V3 only
// once its block is retired, up to RetireTimeout later (doc.go, Rings). It
// is -1 while the queue is down (the worker keeps calling Recv, which
// reopens it) and the new socket after a reopen; a socket error (the
// device went down or away) also makes it readable (POLLERR), and Recv
// then notices. One atomic load; safe from any goroutine.
func (p *Port) WaitFD(queue int) int {
	if queue < 0 || queue >= len(p.q) {
		return -1
	}
	return int(p.q[queue].waitFd.Load())
}

// Send takes ownership of every buffer in v: it hands the frames to the
// kernel with one syscall (TxRing: copied into free TX ring slots, then
// one sendto; TxSendmmsg: one sendmmsg, the kernel copying from the
// buffers), returns every buffer to pool, empties v, and returns how many
// frames it queued. Frames that find no free slot are counted in
// TxRingFull, frames the kernel would not take in TxBusy.
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	q := &p.q[queue]
	if q.down && !q.reopen() {
		add(&q.c.txDown, uint64(v.N))
		pool.PutBatch(v)
		return 0
	}
	if p.noCarrier.Load() && !q.carrier() {
		add(&q.c.txNoCarrier, uint64(v.N))
		pool.PutBatch(v)
		return 0
	}
	if p.mmsg {
		return q.sendmmsg(v, pool)
	}
	return q.send(v, pool)
}

// Close closes every queue's sockets and unmaps the rings. Call it after
// the workers stopped using the port.
func (p *Port) Close() error {
	p.closed.Store(true)
	p.aside.Wait() // reopens in progress: their results are released below
	p.closeStackDrop()
	for i := range p.q {
		q := &p.q[i]
		if q.p == nil {
			continue
		}
		q.teardown(false)
		if o := q.pending.Swap(nil); o != nil { // a reopen finished, not installed
			o.release()
		}
		q.down = true
		q.up.Store(false)
	}
	p.fanMu.Lock()
	for i, o := range p.fanReady { // built for a fanout round that never completed
		if o != nil {
			o.release()
			p.fanReady[i] = nil
		}
	}
	p.fanN = 0
	p.fanMu.Unlock()
	if p.netns >= 0 {
		_ = unix.Close(p.netns)
		p.netns = -1
	}
	return nil
}

// Stats sums the queues' counters and reads PACKET_STATISTICS from each RX
// socket. It is safe to call from any goroutine while workers use the
// port; it makes one getsockopt per queue, and reads the device's carrier
// (one or two ioctls, see doc.go, Carrier) and its MTU (one ioctl; see
// MTU).
func (p *Port) Stats() Stats {
	s := Stats{Up: !p.closed.Load(), Carrier: true}
	read := false
	for i := range p.q {
		q := &p.q[i]
		q.mu.Lock()
		q.readStatsLocked()
		if rx := q.c.rxPackets.Load(); p.v2 && q.statFd >= 0 {
			if q.kdrops > q.wdDrops && rx == q.wdRx {
				q.suspect.Store(true) // the owner checks its ring (stuckV2)
			}
			q.wdDrops, q.wdRx = q.kdrops, rx
		}
		if !read && q.statFd >= 0 {
			// The carrier, read on an open socket of the port (so in the
			// device's namespace, whichever thread calls Stats).
			if on, err := linkUp(q.statFd, p.name); err == nil {
				p.noCarrier.Store(!on)
				read = true
			}
			// And the MTU, which `ip link set DEV mtu N` changes
			// without a link change the rings would notice.
			if m, err := devMTU(q.statFd, p.name); err == nil {
				p.mtu.Store(int64(m))
			}
		}
		s.KernelDrops += q.kdrops
		s.KernelFreezes += q.kfreezes
		q.mu.Unlock()
		s.RxPackets += q.c.rxPackets.Load()
		s.RxBytes += q.c.rxBytes.Load()
		s.TxPackets += q.c.txPackets.Load()
		s.TxBytes += q.c.txBytes.Load()
		s.RxOversize += q.c.rxOversize.Load()
		s.RxCsumPartial += q.c.rxCsum.Load()
		s.RxCsumFinished += q.c.rxCsumFinished.Load()
		s.RxGSOSplit += q.c.rxGSO.Load()
		s.TxRingFull += q.c.txRingFull.Load()
		s.TxBusy += q.c.txBusy.Load()
		s.TxBadLength += q.c.txBadLen.Load()
		s.TxDown += q.c.txDown.Load()
		s.TxNoCarrier += q.c.txNoCarrier.Load()
		s.Errors += q.c.errors.Load()
		s.Reopens += q.c.reopens.Load()
		if !q.up.Load() {
			s.Up = false
		}
	}
	if s.Up && p.noCarrier.Load() {
		s.Up, s.Carrier = false, false
		s.LastError = fmt.Sprintf("afpacket: %s: no carrier: the device is up but its link is not (ip link shows NO-CARRIER: the other end of the cable or veth is down or unplugged); the port resumes by itself when the link comes back", p.name)
		return s
	}
	// The last error explains a port that is down; once every queue is up
	// again it is history, and is not shown.
	if e := p.lastErr.Load(); e != nil && !s.Up {
		s.LastError = *e
	}
	return s
}

// carrier reads the device's carrier (linkUp) with one or two ioctls on the
// queue's TX socket, at most once per carrierEvery (else it answers the
// last reading), records it for the port and reports whether the carrier
// is on. Called only by the queue's owner, while the queue is open.
func (q *queue) carrier() bool {
	now := mono()
	if now < q.carrierAt {
		return !q.p.noCarrier.Load()
	}
	q.carrierAt = now + carrierEvery
	on, err := linkUp(q.txFd, q.p.name)
	if err != nil {
		return !q.p.noCarrier.Load() // gone: the socket errors take the queue down
	}
	q.p.noCarrier.Store(!on)
	return on
}

// readStatsLocked adds the kernel's counters since the last read (the
// kernel clears them on read). q.mu is held.
func (q *queue) readStatsLocked() {
	if q.statFd < 0 {
		return
	}
	if q.p.v2 {
		// V1/V2: struct tpacket_stats, no freeze count.
		st, err := unix.GetsockoptTpacketStats(q.statFd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err == nil {
			q.kdrops += uint64(st.Drops)
		}
		return
	}
	st, err := unix.GetsockoptTpacketStatsV3(q.statFd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return
	}
	q.kdrops += uint64(st.Drops)
	q.kfreezes += uint64(st.Freeze_q_cnt)
}

// plainTCP reports whether the IP packet at l3 of f carries TCP directly,
// its header at cstart (the virtio header's csum_start): an encapsulated
// super-packet (VXLAN, GRE: csum_start at the inner TCP header) must not be
// split as if its outer header were the TCP one. IPv6 extension headers
// are not walked (a super-packet with them is not split either).
func plainTCP(f []byte, l3, cstart int) bool {
	if l3+40 > len(f) {
		return false
	}
	if f[l3]>>4 == 4 {
		return f[l3+9] == 6 && cstart == l3+int(f[l3]&0xf)*4
	}
	return f[l3+6] == 6 && cstart == l3+40
}

// errStuckV2 is why a V2 queue is reopened by its watchdog.
//
// stuckV2: with TPACKET_V1/V2 and PACKET_VNET_HDR, the kernel marks a
// slot as taken (rx_owner_map) before it writes the virtio_net_hdr, and
// if that write fails (a GSO type the header cannot express: SCTP, or
// UDP tunnels; tpacket_rcv's drop_n_account) it neither clears the mark
// nor advances its head: every later frame finds the same marked slot
// and is dropped, and the socket never becomes readable again. V3 loses
// one frame instead. The watchdog: Stats (the link watcher calls it every
// linkPoll) sets suspect when the kernel dropped frames since its last
// call while Recv got none; the owner, on an empty Recv with suspect set,
// looks at the slot the kernel should fill next: TP_STATUS_KERNEL there
// while the kernel drops means the ring is stuck (a full ring, or a
// stalled worker, has TP_STATUS_USER there), and the queue is reopened
// like after a socket error (fail; counted in errors, the reason in the
// last error). One atomic load per empty Recv, none per frame.
var errStuckV2 = errors.New("the kernel drops every frame while the next ring slot stays empty (a frame whose offload header it could not write, e.g. SCTP or tunnel GSO, left the slot marked)")

// recv is Recv on an open queue. The frame loop is the same for both ring
// versions; only where the next frame is, and how it is given back,
// differ: V3 walks the frames of a retired block and releases the block,
// V2 reads one slot at a time (its status word) and releases the slot.
func (q *queue) recv(v *pkt.Batch, pool *pkt.Pool) int {
	var got, bytes, oversize, csum, finished, gso, bad uint64
	bs := q.bsize
	v2 := q.p.v2
	// seen counts the frames taken off the ring, dropped ones included:
	// at most rxBudget per call, so a stream of frames that are all
	// dropped (oversize, bad, our own) cannot hold the worker here.
	for seen := 0; v.N < pkt.BatchSize && seen < rxBudget; seen++ {
		// The frame: its header fields, where it starts in q.rx (start)
		// and where the space the kernel could fill ends (end).
		var bd *unix.TpacketHdrV1
		var h2 *unix.Tpacket2Hdr
		var n, snap, start, end, next int
		var st uint32
		var tci, tpid uint16
		var pktType byte
		if v2 {
			h2 = (*unix.Tpacket2Hdr)(unsafe.Pointer(&q.rx[q.off]))
			st = atomic.LoadUint32(&h2.Status)
			if st&unix.TP_STATUS_USER == 0 {
				if got == 0 && q.suspect.Load() {
					q.suspect.Store(false)
					if st == unix.TP_STATUS_KERNEL {
						q.fail("receive ring stuck", errStuckV2)
						return 0
					}
				}
				break // the kernel has not filled it: nothing more to read
			}
			n, snap, start, end = int(h2.Len), int(h2.Snaplen), q.off+int(h2.Mac), q.off+rxV2FrameSize
			tci, tpid, pktType = h2.Vlan_tci, h2.Vlan_tpid, q.rx[q.off+sll2PktTypeOff]
		} else {
			base := q.cur * bs
			bd = (*unix.TpacketHdrV1)(unsafe.Pointer(&q.rx[base+8])) // after version, offset_to_priv
			if q.left == 0 {
				if atomic.LoadUint32(&bd.Block_status)&unix.TP_STATUS_USER == 0 {
					break // the kernel still fills it: nothing more to read
				}
				q.left = int(bd.Num_pkts)
				q.off = base + int(bd.Offset_to_first_pkt)
				if q.left == 0 {
					q.release(bd)
					seen-- // an empty block: no frame
					continue
				}
			}
			h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&q.rx[q.off]))
			n, snap, st, next = int(h.Len), int(h.Snaplen), h.Status, int(h.Next_offset)
			start, end = q.off+int(h.Mac), base+bs
			tci, tpid, pktType = uint16(h.Hv1.Vlan_tci), h.Hv1.Vlan_tpid, q.rx[q.off+sllPktTypeOff]
		}
		out := n
		vlan := st&unix.TP_STATUS_VLAN_VALID != 0
		tag := 0
		if vlan {
			tag = 4 // the kernel took the tag out; softnet wants it in the frame
			out += 4
		}
		src := q.rx[start:min(start+snap, end)]
		// PACKET_VNET_HDR: the virtio_net_hdr in front of the frame
		// says whether its L4 checksum is partial and whether it is a
		// TCP super-packet, with the offsets to finish or split it.
		var vh []byte
		if q.vnet && start-vnetHdrLen >= q.off {
			vh = q.rx[start-vnetHdrLen : start]
		}
		if v2 && st&unix.TP_STATUS_COPY != 0 {
			// Longer than a slot: the slot has its head, the socket's
			// receive queue the whole frame (with its virtio_net_hdr),
			// in the same order as the slots.
			if q.bigN == 0 {
				q.bigN = q.recvCopy()
			}
			if q.bigN > vnetHdrLen || (!q.vnet && q.bigN > 0) {
				src = q.big[:q.bigN]
				if q.vnet {
					vh, src = src[:vnetHdrLen], src[vnetHdrLen:]
				}
				snap, start, end = len(src), 0, len(src)
			}
		}
		var vflags, gsoType uint8
		var gsoSize, cstart, coff int
		if vh != nil {
			vflags, gsoType = vh[0], vh[1]&^vnetGSOECN
			gsoSize = int(binary.NativeEndian.Uint16(vh[4:]))
			cstart, coff = int(binary.NativeEndian.Uint16(vh[6:])), int(binary.NativeEndian.Uint16(vh[8:]))
		}
		switch {
		case pktType == unix.PACKET_OUTGOING:
			// Our own transmissions (PACKET_IGNORE_OUTGOING keeps them
			// out already; this covers kernels without it).
		case snap != n || len(src) != n:
			oversize++ // truncated: longer than a ring block (V2: the copy buffer) holds
		case n < ethHdrLen:
			bad++
		case gsoType != 0 || st&unix.TP_STATUS_GSO_TCP != 0:
			// A TCP super-packet (the peer's TSO/GSO): split it into
			// the segments the sender's stack would have put on a wire.
			hdrLen, segs, ok := gsoPlan(src, cstart, gsoSize)
			switch {
			case !ok || (gsoType != vnetGSOTCPv4 && gsoType != vnetGSOTCPv6) ||
				hdrLen+tag+gsoSize > pool.MaxFrame() || segs > maxGSOSegments || segs > pool.Size():
				oversize++ // no vnet header, UDP GSO, or segments no buffer holds
			case segs > pkt.BatchSize-v.N || segs > pool.Free():
				goto done // no room in this batch or pool: leave it for the next call
			default:
				l3 := ethHdrLen // in src
				if et := binary.BigEndian.Uint16(src[12:]); et == etherType8021Q || et == etherType8021AD {
					l3 += 4 // a tag the kernel left in the frame (QinQ's inner one)
				}
				if l3+minIPv4HeaderLen > cstart || (src[l3]>>4 == 4) != (gsoType == vnetGSOTCPv4) || !plainTCP(src, l3, cstart) {
					bad++ // also: TCP inside a tunnel (VXLAN, GRE), which this does not split
					break
				}
				l3 += tag // in the segments
				for i, pos := 0, hdrLen; i < segs; i, pos = i+1, pos+gsoSize {
					seg := min(gsoSize, n-pos)
					b := pool.Get()
					dst := b.Reset(hdrLen + tag + seg)
					copyFrame(dst, src[:hdrLen], vlan, tpid, tci, st)
					copy(dst[hdrLen+tag:], src[pos:pos+seg])
					fixSegment(dst, l3, cstart+tag, uint32(pos-hdrLen), uint16(i), i == 0, i == segs-1)
					v.B[v.N] = b.Index()
					v.N++
					bytes += uint64(len(dst))
				}
				got += uint64(segs)
				gso++
			}
		case out > pool.MaxFrame():
			oversize++ // a frame no buffer holds
		default:
			b := pool.Get()
			if b == nil {
				goto done // pool empty: leave the frame for the next call
			}
			dst := b.Reset(out)
			copyFrame(dst, src, vlan, tpid, tci, st)
			if vflags&vnetNeedsCsum != 0 || (!q.vnet && st&unix.TP_STATUS_CSUMNOTREADY != 0) {
				// CHECKSUM_PARTIAL: the L4 checksum field holds only the
				// pseudo-header sum. Finish it as the kernel would before
				// putting the frame on a wire.
				ok := false
				if q.vnet {
					ok = finishCsum(dst, cstart+tag, coff)
				} else if s, o, found := l4Offset(dst); found {
					ok = finishCsum(dst, s, o)
				}
				if !ok {
					csum++ // not TCP or UDP (SCTP's CRC32c): never forwarded unfinished
					pool.Put(b)
					break
				}
				finished++
			}
			v.B[v.N] = b.Index()
			v.N++
			got++
			bytes += uint64(out)
		}
		if v2 {
			q.bigN = 0
			atomic.StoreUint32(&h2.Status, unix.TP_STATUS_KERNEL)
			q.nextSlot()
			continue
		}
		q.off += next
		q.left--
		if q.left == 0 {
			q.release(bd)
		}
	}
done:
	if got == 0 && oversize == 0 && bad == 0 && csum == 0 {
		q.idle++
		if q.idle%checkEvery == 0 {
			q.check()
		}
		return 0
	}
	if v2 && q.suspect.Load() {
		q.suspect.Store(false) // frames flow: the ring is not stuck
	}
	add(&q.c.rxPackets, got)
	add(&q.c.rxBytes, bytes)
	if oversize|csum|bad|finished|gso != 0 {
		add(&q.c.rxOversize, oversize)
		add(&q.c.rxCsum, csum)
		add(&q.c.rxCsumFinished, finished)
		add(&q.c.rxGSO, gso)
		add(&q.c.errors, bad)
	}
	return int(got)
}

// rxBudget is the most frames Recv takes off a ring per call, kept or
// dropped: one batch's worth.
const rxBudget = pkt.BatchSize

// nextSlot moves a V2 queue to its next RX slot (slots do not cross
// blocks: a block's tail that holds no whole slot is skipped).
func (q *queue) nextSlot() {
	q.cur++
	q.off += rxV2FrameSize
	if q.left++; q.left == q.perBlock {
		q.left = 0
		q.off += q.bsize - q.perBlock*rxV2FrameSize
	}
	if q.cur == q.slots {
		q.cur, q.off = 0, 0
	}
}

// slotOff is where V2 slot i starts in q.rx.
func (q *queue) slotOff(i int) int {
	return i/q.perBlock*q.bsize + i%q.perBlock*rxV2FrameSize
}

// recvCopy reads the next whole frame of the copy path (a V2 slot flagged
// TP_STATUS_COPY) from the RX socket's receive queue into q.big, with one
// recvmsg that neither blocks nor allocates, and returns its length with
// the virtio_net_hdr (0 if there was none, or it did not fit: the frame
// is then counted as truncated).
func (q *queue) recvCopy() int {
	r, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(q.rxFd), uintptr(unsafe.Pointer(&q.msg)),
		unix.MSG_DONTWAIT|unix.MSG_TRUNC)
	if errno != 0 || int(r) > len(q.big) {
		return 0
	}
	return int(r)
}

// copyFrame copies the frame src, as the ring holds it, into dst, putting
// back the VLAN tag the kernel took out (vlan: dst is 4 bytes longer).
func copyFrame(dst, src []byte, vlan bool, tpid, tci uint16, st uint32) {
	if !vlan {
		copy(dst, src)
		return
	}
	if st&unix.TP_STATUS_VLAN_TPID_VALID == 0 {
		tpid = unix.ETH_P_8021Q
	}
	copy(dst[:12], src[:12])
	dst[12], dst[13], dst[14], dst[15] = byte(tpid>>8), byte(tpid), byte(tci>>8), byte(tci)
	copy(dst[16:], src[12:])
}

// Backlog implements port.Backlogger: the frames waiting in queue's RX
// ring, in the block being read and the blocks after it that the kernel
// has handed over (V2: the filled slots from the next one to read). It reads block headers only (no syscall), and only
// from the goroutine that calls Recv on the queue, as the worker does
// after a poll that filled its batch.
func (p *Port) Backlog(queue int) int {
	if queue < 0 || queue >= len(p.q) {
		return 0
	}
	q := &p.q[queue]
	if q.down || q.rx == nil {
		return 0
	}
	if p.v2 {
		return q.backlog2()
	}
	n, bs, cur := q.left, q.bsize, q.cur
	if q.left > 0 {
		cur++
	}
	for i := 0; i < q.blocks; i++ {
		b := (cur + i) % q.blocks
		bd := (*unix.TpacketHdrV1)(unsafe.Pointer(&q.rx[b*bs+8]))
		if atomic.LoadUint32(&bd.Block_status)&unix.TP_STATUS_USER == 0 {
			break
		}
		if b == q.cur && q.left > 0 {
			break // wrapped round to the block being read
		}
		n += int(bd.Num_pkts)
	}
	return n
}

// backlog2 is Backlog on a V2 ring. The kernel fills slots in ring order
// from its head and Recv empties them in ring order from cur, so the
// filled slots are one run starting at cur: a binary search for its end
// reads ~12 status words (4096 slots), not the whole run.
func (q *queue) backlog2() int {
	lo, hi := 0, q.slots // slots cur..cur+lo-1 are filled; cur+hi.. are not known to be
	for lo < hi {
		mid := (lo + hi + 1) / 2
		h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&q.rx[q.slotOff((q.cur+mid-1)%q.slots)]))
		if atomic.LoadUint32(&h.Status)&unix.TP_STATUS_USER != 0 {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// release hands block cur back to the kernel and moves to the next.
func (q *queue) release(bd *unix.TpacketHdrV1) {
	atomic.StoreUint32(&bd.Block_status, unix.TP_STATUS_KERNEL)
	q.left = 0
	q.cur++
	if q.cur == q.blocks {
		q.cur = 0
	}
}

// check reads the RX socket's pending error (SO_ERROR): the kernel sets
// ENETDOWN when the device goes down or away.
func (q *queue) check() {
	var e int32
	l := uint32(4)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(q.rxFd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&e)), uintptr(unsafe.Pointer(&l)), 0)
	switch {
	case errno != 0:
		q.fail("rx socket", errno)
	case e != 0:
		q.fail("rx", unix.Errno(e))
	}
}

// send is Send on an open queue in TxRing mode.
func (q *queue) send(v *pkt.Batch, pool *pkt.Pool) int {
	p := q.p
	var queued, bytes, badLen, wrong uint64
	i := 0
	for ; i < v.N; i++ {
		b := v.Buf(i)
		n := int(b.Len)
		if n < ethHdrLen || n > q.txMax {
			badLen++
			continue
		}
		h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&q.tx[q.txOff]))
		if st := atomic.LoadUint32(&h.Status); st != unix.TP_STATUS_AVAILABLE {
			if st&unix.TP_STATUS_WRONG_FORMAT == 0 {
				break // still being sent: the ring is full
			}
			wrong++ // the kernel rejected the frame that was here
		}
		d := q.txOff + tx2DataOff
		copy(q.tx[d:d+n], b.Bytes())
		h.Len, h.Snaplen = uint32(n), uint32(n)
		atomic.StoreUint32(&h.Status, unix.TP_STATUS_SEND_REQUEST)
		queued++
		bytes += uint64(n)
		q.txOff += TxFrameSize
		if q.txSlot++; q.txSlot == p.txPerBlock {
			q.txSlot = 0
			if q.txBlk++; q.txBlk == p.txBlocks {
				q.txBlk = 0
			}
			q.txOff = q.txBlk * txBlockSize
		}
	}
	full := uint64(v.N - i)
	pool.PutBatch(v)
	if full|badLen|wrong != 0 {
		add(&q.c.txRingFull, full)
		add(&q.c.txBadLen, badLen)
		add(&q.c.errors, wrong)
	}
	if queued == 0 {
		return 0
	}
	// One kick per batch: the kernel sends every slot marked
	// SEND_REQUEST, in order, with the qdisc bypassed.
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(q.txFd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0, unix.EINTR:
	case unix.EAGAIN, unix.ENOBUFS:
		// Busy: the slots stay marked and go out with the next kick;
		// unless the carrier is off, which Send then reports for the
		// batches that follow.
		q.carrier()
	default:
		q.fail("tx", errno)
		return 0
	}
	add(&q.c.txPackets, queued)
	add(&q.c.txBytes, bytes)
	return int(queued)
}

// sendmmsg is Send on an open queue in TxSendmmsg mode: one sendmmsg(2)
// for the whole batch, each message's iovec pointing at the frame in its
// pool buffer, so the only copy is the kernel's into a fresh linear skb.
//
// sendmmsg stops at the first message the kernel refuses and returns how
// many it sent before it, dropping that message's error. So when it comes
// back short, Send calls it once more from the refused message, which
// either goes through now or returns its error:
//   - EAGAIN, ENOBUFS, EINTR (busy: the socket's send buffer is full, or
//     the device dropped the frame: the veth peer's backlog full): the
//     remaining frames are freed and counted in TxBusy, or in TxNoCarrier
//     if the device turns out to have lost its carrier. Only
//     one retry per batch, so a busy device costs at most two syscalls
//     per batch; unlike the ring there is nowhere to keep frames for the
//     next kick, and holding them would stall the worker.
//   - EMSGSIZE, EINVAL (that one frame rejected, e.g. an untagged frame
//     of MTU + 18 bytes): it is counted in Errors and skipped, and the
//     rest of the batch is sent (this does not use up the retry).
//   - anything else (ENXIO, ENETDOWN, ENODEV, EBADF, ...: the device went
//     down or away): the queue goes down exactly as in ring mode (fail),
//     and the frames not sent are counted in TxDown.
func (q *queue) sendmmsg(v *pkt.Batch, pool *pkt.Pool) int {
	var badLen uint64
	cnt := 0
	for _, x := range v.B[:v.N] {
		b := pkt.At(x)
		n := int(b.Len)
		if n < ethHdrLen || n > q.txMax {
			badLen++
			continue
		}
		io := &q.iov[cnt]
		io.Base = &b.Raw()[b.Off]
		io.SetLen(n)
		cnt++
	}
	var sent, bytes, rejected, busy, down uint64
	start, retried := 0, false
loop:
	for start < cnt {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(q.txFd), uintptr(unsafe.Pointer(&q.mm[start])),
			uintptr(cnt-start), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			for _, io := range q.iov[start : start+int(r)] {
				bytes += uint64(io.Len)
			}
			sent += uint64(r)
			start += int(r)
			if start == cnt || retried {
				break loop
			}
			retried = true // short: try the rest once more to send or learn why
		case unix.EAGAIN, unix.ENOBUFS, unix.EINTR:
			if retried {
				break loop
			}
			retried = true
		case unix.EMSGSIZE, unix.EINVAL:
			rejected++
			start++
		default:
			down = uint64(cnt - start)
			start = cnt
			q.fail("tx", errno)
		}
	}
	busy = uint64(cnt - start)
	pool.PutBatch(v)
	if busy != 0 && !q.down && !q.carrier() {
		// Not busy: the device lost its carrier (the kernel refuses
		// frames with ENOBUFS then too).
		add(&q.c.txNoCarrier, busy)
		busy = 0
	}
	if badLen|rejected|busy|down != 0 {
		add(&q.c.txBadLen, badLen)
		add(&q.c.errors, rejected)
		add(&q.c.txBusy, busy)
		add(&q.c.txDown, down)
	}
	if sent != 0 {
		add(&q.c.txPackets, sent)
		add(&q.c.txBytes, bytes)
	}
	return int(sent)
}

// fail takes the queue down after a socket error: it takes the sockets and
// rings away from the queue (on the owning goroutine, the only one that
// touches them), closes and unmaps them aside (teardown), and schedules a
// reopen.
func (q *queue) fail(what string, err error) {
	q.teardown(true)
	q.down = true
	q.up.Store(false)
	add(&q.c.errors, 1)
	q.p.setErr(explain(q.p.name, what, err))
	q.retryAt = mono() + retryEvery
}

// reopen re-creates a down queue's sockets and rings if the last attempt
// is retryEvery old, and reports whether the queue is up. The sockets are
// made on a goroutine of its own (openAside), never on the worker's
// thread: making a ring (PACKET_RX_RING) and closing a socket wait for an
// RCU grace period (synchronize_net), which on a busy machine took
// seconds, while the worker's other ports' rings overflowed (the soak's
// lost_unchanged, docs/faults.md). The owner installs the result at its
// next call after it is ready.
func (q *queue) reopen() bool {
	if q.p.closed.Load() {
		return false
	}
	if q.opening {
		o := q.pending.Swap(nil)
		if o == nil {
			return false // still opening
		}
		q.opening = false
		if o.err == nil {
			q.install(o)
			q.round = o.round
			q.down = false
			q.idle = 0
			q.up.Store(true)
			add(&q.c.reopens, 1)
			return true
		}
		q.p.setErr(o.err) // and the next attempt at retryAt, set when this one began
	}
	now := mono()
	if now < q.retryAt {
		return false
	}
	q.retryAt = now + retryEvery
	q.opening = true
	q.tries++
	q.p.aside.Add(1)
	go func() {
		defer q.p.aside.Done()
		q.openAside()
	}()
	return false
}

// openAside makes the queue's sockets and rings (build) on the calling
// goroutine, not the owner's, and leaves them (or the error) in pending.
// Close waits for it and releases what it left.
func (q *queue) openAside() {
	if openAsideHook != nil {
		openAsideHook(q)
	}
	// In the port's namespace, on a thread of its own that ends with this
	// goroutine (never unlocked: the runtime then ends the thread, so no
	// other goroutine runs in a namespace it did not ask for).
	runtime.LockOSThread()
	var o *opened
	err := q.joinNetns()
	if err == nil {
		o, err = q.build()
	}
	if err != nil {
		o = &opened{err: err}
	} else {
		if !q.p.o.NoOffloadChange {
			_ = setOffloads(q.p.name, []uint32{unix.ETHTOOL_SGRO}, true) // a new device starts with its defaults
		}
		if q.p.drop != nil {
			if err := q.p.attachStackDrop(); err != nil { // a re-created device has none
				q.p.setErr(err)
			}
		}
		if q.fan {
			q.p.fanSubmit(q, o) // pending once every data queue's is in
			return
		}
	}
	q.pending.Store(o)
}

// joinNetns moves the calling (locked) thread into the port's network
// namespace.
func (q *queue) joinNetns() error {
	if q.p.netns < 0 {
		return nil
	}
	if err := unix.Setns(q.p.netns, unix.CLONE_NEWNET); err != nil {
		return explain(q.p.name, "setns into the port's network namespace", err)
	}
	return nil
}

// openAsideHook, when not nil, runs at the start of each openAside (tests:
// a reopen that takes as long as the test wants).
var openAsideHook func(q *queue)

// opened is what build made for a queue: its sockets and rings, or the
// error that stopped it (then nothing is open).
type opened struct {
	rxFd, txFd    int
	rx, tx        []byte
	blocks, bsize int
	vnet          bool
	round         uint32 // the fanout round whose group rxFd joined
	err           error
}

// release unmaps o's rings and closes its sockets.
func (o *opened) release() {
	if o.rx != nil {
		_ = unix.Munmap(o.rx)
	}
	if o.tx != nil {
		_ = unix.Munmap(o.tx)
	}
	if o.rxFd >= 0 {
		_ = unix.Close(o.rxFd)
	}
	if o.txFd >= 0 {
		_ = unix.Close(o.txFd)
	}
}

// teardown takes the queue's sockets and rings away from it, first
// taking the RX socket away from Stats and folding in its last kernel
// counters, and closes and unmaps them: on a goroutine of its own if aside
// (a worker's failing queue: closing a packet socket waits for RCU grace
// periods, see reopen), else before it returns (Close).
func (q *queue) teardown(aside bool) {
	q.waitFd.Store(-1)
	q.mu.Lock()
	q.readStatsLocked()
	q.statFd = -1
	q.mu.Unlock()
	o := &opened{rxFd: q.rxFd, txFd: q.txFd, rx: q.rx, tx: q.tx}
	q.rx, q.tx, q.rxFd, q.txFd = nil, nil, -1, -1
	q.cur, q.left, q.off, q.bigN = 0, 0, 0, 0
	q.txOff, q.txSlot, q.txBlk = 0, 0, 0
	if aside {
		go o.release()
	} else {
		o.release()
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// build creates a queue's two sockets and rings on the device as it is
// now (looked up by name: after a delete and re-create it has a new
// index), touching nothing of the queue's but the port's atomics (MAC,
// MTU, carrier): it may run on another goroutine than the owner's. On
// error it leaves nothing open.
func (q *queue) build() (o *opened, err error) {
	p := q.p
	name := p.name
	var rxFd, txFd = -1, -1
	var rx, tx []byte
	defer func() {
		if err != nil {
			if rx != nil {
				_ = unix.Munmap(rx)
			}
			if tx != nil {
				_ = unix.Munmap(tx)
			}
			if rxFd >= 0 {
				_ = unix.Close(rxFd)
			}
			if txFd >= 0 {
				_ = unix.Close(txFd)
			}
		}
	}()
	// Protocol 0: the socket receives nothing until it is bound with
	// ETH_P_ALL, after the ring exists.
	if rxFd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, explain(name, "AF_PACKET socket", err)
	}
	d, err := lookup(rxFd, name)
	if err != nil {
		return nil, explain(name, "lookup", err)
	}
	p.mac.Store(uint64(d.mac[0])<<40 | uint64(d.mac[1])<<32 | uint64(d.mac[2])<<24 |
		uint64(d.mac[3])<<16 | uint64(d.mac[4])<<8 | uint64(d.mac[5]))
	p.mtu.Store(int64(d.mtu))
	if d.flags&unix.IFF_UP == 0 {
		return nil, fmt.Errorf("afpacket: %s: %w: ip link set dev %s up (the port comes up by itself)", name, errDown, name)
	}
	if on, err := linkUp(rxFd, name); err == nil {
		p.noCarrier.Store(!on)
	}

	// RX: a TPACKET_V2 slot ring or a TPACKET_V3 block ring (doc.go, Rings).
	if p.v2 {
		if err = unix.SetsockoptInt(rxFd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
			return nil, explain(name, "PACKET_VERSION v2", err)
		}
		// A frame longer than a slot also goes whole to the receive
		// queue (TP_STATUS_COPY in its slot), which must hold a few 64 KiB
		// super-packets.
		if err = unix.SetsockoptInt(rxFd, unix.SOL_PACKET, unix.PACKET_COPY_THRESH, 1); err != nil {
			return nil, explain(name, "PACKET_COPY_THRESH", err)
		}
		if err = unix.SetsockoptInt(rxFd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rxCopyRcvbuf); err != nil {
			_ = unix.SetsockoptInt(rxFd, unix.SOL_SOCKET, unix.SO_RCVBUF, rxCopyRcvbuf)
		}
	} else if err = unix.SetsockoptInt(rxFd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, explain(name, "PACKET_VERSION v3", err)
	}
	// Not on every kernel (4.20+); the sll_pkttype check in recv covers
	// the others.
	_ = unix.SetsockoptInt(rxFd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	// A virtio_net_hdr in front of each frame: the offsets to finish a
	// partial checksum and to split a TCP super-packet (doc.go,
	// Offloads). Before the ring exists, or the kernel refuses it.
	// Without it (a kernel that refuses it with a V3 ring), partial
	// checksums are found by parsing the frame and super-packets are
	// dropped.
	vnet := unix.SetsockoptInt(rxFd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1) == nil
	tov := max(uint32(p.o.RetireTimeout/time.Millisecond), 1)
	ctl := q.isCtl()
	blocks, bsize := p.blockCount, p.blockSize
	if ctl {
		// Many small blocks: at a few ARP frames per millisecond each
		// block is retired holding one or two, so the number of blocks
		// is what covers a stalled worker.
		blocks, bsize = ControlBlockCount, controlBlockSize
	}
	req := unix.TpacketReq3{
		Block_size:     uint32(bsize),
		Block_nr:       uint32(blocks),
		Frame_size:     rxReqFrameSize,
		Frame_nr:       uint32(bsize / rxReqFrameSize * blocks),
		Retire_blk_tov: tov,
	}
	if p.v2 {
		// Fixed slots of rxV2FrameSize in the same blocks.
		req2 := unix.TpacketReq{Block_size: req.Block_size, Block_nr: req.Block_nr, Frame_size: rxV2FrameSize,
			Frame_nr: uint32(bsize / rxV2FrameSize * blocks)}
		if err = unix.SetsockoptTpacketReq(rxFd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req2); err != nil {
			return nil, explain(name, "PACKET_RX_RING", err)
		}
	} else if err = unix.SetsockoptTpacketReq3(rxFd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, explain(name, "PACKET_RX_RING", err)
	}
	if rx, err = unix.Mmap(rxFd, 0, bsize*blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, explain(name, "mmap rx ring", err)
	}
	if q.fan {
		// Nothing until it joins the fanout group with the other data
		// queues' sockets (fanJoin), which may be a while (they are
		// built one by one): bound outside the group it would get every
		// frame, which another queue's socket may get too.
		if err = unix.SetsockoptSockFprog(rxFd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &dropAll); err != nil {
			return nil, explain(name, "SO_ATTACH_FILTER (nothing before the fanout join)", err)
		}
	} else if p.ctl >= 0 {
		// ARP goes to the control queue only. Both sockets are bound to
		// ETH_P_ALL, so a tagged frame keeps its tag (tp_vlan_tci; a
		// socket bound to ETH_P_ARP would get it untagged).
		prog := &noARP
		if ctl {
			prog = &onlyARP
		}
		if err = unix.SetsockoptSockFprog(rxFd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, prog); err != nil {
			return nil, explain(name, "SO_ATTACH_FILTER (ARP to the control queue only)", err)
		}
	}
	if err = unix.Bind(rxFd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: d.index}); err != nil {
		return nil, explain(name, "bind", err)
	}
	if p.o.Promisc {
		mr := unix.PacketMreq{Ifindex: int32(d.index), Type: unix.PACKET_MR_PROMISC}
		if err = unix.SetsockoptPacketMreq(rxFd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return nil, explain(name, "promiscuous mode", err)
		}
	}

	// TX: its own socket, bound with protocol 0 so it receives nothing,
	// with a TPACKET_V2 slot ring (TxRing) or without (TxSendmmsg).
	if txFd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		return nil, explain(name, "AF_PACKET socket", err)
	}
	if err = unix.SetsockoptInt(txFd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return nil, explain(name, "PACKET_QDISC_BYPASS", err)
	}
	if p.mmsg {
		// Each message is charged to the send buffer until its skb is
		// freed (or orphaned by the veth): room for a few batches of
		// full-sized frames.
		sb := 4 * pkt.BatchSize * (pkt.MaxFrame + 1024)
		if err = unix.SetsockoptInt(txFd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sb); err != nil {
			_ = unix.SetsockoptInt(txFd, unix.SOL_SOCKET, unix.SO_SNDBUF, sb)
		}
		if err = unix.Bind(txFd, &unix.SockaddrLinklayer{Ifindex: d.index}); err != nil {
			return nil, explain(name, "bind tx", err)
		}
	} else if tx, err = q.openTxRing(txFd, d.index); err != nil {
		return nil, err
	}

	return &opened{rxFd: rxFd, txFd: txFd, rx: rx, tx: tx, blocks: blocks, bsize: bsize, vnet: vnet}, nil
}

// install gives q the sockets and rings build made. On the owner's
// goroutine.
func (q *queue) install(o *opened) {
	rxFd, blocks, bsize := o.rxFd, o.blocks, o.bsize
	q.rxFd, q.txFd, q.rx, q.tx = o.rxFd, o.txFd, o.rx, o.tx
	q.blocks, q.bsize, q.vnet = blocks, bsize, o.vnet
	q.perBlock, q.slots = bsize/rxV2FrameSize, bsize/rxV2FrameSize*blocks
	q.cur, q.left, q.off, q.bigN = 0, 0, 0, 0
	q.txOff, q.txSlot, q.txBlk = 0, 0, 0
	// A buffer holds pkt.MaxFrame; a slot holds TxFrameSize - tx2DataOff.
	// The device's MTU is not copied here: it may change at run time
	// (ip link set DEV mtu N), and the kernel checks each frame against
	// the MTU it has now (MTU + Ethernet header, + 4 for a tagged frame),
	// rejecting a longer one (EMSGSIZE, counted in Errors). The control
	// plane follows the device's MTU, so softnet fragments or answers
	// "fragmentation needed" before a frame gets that far.
	q.txMax = min(pkt.MaxFrame, TxFrameSize-tx2DataOff)
	q.mu.Lock()
	q.statFd = rxFd
	q.mu.Unlock()
	q.waitFd.Store(int32(rxFd))
}

// noARP and onlyARP are classic BPF programs for the data queues and the
// control queue: "ldh [12]; jeq #0x806, a, b; a: ret ...; b: ret ...".
// The kernel runs socket filters with a VLAN tag it took out of the frame
// kept aside, so [12] is the inner EtherType and tagged ARP goes to the
// control queue too, with its tag (TP_STATUS_VLAN_VALID).
var (
	noARPInsns = [4]unix.SockFilter{
		{Code: 0x28, K: 12},                   // ldh [12]
		{Code: 0x15, Jt: 1, Jf: 0, K: 0x0806}, // jeq #ETH_P_ARP
		{Code: 0x06, K: 0xffffffff},           // ret #-1: accept the whole frame
		{Code: 0x06, K: 0},                    // ret #0: drop
	}
	onlyARPInsns = [4]unix.SockFilter{
		{Code: 0x28, K: 12},
		{Code: 0x15, Jt: 0, Jf: 1, K: 0x0806},
		{Code: 0x06, K: 0xffffffff},
		{Code: 0x06, K: 0},
	}
	noARP   = unix.SockFprog{Len: uint16(len(noARPInsns)), Filter: &noARPInsns[0]}
	onlyARP = unix.SockFprog{Len: uint16(len(onlyARPInsns)), Filter: &onlyARPInsns[0]}
)

// isCtl reports whether q is the port's ARP-only control queue.
func (q *queue) isCtl() bool { return q.p.ctl >= 0 && q == &q.p.q[q.p.ctl] }

// dataQueues is the number of queues that take everything but ARP (all of
// them without a control queue).
func (p *Port) dataQueues() int {
	if p.ctl >= 0 {
		return len(p.q) - 1
	}
	return len(p.q)
}

// openTxRing sets up the TPACKET_V2 TX ring on txFd, maps it and binds
// the socket to the device. On error the caller unmaps what it returns.
func (q *queue) openTxRing(txFd, index int) (tx []byte, err error) {
	p := q.p
	name := p.name
	if err = unix.SetsockoptInt(txFd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return nil, explain(name, "PACKET_VERSION v2", err)
	}
	// PACKET_LOSS: a frame the kernel rejects is skipped (its slot made
	// available) instead of stopping the ring at that slot for good.
	if err = unix.SetsockoptInt(txFd, unix.SOL_PACKET, unix.PACKET_LOSS, 1); err != nil {
		return nil, explain(name, "PACKET_LOSS", err)
	}
	frames := p.txPerBlock * p.txBlocks
	// Frames in flight are charged to the socket's send buffer; make it
	// hold the whole ring so a full batch of large frames never stalls
	// on it.
	if err = unix.SetsockoptInt(txFd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, frames*(TxFrameSize+1024)); err != nil {
		_ = unix.SetsockoptInt(txFd, unix.SOL_SOCKET, unix.SO_SNDBUF, frames*(TxFrameSize+1024))
	}
	treq := unix.TpacketReq{
		Block_size: txBlockSize,
		Block_nr:   uint32(p.txBlocks),
		Frame_size: TxFrameSize,
		Frame_nr:   uint32(frames),
	}
	if err = unix.SetsockoptTpacketReq(txFd, unix.SOL_PACKET, unix.PACKET_TX_RING, &treq); err != nil {
		return nil, explain(name, "PACKET_TX_RING", err)
	}
	if tx, err = unix.Mmap(txFd, 0, txBlockSize*p.txBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, explain(name, "mmap tx ring", err)
	}
	if err = unix.Bind(txFd, &unix.SockaddrLinklayer{Ifindex: index}); err != nil {
		return tx, explain(name, "bind tx", err)
	}
	return tx, nil
}
