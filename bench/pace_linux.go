package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
	"github.com/softnet/softnet/lab"
)

// PacedFlood is what pacedFlood offered and what crossed the router.
type PacedFlood struct {
	Sent        uint64  // frames handed to host A's veth
	Received    uint64  // frames host B's veth received meanwhile (the flood, and the few probes)
	SentMpps    float64 // Sent over the sending time
	ForwardMpps float64 // Received over the sending time
	DurationS   float64
}

const (
	paceBatch = 64                    // frames per sendmmsg
	paceBurst = 256                   // most frames sent in one wake-up (the token bucket's depth)
	paceTick  = 50 * time.Microsecond // sleep between wake-ups (longer in practice)
)

// pacedFlood sends 64-byte UDP frames from host A to lab.FloodDst through
// the router (the frames the lab's trafgen flood sends, to the sink next
// hop on B's link) at pps for dur, from an AF_PACKET socket on a thread
// pinned to cpu (-1: not pinned). A token bucket refilled at pps releases
// at most paceBurst frames per wake-up, every paceTick or so, so the load
// is steady at the scale of the probes' round trips. (trafgen --rate is
// not: it sends each second's frames at full speed, then idles until the
// second ends.) When the sender cannot keep up it sends what it can:
// SentMpps is what it really offered.
func pacedFlood(ctx context.Context, t *lab.Topology, pps float64, dur time.Duration, cpu int) (PacedFlood, error) {
	var f PacedFlood
	if pps <= 0 || dur <= 0 {
		return f, fmt.Errorf("paced flood at %v pps for %v: both must be positive", pps, dur)
	}
	router, err := t.RouterMAC(ctx)
	if err != nil {
		return f, err
	}
	frame, err := floodFrame(router)
	if err != nil {
		return f, err
	}
	fd := -1
	err = netns.Do(t.A, func() error {
		ifc, err := net.InterfaceByName(lab.DevA)
		if err != nil {
			return err
		}
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		// Protocol 0: the socket sends only, nothing is queued to it.
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifc.Index})
	})
	if fd >= 0 {
		defer unix.Close(fd)
	}
	if err != nil {
		return f, fmt.Errorf("flood socket in %s: %w", t.A, err)
	}
	// As trafgen: straight to the veth's transmit, no qdisc.
	unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)

	type mmsghdr struct {
		hdr unix.Msghdr
		n   uint32
		_   [4]byte
	}
	iov := unix.Iovec{Base: &frame[0]}
	iov.SetLen(len(frame))
	msgs := make([]mmsghdr, paceBatch)
	for i := range msgs {
		msgs[i].hdr.Iov = &iov
		msgs[i].hdr.SetIovlen(1)
	}

	b0, err := netns.LinkStats(ctx, t.B, lab.DevB)
	if err != nil {
		return f, err
	}
	type result struct {
		sent uint64
		el   time.Duration
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// A thread of its own, pinned, and given back unpinned: it must
		// not end with this goroutine, as a locked thread would, because
		// children started from it (netns.Command: softnet) get SIGKILL
		// when it does (Pdeathsig).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if cpu >= 0 {
			var old, set unix.CPUSet
			if err := unix.SchedGetaffinity(0, &old); err != nil {
				done <- result{err: fmt.Errorf("pinning the flood to cpu %d: %w", cpu, err)}
				return
			}
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				done <- result{err: fmt.Errorf("pinning the flood to cpu %d: %w", cpu, err)}
				return
			}
			defer unix.SchedSetaffinity(0, &old)
		}
		var sent uint64
		credit := 0.0
		start := time.Now()
		last := start
		tick := unix.NsecToTimespec(paceTick.Nanoseconds())
		for ctx.Err() == nil {
			now := time.Now()
			if now.Sub(start) >= dur {
				break
			}
			credit = min(credit+pps*now.Sub(last).Seconds(), paceBurst)
			last = now
			for credit >= 1 {
				k := min(int(credit), paceBatch)
				r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(k), 0, 0, 0)
				if errno != 0 {
					if errno == unix.ENOBUFS || errno == unix.EAGAIN || errno == unix.EINTR {
						credit = 0 // the veth is full: wait for the next tick
						break
					}
					done <- result{err: fmt.Errorf("flood send: %w", errno)}
					return
				}
				sent += uint64(r)
				credit -= float64(r)
			}
			unix.Nanosleep(&tick, nil)
		}
		runtime.KeepAlive(frame)
		runtime.KeepAlive(&iov)
		done <- result{sent: sent, el: time.Since(start)}
	}()
	r := <-done
	if r.err != nil {
		return f, r.err
	}
	if err := ctx.Err(); err != nil {
		return f, err
	}
	// Let what is in flight arrive before counting it.
	time.Sleep(100 * time.Millisecond)
	b1, err := netns.LinkStats(ctx, t.B, lab.DevB)
	if err != nil {
		return f, err
	}
	f.Sent, f.Received, f.DurationS = r.sent, b1.Sub(b0).RxPackets, r.el.Seconds()
	f.SentMpps = float64(f.Sent) / r.el.Seconds() / 1e6
	f.ForwardMpps = float64(f.Received) / r.el.Seconds() / 1e6
	return f, nil
}

// floodFrame is the lab's flood frame, 64 bytes without FCS: Ethernet to
// router (the MAC host A has for the router), IPv4 from host A to
// lab.FloodDst, UDP 4000 -> 9, zero payload.
func floodFrame(router string) ([]byte, error) {
	dst, err := net.ParseMAC(router)
	if err != nil || len(dst) != 6 {
		return nil, fmt.Errorf("router MAC %q: %v", router, err)
	}
	src, err := net.ParseMAC(lab.MACA)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 64)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(b)-14))
	ip[8], ip[9] = 64, 17
	a, d := lab.AddrA.Addr().As4(), lab.FloodDst.As4()
	copy(ip[12:16], a[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], ^onesSum(ip))
	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], 9)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	if len(b) != 64 {
		return nil, errors.New("flood frame: not 64 bytes")
	}
	return b, nil
}
