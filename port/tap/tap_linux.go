package tap

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/pkt"
)

// retryEvery is how often a queue whose link is down or gone tries again,
// and how often an idle Recv checks the link: often enough that a device
// coming back is used within a fraction of a second, rarely enough that a
// dead link costs nothing (at most five syscalls a second per queue).
const retryEvery = 200 * time.Millisecond

// Queue states.
const (
	stateUp     int32 = iota
	stateDown         // the link is down (writes fail with EIO): wait for it to come up
	stateGone         // the device was deleted (EBADFD): attach the descriptor again
	stateClosed       // Close ran
)

// ifreq is Linux's struct ifreq: a name and a 24-byte union (flags, MTU or
// a sockaddr holding the hardware address).
type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data [24]byte
}

// queue is one file descriptor and its state and counters. The state is
// atomic so that workers sharing a queue (see the package doc) do not race;
// a queue used by one worker pays only plain loads for it.
type queue struct {
	fd    int
	state atomic.Int32
	next  atomic.Int64 // clock (ns since Open) before which the queue does not retry or probe

	rxPackets, rxBytes atomic.Uint64
	txPackets, txBytes atomic.Uint64
	txDropped, errors  atomic.Uint64
	reattaches         atomic.Uint64
	_                  [64]byte // keep queues' counters on their own cache lines
}

// Port is a TAP port. See the package doc for its rules.
type Port struct {
	name  string
	o     Options
	ctl   int // AF_INET datagram socket for link ioctls, in Open's namespace
	start time.Time
	q     []queue

	up      atomic.Bool
	mac     atomic.Uint64 // the kernel side's MAC, in the low 48 bits
	lastErr atomic.Pointer[string]
	closed  bool
}

// Open creates the TAP device name, or attaches to it if it exists (a
// persistent device made with 'ip tuntap add NAME mode tap', or another
// queue of a multi-queue device), with o.Queues queues. The device lives in
// the network namespace of the calling thread.
func Open(name string, o Options) (*Port, error) {
	switch {
	case name == "":
		return nil, errors.New("tap: empty device name: name the TAP device, e.g. tap0")
	case len(name) >= unix.IFNAMSIZ:
		return nil, fmt.Errorf("tap: device name %q is too long: Linux interface names have at most %d bytes", name, unix.IFNAMSIZ-1)
	case strings.ContainsAny(name, "/: \t\n%") || name == "." || name == "..":
		return nil, fmt.Errorf("tap: device name %q is not a valid interface name (no '/', ':', '%%' or spaces)", name)
	}
	if o.Queues == 0 {
		o.Queues = 1
	}
	if o.Queues < 1 || o.Queues > maxQueues {
		return nil, fmt.Errorf("tap: %s: %d queues: want 1 to %d", name, o.Queues, maxQueues)
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > MaxMTU) {
		return nil, fmt.Errorf("tap: %s: MTU %d: want 68 to %d (frames must fit a %d-byte buffer)", name, o.MTU, MaxMTU, pkt.MaxFrame)
	}
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tap: %s: socket for link control: %w", name, err)
	}
	p := &Port{name: name, o: o, ctl: ctl, start: time.Now(), q: make([]queue, o.Queues)}
	for i := range p.q {
		p.q[i].fd = -1
	}
	for i := range p.q {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			p.Close()
			switch {
			case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
				return nil, fmt.Errorf("tap: %s: cannot open /dev/net/tun: %w: load the tun module (modprobe tun), or create the node (mknod /dev/net/tun c 10 200)", name, err)
			case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
				return nil, fmt.Errorf("tap: %s: cannot open /dev/net/tun: %w: run as root (or with CAP_NET_ADMIN and access to /dev/net/tun)", name, err)
			}
			return nil, fmt.Errorf("tap: %s: cannot open /dev/net/tun: %w", name, err)
		}
		p.q[i].fd = fd
		if err := p.attach(fd); err != nil {
			p.Close()
			return nil, p.explain(err, i)
		}
	}
	if err := p.configure(); err != nil {
		p.Close()
		return nil, err
	}
	up, err := p.linkUp()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("tap: %s: reading link flags: %w", name, err)
	}
	p.up.Store(up)
	if !up {
		for i := range p.q {
			p.q[i].state.Store(stateDown)
		}
	}
	return p, nil
}

// explain turns a TUNSETIFF error into advice.
func (p *Port) explain(err error, queue int) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("tap: %s: creating or attaching the device: %w: run as root (CAP_NET_ADMIN), or make it persistent for your user first: ip tuntap add %s mode tap user $USER", p.name, err, p.name)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("tap: %s: queue %d: %w: another process holds the device's queue, or it is a single-queue device (Queues 1) and more queues were asked for", p.name, queue, err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("tap: %s: %w: an interface of that name exists with other flags (a TUN device, a different multi-queue setting, or not a tun/tap device at all): delete it or pick another name", p.name, err)
	}
	return fmt.Errorf("tap: %s: attaching queue %d: %w", p.name, queue, err)
}

// attach binds fd to the device (creating it if needed).
func (p *Port) attach(fd int) error {
	var ifr ifreq
	copy(ifr.name[:], p.name)
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if p.o.Queues > 1 {
		flags |= unix.IFF_MULTI_QUEUE
	}
	*(*uint16)(unsafe.Pointer(&ifr.data[0])) = flags // ifr_flags
	return ioctl(fd, unix.TUNSETIFF, &ifr)
}

// ioctl calls ioctl(2) with an ifreq. unsafe: ifr is a Go pointer the
// kernel reads and writes during the call only.
func ioctl(fd int, req uint, ifr *ifreq) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(ifr)))
	if e != 0 {
		return e
	}
	return nil
}

func (p *Port) ifr() *ifreq {
	ifr := new(ifreq)
	copy(ifr.name[:], p.name)
	return ifr
}

// configure applies the MTU and up options and reads the MAC.
func (p *Port) configure() error {
	if p.o.MTU != 0 {
		ifr := p.ifr()
		*(*int32)(unsafe.Pointer(&ifr.data[0])) = int32(p.o.MTU) // ifr_mtu
		if err := ioctl(p.ctl, unix.SIOCSIFMTU, ifr); err != nil {
			return fmt.Errorf("tap: %s: setting MTU %d: %w", p.name, p.o.MTU, err)
		}
	}
	if p.o.Up {
		ifr := p.ifr()
		if err := ioctl(p.ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("tap: %s: reading link flags: %w", p.name, err)
		}
		flags := (*uint16)(unsafe.Pointer(&ifr.data[0]))
		if *flags&unix.IFF_UP == 0 {
			*flags |= unix.IFF_UP
			if err := ioctl(p.ctl, unix.SIOCSIFFLAGS, ifr); err != nil {
				return fmt.Errorf("tap: %s: bringing the link up: %w", p.name, err)
			}
		}
	}
	ifr := p.ifr()
	if err := ioctl(p.ctl, unix.SIOCGIFHWADDR, ifr); err != nil {
		return fmt.Errorf("tap: %s: reading the MAC address: %w", p.name, err)
	}
	var m uint64
	for _, c := range ifr.data[2:8] { // sockaddr: family, then the address
		m = m<<8 | uint64(c)
	}
	p.mac.Store(m)
	return nil
}

// linkUp reads the device's IFF_UP flag. It fails with ENODEV when the
// device is not in Open's namespace (deleted, or moved away).
func (p *Port) linkUp() (bool, error) {
	ifr := p.ifr()
	if err := ioctl(p.ctl, unix.SIOCGIFFLAGS, ifr); err != nil {
		return false, err
	}
	return *(*uint16)(unsafe.Pointer(&ifr.data[0]))&unix.IFF_UP != 0, nil
}

func (p *Port) now() int64 { return int64(time.Since(p.start)) }

// note records the last error. It allocates: call it on state changes
// and rate-limited retries only.
func (p *Port) note(s string) {
	if old := p.lastErr.Load(); old == nil || *old != s {
		p.lastErr.Store(&s)
	}
}

// fail handles a read or write error. EIO (link down) and EBADFD (device
// gone) take the queue down until recover succeeds; anything else is
// counted only.
func (p *Port) fail(q *queue, op string, e unix.Errno) {
	q.errors.Add(1)
	var st int32
	var why string
	switch e {
	case unix.EIO:
		st, why = stateDown, "the link is down"
	case unix.EBADFD:
		st, why = stateGone, "the device was deleted"
	default:
		p.note("tap: " + p.name + ": " + op + ": " + e.Error())
		return
	}
	q.next.Store(p.now() + int64(retryEvery))
	q.state.Store(st)
	p.up.Store(false)
	p.note("tap: " + p.name + ": " + op + ": " + e.Error() + ": " + why)
}

// recover tries, at most once per retryEvery, to bring a down or gone queue
// back, and reports whether the queue is up.
func (p *Port) recover(q *queue) bool {
	now := p.now()
	next := q.next.Load()
	if now < next || !q.next.CompareAndSwap(next, now+int64(retryEvery)) {
		return false
	}
	st := q.state.Load()
	switch st {
	case stateGone:
		// The descriptor stays open after its device is deleted and can
		// be attached again; it keeps Open's namespace, so the device
		// comes back where it was made.
		if err := p.attach(q.fd); err != nil && !errors.Is(err, unix.EEXIST) {
			q.errors.Add(1)
			p.note("tap: " + p.name + ": re-attaching after the device was deleted: " + err.Error())
			return false
		}
		q.reattaches.Add(1)
		if err := p.configure(); err != nil {
			p.note(err.Error())
		}
		if up, err := p.linkUp(); err == nil && !up {
			q.state.CompareAndSwap(st, stateDown)
			return false
		}
	case stateDown:
		// ENODEV: the device was moved to another namespace, where the
		// control socket cannot see it; try, and let the write tell.
		if up, err := p.linkUp(); err == nil && !up {
			return false
		}
	default:
		return st == stateUp
	}
	if q.state.CompareAndSwap(st, stateUp) {
		p.up.Store(true)
	}
	return q.state.Load() == stateUp
}

// WaitFD implements port.Waiter: queue's descriptor, which poll(2) reports
// readable once the kernel has transmitted a frame on the device for Recv
// to read. It is -1 for a queue the port does not have and while the
// queue is down or its device gone (the worker keeps calling Recv, which
// brings it back: see the package doc, Link loss). A re-created device is
// attached to the same descriptor, so after a recovery WaitFD returns it
// again. Safe from any goroutine (one atomic load), but not concurrently
// with Close.
func (p *Port) WaitFD(queue int) int {
	if uint(queue) >= uint(len(p.q)) {
		return -1
	}
	q := &p.q[queue]
	if q.state.Load() != stateUp {
		return -1
	}
	return q.fd
}

// Name implements port.Port.
func (p *Port) Name() string { return p.name }

// TxQueues implements port.TxQueuer: one transmit queue per queue of the
// device (Options.Queues).
func (p *Port) TxQueues() int { return len(p.q) }

// Recv implements port.Port: it reads up to v.Room() frames from the
// queue's descriptor, one read(2) each, until the kernel has no more
// (EAGAIN) or the pool is empty, and at most rxBudget frames in all, the
// ones it drops included (so a stream of bad frames cannot hold the
// worker here). It never blocks or allocates.
func (p *Port) Recv(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	if uint(queue) >= uint(len(p.q)) {
		return 0
	}
	q := &p.q[queue]
	if q.state.Load() != stateUp && !p.recover(q) {
		return 0
	}
	n, bytes, bad := 0, 0, 0
	for reads := 0; v.N < pkt.BatchSize && reads < rxBudget; reads++ {
		b := pool.Get()
		if b == nil {
			break
		}
		buf := b.Raw()[b.Head():] // where Reset puts the frame (the arena may stagger it)
		r, _, e := unix.Syscall(unix.SYS_READ, uintptr(q.fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e != 0 {
			pool.Put(b)
			if e != unix.EAGAIN && e != unix.EINTR {
				p.fail(q, "read", e)
			}
			break
		}
		if r == 0 || int(r) >= len(buf) {
			// A frame filling the whole buffer may have been cut
			// short (a device MTU above MaxMTU): drop it.
			pool.Put(b)
			bad++
			continue
		}
		b.Reset(int(r))
		v.B[v.N] = b.Index()
		v.N++
		n++
		bytes += int(r)
	}
	if n > 0 {
		q.rxPackets.Add(uint64(n))
		q.rxBytes.Add(uint64(bytes))
	} else if now := p.now(); now >= q.next.Load() && q.state.Load() == stateUp {
		// Idle: reads cannot tell a down link from a quiet one, so look
		// at the link flags now and then.
		q.next.Store(now + int64(retryEvery))
		if up, err := p.linkUp(); err == nil && !up {
			if q.state.CompareAndSwap(stateUp, stateDown) {
				p.up.Store(false)
				p.note("tap: " + p.name + ": the link is down")
			}
		}
	}
	if bad > 0 {
		q.errors.Add(uint64(bad))
	}
	return n
}

// rxBudget is the most frames Recv reads per call, kept or dropped: one
// batch's worth.
const rxBudget = pkt.BatchSize

// Send implements port.Port: it writes each frame with one write(2) (a TAP
// descriptor takes exactly one frame per write; see the package doc), takes
// ownership of every buffer, returns them all to pool and empties v. While
// the link is down or gone it frees the batch, counts it as dropped and
// returns 0. It never blocks or allocates.
func (p *Port) Send(queue int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	if n == 0 {
		return 0
	}
	q := &p.q[uint(queue)%uint(len(p.q))]
	sent, bytes, bad := 0, 0, 0
	if q.state.Load() == stateUp || p.recover(q) {
		for _, x := range v.B[:n] {
			b := pkt.At(x)
			f := b.Bytes()
			if len(f) == 0 {
				bad++
				continue
			}
			_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(q.fd), uintptr(unsafe.Pointer(&f[0])), uintptr(len(f)))
			if e != 0 {
				if e == unix.EIO || e == unix.EBADFD {
					p.fail(q, "write", e)
					break
				}
				bad++ // e.g. EINVAL for a frame shorter than an Ethernet header
				continue
			}
			sent++
			bytes += len(f)
		}
	}
	if sent > 0 {
		q.txPackets.Add(uint64(sent))
		q.txBytes.Add(uint64(bytes))
	}
	if sent < n {
		q.txDropped.Add(uint64(n - sent))
	}
	if bad > 0 {
		q.errors.Add(uint64(bad))
	}
	pool.PutBatch(v)
	return sent
}

// Close closes the queues' descriptors (a device Open created, not
// persistent, disappears with them) and the control socket. It must not
// run concurrently with Recv or Send; Recv and Send after Close do nothing
// (Send still frees the batch).
func (p *Port) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for i := range p.q {
		q := &p.q[i]
		q.state.Store(stateClosed)
		q.next.Store(1<<63 - 1)
		if q.fd >= 0 {
			if err := unix.Close(q.fd); err != nil {
				errs = append(errs, err)
			}
			q.fd = -1
		}
	}
	if err := unix.Close(p.ctl); err != nil {
		errs = append(errs, err)
	}
	p.up.Store(false)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tap: %s: close: %w", p.name, err)
	}
	return nil
}

// Stats returns the port's counters, summed over its queues. Safe from any
// goroutine.
func (p *Port) Stats() Stats {
	s := Stats{Up: p.up.Load()}
	for i := range p.q {
		q := &p.q[i]
		s.RxPackets += q.rxPackets.Load()
		s.RxBytes += q.rxBytes.Load()
		s.TxPackets += q.txPackets.Load()
		s.TxBytes += q.txBytes.Load()
		s.TxDropped += q.txDropped.Load()
		s.Errors += q.errors.Load()
		s.Reattaches += q.reattaches.Load()
	}
	if e := p.lastErr.Load(); e != nil && !s.Up {
		s.LastError = *e // once the port is up again the error is history
	}
	return s
}

// MAC returns the device's MAC address: the kernel side of the link (see
// the package doc). It changes when the port re-creates a deleted device.
func (p *Port) MAC() [6]byte {
	m := p.mac.Load()
	var a [6]byte
	for i := 5; i >= 0; i-- {
		a[i] = byte(m)
		m >>= 8
	}
	return a
}
