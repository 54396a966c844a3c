package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/softnet/softnet/dp"
)

// BenchmarkFilter polls the ip4-filter worker (1,000 rules, every packet
// a state hit) on the benchmark goroutine, with 1,000 and 100,000 flows
// (states): the compute of a hit (its state in the cache) against the
// scenario's memory-bound one; "shuffled" takes the states' entries in
// random order. ns/pkt is the whole pipeline's, filter-ns/pkt the
// ip4-filter stage's (sampled polls), median-ns/pkt the whole poll's
// of the median poll (a poll that lost the CPU does not count).
func BenchmarkFilter(b *testing.B) {
	ps, err := FullTableIPv4()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		n        int
		shuffled bool
	}{{1000, false}, {FilterStates, false}, {FilterStates, true}} {
		name := fmt.Sprintf("states=%d", c.n)
		if c.shuffled {
			name += "/shuffled"
		}
		b.Run(name, func(b *testing.B) {
			f, err := newFilter(ps, 64, c.n, c.shuffled)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			c0 := f.Worker.Counters()
			pkts := 0
			var per []float64 // ns per packet of each poll: the median
			// ignores the polls during which the thread lost its CPU
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				n := f.Worker.Poll()
				per = append(per, float64(time.Since(t0))/float64(max(n, 1)))
				pkts += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/pkt")
			slices.Sort(per)
			b.ReportMetric(per[len(per)/2], "median-ns/pkt")
			c1 := f.Worker.Counters()
			for _, s := range dp.Stages() {
				if sp := c1.SampledPkts[s] - c0.SampledPkts[s]; sp > 0 {
					b.ReportMetric(float64(c1.SampledNanos[s]-c0.SampledNanos[s])/float64(sp), s.String()+"-ns/pkt")
				}
			}
		})
	}
}
