package dp_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// txRouter is in0 and out0 with 10.1/16 routed out of out0 (indices
// returned), published.
func txRouter(t *testing.T) (r *control.Router, ii, oi int) {
	t.Helper()
	r = control.New(control.Options{})
	var err error
	if ii, err = r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}}); err != nil {
		t.Fatal(err)
	}
	if oi, err = r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(oi, bench.Gateway(1), bench.GatewayMAC(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoute(netip.MustParsePrefix("10.1.0.0/16"), bench.Gateway(1)); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	return r, ii, oi
}

// TestTxQueueOutOfRange: a worker whose transmit queue on a port is not
// one of the port's (port.TxQueuer) is refused by Start with an error
// naming the queue, the port and the fix, and does not run; before, the
// port wrapped the queue number round onto another worker's queue.
func TestTxQueueOutOfRange(t *testing.T) {
	r, ii, oi := txRouter(t)
	if ii != 0 || oi != 1 {
		t.Fatalf("in0 is %d, out0 %d: the cases below give queues in that order", ii, oi)
	}
	frames := bench.Frames([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, 64, 64)
	for _, c := range []struct {
		name    string
		id      int
		inQ     int // queues of in0 and out0
		outQ    int
		txq     []int // Options.TxQueue, indexed by interface
		wantErr string
	}{
		{"worker 1 on one-queue ports", 1, 1, 1, nil, "transmit queue 1 on port in0 is out of range: the port has 1 (0 to 0); run at most 1 workers, or give the port more queues"},
		{"worker 2 on two-queue ports", 2, 2, 2, nil, "transmit queue 2 on port in0 is out of range: the port has 2 (0 to 1)"},
		{"explicit queue beyond out0's", 0, 2, 2, []int{0, 5}, "transmit queue 5 on port out0 is out of range: the port has 2 (0 to 1)"},
		{"negative queue", 0, 2, 2, []int{-1, 0}, "transmit queue -1 on port in0: a queue number is 0 or more"},
		{"one queue for two ports", 0, 2, 2, []int{0}, "Options.TxQueue has 1 queues for 2 ports: give one per port"},
		{"worker 1 on two-queue ports", 1, 2, 2, nil, ""},
		{"explicit in range", 0, 2, 2, []int{1, 1}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ports := make([]port.Port, 2)
			ports[ii], ports[oi] = mem.NewGenQueues("in0", frames, c.inQ), mem.NewSinkQueues("out0", c.outQ)
			w := dp.NewWorker(c.id, r.Config(), ports, nil, dp.Options{TxQueue: c.txq})
			err := w.Start()
			defer w.Stop() // works after a refused Start too
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Start: %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
	// A port without TxQueues (mem.Queue: Send takes a lock) takes any
	// queue number.
	ports := make([]port.Port, 2)
	ports[ii], ports[oi] = mem.NewQueue("in0"), mem.NewQueue("out0")
	w := dp.NewWorker(7, r.Config(), ports, nil, dp.Options{})
	if err := w.Start(); err != nil {
		t.Fatalf("worker 7 on mem.Queue ports: %v", err)
	}
	w.Stop()
}

// TestTxQueueDistinct: two workers on a port with two transmit queues
// send on distinct queues: by default worker i on queue i, and, given
// explicitly, on the queue assigned (here swapped), never by worker ID
// regardless. Each worker forwards its own receive queue's frames.
func TestTxQueueDistinct(t *testing.T) {
	r, ii, oi := txRouter(t)
	frames := bench.Frames([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, 64, 64)
	for _, swap := range []bool{false, true} {
		gen, sink := mem.NewGenQueues("in0", frames, 2), mem.NewSinkQueues("out0", 2)
		const limit = 1000
		gen.SetLimit(limit)
		ports := make([]port.Port, 2)
		ports[ii], ports[oi] = gen, sink
		ws := make([]*dp.Worker, 2)
		for i := range ws {
			o := dp.Options{}
			if swap {
				o.TxQueue = make([]int, 2)
				o.TxQueue[ii], o.TxQueue[oi] = 1-i, 1-i
			}
			ws[i] = dp.NewWorker(i, r.Config(), ports, []dp.RxQueue{{Iface: ii, Queue: i}}, o)
		}
		for range 100 {
			for _, w := range ws {
				w.Poll()
			}
		}
		for i, w := range ws {
			want := i
			if swap {
				want = 1 - i
			}
			if got := w.TxQueue(oi); got != want {
				t.Errorf("swap %v: worker %d transmits on out0 queue %d, want %d", swap, i, got, want)
			}
			if gen.QueueGenerated(i) != limit || sink.QueueSent(want) != limit {
				t.Errorf("swap %v: worker %d received %d, out0 queue %d got %d; want %d each",
					swap, i, gen.QueueGenerated(i), want, sink.QueueSent(want), limit)
			}
		}
		if ws[0].TxQueue(oi) == ws[1].TxQueue(oi) {
			t.Errorf("swap %v: both workers on out0 queue %d", swap, ws[0].TxQueue(oi))
		}
	}
}
