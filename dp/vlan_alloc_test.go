package dp_test

import (
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/bench"
)

// vlanSetups are the bench VLAN topologies on the small allocation-test
// table: plain forwarding for comparison, one VLAN in and one out, and
// 4094 VLANs in with the traffic spread across all of them.
func vlanSetups(tb testing.TB) []struct {
	name string
	f    *bench.Forward
} {
	tb.Helper()
	frames := bench.Frames(allocPrefixes, 4096, 64)
	plain, err := bench.NewForward(allocPrefixes, frames, 1)
	frames = bench.Frames(allocPrefixes, 4096, 60) // 64 bytes once tagged
	if err != nil {
		tb.Fatal(err)
	}
	one, err := bench.NewForwardVLAN(allocPrefixes, frames, []int{100}, 1)
	if err != nil {
		tb.Fatal(err)
	}
	vids := make([]int, 4094)
	for i := range vids {
		vids[i] = i + 1
	}
	many, err := bench.NewForwardVLAN(allocPrefixes, frames, vids, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return []struct {
		name string
		f    *bench.Forward
	}{{"plain", plain}, {"vlan", one}, {"vlan-4094", many}}
}

// TestVLANZeroAlloc: demuxing and tagging allocate nothing, and every
// frame is forwarded.
func TestVLANZeroAlloc(t *testing.T) {
	for _, s := range vlanSetups(t)[1:] {
		t.Run(s.name, func(t *testing.T) {
			w := s.f.Worker
			for range 4 {
				w.Poll()
			}
			if a := testing.AllocsPerRun(200, func() { w.Poll() }); a != 0 {
				t.Fatalf("%v allocations per poll, want 0", a)
			}
			s.f.Gen.SetLimit(s.f.Gen.Generated())
			w.Poll()
			c := w.Counters()
			if c.TotalDrops() != 0 || s.f.Sink.Sent() == 0 {
				t.Fatalf("drops %d, sent %d", c.TotalDrops(), s.f.Sink.Sent())
			}
			var tx uint64
			for _, n := range c.TxPackets {
				tx += n
			}
			if tx != s.f.Sink.Sent() {
				t.Fatalf("tx counted %d, sink got %d", tx, s.f.Sink.Sent())
			}
		})
	}
}

// BenchmarkVLAN reports ns per packet of plain forwarding, forwarding
// between two VLANs, and from 4094 VLANs, on one goroutine (compare the
// figures of one run: -bench VLAN -count 5).
func BenchmarkVLAN(b *testing.B) {
	for _, s := range vlanSetups(b) {
		b.Run(s.name, func(b *testing.B) {
			w := s.f.Worker
			w.Poll()
			b.ReportAllocs()
			pkts := 0
			for b.Loop() {
				pkts += w.Poll()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
		})
	}
}

// BenchmarkVLANInterleaved polls the plain, one-VLAN and 4094-VLAN
// workers in turn, one poll (256 packets) each, timing each poll, so that
// load from elsewhere on a shared machine lands on all three alike; it
// reports each one's median ns per packet over its polls (a poll that
// lost its CPU to another process is an outlier the median ignores,
// where a sum would take it whole) and the rate ratios vlan/plain and
// vlan-4094/vlan (1 = free; the goal is at least 0.95).
func BenchmarkVLANInterleaved(b *testing.B) {
	s := vlanSetups(b)
	var ns [3][]float64
	for i := range s {
		for range 8 {
			s[i].f.Worker.Poll() // warm up
		}
	}
	for b.Loop() {
		for i := range s {
			t0 := time.Now()
			n := s[i].f.Worker.Poll()
			if n > 0 {
				ns[i] = append(ns[i], float64(time.Since(t0).Nanoseconds())/float64(n))
			}
		}
	}
	per := func(i int) float64 {
		if len(ns[i]) == 0 {
			return 0
		}
		slices.Sort(ns[i])
		return ns[i][len(ns[i])/2]
	}
	p0, p1, p2 := per(0), per(1), per(2)
	b.ReportMetric(p0, "plain-ns/pkt")
	b.ReportMetric(p1, "vlan-ns/pkt")
	b.ReportMetric(p2, "vlan4094-ns/pkt")
	b.ReportMetric(p0/p1, "vlan/plain")
	b.ReportMetric(p1/p2, "vlan4094/vlan")
}
