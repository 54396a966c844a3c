package linuxcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
)

// tunSetCarrier is TUNSETCARRIER, _IOW('T', 226, int) (Linux 5.0).
const tunSetCarrier = 0x400454e2

// HostIfs are the open host interfaces of one namespace.
type HostIfs struct {
	ns   string
	taps []*hostTap
	by   map[int]*hostTap // by softnet interface index
	send func(iface int, frame []byte) error
	wg   sync.WaitGroup
	once sync.Once
	done atomic.Bool
}

type hostTap struct {
	HostIf
	f       *os.File
	fd      int
	up      atomic.Bool
	toK     atomic.Uint64
	toPort  atomic.Uint64
	dropped atomic.Uint64
	lastErr atomic.Pointer[string]
}

// ifreq is Linux's struct ifreq: a name and a 24-byte union.
type ifreq struct {
	name [unix.IFNAMSIZ]byte
	data [24]byte
}

func ioctl(fd int, req uintptr, p unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p)); e != 0 {
		return e
	}
	return nil
}

// OpenHostIfs creates the TAPs hs describe in namespace ns ("" for the
// calling process's), each with its MAC, MTU and addresses, up but without
// carrier until SetUp says its port is up, and starts a reader per TAP
// that hands what the kernel sends on it to send (control's
// SendHostFrame: out of softnet's interface h.Iface). On an error nothing
// is left behind.
func OpenHostIfs(ns string, hs []HostIf, send func(iface int, frame []byte) error) (_ *HostIfs, err error) {
	h := &HostIfs{ns: ns, by: map[int]*hostTap{}, send: send}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	in := func(f func() error) error {
		if ns == "" {
			return f()
		}
		return netns.Do(ns, f)
	}
	for _, c := range hs {
		t := &hostTap{HostIf: c, fd: -1}
		if err := in(func() error { return t.create() }); err != nil {
			where := "the host's namespace"
			if ns != "" {
				where = "namespace " + ns
			}
			return nil, fmt.Errorf("host interface %s in %s: %w", c.Name, where, err)
		}
		h.taps = append(h.taps, t)
		h.by[c.Iface] = t
	}
	for _, t := range h.taps {
		h.wg.Add(1)
		go h.read(t)
	}
	return h, nil
}

// create makes the TAP in the calling thread's namespace and configures
// it.
func (t *hostTap) create() error {
	name := t.Name
	if name == "" || len(name) >= unix.IFNAMSIZ || strings.ContainsAny(name, "/: \t\n%") {
		return fmt.Errorf("%q is not an interface name: 1..%d bytes, no '/', ':', '%%' or spaces", name, unix.IFNAMSIZ-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open /dev/net/tun: %w (load the tun module: modprobe tun; run as root)", err)
	}
	var ifr ifreq
	copy(ifr.name[:], name)
	*(*uint16)(unsafe.Pointer(&ifr.data[0])) = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_TUN_EXCL
	if err := ioctl(fd, unix.TUNSETIFF, unsafe.Pointer(&ifr)); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("creating the TAP: %w: an interface of that name exists in the namespace: delete it, or give the host interface another name (linux_cp.host_interfaces: {interface: ..., name: ...})", err)
		}
		return fmt.Errorf("creating the TAP: %w", err)
	}
	t.fd = fd
	// The kernel's TAP carries no carrier until softnet's port is up.
	off := 0
	_ = ioctl(fd, tunSetCarrier, unsafe.Pointer(&off))
	ctl, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for link control: %w", err)
	}
	defer unix.Close(ctl)
	req := func() *ifreq {
		r := new(ifreq)
		copy(r.name[:], name)
		return r
	}
	r := req()
	*(*uint16)(unsafe.Pointer(&r.data[0])) = unix.ARPHRD_ETHER
	copy(r.data[2:8], t.MAC[:])
	if err := ioctl(ctl, unix.SIOCSIFHWADDR, unsafe.Pointer(r)); err != nil {
		return fmt.Errorf("setting MAC %x: %w", t.MAC, err)
	}
	if t.MTU != 0 {
		r = req()
		*(*int32)(unsafe.Pointer(&r.data[0])) = int32(t.MTU)
		if err := ioctl(ctl, unix.SIOCSIFMTU, unsafe.Pointer(r)); err != nil {
			return fmt.Errorf("setting MTU %d: %w", t.MTU, err)
		}
	}
	r = req()
	if err := ioctl(ctl, unix.SIOCGIFINDEX, unsafe.Pointer(r)); err != nil {
		return fmt.Errorf("reading its index: %w", err)
	}
	index := *(*int32)(unsafe.Pointer(&r.data[0]))
	// No duplicate address detection: the addresses are softnet's.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/accept_dad", []byte("0"), 0)
	r = req()
	if err := ioctl(ctl, unix.SIOCGIFFLAGS, unsafe.Pointer(r)); err != nil {
		return fmt.Errorf("reading link flags: %w", err)
	}
	*(*uint16)(unsafe.Pointer(&r.data[0])) |= unix.IFF_UP
	if err := ioctl(ctl, unix.SIOCSIFFLAGS, unsafe.Pointer(r)); err != nil {
		return fmt.Errorf("setting it up: %w", err)
	}
	for _, p := range t.Addrs {
		if err := addAddr(index, p.Addr().Unmap(), p.Bits()); err != nil {
			return fmt.Errorf("adding address %v: %w", p, err)
		}
	}
	t.f = os.NewFile(uintptr(fd), "tap "+name) // non-blocking: reads wait in the runtime's poller
	return nil
}

// addAddr adds address a/bits to interface index through rtnetlink
// (RTM_NEWADDR), IPv6 ones without duplicate address detection.
func addAddr(index int32, a netip.Addr, bits int) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	ip := a.AsSlice()
	fam, flags := byte(unix.AF_INET6), byte(unix.IFA_F_NODAD)
	if a.Is4() {
		fam, flags = unix.AF_INET, 0
	}
	attr := func(b []byte, typ uint16, v []byte) []byte {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	body := []byte{fam, byte(bits), flags, 0}
	body = binary.NativeEndian.AppendUint32(body, uint32(index))
	body = attr(body, unix.IFA_LOCAL, ip)
	body = attr(body, unix.IFA_ADDRESS, ip)
	msg := binary.NativeEndian.AppendUint32(nil, uint32(unix.NLMSG_HDRLEN+len(body)))
	msg = binary.NativeEndian.AppendUint16(msg, unix.RTM_NEWADDR)
	msg = binary.NativeEndian.AppendUint16(msg, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	msg = binary.NativeEndian.AppendUint32(msg, 1) // seq
	msg = binary.NativeEndian.AppendUint32(msg, 0) // pid
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(buf[4:6]) != unix.NLMSG_ERROR {
		return errors.New("no netlink acknowledgement")
	}
	if e := int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); e != 0 {
		return unix.Errno(-e)
	}
	return nil
}

// read hands what the kernel sends on t to the port, until Close.
func (h *HostIfs) read(t *hostTap) {
	defer h.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, err := t.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			// Down or deleted (EIO, EBADFD): the poller does not wait
			// on it, so wait here before trying again.
			s := err.Error()
			t.lastErr.Store(&s)
			if h.done.Load() {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err := h.send(t.Iface, buf[:n]); err != nil {
			t.dropped.Add(1)
			s := err.Error()
			t.lastErr.Store(&s)
			continue
		}
		t.toPort.Add(1)
	}
}

// Write gives frame to softnet interface iface's host interface: one
// non-blocking write to the TAP (a TAP the kernel does not drain drops
// it). It never blocks; frame is not kept. For control's SetHostSink.
func (h *HostIfs) Write(iface int, frame []byte) {
	t := h.by[iface]
	if t == nil || t.fd < 0 {
		return
	}
	if _, err := unix.Write(t.fd, frame); err != nil {
		t.dropped.Add(1)
		s := err.Error()
		t.lastErr.Store(&s)
		return
	}
	t.toK.Add(1)
}

// SetUp gives softnet interface iface's host interface carrier (its port
// is up) or takes it away: the kernel, and the daemons, see the link as
// softnet's port is.
func (h *HostIfs) SetUp(iface int, up bool) {
	t := h.by[iface]
	if t == nil || t.fd < 0 || t.up.Load() == up {
		return
	}
	v := 0
	if up {
		v = 1
	}
	if err := ioctl(t.fd, tunSetCarrier, unsafe.Pointer(&v)); err != nil {
		s := "carrier: " + err.Error()
		t.lastErr.Store(&s)
		return
	}
	t.up.Store(up)
}

// Stats returns each host interface's counters.
func (h *HostIfs) Stats() []HostIfStats {
	var out []HostIfStats
	for _, t := range h.taps {
		st := HostIfStats{Name: t.Name, Iface: t.Iface, Up: t.up.Load(), ToKernel: t.toK.Load(), ToPort: t.toPort.Load(), Dropped: t.dropped.Load()}
		if s := t.lastErr.Load(); s != nil {
			st.LastError = *s
		}
		out = append(out, st)
	}
	return out
}

// Close deletes the TAPs (they were not made persistent) and stops the
// readers.
func (h *HostIfs) Close() error {
	h.once.Do(func() {
		h.done.Store(true)
		for _, t := range h.taps {
			if t.f != nil {
				t.f.Close()
			} else if t.fd >= 0 {
				unix.Close(t.fd)
			}
		}
		h.wg.Wait()
	})
	return nil
}
