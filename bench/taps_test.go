package bench

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp"
	"github.com/softnet/softnet/internal/pcapfilter"
	"github.com/softnet/softnet/internal/testenv"
)

var tapsPrefixes = []netip.Prefix{
	netip.MustParsePrefix("1.0.0.0/8"),
	netip.MustParsePrefix("8.8.8.0/24"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// TestTapsScenario: taps-4094 has a capture on every VLAN sub-interface,
// all sharing one compiled filter, which matches none of the traffic;
// forwarding goes on with no allocation and no drop.
func TestTapsScenario(t *testing.T) {
	frames := Frames(tapsPrefixes, Templates, 64-dp.TagLen)
	f, err := NewTaps(tapsPrefixes, frames, dp.MaxVLAN)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Router.Captures(); n != dp.MaxVLAN {
		t.Fatalf("%d captures installed, want %d", n, dp.MaxVLAN)
	}
	cfg := f.Router.Config().Load()
	if cfg.Taps == nil {
		t.Fatal("no taps in the published config")
	}
	w := f.Worker
	for range 8 {
		w.Poll()
	}
	if a := testing.AllocsPerRun(100, func() { w.Poll() }); a != 0 {
		t.Fatalf("%v allocations per poll with 4094 taps, want 0", a)
	}
	f.Gen.SetLimit(f.Gen.Generated())
	w.Poll() // nothing received: the counters are published
	if c := w.Counters(); f.Sink.Sent() == 0 || c.TotalDrops() != 0 {
		t.Fatalf("forwarded %d, dropped %d", f.Sink.Sent(), c.TotalDrops())
	}
	if cfg.Taps != f.Router.Config().Load().Taps {
		t.Fatal("the taps changed while forwarding")
	}
	var progs []*pcapfilter.Program
	for _, name := range []string{"in0.5", "in0.4094"} {
		s, err := f.Router.ResolveCapture(control.CaptureRequest{Interface: name, Rx: true, Filter: TapsFilter})
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, s.Filter)
	}
	if progs[0] == nil || progs[0] != progs[1] {
		t.Fatal("two captures of one expression on two VLANs do not share their compiled filter")
	}
}

// BenchmarkTaps polls one worker of each taps scenario (small table),
// the per-packet cost with 0, 1 and 4094 taps whose filter matches
// nothing.
func BenchmarkTaps(b *testing.B) {
	frames := Frames(tapsPrefixes, Templates, 64-dp.TagLen)
	for _, n := range []int{0, 1, dp.MaxVLAN} {
		f, err := NewTaps(tapsPrefixes, frames, n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(map[int]string{0: "taps-0", 1: "taps-1", dp.MaxVLAN: "taps-4094"}[n], func(b *testing.B) {
			for range 16 {
				f.Worker.Poll()
			}
			pkts := 0
			for b.Loop() {
				pkts += f.Worker.Poll()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
		})
	}
}

// TestLinuxTapsAnchor runs the Linux anchor briefly with 1 and 3 packet
// sockets (the scenario uses 1000): kernel forwarding goes through the
// sockets' filter, which keeps nothing, and the flood reaches host B.
func TestLinuxTapsAnchor(t *testing.T) {
	testenv.Root(t)
	testenv.Tools(t, "trafgen", "ip", "ping")
	mpps, err := linuxTaps(context.Background(), time.Second, []int{1, 3}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if len(mpps) != 2 || mpps[0] <= 0 || mpps[1] <= 0 {
		t.Fatalf("Linux forwarding with 1 and 3 packet sockets: %v Mpps, want two rates above 0", mpps)
	}
}
