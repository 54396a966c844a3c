package api

import (
	"math"
	"runtime"
	"runtime/metrics"
)

// goRuntimeSamples are the runtime/metrics GoRuntime reads.
var goRuntimeSamples = []string{"/sched/latencies:seconds", "/sched/pauses/total/gc:seconds", "/gc/cycles/total:gc-cycles", "/gc/gogc:percent", "/gc/gomemlimit:bytes", "/cpu/classes/gc/total:cpu-seconds"}

// readGoRuntime reads the Go runtime's figures (see GoRuntime).
func readGoRuntime() GoRuntime {
	s := make([]metrics.Sample, len(goRuntimeSamples))
	for i, n := range goRuntimeSamples {
		s[i].Name = n
	}
	metrics.Read(s)
	g := GoRuntime{GOMAXPROCS: runtime.GOMAXPROCS(0)}
	ms := func(sec float64) float64 { return sec * 1e3 }
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		p99, max := histQuantile(s[0].Value.Float64Histogram(), 0.99)
		g.SchedLatencyP99Ms, g.SchedLatencyMaxMs = ms(p99), ms(max)
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		p99, max := histQuantile(s[1].Value.Float64Histogram(), 0.99)
		g.GCPauseP99Ms, g.GCPauseMaxMs = ms(p99), ms(max)
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		g.GCCycles = s[2].Value.Uint64()
	}
	if s[3].Value.Kind() == metrics.KindUint64 {
		g.GCPercent = int(s[3].Value.Uint64())
	}
	if s[4].Value.Kind() == metrics.KindUint64 {
		if l := s[4].Value.Uint64(); l < math.MaxInt64 {
			g.MemoryLimitBytes = l
		}
	}
	if s[5].Value.Kind() == metrics.KindFloat64 {
		g.GCCPUSeconds = s[5].Value.Float64()
	}
	return g
}

// histQuantile returns the upper bound of the bucket holding the q
// quantile of h, and that of its highest non-empty bucket (the lower
// bound where the upper one is +Inf); 0, 0 for an empty histogram.
func histQuantile(h *metrics.Float64Histogram, q float64) (quant, max float64) {
	var total uint64
	for _, n := range h.Counts {
		total += n
	}
	if total == 0 {
		return 0, 0
	}
	bound := func(i int) float64 {
		if b := h.Buckets[i+1]; !math.IsInf(b, 1) {
			return b
		}
		return h.Buckets[i]
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	quant = -1
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		seen += n
		if quant < 0 && seen >= rank {
			quant = bound(i)
		}
		max = bound(i)
	}
	return quant, max
}
