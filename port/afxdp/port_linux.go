package afxdp

import (
	"errors"
	"fmt"
	"net"
	"unsafe"

	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
)

// Port is a Linux device through AF_XDP: one XDP socket per queue, each
// with its own fill, completion, RX and TX rings over one UMEM, the
// caller's arena. See the package doc.
type Port struct {
	dev      string
	ifindex  int
	mac      [6]byte
	mtu      int
	arena    *pkt.Arena
	first    uint32 // the arena's first index
	n        uint32 // the arena's buffers
	chunk    uint64
	prog     *program
	qs       []*queue
	zeroCopy bool
	copyWhy  string
}

// queue is one XDP socket and its rings; used by one worker at a time
// (its RX side: fill and RX rings) and one at a time on its TX side (TX
// and completion rings).
type queue struct {
	fd                  int
	fill, comp, rx, tx  ring
	held                uint32 // buffers the kernel has on the fill and RX rings
	maxHeld             uint32
	scratch             [pkt.BatchSize]uint32
	rxPackets, rxBytes  uint64
	txPackets, txBytes  uint64
	txRingFull, txKicks uint64
	foreign, fillEmpty  uint64
	_                   [64]byte // keep queues' hot fields on separate cache lines
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
		fillFrames = ring / 2
	}
	if fillFrames < pkt.BatchSize/4 || fillFrames > ring {
		return nil, fmt.Errorf("afxdp: fill frames %d: want %d to the ring size %d", fillFrames, pkt.BatchSize/4, ring)
	}
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("afxdp: device %s: %w (create it, or check the name with ip link)", dev, err)
	}
	p := &Port{dev: dev, ifindex: ifc.Index, mtu: ifc.MTU, arena: o.Arena, first: o.Arena.First(),
		n: uint32(o.Arena.Len()), chunk: uint64(o.Arena.Chunk())}
	copy(p.mac[:], ifc.HardwareAddr)
	if max := MaxFrame(o.Arena.Chunk()) - 14 - 8; p.mtu > max {
		return nil, fmt.Errorf("afxdp: device %s has MTU %d: a %d-byte UMEM chunk holds frames of an MTU up to %d; lower it (ip link set dev %s mtu %d) or use backend: afpacket", dev, p.mtu, o.Arena.Chunk(), max, dev, max)
	}
	queues := max(o.Queues, 1)
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
		p.qs = append(p.qs, s)
		if err := p.prog.setSocket(q, s.fd); err != nil {
			return nil, fmt.Errorf("afxdp: device %s: %w", dev, err)
		}
	}
	if o.Logger != nil {
		o.Logger.Info("afxdp port open", "device", dev, "queues", queues,
			"xdp", p.prog.mode, "xdp_reason", p.prog.why, "zero_copy", p.zeroCopy, "copy_reason", p.copyWhy)
	}
	return p, nil
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
	s = &queue{fd: fd, maxHeld: fillFrames}
	defer func() {
		if err != nil {
			s.close()
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
	if p.prog != nil {
		p.prog.close()
		p.prog = nil
	}
	for _, s := range p.qs {
		s.close()
	}
	p.qs = nil
	return nil
}

// Name is the device's name.
func (p *Port) Name() string { return p.dev }

// MAC is the device's MAC address.
func (p *Port) MAC() [6]byte { return p.mac }

// MTU is the device's MTU when the port opened.
func (p *Port) MTU() int { return p.mtu }

// Queues is the number of queues (XDP sockets).
func (p *Port) Queues() int { return len(p.qs) }

// TxQueues is the number of transmit queues: one per socket.
func (p *Port) TxQueues() int { return len(p.qs) }

// WaitFD is the socket of queue: readable when its RX ring has frames.
func (p *Port) WaitFD(queue int) int { return p.qs[queue].fd }

// Mode is the XDP attach mode (ModeNative or ModeGeneric) and ZeroCopy
// whether the sockets are bound in zero-copy mode.
func (p *Port) Mode() string { return p.prog.mode }

// ZeroCopy reports whether the sockets are bound in zero-copy mode.
func (p *Port) ZeroCopy() bool { return p.zeroCopy }

// Stats returns the port's counters.
func (p *Port) Stats() Stats {
	var st Stats
	for _, s := range p.qs {
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
			st.KernelDrops += x.Rx_dropped + x.Rx_ring_full + x.Rx_fill_ring_empty_descs
		}
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
	idx, n := s.rx.peek(uint32(v.Room()))
	var bytes uint64
	for i := range n {
		d := s.rx.desc(idx + i)
		k := uint32(d.Addr / p.chunk)
		b := pkt.At(p.first + k)
		b.Meta = pkt.Meta{Off: uint16(d.Addr % p.chunk), Len: uint16(d.Len)}
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
		_, _, _ = unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
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
	// In copy mode a sendto sends at most 32 frames (the kernel's per-call
	// budget; it then answers EAGAIN), so kick again while each call moves
	// the kernel's consumer index on, until it took the whole batch; a
	// call that moves nothing (the device busy or down) ends it: the
	// entries go at the next Send's kick.
	for k := uint32(0); k <= sent/32+1 && s.tx.needWakeup(); k++ {
		before := atomic.LoadUint32(s.tx.consumer)
		if before == s.tx.prod {
			break
		}
		s.txKicks++
		_, _, _ = unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if atomic.LoadUint32(s.tx.consumer) == before {
			break
		}
	}
	p.complete(s, pool)
	return int(sent)
}

// complete returns the buffers the kernel finished sending to pool.
func (p *Port) complete(s *queue, pool *pkt.Pool) {
	for {
		idx, n := s.comp.peek(pkt.BatchSize)
		if n == 0 {
			return
		}
		for i := range n {
			pool.PutIndex(p.first + uint32(*s.comp.addr(idx + i)/p.chunk))
		}
		s.comp.release(n)
	}
}
