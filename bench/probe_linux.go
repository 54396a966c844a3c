package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softnet/softnet/internal/netns"
)

// Probes is what one run of icmpProbe measured.
type Probes struct {
	Sent    int     `json:"sent"`
	Samples int     `json:"samples"` // echo replies received (each sequence number once)
	Lost    int     `json:"lost"`    // sent - samples
	P50us   float64 `json:"rtt_p50_us"`
	P99us   float64 `json:"rtt_p99_us"`
	MinUs   float64 `json:"rtt_min_us"`
	MaxUs   float64 `json:"rtt_max_us"`
	AvgUs   float64 `json:"rtt_avg_us"`
	// KernelRx is how many of the samples had a kernel receive timestamp
	// (SO_TIMESTAMPNS); the others were timed when read.
	KernelRx int `json:"kernel_rx_stamps"`
	// PPS is the rate the probes were really sent at.
	PPS float64 `json:"sent_pps"`
}

const (
	probePayload = 56 // bytes after the ICMP header, as ping's default
	probeMagic   = 0x736f66746e657421
	// probeGrace is how long the prober waits after its last request for
	// replies still in flight; a reply later than that counts as lost.
	probeGrace = time.Second
)

// icmpProbe sends ICMP echo requests from namespace ns to dst, rate a
// second for dur, from a raw socket, and times each round trip: the send
// time is read (CLOCK_REALTIME) just before sendto, the receive time is
// the kernel's receive timestamp of the reply (SO_TIMESTAMPNS, the same
// clock), so neither the prober's scheduling on receive nor Go's
// netpoller is in the figure. The echo responder is dst's kernel. Each
// request carries its sequence number (ICMP and a 64-bit one in the
// payload) so replies are matched exactly; duplicates and other hosts'
// ICMP are ignored.
func icmpProbe(ctx context.Context, ns string, dst netip.Addr, rate float64, dur time.Duration) (Probes, error) {
	var p Probes
	if rate <= 0 || dur <= 0 {
		return p, fmt.Errorf("probe rate %v/s for %v: both must be positive", rate, dur)
	}
	n := int(math.Round(rate * dur.Seconds()))
	if n < 1 {
		n = 1
	}
	fd := -1
	err := netns.Do(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return p, fmt.Errorf("ICMP probe socket in %s: %w", ns, err)
	}
	var closeOnce sync.Once
	closeFD := func() { closeOnce.Do(func() { unix.Close(fd) }) }
	defer closeFD()
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return p, fmt.Errorf("ICMP probe socket: SO_TIMESTAMPNS: %w", err)
	}
	// Wake the receiver now and then, so that it sees the end of the run.
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return p, fmt.Errorf("ICMP probe socket: SO_RCVTIMEO: %w", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)

	id := uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())
	sentAt := make([]int64, n) // CLOCK_REALTIME ns, 0: not sent
	rtt := make([]int64, n)    // ns, 0: no reply (yet)
	var mu sync.Mutex          // guards sentAt and rtt between sender and receiver
	kernelRx := 0
	stop := make(chan struct{})
	rxDone := make(chan error, 1)
	d4 := dst.As4()

	go func() {
		buf := make([]byte, 2048)
		oob := make([]byte, 256)
		for {
			select {
			case <-stop:
				rxDone <- nil
				return
			default:
			}
			m, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
			var now unix.Timespec
			unix.ClockGettime(unix.CLOCK_REALTIME, &now)
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					continue
				}
				rxDone <- fmt.Errorf("ICMP probe receive: %w", err)
				return
			}
			if m < 20 {
				continue
			}
			ihl := int(buf[0]&0x0f) * 4
			if m < ihl+8+16 || [4]byte(buf[12:16]) != d4 {
				continue
			}
			icmp := buf[ihl:m]
			if icmp[0] != 0 || icmp[1] != 0 || binary.BigEndian.Uint16(icmp[4:]) != id || binary.BigEndian.Uint64(icmp[8:]) != probeMagic {
				continue // not an echo reply to us
			}
			seq := binary.BigEndian.Uint64(icmp[16:])
			at := now.Nano()
			stamped := false
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, c := range cms {
					if c.Header.Level == unix.SOL_SOCKET && c.Header.Type == unix.SCM_TIMESTAMPNS && len(c.Data) >= 16 {
						ts := unix.Timespec{Sec: int64(binary.NativeEndian.Uint64(c.Data)), Nsec: int64(binary.NativeEndian.Uint64(c.Data[8:]))}
						at, stamped = ts.Nano(), true
					}
				}
			}
			mu.Lock()
			if seq < uint64(n) && sentAt[seq] != 0 && rtt[seq] == 0 {
				rtt[seq] = max(at-sentAt[seq], 1)
				if stamped {
					kernelRx++
				}
			}
			mu.Unlock()
		}
	}()

	req := make([]byte, 8+probePayload)
	req[0] = 8 // echo request
	binary.BigEndian.PutUint16(req[4:], id)
	binary.BigEndian.PutUint64(req[8:], probeMagic)
	to := &unix.SockaddrInet4{Addr: d4}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	next := start
	var serr error
	for i := 0; i < n; i++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			serr = ctx.Err()
			break
		}
		next = next.Add(interval)
		binary.BigEndian.PutUint16(req[6:], uint16(i))
		binary.BigEndian.PutUint64(req[16:], uint64(i))
		req[2], req[3] = 0, 0
		binary.BigEndian.PutUint16(req[2:], ^onesSum(req))
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
		mu.Lock()
		sentAt[i] = ts.Nano()
		mu.Unlock()
		if err := unix.Sendto(fd, req, 0, to); err != nil {
			mu.Lock()
			sentAt[i] = 0
			mu.Unlock()
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
				p.Sent++ // the request was lost on our side
				continue
			}
			serr = fmt.Errorf("ICMP probe send to %v: %w", dst, err)
			break
		}
		p.Sent++
	}
	sendTime := time.Since(start)
	// Wait for the replies still in flight, no longer than probeGrace.
	deadline := time.Now().Add(probeGrace)
	for serr == nil && time.Now().Before(deadline) {
		mu.Lock()
		missing := 0
		for i := range n {
			if sentAt[i] != 0 && rtt[i] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	rerr := <-rxDone
	if serr != nil {
		return p, serr
	}
	if rerr != nil {
		return p, rerr
	}
	if p.Sent > 1 {
		p.PPS = float64(p.Sent-1) / max(sendTime-interval, time.Microsecond).Seconds()
	}
	var us []float64
	for i := range n {
		if rtt[i] > 0 {
			us = append(us, float64(rtt[i])/1e3)
		}
	}
	p.Samples, p.Lost, p.KernelRx = len(us), p.Sent-len(us), kernelRx
	if len(us) > 0 {
		slices.Sort(us)
		p.P50us, p.P99us = percentile(us, 50), percentile(us, 99)
		p.MinUs, p.MaxUs = us[0], us[len(us)-1]
		var sum float64
		for _, u := range us {
			sum += u
		}
		p.AvgUs = sum / float64(len(us))
	}
	return p, nil
}

// percentile is the nearest-rank q-th percentile of sorted (not empty).
func percentile(sorted []float64, q float64) float64 {
	k := int(math.Ceil(q / 100 * float64(len(sorted))))
	return sorted[min(max(k, 1), len(sorted))-1]
}

// onesSum is the 16-bit ones' complement sum of b (the Internet checksum
// before its final complement).
func onesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
