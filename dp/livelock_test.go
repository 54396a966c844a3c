package dp_test

import (
	"net/netip"
	"testing"

	"github.com/softnet/softnet/bench"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/pkt"
	"github.com/softnet/softnet/port"
	"github.com/softnet/softnet/port/mem"
)

// livelockWorker is a worker polling a RateGen (1 frame per ns, a
// 1024-slot ring) on a fake clock, forwarding to a sink.
func livelockWorker(t *testing.T) (*dp.Worker, *int64) {
	t.Helper()
	r := control.New(control.Options{})
	in, err := r.AddInterface(control.IfaceConfig{Name: "in0", MAC: bench.InMAC, Addrs: []netip.Prefix{bench.InAddr}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.AddInterface(control.IfaceConfig{Name: "out0", MAC: bench.OutMAC, Addrs: []netip.Prefix{bench.OutAddr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddNeighbor(out, bench.Gateway(1), bench.GatewayMAC(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRoutes(allocPrefixes, func(int) netip.Addr { return bench.Gateway(1) }); err != nil {
		t.Fatal(err)
	}
	r.Publish()
	now := int64(1)
	g := mem.NewRateGen("in0", bench.Frames(allocPrefixes, 64, 64), 1e9, 1024)
	g.SetClock(func() int64 { return now })
	ports := make([]port.Port, 2)
	ports[in], ports[out] = g, mem.NewSink("out0")
	return dp.NewWorker(0, r.Config(), ports, []dp.RxQueue{{Iface: in}}, dp.Options{}), &now
}

func TestLivelocks(t *testing.T) {
	w, now := livelockWorker(t)
	w.Poll() // starts the ring's clock
	poll := func(ns int64, polls int) dp.Counters {
		for range polls {
			*now += ns
			w.Poll()
		}
		w.Process(0, new(pkt.Batch)) // publishes the counters
		return w.Counters()
	}
	// 2000 frames per poll: the ring is full at every poll and 768 stay
	// behind. The first two full polls build the streak, the rest count.
	c := poll(2000, 10)
	if c.BusyPolls != 10 || c.Livelocks != 8 {
		t.Fatalf("overloaded: %d busy polls, %d livelocks; want 10 and 8", c.BusyPolls, c.Livelocks)
	}
	// 100 frames per poll: four more full batches while the ring drains
	// (768 → 612 → 456 → 300 → 144), shrinking every time, so no
	// livelock; then partial batches.
	c = poll(100, 8)
	if c.BusyPolls != 14 || c.Livelocks != 8 {
		t.Fatalf("draining: %d busy polls, %d livelocks; want 14 and 8", c.BusyPolls, c.Livelocks)
	}
	// One pause (the ring fills again), then a drain: one non-shrinking
	// poll is not a streak.
	poll(2000, 1)
	c = poll(100, 3)
	if c.Livelocks != 8 {
		t.Fatalf("after one pause: %d livelocks, want 8", c.Livelocks)
	}
}

func TestLivelocksZeroAlloc(t *testing.T) {
	w, now := livelockWorker(t)
	w.Poll()
	allocs := testing.AllocsPerRun(200, func() {
		*now += 2000
		w.Poll()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per overloaded poll", allocs)
	}
}
