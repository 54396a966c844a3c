package dp_test

import (
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
	q.armed.Store(true)
	waitFor(t, "the stall was not counted in poll_gaps in 10 s", func() bool { return w.Counters().PollGaps >= 1 })
	if c := w.Counters(); time.Duration(c.PollGapMaxNs) < q.stall {
		t.Fatalf("poll_gap_max_ns %v after a %v stall", time.Duration(c.PollGapMaxNs), q.stall)
	}
}

// TestPollGapNotSleeps: the time a worker sleeps in poll(2) waiting for
// frames, up to the sleep's timeout, is not a gap: a worker idle for
// 500 ms (its timeout an hour) then woken by a frame records a gap far
// shorter than its sleep, and none over 100 ms.
func TestPollGapNotSleeps(t *testing.T) {
	l := sleepingLab(t, dptest.Options{})
	time.Sleep(500 * time.Millisecond)
	n := dp.Sleeps(l.Worker)
	l.Ports[0].Push(dptest.IPv4Frame(dptest.R0MAC, dptest.HostAMAC, dptest.HostA, remoteHost, hdr.ProtoUDP, 64, false, dptest.UDP(1000, 53, 20)))
	waitFor(t, "the frame was not forwarded", func() bool { return len(l.Out(1)) > 0 })
	waitAsleep(t, l.Worker, n)
	c := l.Counters()
	if c.PollGaps != 0 || time.Duration(c.PollGapMaxNs) >= 500*time.Millisecond {
		t.Fatalf("poll_gaps %d, poll_gap_max_ns %v after an idle sleep of 500 ms: the sleep counted as a gap", c.PollGaps, time.Duration(c.PollGapMaxNs))
	}
}
