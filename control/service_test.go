package control_test

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/neigh"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// loopLab is dptest's two-interface router with its service loop running
// (Router.Run) on the real clock, which counts its reads: Service reads
// it once per call, so the count is how often the loop served. The test
// goroutine drives the worker (Poll) and the ports.
type loopLab struct {
	t     *testing.T
	r     *control.Router
	w     *dp.Worker
	ports [2]*mem.Queue
	nows  atomic.Int64
}

func newLoopLab(t *testing.T, no neigh.Options) *loopLab {
	t.Helper()
	l := &loopLab{t: t}
	l.r = control.New(control.Options{Neigh: no, Now: func() time.Time {
		l.nows.Add(1)
		return time.Now()
	}})
	for _, c := range []control.IfaceConfig{
		{Name: "if0", MAC: dptest.R0MAC, Addrs: []netip.Prefix{netip.PrefixFrom(dptest.R0, 24)}},
		{Name: "if1", MAC: dptest.R1MAC, Addrs: []netip.Prefix{netip.PrefixFrom(dptest.R1, 24)}},
	} {
		if _, err := l.r.AddInterface(c); err != nil {
			t.Fatal(err)
		}
	}
	// A static host A (no timer) takes the ICMP errors.
	if err := l.r.AddNeighbor(0, dptest.HostA, dptest.HostAMAC); err != nil {
		t.Fatal(err)
	}
	if err := l.r.AddRoute(dptest.Remote, dptest.HostB); err != nil {
		t.Fatal(err)
	}
	l.r.Publish()
	l.ports = [2]*mem.Queue{mem.NewQueue("if0"), mem.NewQueue("if1")}
	l.w = dp.NewWorker(0, l.r.Config(), []port.Port{l.ports[0], l.ports[1]}, []dp.RxQueue{{Iface: 0}, {Iface: 1}}, dp.Options{PoolSize: 1024})
	l.r.AttachWorkers([]*dp.Worker{l.w})
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		l.r.Run(stop)
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return l
}

// waitInject polls (10 s at most) until the control plane injected
// something, then runs it through the worker.
func (l *loopLab) waitInject(what string) {
	l.t.Helper()
	for end := time.Now().Add(10 * time.Second); l.w.Inject().Len() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			l.t.Fatalf("%s: nothing injected in 10 s (the service loop did not serve the punt)", what)
		}
	}
	l.w.Poll()
}

// TestServiceLoopIdleDoesNotWake: an idle router's service loop sleeps
// until there is work; it used to serve on a 1 ms ticker (about 200 times
// in 200 ms, and 1,600 context switches a second for softnet run).
func TestServiceLoopIdleDoesNotWake(t *testing.T) {
	l := newLoopLab(t, neigh.Options{})
	time.Sleep(200 * time.Millisecond) // the window observed, not a deadline
	t.Logf("200 ms idle: served %d times, woke %d times", l.nows.Load(), l.r.WakesForTest())
	if n := l.nows.Load(); n > 3 {
		t.Errorf("the idle service loop served %d times in 200 ms, want at most 3 (no ticker)", n)
	}
	if n := l.r.WakesForTest(); n > 2 {
		t.Errorf("the idle service loop woke %d times in 200 ms, want at most 2", n)
	}
}

// TestServiceLoopWakesOnPunt: a packet punted for resolution makes the
// worker ring the sleeping loop, which sends the ARP request; the punted
// ARP reply rings it again and the held packet goes out. Nothing else
// wakes it: the loop has no ticker to fall back on, so each step being
// served at all shows the punt woke it.
func TestServiceLoopWakesOnPunt(t *testing.T) {
	l := newLoopLab(t, neigh.Options{})
	time.Sleep(50 * time.Millisecond) // idle first: the loop is asleep
	w0 := l.r.WakesForTest()

	l.ports[0].Push(udpFrom(remoteDst, 1))
	l.w.Poll() // punts the packet and rings the loop
	l.waitInject("packet to resolve")
	out := l.ports[1].Take()
	if len(out) != 1 {
		t.Fatalf("%d frames left if1 after the punt, want the ARP request", len(out))
	}
	wantARPRequest(t, out[0], dptest.Broadcast, dptest.HostB)
	if w := l.r.WakesForTest() - w0; w < 1 || w > 2 {
		t.Errorf("the loop woke %d times to serve one punt, want 1 (2 at most)", w)
	}

	w1 := l.r.WakesForTest()
	l.ports[1].Push(replyFromHostB(dptest.HostBMAC))
	l.w.Poll() // punts the reply to learn from
	l.waitInject("ARP reply")
	if out := l.ports[1].Take(); len(out) != 1 {
		t.Fatalf("%d frames left if1 after the reply, want the held packet", len(out))
	} else {
		wantForwarded(t, out[0], dptest.HostBMAC, dptest.R1MAC, remoteDst, 1)
	}
	if w := l.r.WakesForTest() - w1; w < 1 || w > 2 {
		t.Errorf("the loop woke %d times to serve the punted reply, want 1 (2 at most)", w)
	}
	t.Logf("start, 50 ms idle and two punts: woke %d times, served %d times", l.r.WakesForTest()-w0, l.nows.Load())
	// Served at start and once or twice per wake: a ticker would have
	// served about 50 times during the idle 50 ms alone.
	if n := l.nows.Load(); n > 12 {
		t.Errorf("the loop served %d times from its start through two punts, want at most 12", n)
	}
}

// TestServiceLoopTimersReal: with the loop asleep between events, ARP
// retransmissions, failure and removal still happen on the real clock,
// each woken for by its deadline, and a loop with no timer left sleeps.
func TestServiceLoopTimersReal(t *testing.T) {
	no := neigh.Options{RetransTime: 30 * time.Millisecond, MaxProbes: 3, FailedTime: 60 * time.Millisecond}
	l := newLoopLab(t, no)
	l.ports[0].Push(udpFrom(remoteDst, 1))
	l.w.Poll()
	requests, failed := 0, false
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("after 10 s: %d ARP requests (want 3), failed %v, neighbours %+v", requests, failed, l.r.Neighbors())
		}
		l.w.Poll()
		for _, f := range l.ports[1].Take() {
			wantARPRequest(t, f, dptest.Broadcast, dptest.HostB)
			requests++
		}
		for _, f := range l.ports[0].Take() { // the held packet, unreachable
			if ip := hdr.IPv4(f[hdr.EthernetLen:]); ip.Protocol() == hdr.ProtoICMP {
				failed = true
			}
		}
		gone := true
		for _, e := range l.r.Neighbors() {
			if e.Addr == dptest.HostB {
				gone = false
			}
		}
		if gone && failed {
			break
		}
	}
	if requests != 3 {
		t.Fatalf("%d ARP requests before failure, want MaxProbes 3", requests)
	}
	if _, ok := l.r.NextTimerForTest(); ok {
		t.Fatal("a timer is left after the neighbour was removed")
	}
	// A punt, 2 retransmissions, failure, removal and the injections:
	// each timer woken for once (a ticker would have served ~150 times).
	t.Logf("one unanswered neighbour: woke %d times, served %d times", l.r.WakesForTest(), l.nows.Load())
	if w := l.r.WakesForTest(); w > 15 {
		t.Errorf("the loop woke %d times for one unanswered neighbour, want at most 15", w)
	}
}

// TestServiceLoopTimersAtDeadlines drives the router as its loop would on
// a fake clock: jump to the time the loop would wake (NextTimerForTest)
// and serve. Each wake does one timer's work, at its deadline: requests
// every RetransTime, failure after MaxProbes, removal FailedTime later,
// ReachableTime ageing to a probe; static neighbours have no timer.
func TestServiceLoopTimersAtDeadlines(t *testing.T) {
	o := neigh.New(neigh.Options{}).Options()
	l := newLab(t, true, false)
	if at, ok := l.Router.NextTimerForTest(); ok {
		t.Fatalf("static neighbours only: the loop would wake at %v, want no timer", at)
	}
	t0 := l.Now
	l.Send(0, udpFrom(remoteDst, 1))
	wantARPRequest(t, one(t, l, 1, "request 1"), dptest.Broadcast, dptest.HostB)
	wake := func(want time.Time, what string) {
		t.Helper()
		at, ok := l.Router.NextTimerForTest()
		if !ok || !at.Equal(want) {
			t.Fatalf("%s: the loop would wake at %v (timer %v), want %v", what, at.Sub(t0), ok, want.Sub(t0))
		}
		l.Now = at
		l.Run()
	}
	for i := 1; i < o.MaxProbes; i++ {
		wake(t0.Add(time.Duration(i)*o.RetransTime), "retransmission")
		wantARPRequest(t, one(t, l, 1, "retransmission"), dptest.Broadcast, dptest.HostB)
	}
	wake(t0.Add(time.Duration(o.MaxProbes)*o.RetransTime), "failure")
	wantICMP(t, one(t, l, 0, "held packet on failure"), hdr.ICMPv4DestUnreach, hdr.ICMPv4HostUnreach, remoteDst)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Failed {
		t.Fatalf("neighbour after the last request: %+v, want failed", e)
	}
	wake(l.Now.Add(o.FailedTime), "removal")
	if e := neighbor(l, 1, dptest.HostB); e != nil {
		t.Fatalf("failed neighbour not removed after FailedTime: %+v", e)
	}
	if at, ok := l.Router.NextTimerForTest(); ok {
		t.Fatalf("no neighbour left: the loop would wake at %v, want no timer", at.Sub(t0))
	}

	learnHostB(t, l)
	t1 := l.Now
	wake(t1.Add(o.ReachableTime), "ReachableTime")
	wantARPRequest(t, one(t, l, 1, "probe"), dptest.HostBMAC, dptest.HostB)
	if e := neighbor(l, 1, dptest.HostB); e == nil || e.State != neigh.Stale {
		t.Fatalf("neighbour after ReachableTime: %+v, want stale", e)
	}
	wake(t1.Add(o.ReachableTime+o.RetransTime), "second probe")
	wantARPRequest(t, one(t, l, 1, "second probe"), dptest.HostBMAC, dptest.HostB)
}

// TestServiceLoopPublishesAPIChange: an API call that leaves a publish to
// the loop (AddRoute does) wakes it as it unlocks the router, so the
// change reaches the workers without Publish and without a ticker.
func TestServiceLoopPublishesAPIChange(t *testing.T) {
	l := newLoopLab(t, neigh.Options{})
	time.Sleep(20 * time.Millisecond) // idle first: the loop is asleep
	before, w0 := l.r.Config().Load(), l.r.WakesForTest()
	if err := l.r.AddRoute(netip.MustParsePrefix("203.0.113.0/24"), dptest.HostB); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); l.r.Config().Load() == before; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("AddRoute not published in 10 s: the API call did not wake the service loop")
		}
	}
	if w := l.r.WakesForTest() - w0; w > 1 {
		t.Errorf("the loop woke %d times for one API call, want 1", w)
	}
}
