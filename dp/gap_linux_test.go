package dp_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/dp/dptest"
	"github.com/softnet/softnet/hdr"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// stallQueue is a receive queue that is never ready (a Waiter that is
// down) and whose Recv blocks for stall once when armed: the worker's
// thread held up between two polls.
type stallQueue struct {
	armed atomic.Bool
	stall time.Duration
}

func (p *stallQueue) Name() string { return "in0" }
func (p *stallQueue) Recv(int, *pkt.Batch, *pkt.Pool) int {
	if p.armed.CompareAndSwap(true, false) {
		time.Sleep(p.stall)
	}
	return 0
}
func (p *stallQueue) Send(_ int, v *pkt.Batch, pool *pkt.Pool) int { pool.PutBatch(v); return 0 }
func (p *stallQueue) WaitFD(int) int                               { return -1 }

// TestPollGapCountsStalls (issue 16, the soak's lost packets): a worker
// held up between two polls (here its Recv blocks 300 ms) records the gap
// in PollGapMaxNs and counts it in PollGaps, which GET /v1/runtime and
// the soak report; before, nothing told a worker's stall apart.
func TestPollGapCountsStalls(t *testing.T) {
	r, ii, oi := inOutRouter(t)
	r.Publish()
	q := &stallQueue{stall: 300 * time.Millisecond}
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = q, mem.NewSink("out0")
	w := dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: ii}}, dp.Options{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	waitAsleep(t, w, 0)
	// A loaded machine may hold the thread up for over PollGapLong on its
	// own, before the stall or between the stall's two counts: wait for
	// this stall in both, not for the first gap counted.
	g0 := w.Counters().PollGaps
	q.armed.Store(true)
	var c dp.Counters
	waitFor(t, "the stall was not counted in poll_gaps and poll_gap_max_ns in 10 s", func() bool {
		c = w.Counters()
		return c.PollGaps > g0 && time.Duration(c.PollGapMaxNs) >= q.stall
	})
	if time.Duration(c.PollGapMaxNs) < q.stall || c.PollGaps <= g0 {
		t.Fatalf("poll_gap_max_ns %v, poll_gaps %d (%d before) after a %v stall", time.Duration(c.PollGapMaxNs), c.PollGaps, g0, q.stall)
	}
}

// TestPollGapNotSleeps: the time a worker sleeps in poll(2) waiting for
// frames, up to the sleep's timeout, is not a gap: a worker idle for
// 500 ms (its timeout an hour) then woken by a frame records a gap far
// shorter than its sleep, and none over 100 ms (in one of three tries:
// see below).
func TestPollGapNotSleeps(t *testing.T) {
	l := sleepingLab(t, dptest.Options{})
	frame := dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20))
	// Gaps are counted from here: a loaded machine may have held the
	// starting worker up for over PollGapLong already (a gap, but not a
	// sleep's). A first frame makes the worker publish what it counted
	// (an idle worker publishes once per idle streak, on its first empty
	// poll: a gap counted later in the streak waits for the next one).
	n := dp.Sleeps(l.Worker)
	l.Ports[0].Push(frame)
	waitFor(t, "the first frame was not forwarded", func() bool { return len(l.Out(1)) > 0 })
	waitAsleep(t, l.Worker, n)
	// Up to three tries: a loaded machine may stall the woken worker
	// itself for over PollGapLong (a real gap, by chance); a sleep
	// counted as a gap is counted every time.
	var msg string
	for try := 0; try < 3; try++ {
		c0 := l.Counters()
		time.Sleep(500 * time.Millisecond)
		n = dp.Sleeps(l.Worker)
		l.Ports[0].Push(frame)
		waitFor(t, "the frame was not forwarded", func() bool { return len(l.Out(1)) > 0 })
		waitAsleep(t, l.Worker, n)
		c := l.Counters()
		if c.PollGaps == c0.PollGaps && (time.Duration(c.PollGapMaxNs) < 500*time.Millisecond || c.PollGapMaxNs == c0.PollGapMaxNs) {
			return
		}
		msg += fmt.Sprintf("\ntry %d: poll_gaps %d (%d before), poll_gap_max_ns %v (%v before)",
			try+1, c.PollGaps, c0.PollGaps, time.Duration(c.PollGapMaxNs), time.Duration(c0.PollGapMaxNs))
	}
	t.Fatalf("after an idle sleep of 500 ms, three times, the sleep counted as a gap:%s", msg)
}
