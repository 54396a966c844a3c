package dp_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// pollSyscalls are the system calls unix.Poll makes, by architecture.
var pollSyscalls = map[string][]int{"amd64": {7, 271}, "arm64": {73}, "386": {168, 309}}

// threadIn reports whether thread tid of this process is asleep ('S') in
// poll(2), and what it is doing if not.
func threadIn(tid int) (bool, string) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return false, err.Error()
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
	sc, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
	if err != nil {
		return false, err.Error()
	}
	f := strings.Fields(string(sc))
	nr, _ := strconv.Atoi(f[0])
	what := fmt.Sprintf("state %s, syscall %s", state, f[0])
	if state != "S" {
		return false, what
	}
	want, ok := pollSyscalls[runtime.GOARCH]
	if !ok {
		return true, what // cannot tell the call: asleep is all we check
	}
	for _, n := range want {
		if nr == n {
			return true, what
		}
	}
	return false, what
}

// waitAsleep waits (generously) until w's thread sleeps in poll(2) after
// more than after sleeps in all.
func waitAsleep(t *testing.T, w *dp.Worker, after uint64) {
	t.Helper()
	var what string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		var in bool
		if in, what = threadIn(dp.ThreadID(w)); in && dp.Sleeps(w) > after {
			return
		}
	}
	t.Fatalf("worker %d never slept in poll(2) (sleeps %d; last seen: %s)", w.ID, dp.Sleeps(w), what)
}

// waitFor polls cond (generously) and fails with what if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal(what)
}

// sleepingLab is the dptest lab with its worker running, asleep in
// poll(2) with a timeout of an hour: whatever it does next, something
// woke it.
func sleepingLab(t *testing.T, o dptest.Options) *dptest.Lab {
	t.Helper()
	l := dptest.New(t, o)
	dp.SetIdleTimeout(l.Worker, time.Hour)
	if err := l.Worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Worker.Stop)
	waitAsleep(t, l.Worker, 0)
	return l
}

// TestIdleSleepsAndWakesOnFrame: an idle worker whose queues are all
// port.Waiters blocks in poll(2) (not a timer sleep), a frame sent to a
// queue wakes it and is forwarded, and it goes back to sleep.
func TestIdleSleepsAndWakesOnFrame(t *testing.T) {
	l := sleepingLab(t, dptest.Options{})
	for i := range 3 {
		n := dp.Sleeps(l.Worker)
		l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
		var out [][]byte
		waitFor(t, fmt.Sprintf("frame %d not forwarded by the sleeping worker", i), func() bool {
			out = append(out, l.Out(1)...)
			return len(out) > 0
		})
		if len(out) != 1 {
			t.Fatalf("forwarded %d frames, want 1", len(out))
		}
		waitAsleep(t, l.Worker, n)
	}
	c := l.Counters()
	if c.RxPackets[0] != 3 || c.TxPackets[1] != 3 {
		t.Fatalf("counters after the idle streak: rx %d tx %d, want 3 and 3", c.RxPackets[0], c.TxPackets[1])
	}
}

// TestIdleInjectWakes: the control plane's inject (an ARP request for a
// packet waiting for resolution) wakes the sleeping worker, which sends
// it.
func TestIdleInjectWakes(t *testing.T) {
	l := sleepingLab(t, dptest.Options{NoStatic: true})
	n := dp.Sleeps(l.Worker)
	l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, dptest.HostB, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
	waitFor(t, "no resolve punted", func() bool { return l.Worker.Punt().Len() > 0 })
	waitAsleep(t, l.Worker, n)
	l.Router.Service() // punt -> ARP request -> inject ring
	var out [][]byte
	waitFor(t, "the ARP request was not sent by the sleeping worker", func() bool {
		out = append(out, l.Out(1)...)
		return len(out) > 0
	})
	if f := out[0]; len(f) < 14 || f[12] != 0x08 || f[13] != 0x06 {
		t.Fatalf("sent % x, want an ARP request", f)
	}
}

// TestIdleStopWakes: Stop wakes a worker asleep in poll(2) with an hour
// to go, and returns promptly.
func TestIdleStopWakes(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	dp.SetIdleTimeout(l.Worker, time.Hour)
	if err := l.Worker.Start(); err != nil {
		t.Fatal(err)
	}
	waitAsleep(t, l.Worker, 0)
	done := make(chan struct{})
	go func() {
		l.Worker.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not wake the sleeping worker")
	}
}

// TestIdleLanesWake: software RSS wakes a sleeping peer. Worker 1 polls
// no port (it only consumes worker 0's lane) and sleeps on its eventfd;
// frames pushed to worker 0's queue wake worker 0, which hands worker
// 1's flows over the lane, which must wake worker 1.
func TestIdleLanesWake(t *testing.T) {
	in := mem.NewQueue("in0")
	defer in.Close()
	ws, out, _ := spreadRouter(t, in, 2)
	for _, w := range ws {
		dp.SetIdleTimeout(w, time.Hour)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	for _, w := range ws {
		waitAsleep(t, w, 0)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var frames [][]byte
	for range 200 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(256)), byte(rng.IntN(256))})
		b := netip.AddrFrom4([4]byte{10, 2, byte(rng.IntN(256)), byte(rng.IntN(256))})
		frames = append(frames, dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, a, b, hdr.ProtoUDP, 64, false, dptest.UDP(uint16(1024+rng.IntN(60000)), 53, 18)))
	}
	in.Push(frames...)
	count := func(q int) int {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.q[q])
	}
	waitFor(t, "the frames were not all forwarded", func() bool { return count(0)+count(1) == len(frames) })
	if count(1) == 0 {
		t.Fatal("worker 1 forwarded nothing")
	}
	// Both go back to sleep.
	for _, w := range ws {
		waitFor(t, fmt.Sprintf("worker %d did not sleep again", w.ID), func() bool {
			in, _ := threadIn(dp.ThreadID(w))
			return in
		})
	}
	for _, w := range ws {
		w.Stop()
	}
	for range 4 { // settle buffer returns a stop may have cut short
		for _, w := range ws {
			w.Poll()
		}
	}
	for _, w := range ws {
		if w.Pool().Free() != w.Pool().Size() {
			t.Fatalf("worker %d pool %d of %d", w.ID, w.Pool().Free(), w.Pool().Size())
		}
	}
}

// napSyscalls are the system calls unix.Nanosleep makes, by architecture.
var napSyscalls = map[string][]int{"amd64": {35, 230}, "arm64": {101, 115}}

// TestIdleNaps: an idle worker with a queue it cannot wait on (a
// generator, which is not a port.Waiter) naps with nanosleep, not with a
// timer sleep that rounds up to a millisecond (a futex wait in the Go
// runtime), and still forwards what comes through its other queue.
func TestIdleNaps(t *testing.T) {
	want, ok := napSyscalls[runtime.GOARCH]
	if !ok {
		t.Skipf("nanosleep's system call number on %s is not known to the test", runtime.GOARCH)
	}
	r, ii, oi := inOutRouter(t)
	r.Publish()
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = mem.NewGen("in0", nil), mem.NewSink("out0") // a generator without frames
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: ii}}, dp.Options{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	waitFor(t, "the idle worker never napped in nanosleep", func() bool {
		sc, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", dp.ThreadID(w)))
		if err != nil {
			return false
		}
		nr, _ := strconv.Atoi(strings.Fields(string(sc))[0])
		return slices.Contains(want, nr)
	})
	if dp.Sleeps(w) != 0 {
		t.Fatalf("slept %d times in poll(2) with a queue that has no descriptor", dp.Sleeps(w))
	}
}

// TestIdlePublishOncePerStreak: an idle worker publishes its counters on
// the first empty poll of an idle streak, not on every empty poll (with
// thousands of interfaces a full publish walks all their counters).
func TestIdlePublishOncePerStreak(t *testing.T) {
	l := dptest.New(t, dptest.Options{})
	l.Send(0, dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
	c := l.Counters()
	if c.TxPackets[1] != 1 {
		t.Fatalf("tx %d after the first empty poll, want 1 (published on entering idle)", c.TxPackets[1])
	}
	for range 40 {
		l.Worker.Poll()
	}
	if p := l.Counters().Polls; p != c.Polls {
		t.Fatalf("40 empty polls published the counters again (polls %d, then %d)", c.Polls, p)
	}
}

// stampSink is an output port that records when it last sent (ns) and
// tells sent without blocking, so a benchmark can wait for it without
// spinning on a core the worker needs, nor contending for a lock.
type stampSink struct {
	at   atomic.Int64
	sent chan struct{}
}

func (p *stampSink) Name() string                        { return "out0" }
func (p *stampSink) Recv(int, *pkt.Batch, *pkt.Pool) int { return 0 }
func (p *stampSink) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int {
	n := v.N
	pool.PutBatch(v)
	p.at.Store(time.Now().UnixNano())
	select {
	case p.sent <- struct{}{}:
	default:
	}
	return n
}

// BenchmarkWake measures the time from a frame being sent on a mem
// Waiter queue to the worker, asleep in poll(2), having forwarded it
// (ns/wake, with the median and 90th percentile). Each round first waits
// for the worker to sleep again, so run it with a count:
//
//	go test -run X -bench Wake -benchtime 200x ./dp
func BenchmarkWake(b *testing.B) {
	r, ii, oi := inOutRouter(b)
	if err := r.AddNeighbor(oi, bench.Gateway(1), bench.GatewayMAC(1)); err != nil {
		b.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("10.2.0.0/16"), bench.Gateway(1)); err != nil {
		b.Fatal(err)
	}
	r.Publish()
	in, out := mem.NewQueue("in0"), &stampSink{sent: make(chan struct{}, 1)}
	defer in.Close()
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = in, out
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: ii}}, dp.Options{PoolSize: 256})
	dp.SetIdleTimeout(w, time.Hour)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	f := dptest.IPv4Frame(bench.InMAC, bench.PeerMAC, netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.2.0.1"), hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 18))
	// asleep waits until the worker sleeps in poll(2) for the (n+1)th time.
	asleep := func(n uint64) {
		for {
			if in, _ := threadIn(dp.ThreadID(w)); in && dp.Sleeps(w) > n {
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	asleep(0)
	var total time.Duration
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		n := dp.Sleeps(w) // asleep: the wake-up below ends sleep n
		t0 := time.Now()
		in.Push(f)
		<-out.sent
		d := time.Duration(out.at.Load() - t0.UnixNano())
		total += d
		ds = append(ds, d)
		b.StopTimer()
		asleep(n)
		b.StartTimer()
	}
	slices.Sort(ds)
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/wake")
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "p50-ns/wake")
	b.ReportMetric(float64(ds[len(ds)*9/10].Nanoseconds()), "p90-ns/wake")
}

// downQueue is a port.Waiter whose queue is down: no descriptor (WaitFD
// -1), nothing to receive.
type downQueue struct{ recvs atomic.Int64 }

func (p *downQueue) Name() string { return "in0" }
func (p *downQueue) Recv(int, *pkt.Batch, *pkt.Pool) int {
	p.recvs.Add(1)
	return 0
}
func (p *downQueue) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int { pool.PutBatch(v); return 0 }
func (p *downQueue) WaitFD(int) int                               { return -1 }

// TestIdleDownQueueSleeps: a worker whose only queue is a Waiter that is
// down (an unplugged AF_PACKET port) sleeps in poll(2) with a short
// timeout, calling Recv now and then so the port can reopen, instead of
// napping 20 µs at a time (20-40 thousand wake-ups a second).
func TestIdleDownQueueSleeps(t *testing.T) {
	r, ii, oi := inOutRouter(t)
	r.Publish()
	down := &downQueue{}
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = down, mem.NewSink("out0")
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: ii}}, dp.Options{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	waitAsleep(t, w, 0)
	// And it keeps waking (every downPoll) to call Recv, which reopens
	// the port when its device comes back.
	// Polled with a generous deadline: a loaded machine may delay the
	// wake-ups, but both must come.
	s0, r0 := dp.Sleeps(w), down.recvs.Load()
	var s uint64
	var rc int64
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if s, rc = dp.Sleeps(w)-s0, down.recvs.Load()-r0; s > 0 && rc > 0 {
			break
		}
	}
	if s == 0 || rc == 0 {
		t.Fatalf("in 30 s: %d sleeps in poll(2), %d Recv calls; want both", s, rc)
	}
}

// inOutRouter is a control plane with the bench's two interfaces, in0 and
// out0 (their indices returned), nothing published yet.
func inOutRouter(t testing.TB) (r *control.Router, ii, oi int) {
	t.Helper()
	r = control.New(control.Options{})
	var err error
	if ii, err = r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}}); err != nil {
		t.Fatal(err)
	}
	if oi, err = r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}}); err != nil {
		t.Fatal(err)
	}
	return r, ii, oi
}
