package afpacket

import (
	"strconv"
	"testing"
	"time"

	"github.com/softnet/softnet/pkt"
)

// TestRecvBudgetDropped: a ring full of frames Recv drops (longer than
// the pool's buffers) is not emptied in one call: Recv takes at most a
// batch's worth of frames per call, dropped ones included, so a stream
// of bad frames cannot hold a worker in its receive loop.
func TestRecvBudgetDropped(t *testing.T) {
	l := newLab(t)
	run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "mtu", "9000")
	run(t, "ip", "-n", l.nsB, "link", "set", l.devB, "mtu", "9000")
	p := openPort(t, l.devA, Options{})
	a, err := pkt.NewArena(pkt.ArenaOptions{Frames: 256, Chunk: 2048, Stagger: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pool := pkt.NewPoolIn(a, 0, 256)
	const n = 3 * pkt.BatchSize / 2
	var big [][]byte
	for i := range n {
		big = append(big, frame(p.MAC(), typRx, i, pool.MaxFrame()+1))
	}
	l.peerSend(big...)
	for end := time.Now().Add(10 * time.Second); p.Backlog(0) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the ring holds %d of the %d frames sent", p.Backlog(0), n)
		}
	}
	var v pkt.Batch
	if got := p.Recv(0, &v, pool); got != 0 {
		t.Fatalf("Recv kept %d oversize frames", got)
	}
	if s := p.Stats(); s.RxOversize == 0 || s.RxOversize > pkt.BatchSize {
		t.Fatalf("one Recv dropped %d frames, want 1..%d (its budget)", s.RxOversize, pkt.BatchSize)
	}
	for end := time.Now().Add(10 * time.Second); p.Stats().RxOversize < n && time.Now().Before(end); {
		p.Recv(0, &v, pool)
	}
	if s := p.Stats(); s.RxOversize != n || pool.Free() != pool.Size() {
		t.Errorf("RxOversize %d, want %d; pool %d of %d", s.RxOversize, n, pool.Free(), pool.Size())
	}
}

// TestMTUFollowed: Port.MTU follows the device's MTU changed after Open
// (ip link set DEV mtu N), up and down, without a reopen.
func TestMTUFollowed(t *testing.T) {
	l := newLab(t)
	p := openPort(t, l.devA, Options{})
	if p.MTU() != 1500 {
		t.Fatalf("MTU %d at open, want 1500", p.MTU())
	}
	for _, mtu := range []int{9000, 1400} {
		run(t, "ip", "-n", l.nsA, "link", "set", l.devA, "mtu", strconv.Itoa(mtu))
		for end := time.Now().Add(10 * time.Second); p.MTU() != mtu && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			p.Stats()
		}
		if p.MTU() != mtu {
			t.Fatalf("MTU %d after ip link set mtu %d", p.MTU(), mtu)
		}
	}
	if s := p.Stats(); s.Reopens != 0 || !s.Up {
		t.Errorf("stats %+v: want no reopen, up", s)
	}
}
