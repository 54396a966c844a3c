package afxdp

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
)

// Port is a Linux device through AF_XDP: one XDP socket per queue, each
// with its own fill, completion, RX and TX rings over one UMEM, the
// caller's arena. See the package doc.
type Port struct {
	dev      string
	ifindex  int
	mac      atomic.Uint64 // 6 bytes, big-endian in the low 48 bits; re-read at a reopen
	mtu      atomic.Int64  // re-read at a reopen
	arena    *pkt.Arena
	first    uint32 // the arena's first index
	n        uint32 // the arena's buffers
	chunk    uint64
	prog     *program
	qs       []*queue
	zeroCopy bool
	copyWhy  string

	// For reopening queues after the device was deleted and re-created:
	// mu guards prog and ifindex (a reopen may re-attach the program) and
	// every queue's fd against Stats. Never taken on the data path, and
	// held only for a few loads and stores (never across a syscall that
	// may wait, so a worker taking it in fail or install does not wait).
	mu sync.Mutex
	// attachMu serializes the reopens that run aside (openAside: one per
	// down queue), which may attach the program again; it guards prog
	// and ifindex for them (written under both it and mu).
	attachMu sync.Mutex
	// netns is the network namespace of the thread that opened the port
	// (/proc/thread-self/ns/net, -1 if it could not be read): a reopen
	// runs aside on a thread that joins it first. aside counts the
	// goroutines closing or reopening a queue's socket; Close waits for
	// them.
	netns      int
	aside      sync.WaitGroup
	closed     atomic.Bool
	nq         int    // queues asked for (the program's XSKMAP size)
	mode       string // Options.Mode
	ring       uint32
	fillFrames uint32
	lastErr    atomic.Pointer[string]
	log        *slog.Logger // Options.Logger: the open and close lines
}

// retryEvery is the least time between two reopen attempts of a down
// queue (as afpacket's): traffic resumes within a fraction of a second of
// the device coming back, and a missing device costs nothing.
const retryEvery = 200 * time.Millisecond

// defaultTxBudget is the kernel's copy-mode TX budget per sendto
// (TX_BATCH_SIZE in net/xdp/xsk.c) when XDP_MAX_TX_SKB_BUDGET is not set.
const defaultTxBudget = 32

// checkEvery is how many empty Recv calls pass between two SO_ERROR reads:
// a deleted device shows only there (the kernel sets ENETDOWN on its XDP
// sockets and unbinds them).
const checkEvery = 128

var epoch = time.Now()

func mono() time.Duration { return time.Since(epoch) }

// queue is one XDP socket and its rings; used by one worker at a time
// (its RX side: fill and RX rings) and one at a time on its TX side (TX
// and completion rings).
type queue struct {
	fd                 int
	waitFd             atomic.Int32 // fd for WaitFD; -1 while down
	fill, comp, rx, tx ring
	// fillOwn and txOwn have a bit per arena buffer the kernel holds:
	// on the fill or RX ring (set by refill, cleared by Recv; the RX
	// side's) and on the TX or completion ring (set by Send, cleared by
	// complete; the TX side's). When the socket closes they say which
	// buffers to give back to the pool.
	fillOwn, txOwn      []uint64
	down                bool // the socket failed and is closed: reopen
	retryAt             time.Duration
	idle                uint32 // empty Recv calls since the last SO_ERROR read
	reopens, txDown     uint64
	held                uint32 // buffers the kernel has on the fill and RX rings
	maxHeld             uint32
	scratch             [pkt.BatchSize]uint32 // refill's (RX side)
	done                [pkt.BatchSize]uint32 // complete's (TX side)
	rxPackets, rxBytes  uint64
	txPackets, txBytes  uint64
	txRingFull, txKicks uint64
	// txBudget is how many TX entries one sendto sends in copy mode: the
	// kernel's default 32, or a whole batch where the kernel takes
	// XDP_MAX_TX_SKB_BUDGET (Linux 6.17).
	txBudget           uint32
	foreign, fillEmpty uint64
	// A down queue's old socket is closed, and its new one made, on
	// goroutines of their own (fail, reopen), never on the worker's
	// thread: closing an XDP socket and binding one wait for RCU grace
	// periods. closing: the old socket is being closed (closedAside is
	// set when it is), its buffers still in fillOwn and txOwn; opening:
	// a reopen runs, and leaves its result in pending. tries counts the
	// reopens begun (tests).
	closing, opening bool
	closedAside      atomic.Bool
	pending          atomic.Pointer[opened]
	tries            uint64
	_                [64]byte // keep queues' hot fields on separate cache lines
}

// Open binds one XDP socket per queue of dev (Options.Queues, at most the
// device's receive queues) and attaches the redirect program.
func Open(dev string, o Options) (_ *Port, err error) {
	if o.Arena == nil {
		return nil, errors.New("afxdp: no arena: the UMEM is the caller's arena (pkt.NewArena with Chunk 2048 or 4096)")
	}
	if c := o.Arena.Chunk(); c != 2048 && c != 4096 {
		return nil, fmt.Errorf("afxdp: arena chunk %d bytes: an AF_XDP UMEM in aligned mode needs 2048 or 4096", c)
	}
	if o.Mode != ModeAuto && o.Mode != ModeNative && o.Mode != ModeGeneric {
		return nil, fmt.Errorf("afxdp: mode %q: want %q, %q or empty (native, else generic)", o.Mode, ModeNative, ModeGeneric)
	}
	ring := o.RingSize
	if ring == 0 {
		ring = DefaultRingSize
	}
	if ring < 64 || ring&(ring-1) != 0 || ring > 1<<16 {
		return nil, fmt.Errorf("afxdp: ring size %d: want a power of two from 64 to 65536", ring)
	}
	fillFrames := o.FillFrames
	if fillFrames == 0 {
		fillFrames = ring
	}
	if fillFrames < pkt.BatchSize/4 || fillFrames > ring {
		return nil, fmt.Errorf("afxdp: fill frames %d: want %d to the ring size %d", fillFrames, pkt.BatchSize/4, ring)
	}
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("afxdp: device %s: %w (create it, or check the name with ip link)", dev, err)
	}
	p := &Port{dev: dev, ifindex: ifc.Index, arena: o.Arena, first: o.Arena.First(),
		n: uint32(o.Arena.Len()), chunk: uint64(o.Arena.Chunk()), mode: o.Mode, ring: uint32(ring), fillFrames: uint32(fillFrames),
		netns: -1}
	if fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		p.netns = fd
	}
	if err := p.setDevice(ifc); err != nil {
		return nil, err
	}
	queues := max(o.Queues, 1)
	p.nq = queues
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.prog, err = attach(dev, p.ifindex, queues, o.Mode); err != nil {
		return nil, fmt.Errorf("afxdp: %w", err)
	}
	p.zeroCopy = p.prog.mode == ModeNative
	for q := range queues {
		s, zc, why, err := p.openQueue(q, uint32(ring), uint32(fillFrames), p.zeroCopy)
		if err != nil && q > 0 && errors.Is(err, unix.EINVAL) {
			queues = q // the device has q receive queues: one socket each
			break
		}
		if err != nil {
			return nil, fmt.Errorf("afxdp: device %s queue %d: %w", dev, q, err)
		}
		if q == 0 {
			p.zeroCopy, p.copyWhy = zc, why
		}
		words := (p.n + 63) / 64
		s.fillOwn, s.txOwn = make([]uint64, words), make([]uint64, words)
		s.waitFd.Store(int32(s.fd))
		p.qs = append(p.qs, s)
		if err := p.prog.setSocket(q, s.fd); err != nil {
			return nil, fmt.Errorf("afxdp: device %s: %w", dev, err)
		}
	}
	if o.Logger != nil {
		o.Logger.Info("afxdp port open", "device", dev, "queues", queues,
			"xdp", p.prog.mode, "xdp_reason", p.prog.why, "zero_copy", p.zeroCopy, "copy_reason", p.copyWhy)
	}
	p.log = o.Logger // for Close's line: set once the port is open
	return p, nil
}

// setDevice takes the device's MAC and MTU (at Open, and at a reopen: a
// re-created device may have others), refusing an MTU whose frames do
// not fit a UMEM chunk.
func (p *Port) setDevice(ifc *net.Interface) error {
	if max := MaxFrame(int(p.chunk)) - 14 - 8; ifc.MTU > max {
		return fmt.Errorf("afxdp: device %s has MTU %d: a %d-byte UMEM chunk holds frames of an MTU up to %d; lower it (ip link set dev %s mtu %d) or use backend: afpacket", p.dev, ifc.MTU, p.chunk, max, p.dev, max)
	}
	var m uint64
	for i := 0; i < 6 && i < len(ifc.HardwareAddr); i++ {
		m |= uint64(ifc.HardwareAddr[i]) << (40 - 8*i)
	}
	p.mac.Store(m)
	p.mtu.Store(int64(ifc.MTU))
	return nil
}

// MaxFrame is the largest frame a UMEM chunk of chunk bytes receives: the
// kernel writes it after XDP_PACKET_HEADROOM (256) bytes.
func MaxFrame(chunk int) int { return chunk - unix.XDP_PACKET_HEADROOM }

func (p *Port) openQueue(q int, size, fillFrames uint32, tryZC bool) (s *queue, zc bool, why string, err error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, false, "", fmt.Errorf("AF_XDP socket: %w: this kernel has no XDP sockets (CONFIG_XDP_SOCKETS); use backend: afpacket", err)
		}
		if errors.Is(err, unix.EPERM) {
			return nil, false, "", fmt.Errorf("AF_XDP socket: %w: needs CAP_NET_RAW (run softnet as root)", err)
		}
		return nil, false, "", fmt.Errorf("AF_XDP socket: %w", err)
	}
	s = &queue{fd: fd, maxHeld: fillFrames, txBudget: defaultTxBudget}
	// Close the queue made here, not the result: an error return sets
	// the result s to nil before this runs.
	made := s
	defer func() {
		if err != nil {
			made.close()
		}
	}()
	region := p.arena.Region()
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&region[0]))), Len: uint64(len(region)), Size: uint32(p.chunk)}
	if err := setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		if errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.EPERM) {
			err = fmt.Errorf("%w: pinning the UMEM needs CAP_IPC_LOCK or a RLIMIT_MEMLOCK of at least %d bytes (ulimit -l)", err, len(region))
		}
		return nil, false, "", fmt.Errorf("registering the %d-byte UMEM: %w", len(region), err)
	}
	for _, o := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, o, int(size)); err != nil {
			return nil, false, "", fmt.Errorf("ring size %d: %w", size, err)
		}
	}
	var off unix.XDPMmapOffsets
	ol := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS, uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&ol)), 0); e != 0 {
		return nil, false, "", fmt.Errorf("ring offsets: %w", e)
	}
	if s.fill, err = mapRing(fd, off.Fr, size, 8, unix.XDP_UMEM_PGOFF_FILL_RING, true); err != nil {
		return nil, false, "", fmt.Errorf("fill ring: %w", err)
	}
	if s.comp, err = mapRing(fd, off.Cr, size, 8, unix.XDP_UMEM_PGOFF_COMPLETION_RING, false); err != nil {
		return nil, false, "", fmt.Errorf("completion ring: %w", err)
	}
	ds := unsafe.Sizeof(unix.XDPDesc{})
	if s.rx, err = mapRing(fd, off.Rx, size, ds, unix.XDP_PGOFF_RX_RING, false); err != nil {
		return nil, false, "", fmt.Errorf("RX ring: %w", err)
	}
	if s.tx, err = mapRing(fd, off.Tx, size, ds, unix.XDP_PGOFF_TX_RING, true); err != nil {
		return nil, false, "", fmt.Errorf("TX ring: %w", err)
	}
	// One sendto per batch rather than per 32 frames in copy mode, where
	// the kernel allows it (older kernels: ENOPROTOOPT, keep 32).
	if b := min(size, pkt.BatchSize); b > defaultTxBudget && unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, int(b)) == nil {
		s.txBudget = b
	}
	sa := &unix.SockaddrXDP{Flags: unix.XDP_USE_NEED_WAKEUP | unix.XDP_ZEROCOPY, Ifindex: uint32(p.ifindex), QueueID: uint32(q)}
	why = "generic XDP: the driver has no XDP support, so no zero-copy either"
	if tryZC {
		if err = unix.Bind(fd, sa); err == nil {
			return s, true, "the driver supports zero-copy", nil
		}
		why = fmt.Sprintf("the driver has no zero-copy AF_XDP (%v; veth never has)", err)
	}
	sa.Flags = unix.XDP_USE_NEED_WAKEUP | unix.XDP_COPY
	if err = unix.Bind(fd, sa); err != nil {
		return nil, false, "", fmt.Errorf("bind: %w", err)
	}
	return s, false, why, nil
}

func setsockopt(fd, opt int, v unsafe.Pointer, n uintptr) error {
	if _, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(v), n, 0); e != 0 {
		return e
	}
	return nil
}

func (s *queue) close() {
	s.fill.unmap()
	s.comp.unmap()
	s.rx.unmap()
	s.tx.unmap()
	if s.fd >= 0 {
		_ = unix.Close(s.fd)
		s.fd = -1
	}
}

// Close detaches the program (the device's frames go to the stack again)
// and closes the sockets. The buffers the kernel held are not given back:
// close the port before unmapping the arena, and the arena after.
func (p *Port) Close() error {
	if p.log != nil && len(p.qs) > 0 {
		st := p.Stats()
		p.log.Info("afxdp port closed", "device", p.dev, "rx_packets", st.RxPackets, "tx_packets", st.TxPackets, "tx_kicks", st.TxKicks,
			"kernel_drops", st.KernelDrops, "rx_ring_full", st.RxRingFull, "fill_ring_empty", st.FillRingEmpty, "rx_dropped", st.RxDropped)
	}
	p.closed.Store(true)
	p.aside.Wait() // closes and reopens in progress: their results are released below
	if p.prog != nil {
		p.prog.close()
		p.prog = nil
	}
	for _, s := range p.qs {
		s.close()
		if o := s.pending.Swap(nil); o != nil && o.s != nil { // a reopen finished, not installed
			o.s.close()
		}
	}
	p.qs = nil
	if p.netns >= 0 {
		_ = unix.Close(p.netns)
		p.netns = -1
	}
	return nil
}

// fail takes queue s down after its socket failed (the device was
// deleted): it takes the socket and its rings away from the queue and
// closes them on a goroutine of its own (closing an XDP socket waits for
// an RCU grace period, which took up to seconds on a busy machine while
// the worker's other ports went unpolled), and schedules a reopen. The
// buffers the kernel held go back to pool once the socket is closed
// (giveBack, at the queue's next Recv or Send after that): only then is
// the kernel sure to be done with them. On the queue's goroutine.
func (p *Port) fail(s *queue, pool *pkt.Pool, what string, err error) {
	s.waitFd.Store(-1)
	p.mu.Lock()
	old := &queue{fd: s.fd, fill: s.fill, comp: s.comp, rx: s.rx, tx: s.tx}
	s.fd, s.fill, s.comp, s.rx, s.tx = -1, ring{}, ring{}, ring{}, ring{}
	s.down = true // under mu for Stats; read without it only on this goroutine
	p.mu.Unlock()
	s.closing = true
	s.closedAside.Store(false)
	p.aside.Add(1)
	go func() {
		defer p.aside.Done()
		if asideHook != nil {
			asideHook("close")
		}
		old.close()
		s.closedAside.Store(true)
	}()
	s.retryAt = mono() + retryEvery
	msg := fmt.Sprintf("afxdp: device %s: %s: %v (the device went away; the port reopens it when it is back)", p.dev, what, err)
	p.lastErr.Store(&msg)
}

// giveBack returns every buffer the kernel held on s's rings to pool (the
// socket is closed: the kernel no longer touches them). On the queue's
// goroutine.
func (p *Port) giveBack(s *queue, pool *pkt.Pool) {
	for _, own := range [][]uint64{s.fillOwn, s.txOwn} {
		for w, word := range own {
			for word != 0 {
				b := uint32(w*64 + bits.TrailingZeros64(word))
				word &= word - 1
				pool.PutIndex(p.first + b)
			}
			own[w] = 0
		}
	}
	s.held = 0
}

// asideHook, when not nil, runs at the start of each close ("close") and
// reopen ("open") that runs aside (tests: one that takes as long as the
// test wants).
var asideHook func(what string)

// opened is what openAside made for a queue: a socket with its rings
// (s), or the error that stopped it (then nothing is open).
type opened struct {
	s   *queue
	err error
}

// reopen goes on with down queue qi, on its goroutine, and reports
// whether it is up: once its old socket is closed (fail) it gives the
// buffers the kernel held back to pool; every retryEvery it starts a
// reopen (openAside) on a goroutine of its own, never on the worker's
// thread (binding an XDP socket, attaching the program and closing the
// old one wait for RCU grace periods); at its first call after a reopen
// left a new socket, it installs it.
func (p *Port) reopen(qi int, pool *pkt.Pool) bool {
	s := p.qs[qi]
	if s.closing {
		if !s.closedAside.Load() {
			return false // the old socket is still being closed
		}
		s.closing = false
		p.giveBack(s, pool)
	}
	if s.opening {
		o := s.pending.Swap(nil)
		if o == nil {
			return false // still opening
		}
		s.opening = false
		if o.err == nil {
			ns := o.s
			p.mu.Lock()
			s.fd, s.fill, s.comp, s.rx, s.tx, s.txBudget = ns.fd, ns.fill, ns.comp, ns.rx, ns.tx, ns.txBudget
			s.down, s.idle = false, 0
			s.reopens++
			p.mu.Unlock()
			s.waitFd.Store(int32(s.fd))
			return true
		}
		msg := o.err.Error() // and the next attempt at retryAt, set when this one began
		p.lastErr.Store(&msg)
	}
	if p.closed.Load() {
		return false
	}
	now := mono()
	if now < s.retryAt {
		return false
	}
	s.retryAt = now + retryEvery
	s.opening = true
	s.tries++
	p.aside.Add(1)
	go func() {
		defer p.aside.Done()
		s.pending.Store(p.openAside(qi))
	}()
	return false
}

// openAside makes a new socket for queue qi on the device as it is now,
// attaching the program again first if the device is a new one (deleted
// and re-created: a new ifindex). It runs on a goroutine of its own, on
// a thread that joins the port's network namespace and ends with it
// (never unlocked: the runtime then ends the thread, so no other
// goroutine runs in a namespace it did not ask for), and touches nothing
// of the queue's: the owner installs the result (reopen).
func (p *Port) openAside(qi int) *opened {
	if asideHook != nil {
		asideHook("open")
	}
	fail := func(err error) *opened { return &opened{err: err} }
	runtime.LockOSThread()
	if p.netns >= 0 {
		if err := unix.Setns(p.netns, unix.CLONE_NEWNET); err != nil {
			return fail(fmt.Errorf("afxdp: device %s: setns into the port's network namespace: %w", p.dev, err))
		}
	}
	ifc, err := net.InterfaceByName(p.dev)
	if err != nil {
		return fail(fmt.Errorf("afxdp: device %s is gone (deleted): the port reopens it when a device of that name is back (%v)", p.dev, err))
	}
	if err := p.setDevice(ifc); err != nil {
		return fail(fmt.Errorf("%w (the queue stays down until it is lowered)", err))
	}
	p.attachMu.Lock()
	defer p.attachMu.Unlock()
	if ifc.Index != p.ifindex || p.prog == nil {
		np, err := attach(p.dev, ifc.Index, p.nq, p.mode)
		if err != nil {
			return fail(fmt.Errorf("afxdp: device %s is back: %w", p.dev, err))
		}
		p.mu.Lock()
		old := p.prog
		p.prog, p.ifindex = np, ifc.Index
		p.mu.Unlock()
		if old != nil {
			old.close()
		}
	}
	ns, _, _, err := p.openQueue(qi, p.ring, p.fillFrames, p.zeroCopy)
	if err != nil {
		return fail(fmt.Errorf("afxdp: device %s queue %d: %w", p.dev, qi, err))
	}
	if err := p.prog.setSocket(qi, ns.fd); err != nil {
		ns.close()
		return fail(fmt.Errorf("afxdp: device %s: %w", p.dev, err))
	}
	return &opened{s: ns}
}

// sockErr reads and clears the socket's pending error (SO_ERROR).
func sockErr(fd int) error {
	if e, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
		return err
	} else if e != 0 {
		return unix.Errno(e)
	}
	return nil
}

// gone reports whether errno from a wakeup syscall means the socket lost
// its device.
func gone(e unix.Errno) bool {
	return e == unix.ENXIO || e == unix.ENETDOWN || e == unix.ENODEV || e == unix.EBADF
}

// Name is the device's name.
func (p *Port) Name() string { return p.dev }

// MAC is the device's MAC address, as read at Open or at the last reopen
// (a device deleted and re-created may have a new one). One atomic load.
func (p *Port) MAC() [6]byte {
	m := p.mac.Load()
	return [6]byte{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// MTU is the device's MTU, as read at Open or at the last reopen.
func (p *Port) MTU() int { return int(p.mtu.Load()) }

// Queues is the number of queues (XDP sockets).
func (p *Port) Queues() int { return len(p.qs) }

// TxQueues is the number of transmit queues: one per socket.
func (p *Port) TxQueues() int { return len(p.qs) }

// WaitFD is the socket of queue: readable when its RX ring has frames
// (or when it failed: Recv then notices). It is -1 while the queue is
// down (the worker keeps calling Recv, which reopens it) and the new
// socket after a reopen. One atomic load; safe from any goroutine.
func (p *Port) WaitFD(queue int) int { return int(p.qs[queue].waitFd.Load()) }

// Mode is the XDP attach mode (ModeNative or ModeGeneric) and ZeroCopy
// whether the sockets are bound in zero-copy mode.
func (p *Port) Mode() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.prog.mode
}

// ZeroCopy reports whether the sockets are bound in zero-copy mode.
func (p *Port) ZeroCopy() bool { return p.zeroCopy }

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	var st Stats
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.qs {
		st.Reopens += s.reopens
		st.TxDown += s.txDown
		if s.down {
			st.DownQueues++
			continue
		}
		st.RxPackets += s.rxPackets
		st.RxBytes += s.rxBytes
		st.TxPackets += s.txPackets
		st.TxBytes += s.txBytes
		st.TxRingFull += s.txRingFull
		st.TxKicks += s.txKicks
		st.Foreign += s.foreign
		st.FillEmpty += s.fillEmpty
		var x unix.XDPStatistics
		l := uint32(unsafe.Sizeof(x))
		if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(s.fd), unix.SOL_XDP, unix.XDP_STATISTICS, uintptr(unsafe.Pointer(&x)), uintptr(unsafe.Pointer(&l)), 0); e == 0 {
			// A frame dropped for want of a fill ring entry counts in
			// both rx_dropped and rx_fill_ring_empty_descs: not twice here.
			st.KernelDrops += x.Rx_dropped + x.Rx_ring_full
			st.RxRingFull += x.Rx_ring_full
			st.FillRingEmpty += x.Rx_fill_ring_empty_descs
			st.RxDropped += x.Rx_dropped
		}
	}
	if e := p.lastErr.Load(); e != nil && st.DownQueues > 0 {
		st.LastError = *e // "" once every queue is up again
	}
	return st
}

// refill tops the fill ring up from pool, in batches: nothing when fewer
// than a quarter batch of slots are free (one store of the producer index
// per batch, not per frame).
func (p *Port) refill(s *queue, pool *pkt.Pool) {
	want := s.maxHeld - s.held
	if want < pkt.BatchSize/4 {
		return
	}
	want = min(want, pkt.BatchSize)
	idx, n := s.fill.reserve(want)
	if n == 0 {
		return
	}
	got := uint32(pool.GetN(s.scratch[:n]))
	if got < n {
		s.fillEmpty++
	}
	k := uint32(0)
	for _, x := range s.scratch[:got] {
		i := x - p.first
		if i >= p.n { // a buffer of another arena: the kernel cannot write it
			pool.PutIndex(x)
			s.foreign++
			continue
		}
		*s.fill.addr(idx + k) = uint64(i) * p.chunk
		s.fillOwn[i>>6] |= 1 << (i & 63)
		k++
	}
	s.fill.prod -= n - k // give back what was reserved and not filled
	if k > 0 {
		s.fill.submit()
		s.held += k
	}
}

// Recv appends the frames of queue's RX ring to v: each is the buffer the
// kernel wrote (no copy), its frame where the descriptor says. Then it
// tops the fill ring up from pool.
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	s := p.qs[queue]
	if s.down && !p.reopen(queue, pool) {
		return 0
	}
	idx, n := s.rx.peek(uint32(v.Room()))
	var bytes uint64
	for i := range n {
		d := s.rx.desc(idx + i)
		k := uint32(d.Addr / p.chunk)
		b := pkt.At(p.first + k)
		b.Meta = pkt.Meta{Off: uint16(d.Addr % p.chunk), Len: uint16(d.Len)}
		s.fillOwn[k>>6] &^= 1 << (k & 63)
		v.B[v.N] = p.first + k
		v.N++
		bytes += uint64(d.Len)
	}
	if n > 0 {
		s.rx.release(n)
		s.held -= n
		s.rxPackets += uint64(n)
		s.rxBytes += bytes
	}
	p.refill(s, pool)
	if n == 0 && s.fill.needWakeup() {
		// The driver waits for a syscall to take the new fill entries.
		// Raw, as Send's kick (see there): it never blocks.
		_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if gone(e) {
			p.fail(s, pool, "rx wakeup", e)
			return 0
		}
	}
	if n == 0 {
		// An idle ring is the only sign of a deleted device on the RX
		// side: read SO_ERROR now and then (ENETDOWN once unbound).
		if s.idle++; s.idle >= checkEvery {
			s.idle = 0
			if err := sockErr(s.fd); err != nil {
				p.fail(s, pool, "socket", err)
			}
		}
	} else {
		s.idle = 0
	}
	return int(n)
}

// Send puts each buffer's own chunk on queue's TX ring (no copy) and
// kicks the kernel when it asked for it (need_wakeup). Buffers come back
// to pool when the kernel completes them (reaped here, at the next Send);
// frames that find the ring full, or are not in the UMEM arena, go back
// to pool at once, unsent.
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	s := p.qs[queue]
	if s.down && !p.reopen(queue, pool) {
		s.txDown += uint64(v.N)
		pool.PutBatch(v)
		return 0
	}
	p.complete(s, pool)
	idx, n := s.tx.reserve(uint32(v.N))
	sent := uint32(0)
	var bytes uint64
	for _, x := range v.B[:v.N] {
		i := x - p.first
		if i >= p.n {
			pool.PutIndex(x)
			s.foreign++
			continue
		}
		if sent == n {
			pool.PutIndex(x)
			s.txRingFull++
			continue
		}
		b := pkt.At(x)
		d := s.tx.desc(idx + sent)
		d.Addr = uint64(i)*p.chunk + uint64(b.Off)
		d.Len = uint32(b.Len)
		d.Options = 0
		s.txOwn[i>>6] |= 1 << (i & 63)
		bytes += uint64(b.Len)
		sent++
	}
	s.tx.prod -= n - sent
	clear(v.B[:v.N])
	v.N = 0
	if sent == 0 {
		return 0
	}
	s.tx.submit()
	s.txPackets += uint64(sent)
	s.txBytes += bytes
	// In copy mode a sendto sends at most txBudget frames (the kernel's
	// per-call budget; it then answers EAGAIN), so kick again while each
	// call moves the kernel's consumer index on, until it took the whole
	// batch; a call that moves nothing (the device busy or down) ends it:
	// the entries go at the next Send's kick.
	//
	// The kick is a raw syscall: it never blocks (MSG_DONTWAIT), but in
	// copy mode it transmits the batch, an skb per frame, and runs the
	// receiver's softirq on the way: 50-100 µs for 256 frames on veth.
	// Through the runtime's Syscall, sysmon took the worker's P from any
	// syscall longer than 20 µs when the process had no idle P (softnet
	// pinned to one CPU: GOMAXPROCS 1), so every batch woke sysmon, woke a
	// thread to take the P, and had the worker get it back, on the
	// worker's CPU (TestSendKeepsP; doc.go, Where the time goes).
	for k := uint32(0); k <= sent/s.txBudget+1 && s.tx.needWakeup(); k++ {
		before := atomic.LoadUint32(s.tx.consumer)
		if before == s.tx.prod {
			break
		}
		s.txKicks++
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if gone(e) {
			p.fail(s, pool, "tx", e)
			return int(sent)
		}
		if atomic.LoadUint32(s.tx.consumer) == before {
			break
		}
	}
	p.complete(s, pool)
	return int(sent)
}

// complete returns the buffers the kernel finished sending to pool, a
// batch of completion entries at a time (one PutN each).
func (p *Port) complete(s *queue, pool *pkt.Pool) {
	for {
		idx, n := s.comp.peek(pkt.BatchSize)
		if n == 0 {
			return
		}
		xs := s.done[:n]
		for i := range xs {
			k := uint32(*s.comp.addr(idx + uint32(i)) / p.chunk)
			s.txOwn[k>>6] &^= 1 << (k & 63)
			xs[i] = p.first + k
		}
		s.comp.release(n)
		pool.PutN(xs)
	}
}
