package afpacket

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"golang.org/x/sys/unix"
)

var _ port.Waiter = (*Port)(nil)

// forRxRings runs f with each RX ring version.
func forRxRings(t *testing.T, f func(t *testing.T, ring string)) {
	for _, r := range []string{RxV2, RxV3} {
		t.Run(r, func(t *testing.T) { f(t, r) })
	}
}

// pollIn waits up to d for fd to be readable and reports whether it is.
func pollIn(t testing.TB, fd int, d time.Duration) bool {
	t.Helper()
	end := time.Now().Add(d)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(max(0, time.Until(end).Milliseconds())))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.Fatalf("poll(%d): %v", fd, err)
		}
		return n == 1 && pfd[0].Revents&unix.POLLIN != 0
	}
}

// TestWaitFD: after a Recv that returned nothing, a frame from the peer
// makes the queue's WaitFD readable, and Recv then has it; the same after
// the device is deleted (WaitFD -1 while down) and re-created (WaitFD the
// new socket). The test only ever calls Recv after poll said readable.
func TestWaitFD(t *testing.T) { forRxRings(t, testWaitFD) }

func testWaitFD(t *testing.T, ring string) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{RxRing: ring})
	pool := pkt.NewPool(1024)
	if fd := p.WaitFD(5); fd != -1 {
		t.Fatalf("WaitFD of a queue the port does not have: %d", fd)
	}
	var v pkt.Batch
	seq := 100
	wake := func(stage string) {
		t.Helper()
		fd := p.WaitFD(0)
		if fd < 0 {
			t.Fatalf("%s: WaitFD(0) = %d on an open queue", stage, fd)
		}
		for p.Recv(0, &v, pool) != 0 { // what the new link sent (IPv6) is not ours
			pool.PutBatch(&v)
		}
		seq++
		l.peerSend(frame(p.MAC(), typRx, seq, 64))
		// Stray frames may wake the poll first (allowed); every wake-up
		// is followed by one Recv, until ours is in.
		for end := time.Now().Add(10 * time.Second); ; {
			if !pollIn(t, fd, time.Until(end)) {
				t.Fatalf("%s: WaitFD %d not readable within 10 s of a frame (stats %+v)", stage, fd, p.Stats())
			}
			p.Recv(0, &v, pool)
			found := slices.ContainsFunc(v.B[:v.N], func(x uint32) bool {
				f := pkt.At(x).Bytes()
				return binary.BigEndian.Uint16(f[12:]) == typRx && binary.BigEndian.Uint32(f[14:]) == uint32(seq)
			})
			pool.PutBatch(&v)
			if found {
				return
			}
		}
	}
	wake("open")
	wake("again")

	// Delete the veth: the queue goes down, WaitFD is -1 (the worker
	// keeps calling Recv, which reopens it).
	run(t, "ip", "-n", l.nsB, "link", "del", l.devB)
	for end := time.Now().Add(10 * time.Second); p.Stats().Up && time.Now().Before(end); {
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
		time.Sleep(100 * time.Microsecond)
	}
	if s := p.Stats(); s.Up {
		t.Fatalf("queue still up after the veth was deleted: %+v", s)
	}
	if fd := p.WaitFD(0); fd != -1 {
		t.Fatalf("WaitFD %d on a queue that is down", fd)
	}
	l.makeVeth()
	for end := time.Now().Add(30 * time.Second); p.Stats().Reopens == 0 && time.Now().Before(end); {
		p.Recv(0, &v, pool)
		pool.PutBatch(&v)
		time.Sleep(10 * time.Millisecond)
	}
	if s := p.Stats(); s.Reopens != 1 || !s.Up {
		t.Fatalf("no reopen after the veth came back: %+v", s)
	}
	wake("after reopen")
}

// BenchmarkRecvLatency measures how long a lone frame waits before Recv
// has it, for each RX ring: the peer sends one frame every 5 ms with the
// time in it; the port's goroutine blocks in poll(2) on WaitFD and calls
// Recv when it wakes, as an idle worker does (the -spin cases call Recv
// in a loop instead: the ring's own delay, without the wake-up). One op
// is one frame; p50-us, p99-us and max-us are the delays from the peer's
// send to Recv returning the frame. Run with -benchtime=400x (2 s per
// case).
func BenchmarkRecvLatency(b *testing.B) {
	for _, c := range []struct {
		name string
		o    Options
		spin bool
	}{
		{"v3-1ms", Options{RxRing: RxV3}, false},                                       // as before: 1 ms, 128 KiB blocks
		{"v3-1ms-4k", Options{RxRing: RxV3, BlockSize: 4096, BlockCount: 2048}, false}, // the smallest timeout and block
		{"v3-1ms-spin", Options{RxRing: RxV3}, true},
		{"v2", Options{RxRing: RxV2}, false},
		{"v2-spin", Options{RxRing: RxV2}, true},
	} {
		b.Run(c.name, func(b *testing.B) { benchRecvLatency(b, c.o, c.spin) })
	}
}

func benchRecvLatency(b *testing.B, o Options, spin bool) {
	l := newLab(b)
	o.Promisc = true
	p, err := Open(l.devA, o)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool := pkt.NewPool(1024)
	var v pkt.Batch
	for p.Recv(0, &v, pool) != 0 {
		pool.PutBatch(&v)
	}
	t0 := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	n := b.N
	go func() {
		f := frame(p.MAC(), typRx, 0, 64)
		for i := 0; i < n; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			binary.BigEndian.PutUint64(f[18:], uint64(time.Since(t0)))
			_ = unix.Sendto(l.peerFd, f, 0, &unix.SockaddrLinklayer{Ifindex: l.peerIx})
		}
	}()
	delays := make([]time.Duration, 0, n)
	fd := p.WaitFD(0)
	b.ResetTimer()
	for len(delays) < n {
		if !spin && !pollIn(b, fd, time.Second) {
			b.Fatalf("no frame for a second after %d of %d", len(delays), n)
		}
		p.Recv(0, &v, pool)
		now := time.Since(t0)
		for _, x := range v.B[:v.N] {
			buf := pkt.At(x)
			if f := buf.Bytes(); len(f) >= 26 && binary.BigEndian.Uint16(f[12:]) == typRx {
				delays = append(delays, now-time.Duration(binary.BigEndian.Uint64(f[18:])))
			}
		}
		pool.PutBatch(&v)
	}
	b.StopTimer()
	slices.Sort(delays)
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	b.ReportMetric(us(delays[len(delays)/2]), "p50-us")
	b.ReportMetric(us(delays[len(delays)*99/100]), "p99-us")
	b.ReportMetric(us(delays[len(delays)-1]), "max-us")
}

// TestDefaultRingPerFrame: a port opened with the default options has a
// TPACKET_V2 RX ring, whose frames the kernel hands over (and wakes a
// poll for) one at a time, not a V3 ring that holds a lone frame until its
// block is retired (>= 1 ms; BenchmarkRecvLatency measures both). The
// control queue too; Options.RxRing "v3" still gives V3.
func TestDefaultRingPerFrame(t *testing.T) {
	l := newLab(t)
	for _, c := range []struct {
		o    Options
		want int
	}{
		{Options{ControlQueue: true}, unix.TPACKET_V2},
		{Options{ControlQueue: true, RxRing: RxV3}, unix.TPACKET_V3},
	} {
		p, err := Open(l.devA, c.o)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.q {
			v, err := unix.GetsockoptInt(p.q[i].rxFd, unix.SOL_PACKET, unix.PACKET_VERSION)
			if err != nil || v != c.want {
				t.Errorf("RxRing %q: queue %d: PACKET_VERSION %d (%v), want %d", c.o.RxRing, i, v, err, c.want)
			}
		}
		p.Close()
	}
}
