package bench

import (
	"bytes"
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
	// KernelTx and KernelRx are how many of the samples were timed by the
	// kernel when the request left host A's veth (SO_TIMESTAMPING, TX
	// software) and when the reply reached it (SO_TIMESTAMPNS); the others
	// fell back to the time read before sendto, or when the reply was read.
	KernelTx int `json:"kernel_tx_stamps"`
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
// second for dur, from a raw socket, and times each round trip with the
// kernel's timestamps: from the request's transmit on host A's device
// (SO_TIMESTAMPING, software TX stamp, taken in the device's transmit)
// to the reply's receive there (SO_TIMESTAMPNS), both CLOCK_REALTIME. So
// neither host A's socket and IP layers, cold after each pause between
// probes (about 20 µs here), nor the prober's scheduling nor Go's
// netpoller are in the figure: only the wire to host B and back, through
// the router. A request without a TX stamp is timed from just before its
// sendto, a reply without an RX stamp when read (Probes.KernelTx,
// KernelRx count the stamped ones). The echo responder is dst's kernel.
// Each request carries its sequence number (ICMP and a 64-bit one in the
// payload) so replies and TX stamps are matched exactly; duplicates and
// other hosts' ICMP are ignored. With cpu >= 0 the requests are sent
// from a thread pinned to that CPU, so the sender's softirq, which carries
// each request through host A's veth into the router, runs there
// (negative: wherever the scheduler puts the sender).
func icmpProbe(ctx context.Context, ns string, dst netip.Addr, rate float64, dur time.Duration, cpu int) (Probes, error) {
	var p Probes
	if rate <= 0 || dur <= 0 {
		return p, fmt.Errorf("probe rate %v/s for %v: both must be positive", rate, dur)
	}
	n := max(int(math.Round(rate*dur.Seconds())), 1)
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
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return p, fmt.Errorf("ICMP probe socket: SO_TIMESTAMPNS: %w", err)
	}
	// TX stamps come back on the error queue with the request, whose
	// payload says which probe it was.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPING, unix.SOF_TIMESTAMPING_TX_SOFTWARE|unix.SOF_TIMESTAMPING_SOFTWARE); err != nil {
		return p, fmt.Errorf("ICMP probe socket: SO_TIMESTAMPING: %w", err)
	}
	// Wake the receiver now and then, so that it sees the end of the run.
	tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return p, fmt.Errorf("ICMP probe socket: SO_RCVTIMEO: %w", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)

	id := uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())
	// CLOCK_REALTIME ns per probe, 0: none. sentAt and txAt are the
	// sender's, rxAt and rxKernel the receiver's until both are done.
	sentAt, txAt, rxAt := make([]int64, n), make([]int64, n), make([]int64, n)
	rxKernel := make([]bool, n)
	var mu sync.Mutex // guards rxAt while the receiver runs (the waiting loop reads it)
	stop := make(chan struct{})
	rxDone := make(chan error, 1)
	d4 := dst.As4()
	magic := binary.BigEndian.AppendUint64(nil, probeMagic)

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
			if icmp[0] != 0 || icmp[1] != 0 || binary.BigEndian.Uint16(icmp[4:]) != id || !bytes.Equal(icmp[8:16], magic) {
				continue // not an echo reply to us
			}
			seq := binary.BigEndian.Uint64(icmp[16:])
			at, stamped := now.Nano(), false
			if t, ok := cmsgTime(oob[:oobn], unix.SCM_TIMESTAMPNS); ok {
				at, stamped = t, true
			}
			mu.Lock()
			if seq < uint64(n) && rxAt[seq] == 0 {
				rxAt[seq], rxKernel[seq] = at, stamped
			}
			mu.Unlock()
		}
	}()

	// drainTx reads the TX stamps queued so far.
	ebuf, eoob := make([]byte, 512), make([]byte, 512)
	drainTx := func() {
		for {
			m, oobn, _, _, err := unix.Recvmsg(fd, ebuf, eoob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return
			}
			i := bytes.Index(ebuf[:m], magic)
			if i < 0 || i+16 > m {
				continue
			}
			seq := binary.BigEndian.Uint64(ebuf[i+8:])
			if t, ok := cmsgTime(eoob[:oobn], unix.SO_TIMESTAMPING); ok && seq < uint64(n) && txAt[seq] == 0 {
				txAt[seq] = t
			}
		}
	}

	req := make([]byte, 8+probePayload)
	req[0] = 8 // echo request
	binary.BigEndian.PutUint16(req[4:], id)
	copy(req[8:], magic)
	to := &unix.SockaddrInet4{Addr: d4}
	interval := time.Duration(float64(time.Second) / rate)
	if cpu >= 0 {
		restore, err := lockPinned(cpu)
		if err != nil {
			close(stop)
			<-rxDone
			return p, fmt.Errorf("ICMP prober: %w", err)
		}
		defer restore()
	}
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
		err := unix.Sendto(fd, req, 0, to)
		p.Sent++
		if err == nil {
			sentAt[i] = ts.Nano()
		} else if !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EAGAIN) {
			serr = fmt.Errorf("ICMP probe send to %v: %w", dst, err)
			break
		} // else: the request was lost on our side
		drainTx()
	}
	sendTime := time.Since(start)
	// Wait for the replies still in flight, no longer than probeGrace.
	deadline := time.Now().Add(probeGrace)
	for serr == nil && time.Now().Before(deadline) {
		mu.Lock()
		missing := 0
		for i := range n {
			if sentAt[i] != 0 && rxAt[i] == 0 {
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
	drainTx()
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
		if sentAt[i] == 0 || rxAt[i] == 0 {
			continue
		}
		from := sentAt[i]
		if txAt[i] != 0 {
			from = txAt[i]
			p.KernelTx++
		}
		if rxKernel[i] {
			p.KernelRx++
		}
		us = append(us, float64(max(rxAt[i]-from, 0))/1e3)
	}
	p.Samples, p.Lost = len(us), p.Sent-len(us)
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

// cmsgTime returns the first timestamp of control message type typ
// (SOL_SOCKET): a struct timespec (SCM_TIMESTAMPNS), or the first, the
// software one, of struct scm_timestamping's three (SO_TIMESTAMPING).
func cmsgTime(oob []byte, typ int32) (int64, bool) {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, c := range cms {
		if c.Header.Level == unix.SOL_SOCKET && c.Header.Type == typ && len(c.Data) >= 16 {
			sec, nsec := int64(binary.NativeEndian.Uint64(c.Data)), int64(binary.NativeEndian.Uint64(c.Data[8:]))
			if sec != 0 || nsec != 0 {
				return sec*1e9 + nsec, true
			}
		}
	}
	return 0, false
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
